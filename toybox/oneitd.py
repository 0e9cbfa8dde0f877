"""oneit's machinery: the child, the reaper, exit reports, heartbeat, shutdown.

applets/oneit.py holds its help and options; this is imported only when oneit runs,
so `oneit --help` costs no more than the dispatcher.
"""
import _signal
import errno
import gc
import posix
import select
from time import monotonic, sleep

from toybox import lib, oneitwire, syscalls
from toybox.sysos import path as ospath

HEARTBEAT_FD = 4
QUEUE_MAX = 100000      # records; past this oneit drops the newest and warns once
FAST_DEATH = 5.0        # a child that dies sooner than this is relaunched after a pause
FIRST_PAUSE = 0.25
MAX_PAUSE = 5.0
TERM_GRACE = 2.0        # SIGTERM -> SIGKILL when shutting down as PID 1
KILL_WAIT = 2.0         # then at most this long reaping before reboot(2)
DEFAULT_PATH = "/sbin:/usr/sbin:/bin:/usr/bin"

SIGKILL = _signal.SIGKILL
# Container mode passes on every signal but these: the child's own (CHLD); the kernel's
# word about oneit itself (its faults, its writes to a closed pipe, its resource limits);
# the terminal's stops of a background oneit, which it ignores; and those no process can
# catch.
KEEP = {getattr(_signal, name) for name in (
    "SIGCHLD", "SIGPIPE", "SIGSEGV", "SIGBUS", "SIGFPE", "SIGILL", "SIGABRT", "SIGTRAP",
    "SIGSYS", "SIGXCPU", "SIGXFSZ", "SIGTTIN", "SIGTTOU", "SIGKILL", "SIGSTOP")}
TERMINAL_STOPS = (_signal.SIGTTIN, _signal.SIGTTOU)
JOB_STOPS = (_signal.SIGTSTP, _signal.SIGTTIN, _signal.SIGTTOU)   # a terminal's stops of a job
STOP = (_signal.SIGTERM, _signal.SIGINT, _signal.SIGQUIT)
# busybox init's signals, and the other inits' too.
PID1_ACTIONS = {_signal.SIGUSR1: "halt", _signal.SIGUSR2: "poweroff",
                _signal.SIGTERM: "reboot", _signal.SIGINT: "reboot", **oneitwire.OTHER_INIT_SIGNALS}
ACTION_SIGNALS = {"halt": _signal.SIGUSR1, "poweroff": _signal.SIGUSR2, "reboot": _signal.SIGTERM}
ASK_WAIT = 90.0         # how long the service manager may take to stop everything


def main(ctx):
    """Run oneit with the command line applets/oneit.py parsed."""
    from toybox import main as dispatcher
    o = ctx.opts
    if o.S and not o["3"]:
        raise lib.Usage("-S needs -3")
    pid1 = syscalls.is_pid1()
    container = bool(o.C) or not pid1
    argv = label = ctx.args
    in_process = False
    relaunch, report, status, period = o.r or o.n, o["3"], o.S, o.w
    from applets.oneit import raw_args
    if raw_args(dispatcher.INVOKED) or not argv:
        argv = service_manager() + (["--"] + argv if argv else [])
        label = ["svinit"]
        in_process = True
        relaunch = report = status = 1
        period = 30.0 if period is None else period
    fmt = None
    if report:
        fmt = oneitwire.FORMAT_PID_STATUS if status else oneitwire.FORMAT_PID
    console = o.c
    if console is None and not container:
        console = default_console()
    init = Oneit(argv, console, o.c is not None, fmt, period or 0, relaunch, o.p, container, o.g,
                 label[0])
    # The service manager stops the services in order before the machine goes down.
    names = [ospath.basename(a) for a in argv[:2]]
    init.ask_child = names[:1] == ["svinit"] or (names[0].startswith("toybox") and names[1:] == ["svinit"])
    init.in_process = in_process
    if container:
        return init.run()
    while True:    # PID 1 must not exit: the kernel panics when it does
        try:
            return init.run()
        except BaseException as e:
            lib.warn("internal error: %s: %s" % (type(e).__name__, e))
            sleep(1)     # no busy loop if it repeats


def _execvpe(name, argv, env):
    """execvpe(3) without importing os (which costs PID 1 a tenth of a second at boot
    under emulation): the first PATH entry that execs; ENOENT and ENOTDIR go on to the
    next, the first other error is the one raised. As the C library's, and tini's, an
    executable file the kernel can't run (a script without #!) is run by /bin/sh."""
    from toybox.spawn import execve_or_sh     # in the child, on its way to exec
    if "/" in name:
        execve_or_sh(name, argv, env)
    first = None
    for d in (env.get("PATH") or DEFAULT_PATH).split(":"):
        try:
            execve_or_sh((d or ".") + "/" + name, argv, env)
        except OSError as e:
            if e.errno not in (errno.ENOENT, errno.ENOTDIR) and first is None:
                first = e
            last = e
    raise first or last


def service_manager():
    """The command that starts svinit: this program's own `svinit` link (beside it, or in
    DEFAULT_PATH's directories), else the launcher in multiplexer form, else a sibling
    `svinit`, else PATH's."""
    from toybox.main import own_program
    prog = own_program()
    if prog:
        # Run through its link, svinit is `svinit` to ps, pidof and top: a shebang
        # script's process takes the script's name, and its argv[0] picks the applet.
        for d in [ospath.dirname(prog)] + DEFAULT_PATH.split(":"):
            link = ospath.join(d, "svinit")
            if posix.access(link, posix.X_OK) and ospath.realpath(link) == prog:
                return [link]
        if ospath.basename(prog).startswith("toybox"):
            return [prog, "svinit"]
        sibling = ospath.join(ospath.dirname(prog), "svinit")
        if posix.access(sibling, posix.X_OK):
            return [sibling]      # an installed entry-point script, say
    return ["svinit"]


def default_console():
    if not posix.access("/sys/class", posix.F_OK):
        # Early in a boot /sys is not mounted: nothing to read, and no import on the
        # way to starting the service manager.
        return "/dev/console"
    from toybox.proc import active_console
    return active_console() or "/dev/console"


def ensure_stdio():
    """Open /dev/null on any of fds 0-2 that is closed, so no pipe lands there."""
    for fd in (0, 1, 2):
        try:
            posix.fstat(fd)
        except OSError:
            null = posix.open("/dev/null", posix.O_RDWR)
            if null != fd:
                posix.dup2(null, fd)
                posix.close(null)


class Oneit:
    def __init__(self, argv, console, console_given, fmt, period, relaunch, poweroff,
                 container, group, label):
        self.argv = argv
        self.label = label        # the child's name in messages
        self.console = console
        self.console_given = console_given
        self.fmt = fmt
        self.period = period
        self.relaunch = relaunch
        self.poweroff = poweroff
        self.container = container
        self.group = group
        self.child = 0            # PID of the running child; 0 when there is none
        self.owns_tty = False     # the child was given oneit's terminal (container mode)
        self.suspended = False    # oneit stopped itself with its child (^Z): see child_stopped
        self.started = 0.0
        self.pause = 0.0
        self.launch_at = None     # when to (re)launch the child
        self.deadline = None      # heartbeat deadline
        self.hb_r = -1
        self.err_r = -1
        self.rep_r = self.rep_w = -1
        self.queue = bytearray()
        self.overflow = False
        self.writing = False      # rep_w is registered for POLLOUT
        self.signals = []
        self.stopping = 0         # container mode: the forwarded signal that ends relaunching
        self.how = None           # PID 1 shutdown: halt, poweroff, reboot
        self.ask_child = False    # pass a shutdown signal to the child (svinit) first
        self.asked = None         # until when the child may take to stop its services
        self.child_done = False   # the child said its shutdown is done (oneitwire.HEARTBEAT_DONE)
        self.phase = None         # PID 1 shutdown: "term", then "kill"
        self.phase_end = 0.0
        self.no_children = False
        self.code = 1             # exit code of the last child
        self.exit_code = None     # set when oneit is to exit
        self.poller = select.poll()
        self.handlers = {}        # fd -> callable(mask)
        self.env = None
        self.in_process = False   # the child is our own svinit: see run_here()

    # -- set-up ---------------------------------------------------------------

    def setup(self):
        ensure_stdio()
        if not self.container:
            try:
                syscalls.disable_cad()
            except OSError as e:
                lib.warn("ctrl-alt-del: %s" % lib.strerror(e))
            self.own_console()
        elif not syscalls.is_pid1():
            try:
                syscalls.set_subreaper()
            except OSError as e:
                lib.warn("can't become a child subreaper (orphans will not come to oneit): %s"
                         % lib.strerror(e))
        wake_r, wake_w = posix.pipe()
        posix.set_blocking(wake_r, False)
        posix.set_blocking(wake_w, False)
        self.watch(wake_r, select.POLLIN, lambda mask: drain(wake_r))
        _signal.set_wakeup_fd(wake_w, warn_on_full_buffer=False)
        _signal.signal(_signal.SIGCHLD, lambda sig, frame: None)
        if self.container:
            # The child may own the terminal (see exec_child): oneit's own messages to it
            # must not stop oneit.
            for sig in TERMINAL_STOPS:
                _signal.signal(sig, _signal.SIG_IGN)
            for sig in _signal.valid_signals() - KEEP:
                try:
                    _signal.signal(sig, self.on_signal)
                except (OSError, ValueError):
                    pass    # the C library keeps a few real-time signals for itself
        else:
            for sig in PID1_ACTIONS:
                _signal.signal(sig, self.on_signal)
        if self.fmt:
            self.rep_r, self.rep_w = posix.pipe()
            posix.set_blocking(self.rep_w, False)
        self.env = self.child_env()

    def own_console(self):
        """As PID 1, talk on the console (the kernel may have given us none)."""
        try:
            fd = posix.open(self.console, posix.O_RDWR | posix.O_NOCTTY | posix.O_APPEND)
        except OSError:
            return
        for target in (0, 1, 2):
            posix.dup2(fd, target)
        posix.close(fd)
        if posix.isatty(1):
            # The firmware's or a quiet kernel's last words may end mid-line ("Booting
            # from ROM.." under QEMU): the system's own lines start on a line of their own.
            try:
                posix.write(1, b"\n")
            except OSError:
                pass

    def child_env(self):
        env = {k: v for k, v in lib.environ().items() if not k.startswith("ONEIT_")}
        env[oneitwire.ENV_PID] = str(posix.getpid())
        if self.container:
            env[oneitwire.ENV_CONTAINER] = "1"
        if self.fmt:
            env[oneitwire.ENV_FORMAT] = self.fmt
        if self.period:
            env[oneitwire.ENV_HEARTBEAT_FD] = str(HEARTBEAT_FD)
            env[oneitwire.ENV_HEARTBEAT_SECONDS] = "%g" % self.period
        if not self.container:
            env.setdefault("PATH", DEFAULT_PATH)
        return env

    def on_signal(self, sig, frame):
        self.signals.append(sig)

    def watch(self, fd, mask, handler):
        self.poller.register(fd, mask)
        self.handlers[fd] = handler

    def unwatch(self, fd):
        self.poller.unregister(fd)
        del self.handlers[fd]

    # -- the loop -------------------------------------------------------------

    def run(self):
        if self.env is None:
            self.setup()
            self.launch()
        while self.exit_code is None:
            try:
                self.step()
            except Exception as e:
                lib.warn("internal error: %s: %s" % (type(e).__name__, e))
                sleep(1)    # no busy loop if it repeats (a poll would return at once
                            # while a signal's byte waits in the wake-up pipe)
        return self.exit_code

    def step(self):
        for fd, mask in self.poller.poll(self.timeout()):
            handler = self.handlers.get(fd)
            if handler:
                handler(mask)
        self.take_signals()
        self.reap()
        if self.queue:
            self.flush()
        self.timers()

    def timeout(self):
        times = [t for t in (self.launch_at, self.deadline, self.asked) if t is not None]
        if self.phase:
            if self.no_children:
                return 0
            times.append(self.phase_end)
        if not times:
            return None
        # At most a day (poll takes no more than 2**31 ms: `-w 3000000` would raise).
        return min(86400000, max(0, int((min(times) - monotonic()) * 1000) + 1))

    def take_signals(self):
        sigs = self.signals[:]
        del self.signals[:len(sigs)]
        for sig in sigs:
            if self.container:
                self.forward(sig)
            elif self.ask_child and self.child and self.asked is None and not self.phase \
                    and not self.child_done:
                self.ask(PID1_ACTIONS[sig])
            else:
                self.shutdown(PID1_ACTIONS[sig])

    def ask(self, how):
        """A halt/poweroff/reboot signal that did not come from svinit (busybox's
        `poweroff`, `kill -USR2 1`, ctrl-alt-del): svinit stops the services in order
        first, then signals back; the second signal, svinit's exit, or ASK_WAIT seconds
        going by, leads to the last step."""
        self.how = how
        self.asked = monotonic() + ASK_WAIT
        lib.warn("%s: asking %s (pid %d) to stop the services first" % (how, self.label, self.child))
        try:
            syscalls.kill(self.child, ACTION_SIGNALS[how])
        except ProcessLookupError:
            self.shutdown(how)

    def reap(self):
        while True:
            try:
                pid, status = posix.waitpid(-1, posix.WNOHANG | posix.WUNTRACED)
            except ChildProcessError:
                self.no_children = True
                return
            if pid == 0:
                return
            if posix.WIFSTOPPED(status):
                if pid == self.child:
                    self.child_stopped(status)
                continue
            if pid == self.child:
                self.child_exited(status)
            elif self.fmt:
                self.report(pid, status)

    def timers(self):
        now = monotonic()
        if self.deadline is not None and now >= self.deadline:
            self.deadline = None
            lib.warn("%s (pid %d) missed its heartbeat (%gs): killing it"
                     % (self.label, self.child, self.period))
            syscalls.kill(self.child, SIGKILL)
        if self.launch_at is not None and now >= self.launch_at:
            self.launch()
        if self.asked is not None and now >= self.asked and not self.phase:
            lib.warn("%s did not finish stopping within %gs" % (self.label, ASK_WAIT))
            self.shutdown(self.how)
        if self.phase == "term" and (self.no_children or now >= self.phase_end):
            if not self.no_children:
                lib.warn("sending SIGKILL to all processes")
                kill_all(SIGKILL)
            self.phase, self.phase_end = "kill", now + KILL_WAIT
        elif self.phase == "kill" and (self.no_children or now >= self.phase_end):
            self.phase = None
            syscalls.sync()
            syscalls.reboot(self.how)
            lib.warn("reboot(%s) failed: exiting" % self.how)
            self.exit_code = self.code

    # -- the child ------------------------------------------------------------

    def launch(self):
        self.launch_at = None
        hb_w = -1
        if self.period:
            self.hb_r, hb_w = posix.pipe()
        self.err_r, err_w = posix.pipe()
        self.owns_tty = self.container and not self.console and self.terminal_is_ours()
        old = _signal.pthread_sigmask(_signal.SIG_BLOCK, _signal.valid_signals())
        # oneit's objects are there for good: out of the collector's sight, in oneit and
        # in the child (svinit runs in it), which then shares their pages longer.
        gc.freeze()
        try:
            pid = syscalls.fork()
            if pid == 0:
                self.exec_child(err_w, hb_w)
        except OSError as e:
            lib.warn("can't start %s: %s" % (self.label, lib.strerror(e)))
            pid = 0
        finally:
            _signal.pthread_sigmask(_signal.SIG_SETMASK, old)
            posix.close(err_w)
            if hb_w >= 0:
                posix.close(hb_w)
        self.started = monotonic()
        if not pid:
            self.close_child_fds()
            self.schedule_launch()
            return
        self.child = pid
        self.no_children = False
        if self.period:
            self.deadline = self.started + self.period
            self.watch(self.hb_r, select.POLLIN, self.heartbeat)

    def exec_child(self, err_w, hb_w):
        """In the forked child: clean signal state, new session, fds, exec. Never returns."""
        stage = "exec"
        try:
            # Only what differs from the default: getsignal knows every disposition (the
            # interpreter reads them all at start-up; SIGKILL's and SIGSTOP's can't change),
            # and each reset is a system call.
            for sig in _signal.valid_signals():
                if _signal.getsignal(sig) is not _signal.SIG_DFL:
                    _signal.signal(sig, _signal.SIG_DFL)
            _signal.set_wakeup_fd(-1)
            if self.console or not self.container:
                syscalls.setsid()
            else:
                # As tini: a process group of its own in oneit's session, made the
                # foreground of oneit's terminal (`docker run -it`, a shell) if oneit had
                # it, so a shell child has job control and the terminal's ^C and ^Z go
                # to the child, not to oneit.
                posix.setpgid(0, 0)
                if self.owns_tty:
                    posix.tcsetpgrp(0, posix.getpid())   # SIGTTOU is still blocked
            _signal.pthread_sigmask(_signal.SIG_SETMASK, ())
            moves = {}
            if self.console:
                stage = "console"
                try:
                    # O_APPEND: a regular file given as the console is written after what
                    # it holds, never over it.
                    fd = posix.open(self.console, posix.O_RDWR | posix.O_APPEND)
                except OSError:
                    if self.console_given:
                        raise
                    fd = -1    # no console node (a bare initramfs): keep the kernel's fds
                if fd >= 0:
                    try:
                        syscalls.set_controlling_tty(fd)
                    except OSError:
                        pass   # the terminal belongs to another session: stdio only
                    moves = {0: fd, 1: fd, 2: fd}
            if self.rep_r >= 0:
                moves[oneitwire.REPORT_FD] = self.rep_r
            if hb_w >= 0:
                moves[HEARTBEAT_FD] = hb_w
            place_fds(moves)
            stage = "exec"
            if self.in_process:
                self.run_here(list(moves))
            _execvpe(self.argv[0], self.argv, self.env)
        except BaseException as e:
            err = getattr(e, "errno", None) or errno.EINVAL
            code = 1 if stage != "exec" else 127 if err in (errno.ENOENT, errno.ENOTDIR) else 126
            try:
                posix.write(err_w, ("%s %d" % (stage, err)).encode())
            finally:
                posix._exit(code)

    def run_here(self, keep):
        """In the forked child, when the command is this program's own svinit (oneit chose
        it): run it right here rather than exec a new interpreter of the same program.
        That saves the interpreter's start and the imports the two share (0.15 s of a
        boot under QEMU's emulation), and their pages stay shared. Only if
        /proc/self/cmdline, environ and comm can be made to read as after the exec
        (CAP_SYS_RESOURCE, which a container may lack): ps, pidof and svinit's own
        check of its parent must not see a second oneit. Returns if it can't (the
        caller execs); never returns otherwise."""
        import sys
        orig = list(getattr(sys, "orig_argv", ()))
        cut = len(orig) - len(sys.argv)
        interpreter = orig[:cut] if cut > 0 and orig[cut:] == sys.argv else [sys.executable]
        env = ["%s=%s" % kv for kv in self.env.items()]
        try:
            syscalls.set_cmdline(interpreter + self.argv, env, ospath.basename(self.argv[0]))
        except Exception:    # OSError as a rule; whatever it is, the exec still works
            return
        code = 1
        try:
            # What the exec would have closed: every fd oneit holds (close-on-exec all,
            # the exec-error pipe among them: oneit reads its end-of-file as success).
            for fd in (oneitwire.REPORT_FD, HEARTBEAT_FD):
                if fd not in keep:
                    try:
                        posix.close(fd)
                    except OSError:
                        pass
            posix.closerange(max(oneitwire.REPORT_FD, HEARTBEAT_FD) + 1, posix.sysconf("SC_OPEN_MAX"))
            encode = lib.fsencode
            for k in list(posix.environ):
                posix.unsetenv(k)
            posix.environ.clear()     # os.environ, if imported, is this same dict
            for k, v in self.env.items():
                posix.putenv(k, v)
                posix.environ[encode(k)] = encode(v)
            sys.argv = list(self.argv)
            from toybox import main as dispatcher
            dispatcher.main(sys.argv)
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 0 if e.code is None else 1
        except BaseException:
            sys.excepthook(*sys.exc_info())
        finally:
            try:
                sys.stdout.flush()
                sys.stderr.flush()
            finally:
                posix._exit(code)

    # -- the terminal, in container mode ------------------------------------------

    def terminal_is_ours(self):
        """Whether oneit's stdin is its controlling terminal with oneit's own process group
        in the foreground, or the last child had it and the shell that started oneit has
        not taken it back (the child's group, or a job of it, may have it still, if oneit
        could not take it back: see take_terminal). A oneit started in the background
        (`oneit cmd &`) leaves the terminal to whoever has it."""
        try:
            front = posix.tcgetpgrp(0)
            return front == posix.getpgrp() or (
                self.owns_tty and front != posix.getpgid(posix.getppid()))
        except OSError:
            return False

    def take_terminal(self):
        """The child that had the terminal stopped or is gone: the terminal goes back to
        oneit's group (a shell's `oneit cmd; read x` reads on), unless the shell that
        started oneit has taken it meanwhile. oneit ignores SIGTTOU: it may, from the
        background. A PID 1 whose group is outside its PID namespace (`unshare --fork`)
        can't name it: the terminal stays where it is until the next child takes it."""
        try:
            front = posix.tcgetpgrp(0)
            if front not in (posix.getpgrp(), posix.getpgid(posix.getppid())):
                posix.tcsetpgrp(0, posix.getpgrp())
        except OSError:
            pass

    def child_stopped(self, status):
        """The child stopped at the terminal's ^Z, or reading or writing the terminal from
        the background (container mode: the kernel's job-control stops, not a SIGSTOP).
        Not PID 1, oneit stops too, as a shell's job would, and the shell that started it
        gets its prompt back; `fg` continues oneit, which gives the terminal and SIGCONT to
        the child (forward). As PID 1 no shell is above to take the terminal: the child is
        continued, as if ^Z were not there (a PID 1 without oneit is not stopped by it)."""
        if not self.container or posix.WSTOPSIG(status) not in JOB_STOPS:
            return
        if syscalls.is_pid1():
            syscalls.killpg(self.child, _signal.SIGCONT)
            return
        if self.owns_tty:
            self.take_terminal()
        self.suspended = True
        syscalls.kill(posix.getpid(), _signal.SIGSTOP)

    def heartbeat(self, mask):
        try:
            data = posix.read(self.hb_r, 4096)
        except BlockingIOError:
            return
        if data:
            self.deadline = monotonic() + self.period
            if oneitwire.HEARTBEAT_DONE in data:
                self.child_done = True
        else:
            self.unwatch(self.hb_r)   # no writer left: the deadline stands

    def child_exited(self, status):
        pid = self.child
        self.child = 0
        self.deadline = None
        self.suspended = False
        self.child_done = False
        if self.owns_tty:
            self.take_terminal()
        self.code = lib.exit_code_of(status)
        failure = self.close_child_fds()
        if failure:
            lib.warn(failure)
        if self.phase:
            return
        if self.asked is not None:
            self.shutdown(self.how)     # it stopped the services and went away
        elif self.container and self.stopping:
            self.exit_code = self.code
        elif self.relaunch:
            self.schedule_launch()
            if not failure:
                lib.warn("%s (pid %d) %s: relaunching%s" % (
                    self.label, pid, lib.describe_status(status),
                    " in %gs" % self.pause if self.pause else ""))
        elif self.container:
            self.exit_code = self.code
        else:
            how = "poweroff" if self.poweroff else "reboot"
            if not failure:
                lib.warn("%s %s: %s" % (self.label, lib.describe_status(status), how))
            self.shutdown(how)

    def close_child_fds(self):
        """Close the child's heartbeat and exec-error pipes; return its exec failure, if any."""
        if self.hb_r >= 0:
            if self.hb_r in self.handlers:
                self.unwatch(self.hb_r)
            posix.close(self.hb_r)
            self.hb_r = -1
        failure = None
        if self.err_r >= 0:
            # The child is gone, so its end is closed and the read cannot block.
            words = posix.read(self.err_r, 64).split()
            posix.close(self.err_r)
            self.err_r = -1
            if len(words) == 2:
                what = self.console if words[0] == b"console" else self.argv[0]
                failure = "%s: %s" % (what, lib.strerror(int(words[1])))
        return failure

    def schedule_launch(self):
        if monotonic() - self.started < FAST_DEATH:
            self.pause = min(max(self.pause * 2, FIRST_PAUSE), MAX_PAUSE)
        else:
            self.pause = 0.0
        self.launch_at = monotonic() + self.pause

    # -- exit reports -----------------------------------------------------------

    def report(self, pid, status):
        if len(self.queue) >= QUEUE_MAX * oneitwire.record_size(self.fmt):
            if not self.overflow:
                self.overflow = True
                lib.warn("%d exit reports wait for the child to read fd 3: "
                         "dropping new ones until it does" % QUEUE_MAX)
            return
        self.queue += oneitwire.pack(pid, status, self.fmt)

    def flush(self):
        # Writes of at most PIPE_BUF bytes are atomic: whole records or EAGAIN.
        while self.queue:
            try:
                n = posix.write(self.rep_w, self.queue[:4096])
            except BlockingIOError:
                break
            del self.queue[:n]
        if self.queue and not self.writing:
            self.watch(self.rep_w, select.POLLOUT, lambda mask: None)
        elif not self.queue:
            self.overflow = False
            if self.writing:
                self.unwatch(self.rep_w)
        self.writing = bool(self.queue)

    # -- signals ----------------------------------------------------------------

    def forward(self, sig):
        if sig == _signal.SIGCONT and self.suspended and self.child:
            # `fg` or `bg` of the stopped oneit: the whole job goes on, and with `fg` (the
            # terminal is oneit's now) the child gets the terminal.
            self.suspended = False
            if not self.console and self.terminal_is_ours():
                self.owns_tty = True
                try:
                    posix.tcsetpgrp(0, self.child)
                except OSError:
                    pass
            try:
                syscalls.killpg(self.child, sig)
                return
            except ProcessLookupError:
                pass
        if sig in STOP:
            self.stopping = sig
            self.launch_at = None
        if not self.child:
            if sig in STOP:
                self.exit_code = 128 + sig
            return
        try:
            if self.group:
                try:
                    syscalls.killpg(self.child, sig)
                    return
                except ProcessLookupError:
                    pass   # not yet a group leader (before its setsid or setpgid)
            syscalls.kill(self.child, sig)
        except ProcessLookupError:
            pass

    def shutdown(self, how):
        self.how = how
        if self.phase:
            return
        self.launch_at = None
        self.deadline = None
        lib.warn("%s: sending SIGTERM to all processes" % how)
        kill_all(_signal.SIGTERM)
        kill_all(_signal.SIGCONT)
        self.no_children = False
        self.phase, self.phase_end = "term", monotonic() + TERM_GRACE


def kill_all(sig):
    try:
        syscalls.kill_all(sig)
    except ProcessLookupError:
        pass   # nothing left to signal


def drain(fd):
    try:
        while posix.read(fd, 4096):
            pass
    except BlockingIOError:
        pass


def place_fds(moves):
    """dup2 each source fd to its target number, whatever numbers the sources have."""
    import fcntl
    high = {target: fcntl.fcntl(src, fcntl.F_DUPFD_CLOEXEC, 10) for target, src in moves.items()}
    for target, fd in high.items():
        posix.dup2(fd, target)
