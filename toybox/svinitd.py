"""The svinit daemon: one event loop around the state machine (engine.py, procsvc.py).

One selector; signals arrive as bytes on the wakeup pipe (SIGCHLD -> one waitpid(-1,
WNOHANG) reaper), and only while the loop waits in it: they are blocked the rest of the
time, so that a thousand services dying at a shutdown do not interrupt svinit a thousand
times while it signals and reaps them (the kernel keeps one of each pending; their bytes
wake the next wait at once). A SIGCHLD handler left open cost 12 ms of stopping 1000
services. Children start with an empty mask (spawn.py). Timers in a heap; the control
server, service output pipes, readiness pipes, exec-status pipes, pidfds and oneit's
report pipe are all selector entries whose data is a callable taking the event mask.
Nothing blocks: svinit's own messages go through a bounded buffer to a non-blocking stderr.

Processes that are not our children: svinit makes itself a child subreaper, so the
daemons that bgprocess services fork come back to it and are reaped with their exit
status. A process that is not our child anyway (re-adopted after a restart of svinit,
or the subreaper call failed) is watched through a pidfd (or, without pidfds, by
polling /proc); when it is gone and oneit reports exit statuses (`oneit -3 -S`) the
status is taken from oneit's record, which follows oneit's waitpid by a moment (waited
for up to REPORT_WAIT seconds); else the status is unknown.

Restart (toybox/piddir.py has the format): a svinit that finds state of this boot in
the pid dir takes it back (ServiceSet.restore) instead of starting the requested
services: the services' states, explicit marks and held dependencies come from the
files, processes whose PID and start time still match are re-adopted (with their
output pipes), and exits that happened while no svinit ran come from the records oneit
queued on fd 3 meanwhile.
"""
from toybox import sysos as os     # posix, and os's helpers without its import
import _stat as stat
import gc
import time
import _signal
from _heapq import heappop, heappush

from toybox import lib, logs, oneitwire, proc, protocol, syscalls
from toybox.engine import ServiceSet, STARTING, STARTED, STOPPING, STOPPED
from toybox import engine
from toybox.piddir import PidDir
from toybox.poller import EVENT_READ, EVENT_WRITE, Poller
from toybox.spawn import Launch, spawn

ENV_DROP = ("ONEIT_", "SVINIT_SERVICE", "SVINIT_LAUNCH", "LISTEN_", "NOTIFY_SOCKET")   # (and SVINIT_SERVICES)
ENV_SERVICE = "SVINIT_SERVICE"  # set to the service's name in each of its processes
# Which launch made a process, set in each one (its descendants inherit it): a restarted
# svinit tells the process it launched but could not record from one that a recorded
# process left behind (svrecover.find_unrecorded). Hex of CLOCK_MONOTONIC in ns at launch.
ENV_LAUNCH = "SVINIT_LAUNCH"
REPORT_WAIT = 2.0       # seconds to wait for oneit's record of a watched process's exit
POLL_INTERVAL = 0.5     # seconds between looks at /proc for a process without a pidfd
LOG_BUFFER_MAX = 1024 * 1024
# The signals svinit handles: through the wakeup pipe, blocked but while the loop waits.
HANDLED = (_signal.SIGCHLD, _signal.SIGTERM, _signal.SIGINT, _signal.SIGHUP, _signal.SIGQUIT,
           _signal.SIGUSR1, _signal.SIGUSR2) + tuple(oneitwire.OTHER_INIT_SIGNALS)
SHUTDOWN_SIGNALS = {"halt": _signal.SIGUSR1, "poweroff": _signal.SIGUSR2, "reboot": _signal.SIGTERM}
HOWS = ("halt", "poweroff", "reboot")
ENDING_WAIT = 5.0       # seconds a container's oneit gets to pass our SIGTERM back
KILL_ALL_GRACE = 1.0    # seconds between kill-all-on-stop's TERM and KILL (Dinit's)
CONSOLE_DRAIN = 2.0     # seconds a terminal's owner waits for svinit's lines at most (Daemon.kill)
CONSOLE_DRAIN_CHECK = 0.01


class Config:
    services_dir = pid_dir = socket = inittab = system_inittab = None
    names = ()
    kmsg = True
    toybox_reports = False
    recovery = "recovery"
    fd_limit = 65536


class Timer:
    """In the heap as (when, seq, timer): tuples compare in C, so that arming a
    thousand stop timers costs no Python-level comparisons."""
    __slots__ = ("when", "fn", "cancelled")

    def __init__(self, when, fn):
        self.when = when
        self.fn = fn
        self.cancelled = False

    def cancel(self):
        self.cancelled = True


class Watch:
    """A process whose exit a service waits for: our child (the reaper tells), or not (a
    pidfd, polling, oneit's records)."""

    __slots__ = ("fn", "child", "start", "pidfd", "timer", "gone")

    def __init__(self, fn, child, start=None):
        self.fn = fn
        self.child = child
        self.start = start      # /proc starttime, to tell a reused PID (non-children)
        self.pidfd = None
        self.timer = None
        self.gone = False       # seen gone; waiting for oneit's record of its status


class Logger:
    """svinit's messages: `svinit: ...` lines to stderr through a bounded buffer, never
    blocking the loop; also to /dev/kmsg when asked. Held while a service owns the console."""

    def __init__(self, selector):
        self.sel = selector
        self.buf = bytearray()
        self.dropped = 0
        self.held = False
        self.held_at = None         # len(buf) when a hold began, and who held the console
        self.holder = None
        self.watching = False
        self.kmsg = None
        self.fd = self._open_stderr()

    @staticmethod
    def _open_stderr():
        try:
            st = os.fstat(2)
        except OSError:
            return None
        if stat.S_ISREG(st.st_mode):
            return 2
        try:
            # A file description of our own: O_NONBLOCK on fd 2 itself would be shared
            # with every service that writes to the console.
            return os.open("/proc/self/fd/2", os.O_WRONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
        except OSError:
            return 2

    def open_kmsg(self):
        try:
            self.kmsg = os.open("/dev/kmsg", os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError:
            self.kmsg = None

    def log(self, msg):
        line = ("%s: %s\n" % (lib.NAME, msg)).encode("utf-8", "replace")
        if self.kmsg is not None:
            try:
                # Debug level: svinit writes the console itself, and the kernel would
                # print the line there a second time at any level its loglevel shows.
                # The daemon facility keeps `dmesg -f daemon` able to pick them out.
                os.write(self.kmsg, b"<31>" + line)
            except OSError:
                pass
        if self.fd is None:
            return
        if len(self.buf) + len(line) > LOG_BUFFER_MAX:
            self.dropped += 1
            return
        if self.dropped:
            self.buf += b"svinit: (%d messages dropped: the console is too slow)\n" % self.dropped
            self.dropped = 0
        self.buf += line
        # Written before the loop waits again (Daemon.loop), with the other lines of the
        # pass: one write for a thousand services' "started" lines, not a thousand.

    def hold(self, held, holder=None):
        """While held (a service has the console), lines wait in the buffer. Released, the
        lines that waited follow a line saying so: they are not news of the moment (and an
        empty line: the holder, a shell, may have left a prompt on the console's last line).
        When a hold begins, the lines from before it go out at once, ahead of whatever the
        holder writes once launched (a shell's banner and prompt), not after it at the end
        of the loop's pass."""
        if held and not self.held:
            self.held_at, self.holder = len(self.buf), holder
        elif not held and self.held:
            at = self.held_at
            if at is not None and len(self.buf) > at:
                self.buf[at:at] = ("\n%s: held while %s had the console:\n"
                                   % (lib.NAME, self.holder or "a service")).encode("utf-8", "replace")
            self.held_at = self.holder = None
        self.held = held
        self.flush()

    def flush(self, mask=0):
        """Write what may go: all of it, or while held what came before the hold."""
        while True:
            end = self.sendable()
            if not end:
                break
            try:
                n = os.write(self.fd, self.buf[:end])
            except BlockingIOError:
                break
            except OSError:
                self.buf.clear()
                self.held_at = None if self.held_at is None else 0
                break
            del self.buf[:n]
            if self.held_at is not None:
                self.held_at -= min(n, self.held_at)
        want = bool(self.sendable())
        if want != self.watching and self.fd != 2:
            if want:
                self.sel.register(self.fd, EVENT_WRITE, self.flush)
            else:
                self.sel.unregister(self.fd)
            self.watching = want

    def sendable(self):
        """How many bytes of the buffer may go out now: all, or while held those from
        before the hold."""
        return self.held_at if self.held else len(self.buf)

    def pending(self):
        """Whether lines that may go out now are still on their way: in the buffer, or in
        the terminal's output queue, which a hangup of the terminal throws away."""
        if self.fd is None:
            return False
        if self.sendable():
            return True
        try:
            return syscalls.output_queued(self.fd) > 0
        except OSError:
            return False        # not a terminal: what was written is out

    def drain(self, timeout=2.0):
        """At exit: write what is left, waiting at most `timeout` seconds."""
        self.hold(False)
        end = time.monotonic() + timeout
        while self.buf and time.monotonic() < end:
            self.flush()
            if self.buf:
                time.sleep(0.01)


class Daemon:
    def __init__(self, cfg):
        self.cfg = cfg
        self.sel = Poller()
        self.logger = Logger(self.sel)
        self.timers = []
        self.timer_seq = 0
        self.watches = {}           # pid -> Watch
        self.tty_leaders = set()    # launched with a controlling terminal, not reaped yet
        self.outputs = {}           # service name -> logs.Output
        self.sset = ServiceSet(self)
        self.server = None
        self.piddir = None
        self.boot_id = proc.boot_id()
        self.devnull = None
        # svinit's environment, read once (it never changes it): what services inherit,
        # oneit's variables, `$VAR` in service files.
        self.environ = lib.environ()
        self.base_env = None
        self.pgrp = None
        self.last_launch = None         # (pid, starttime) of the last launch, when known
        self.exit_code = None
        self.load_errors = {}       # name -> why its file (or one it needs) kept it out
        self.shutdown_how = None
        self.shutdown_phase = 0     # 1: services stopping, 2: inittab shutdown entries, 3: those stopping, 4: done
        self.inittab_descs = {}
        self.recovery_tried = False
        self.requested_failed = False
        self.oneit_pid = None
        self.oneit_container = False    # oneit in container mode: it can't halt, only end
        self.recovered = False      # took back a dead svinit's state from the pid dir
        self.requested = None       # the services start_requested() asked for
        self.first_pass_recorded = False    # (piddir.py: `started` in svinit's own file)
        self.ready = None           # (time.time(), CLOCK_BOOTTIME) when all of them first started
        self.before = None          # and that svinit's PID, when its file said
        self.report_fmt = None
        self.report_buf = b""
        self.away_reports = {}      # at a restart: {pid: status} oneit queued meanwhile
        self.on_disk = set()        # services that have a state file
        self.heartbeat_fd = None
        self.heartbeat_period = None
        self.idle_warned = False
        self.shutdown_entries = []
        self.restart_entry = None   # the inittab's restart entry, to exec once all is stopped

    # -- the host interface of engine.py / procsvc.py --------------------------

    def log(self, msg):
        self.logger.log(msg)

    @staticmethod
    def now():
        return time.monotonic()

    @staticmethod
    def wall():
        return time.time()

    def timer(self, delay, fn):
        t = Timer(time.monotonic() + delay, fn)
        self.timer_seq += 1
        heappush(self.timers, (t.when, self.timer_seq, t))
        return t

    def watch_fd(self, fd, fn):
        self.sel.register(fd, EVENT_READ, lambda mask: fn())

    def unwatch_fd(self, fd):
        try:
            self.sel.unregister(fd)
        except (KeyError, ValueError):
            pass

    def watch_exec(self, fd, fn):
        def ready(mask):
            self.unwatch_fd(fd)
            fn()
        self.sel.register(fd, EVENT_READ, ready)

    def watch_child(self, pid, fn):
        self.watches[pid] = Watch(fn, True)

    def watch_pid(self, pid, fn, start=None):
        w = Watch(fn, False, proc.starttime(pid) if start is None else start)
        self.watches[pid] = w
        try:
            w.pidfd = os.pidfd_open(pid)
        except ProcessLookupError:
            self.timer(0, lambda: self._gone(pid, w))
            return
        except OSError:
            # No pidfd (Linux < 5.3, or out of fds): look at /proc now and then.
            w.timer = self.timer(POLL_INTERVAL, lambda: self._poll(pid, w))
            return
        self.sel.register(w.pidfd, EVENT_READ, lambda mask: self._pidfd_ready(pid, w))

    def _poll(self, pid, w):
        if self.watches.get(pid) is not w:
            return
        if proc.alive(pid, w.start):
            w.timer = self.timer(POLL_INTERVAL, lambda: self._poll(pid, w))
        else:
            self._gone(pid, w)

    def _pidfd_ready(self, pid, w):
        try:
            info = os.waitid(os.P_PIDFD, w.pidfd, os.WEXITED | os.WNOHANG)
        except OSError:
            info = None     # not our child: its status may come from oneit's record
        if info is not None:
            self._resolve(pid, w, _raw_status(info))
        else:
            self._gone(pid, w)

    def _gone(self, pid, w):
        """A watched process that is not our child has exited."""
        if self.watches.get(pid) is not w or w.gone:
            return
        if self.report_fmt != oneitwire.FORMAT_PID_STATUS:
            self._resolve(pid, w, None)
            return
        w.gone = True
        self._close_pidfd(w)
        if w.timer is not None:
            w.timer.cancel()
        w.timer = self.timer(REPORT_WAIT, lambda: self._resolve(pid, w, None))

    def _resolve(self, pid, w, status):
        if self.watches.get(pid) is not w:
            return
        del self.watches[pid]
        self.tty_leaders.discard(pid)
        self._close_pidfd(w)
        if w.timer is not None:
            w.timer.cancel()
            w.timer = None
        w.fn(status)

    def _close_pidfd(self, w):
        if w.pidfd is not None:
            self.unwatch_fd(w.pidfd)
            os.close(w.pidfd)
            w.pidfd = None

    def unwatch(self, pid):
        self.tty_leaders.discard(pid)
        w = self.watches.pop(pid, None)
        if w is not None:
            self._close_pidfd(w)
            if w.timer is not None:
                w.timer.cancel()

    def adopt(self, svc, pid, start, fn, away=None):
        """After a restart of svinit: watch a recorded process if it is still the one that
        was recorded (same PID and start time): fn(status) when it exits; away(status)
        instead when it had died before this svinit looked (default fn). A PID now used by
        another process is never adopted nor signalled. See procsvc's host interface for
        the result."""
        st = proc.stat(pid)
        if st is not None and st.starttime == start and st.state not in ("Z", "X"):
            self.watch_pid(pid, fn, start)
            self.reattach_output(svc, pid)
            return None
        if st is not None and st.starttime != start:
            self.log("%s: pid %d is another process now (its start time differs): not adopted"
                     % (svc.name, pid))
        if pid in self.away_reports:
            return ("exited", self.away_reports[pid])
        if self.report_fmt != oneitwire.FORMAT_PID_STATUS:
            return ("exited", None)
        # Dead, and oneit's record of it not read yet: it follows oneit's waitpid.
        w = Watch(away or fn, False, start)
        self.watches[pid] = w
        self._gone(pid, w)
        return ("waiting",)

    def kill(self, pid, sig, group, then_cont=False, leader=False):
        """Signal a process, or its process group; with then_cont, SIGCONT after sig (a
        stopped process that handles sig runs its handler). leader: pid leads a session
        of its own (svinit's child: setsid), so its group is -pid, for good.

        A process svinit gave a controlling terminal (a console shell, an inittab tty
        entry) hangs that terminal up when it exits, and the kernel then drops whatever
        the terminal had not sent yet: the shutdown's first lines on a slow serial
        console. So it is signalled once svinit's messages are out (Logger.pending), or
        CONSOLE_DRAIN seconds later if they can't go out."""
        args = (pid, sig, group, then_cont, leader)
        if pid not in self.tty_leaders or not self.logger.pending():
            self._kill(*args)
            return
        deadline = time.monotonic() + CONSOLE_DRAIN

        def again():
            if pid not in self.tty_leaders:
                return      # reaped meanwhile: nothing to signal, and the PID may be reused
            if self.logger.pending() and time.monotonic() < deadline:
                self.timer(CONSOLE_DRAIN_CHECK, again)
            else:
                self._kill(*args)
        self.timer(CONSOLE_DRAIN_CHECK, again)

    def _kill(self, pid, sig, group, then_cont, leader):
        self.persist()
        target = pid
        try:
            if group and leader:
                target = -pid
            elif group:
                # A bgprocess daemon may live in its launcher's process group.
                try:
                    pgid = os.getpgid(pid)
                except OSError:
                    pgid = pid
                if pgid != self.pgrp:
                    target = -pgid
            syscalls.kill(target, sig)
            if then_cont:
                syscalls.kill(target, _signal.SIGCONT)
        except ProcessLookupError:
            pass
        except PermissionError as e:
            self.log("can't signal %s %d: %s" % ("process group" if group else "process", pid,
                                                  lib.strerror(e)))

    def kill_all_below(self, done):
        """kill-all-on-stop: TERM to every process below svinit (every service's processes
        and whatever they left behind: svinit is their subreaper), KILL to those left
        KILL_ALL_GRACE seconds later, then done(). Not kill(-1): that is PID 1's alone."""
        self.persist()

        def signal_all(sig):
            n = 0
            for pid in proc.descendants(os.getpid()):
                try:
                    syscalls.kill(pid, sig)
                    n += 1
                except OSError:
                    pass
            return n

        self.log("sending SIGTERM to %d processes (kill-all-on-stop)" % signal_all(_signal.SIGTERM))

        def finish():
            n = signal_all(_signal.SIGKILL)
            if n:
                self.log("sending SIGKILL to %d processes (kill-all-on-stop)" % n)
            done()
            self.sset.process_queues()
        self.timer(KILL_ALL_GRACE, finish)

    def persist(self):
        """Bring the state files of the services that changed up to date, in the order
        they changed. Called before svinit acts on a change (signals a process, answers a
        client), right after a launch, and after every pass of the loop."""
        dirty = self.sset.take_changed()
        if self.piddir is None:
            return
        shutting_down = self.shutdown_how is not None
        for svc in dirty:
            if shutting_down and svc.state == STOPPING and svc.desc.type == "process" \
                    and svc.name in self.on_disk:
                # svinit's own file says a shutdown is under way, and a svinit restarted
                # now would stop every service anyway: a process service's file is not
                # rewritten for its stop, only removed once it has stopped.
                continue
            fields = svc.record()
            if fields is not None:
                self.piddir.write(svc.name, fields + [("boot_id", self.boot_id)])
                self.on_disk.add(svc.name)
            elif svc.name in self.on_disk:
                self.on_disk.discard(svc.name)
                self.piddir.remove(svc.name)

    def output(self, svc):
        out = self.outputs.get(svc.name)
        if out is None:
            out = self.outputs[svc.name] = logs.Output(svc.name, self.log)
        desc = svc.desc
        logfile = desc.logfile
        if logfile is not None and not os.path.isabs(logfile):
            logfile = os.path.join(desc.working_dir or "/", logfile)
        out.configure(logfile, desc.logfile_max_size, desc.logfile_permissions, desc.log_buffer_size)
        return out

    def env_for(self, desc):
        if self.base_env is None:
            self.base_env = {k: v for k, v in self.environ.items() if not k.startswith(ENV_DROP)}
        env = dict(self.base_env)
        env.update(desc.env or ())
        # Tells a service its name; and a restarted svinit, which process the svinit
        # before launched but was killed before it could record (see find_unrecorded).
        env[ENV_SERVICE] = desc.name
        return env

    @staticmethod
    def launch_id():
        return "%x" % time.monotonic_ns()

    def launch(self, svc, argv, ready=False, console=False):
        """Start argv for svc: (pid, exec status fd or None, readiness read fd or None)."""
        desc = svc.desc
        env = self.env_for(desc)
        launch_id = env[ENV_LAUNCH] = self.launch_id()
        fds = {}
        closing = []
        tty = desc.tty
        ctty = tty is not None
        log_r = pipe_id = None
        out = None
        if tty is None and (console or desc.askfirst):
            fds = {0: 0, 1: 1, 2: 2}
            if "runs-on-console" in desc.options and os.isatty(0):
                tty = console_device()
                ctty = tty is not None
        elif tty is None and desc.log_type == "none":
            fds = {0: self.devnull, 1: self.devnull, 2: self.devnull}
        elif tty is None:
            out = self.output(svc)
            log_r, log_w, pipe_id = out.new_pipe()
            closing.append(log_w)
            fds = {0: self.devnull, 1: log_w, 2: log_w}
        ready_r = None
        try:
            if ready:
                kind, what = desc.ready_notification
                ready_r, ready_w = os.pipe2(os.O_CLOEXEC)
                os.set_blocking(ready_r, False)
                # Read-write, as the output pipe: a service that signals readiness while
                # no svinit runs must not die of SIGPIPE.
                ready_w = logs.child_end(ready_r, ready_w)
                closing.append(ready_w)
                if kind == "pipefd":
                    target = what
                else:
                    target = 3
                    env = dict(env)
                    env[what] = str(target)
                fds[target] = ready_w
            run_as = None
            if desc.uid is not None:
                run_as = (desc.uid, desc.gid, desc.groups)
            launch = Launch(argv, env, cwd=desc.working_dir or "/", fds=fds,
                            exec_path=desc.exec_path if argv is desc.command else None,
                            run_as=run_as, tty=tty, ctty=ctty, askfirst=desc.askfirst)
            before = proc.boottime_ticks()
            pid, status_fd = spawn(launch)
            if ctty:
                self.tty_leaders.add(pid)
            if before is not None and before == proc.boottime_ticks():
                self.last_launch = (pid, before)
        except BaseException:
            if ready_r is not None:
                os.close(ready_r)
            if log_r is not None:
                out.close_pipe(log_r)
            raise
        finally:
            for fd in closing:
                os.close(fd)
        if log_r is not None:
            self.sel.register(log_r, EVENT_READ, lambda mask: self._output(out, log_r))
        if argv is desc.command:
            svc.output_id = pipe_id
            svc.launch_id = launch_id
        return pid, status_fd, ready_r

    def starttime(self, pid):
        """The /proc start time of a process: from the clock if svinit just launched it
        within one clock tick (see proc.boottime_ticks), else read."""
        if self.last_launch is not None and self.last_launch[0] == pid:
            return self.last_launch[1]
        return proc.starttime(pid)

    def reattach_output(self, svc, pid):
        if not svc.output_id:
            return
        out = self.output(svc)
        r = out.reopen(pid, svc.output_id)
        if r is not None:
            self.sel.register(r, EVENT_READ, lambda mask: self._output(out, r))

    def _output(self, out, fd):
        if not out.readable(fd):
            self.unwatch_fd(fd)
            out.close_pipe(fd)

    def console_taken(self, svc, hold):
        self.logger.hold(hold, svc.name)

    def console_free(self):
        self.logger.hold(False)

    def rootfs_rw(self, svc):
        # Short: at boot this line crosses the serial console.
        self.log("%s: starts-rwfs: control socket and pid dir made again" % svc.name)
        self.reopen()

    def check_hidden(self, svc):
        """After a one-shot command: what starts-rwfs does, when the command mounted a file
        system over svinit's socket or pid dir (an inittab's `mount -t tmpfs tmpfs /run`
        can't say starts-rwfs). Two lstat calls."""
        hidden = [what for what, holder in (("control socket", self.server), ("pid dir", self.piddir))
                  if holder is not None and holder.hidden()]
        if hidden and any(s.state == STARTING and "starts-rwfs" in s.desc.options
                          for s in self.sset.services.values()):
            # A starts-rwfs service running beside this one made the mount (the demo's
            # mount-run beside hostname): it makes them again when it is done, once.
            return
        if hidden:
            self.log("%s: %s hidden (a mount over it?): made again" % (svc.name, " and ".join(hidden)))
            self.reopen()

    def chain(self, svc, name):
        target = self.find(name)
        if target is None:
            self.log("%s: can't chain to %s: no such service" % (svc.name, name))
            return
        self.log("%s: chaining to %s" % (svc.name, name))
        target.start()

    # -- services ------------------------------------------------------------

    def find(self, name):
        """Service `name`, loaded from the services dir if need be; None if it has no file
        or its file (or one it needs) has errors (logged)."""
        svc = self.sset.get(name)
        if svc is None:
            svc, _err = self.load_more(name)
        return svc

    def requested_service(self, name, add=True):
        """A control request's service `name`: (its Service, None), or (None, the error
        reply: its file has errors, or it has none). add=False only looks at the file of a
        service not loaded (see load_more)."""
        svc = self.sset.get(name)
        if svc is None:
            svc, err = self.load_more(name, add)
            if err is not None:
                return None, protocol.reply_error("%s: can't load: %s" % (name, err), protocol.E_FAILED)
        if svc is None:
            return None, protocol.reply_error("%s: no such service" % name, protocol.E_UNKNOWN_SERVICE)
        return svc, None

    def load_more(self, name, add=True):
        """Load service `name` (and what it needs) from the services dir after start-up:
        (its Service, None); (None, the LoadError that keeps it out); (None, None) if it
        has no file. add=False only looks: nothing is added, nothing logged, and a file
        without errors gives (None, None) too."""
        from toybox import svcfile
        sdir = self.cfg.services_dir
        for svc in self.sset.services.values():
            if svcfile.env_file_name(sdir, svc.desc) == name:
                return None, svcfile.LoadError(os.path.join(sdir, name), None,
                                               "the env-file of %s, not a service" % svc.name)
        new, errors = {}, {}
        todo = [name]
        while todo:
            n = todo.pop()
            if n in self.sset or n in new or n in errors:
                continue
            # find_file: a template instance (getty@tty9) not named at boot has no file
            # of its own.
            path = svcfile.find_file(sdir, n)
            if path is None:
                if n == name:
                    return None, None
                continue
            try:
                d = new[n] = svcfile.load_file(path, n, sdir, self.environ)
            except svcfile.LoadError as e:
                errors[n] = e
                continue
            todo.extend(dep for _key, dep in d.dependencies())
            if d.chain_to is not None:
                todo.append(d.chain_to)
        combined = {s.name: s.desc for s in self.sset.services.values()}
        combined.update(new)
        svcfile.check_set(combined, errors)
        if not add:
            return None, errors.get(name)
        for n, err in sorted(errors.items()):
            if n in new or n not in self.sset:
                self.log(str(err))
                self.load_errors[n] = str(err)
        added = [self.sset.add(new[n]) for n in sorted(new) if n in combined]
        for svc in added:
            self.load_errors.pop(svc.name, None)
        for svc in list(self.sset.services.values()):
            self.sset.link(svc)
        for svc in added:
            for w in svc.desc.warnings:
                self.log(str(w))
        return self.sset.get(name), errors.get(name)

    def load_all(self, running=()):
        """Load the services dir (and inittab). The services in running (a restarted
        svinit's, with state recorded) are loaded leniently: a bad line the file got while
        they ran is left out with a warning, not a reason to drop what runs."""
        from toybox import svcfile
        descs, errors = {}, {}
        dir_error = None
        try:
            descs, errors = svcfile.load_dir(self.cfg.services_dir, self.environ, lenient=running)
        except svcfile.LoadError as e:
            dir_error = e
        for name in sorted(errors):
            self.log(str(errors[name]))
        self.load_errors = {name: str(err) for name, err in errors.items()}
        path = self.cfg.inittab
        if path is None and self.cfg.system_inittab and "boot" not in descs \
                and os.path.exists(self.cfg.system_inittab):
            path = self.cfg.system_inittab
        if path is not None:
            from toybox import inittab
            idescs, ierrors = inittab.convert(path, self.environ)
            for err in ierrors:
                self.log(str(err))
            for name, d in idescs.items():
                if name in descs:
                    self.log("%s: inittab entry %s: a service of that name exists; entry ignored"
                             % (path, name))
                    continue
                descs[name] = d
                if d.inittab_action is not None or name == inittab.NAME:
                    self.inittab_descs[name] = d
            self.inittab_names = [inittab.NAME] if inittab.NAME in idescs else []
        else:
            self.inittab_names = []
        if dir_error is not None and (path is None or os.path.exists(self.cfg.services_dir)):
            # No services dir beside an inittab is busybox init's layout, not a mistake.
            self.log(str(dir_error))
        for name in sorted(descs):
            self.sset.add(descs[name])
        for svc in self.sset.services.values():
            self.sset.link(svc)
            for w in svc.desc.warnings:
                self.log(str(w))

    def start_requested(self):
        names = list(self.cfg.names)
        if self.inittab_names:
            # The inittab stands in for a missing `boot`.
            names = [n for n in names if n in self.sset or n != "boot"] + self.inittab_names
        started = False
        self.requested = names
        for name in names:
            svc = self.sset.get(name)
            if svc is None:
                if name in self.load_errors:
                    self.log("%s: not started: its description has errors (above)" % name)
                else:
                    self.log("%s: no such service (in %s)" % (name, self.cfg.services_dir))
                self.requested_failed = True
                continue
            svc.listen(self._requested_event)
            svc.start()
            started = True
        # Before anything is launched: svinit's own file names them, so that a svinit
        # killed in the first wave, before any service's file was written, is known by
        # its successor to have begun (svrecover.recover).
        self.write_self()
        self.sset.process_queues()
        if not started:
            self.boot_failed("nothing to start")

    def _requested_event(self, svc, event):
        if event == engine.EV_STARTED and self.ready is None:
            get = self.sset.get
            if all(get(n) is not None and get(n).state == STARTED for n in self.requested):
                # For `ctl status`: how long the boot took, as a kernel tester reads it.
                self.ready = (time.time(), time.clock_gettime(time.CLOCK_BOOTTIME))
        if event == engine.EV_FAILEDSTART and not self.sset.shutting_down:
            self.requested_failed = True
            self.boot_failed("%s failed" % svc.name)

    def boot_failed(self, why):
        if self.recovery_tried or self.sset.shutting_down:
            return
        rec = self.find(self.cfg.recovery)
        if rec is None:
            return
        self.recovery_tried = True
        self.log("%s; starting %s" % (why, self.cfg.recovery))
        rec.start()
        self.sset.process_queues()

    def check_idle(self):
        """After each pass of the loop: shutdown progress, or nothing left running."""
        sset = self.sset
        if sset.shutting_down:
            self._shutdown_step()
            return
        if sset.running:
            return
        self.boot_failed("no service is running and no shutdown was asked for")
        if sset.running:
            return
        if self.oneit_pid is not None:
            if not self.idle_warned:
                self.idle_warned = True     # said once; svinit stays up for `ctl`
                self.log("no service is running and no shutdown was asked for: boot failure? "
                         "(no `%s` service to run; waiting for ctl)" % self.cfg.recovery)
            return
        self.log("no service is running any more; exiting")
        self.exit_code = 1 if self.requested_failed else 0

    # -- shutdown --------------------------------------------------------------

    def request_shutdown(self, how):
        if self.shutdown_how is None or how != "exit":
            self.shutdown_how = how
            if self.piddir is not None:
                self.write_self()       # a svinit killed half-way through goes on with it
        if self.sset.shutting_down:
            return
        if self.oneit_pid is not None:
            # Whether the oneit to ask at the end is ours is read from /proc now: the
            # shutdown entries may unmount it (busybox's `umount -a -r`).
            syscalls.process_is_ours(self.oneit_pid)
        # Whoever holds the console is about to be stopped: show the shutdown as it goes.
        self.logger.hold(False)
        self.log("%s: stopping all services" % ("shutdown (%s)" % how if how != "exit" else "exit"))
        self.shutdown_phase = 1
        self.sset.stop_all()

    def _shutdown_step(self):
        """Phase 1: services stopping; 2: the inittab's shutdown entries running (in order,
        each waits for the one before); 3: those stopping. Then finish(): 4."""
        sset = self.sset
        if self.shutdown_phase == 4:
            return      # finished (and maybe waiting for a container's oneit)
        if self.shutdown_phase == 1:
            if sset.running:
                return
            entries = []
            if self.inittab_descs:
                from toybox import inittab
                entries = inittab.ordered(self.inittab_descs, "shutdown")
            self.shutdown_entries = [sset.get(d.name) for d in entries if d.name in sset]
            self.shutdown_phase = 2
            if self.shutdown_entries:
                self.log("running the inittab's shutdown entries")
                for svc in self.shutdown_entries:
                    svc.start()
                sset.process_queues()
        if self.shutdown_phase == 2:
            if any(svc.state == STARTING for svc in self.shutdown_entries):
                return
            self.shutdown_phase = 3
            sset.stop_all()
        if sset.running == 0:
            self.finish()

    def finish(self):
        how = self.shutdown_how
        self.shutdown_phase = 4
        self.log("all services stopped")
        self.exit_code = 0
        if how == "restart":
            self.restart_entry = self.inittab_restart_entry()
            return
        if how not in SHUTDOWN_SIGNALS or self.oneit_pid is None:
            return
        if self.oneit_container:
            # A container's oneit halts nothing and would pass USR1 back, then relaunch
            # us: it is asked to stop (SIGTERM, which it passes back), and we exit when
            # that comes (ended), so that it exits with our status instead.
            what, sig = "end the container", _signal.SIGTERM
            self.log("%s: asking oneit (pid %d) to %s" % (how, self.oneit_pid, what))
        else:
            # oneit's SIGTERM to every process follows at once: the console gets the
            # shutdown's messages first, this one too.
            what, sig = how, SHUTDOWN_SIGNALS[how]
            self.log("asking oneit (pid %d) to %s" % (self.oneit_pid, how))
            if self.heartbeat_fd is not None:
                try:
                    os.write(self.heartbeat_fd, oneitwire.HEARTBEAT_DONE)
                except OSError:
                    pass    # oneit then asks us, and we are done: the same end
        self.logger.drain()
        try:
            syscalls.signal_parent_oneit(sig, self.oneit_pid)
        except OSError as e:
            self.log("can't ask oneit to %s: %s" % (what, lib.strerror(e)))
            return
        if self.oneit_container:
            self.exit_code = None
            self.timer(ENDING_WAIT, self.ended)

    def ended(self):
        """Done, and a container's oneit passed our SIGTERM back (or ENDING_WAIT went by)."""
        if self.shutdown_phase == 4:
            self.exit_code = 0

    # -- signals, reaping, oneit ---------------------------------------------

    def on_signal_byte(self, mask):
        try:
            data = os.read(self.sig_r, 512)
        except OSError:
            return
        for sig in data:
            if sig == _signal.SIGCHLD:
                self.reap()
            elif sig == _signal.SIGTERM and self.shutdown_phase == 4:
                self.ended()
            elif sig == _signal.SIGTERM:
                # Under oneit, TERM is PID 1's reboot signal passed on (a user's
                # `kill 1`, busybox's reboot): reboot once the services are stopped.
                self.request_shutdown("reboot" if self.oneit_pid is not None else "exit")
            elif sig == _signal.SIGINT:
                if not self.ctrlaltdel():
                    self.request_shutdown("exit")
            elif sig == _signal.SIGUSR1:
                self.request_shutdown("halt")
            elif sig == _signal.SIGUSR2:
                self.request_shutdown("poweroff")
            elif sig == _signal.SIGHUP:
                self.reopen()
            elif sig == _signal.SIGQUIT:
                self.restart_init()
            elif sig in oneitwire.OTHER_INIT_SIGNALS:
                self.request_shutdown(oneitwire.OTHER_INIT_SIGNALS[sig])

    def restart_init(self):
        """SIGQUIT, busybox init's "restart init". A container's oneit forwards it as a stop
        (it relaunches nothing after one): stop all and exit. Else, with a restart entry in
        the inittab: stop all as a shutdown does, its shutdown entries too, then exec that
        entry in svinit's place (finish). Without one: nothing, and the log says so."""
        if self.oneit_container:
            self.request_shutdown("exit")
            return
        if self.sset.shutting_down:
            self.log("SIGQUIT: ignored: a shutdown is under way")
            return
        d = self.inittab_restart_entry()
        if d is None:
            self.log("SIGQUIT (busybox's restart init): ignored: the inittab has no restart entry")
            return
        self.log("SIGQUIT: restart: stopping all services, then exec %s (%s:%d)"
                 % (" ".join(d.command), d.file, d.inittab_line))
        self.request_shutdown("restart")

    def inittab_restart_entry(self):
        """The inittab's first restart entry (what SIGQUIT execs), or None."""
        from toybox import inittab
        entries = inittab.ordered(self.inittab_descs, "restart")
        return entries[0] if entries else None

    def exec_restart(self):
        """Become the inittab's restart entry. The PID stays oneit's child, and keeps
        oneit's report and heartbeat fds and variables: a svinit exec'd there goes on
        as oneit's. On failure: exit 1 (oneit relaunches svinit)."""
        from toybox.spawn import SpawnError, exec_in_place
        d = self.restart_entry
        env = dict(self.environ)
        env.update(d.env)
        for fd in (oneitwire.REPORT_FD if self.report_fmt is not None else None, self.heartbeat_fd):
            if fd is not None:
                os.set_inheritable(fd, True)
        try:
            exec_in_place(d.command, d.exec_path, env)
        except SpawnError as e:
            self.log("restart: %s" % e)
            self.logger.drain()
        return 1

    def ctrlaltdel(self):
        from toybox import inittab
        entries = [d.name for d in inittab.ordered(self.inittab_descs, "ctrlaltdel")]
        if not entries or self.sset.shutting_down:
            return False
        self.log("ctrl-alt-del: running the inittab's ctrlaltdel entries")
        for name in entries:
            svc = self.sset.get(name)
            if svc.state == STARTED:
                svc.stop()
            svc.start()
        self.sset.process_queues()
        return True

    def reap(self):
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            w = self.watches.get(pid)
            if w is not None:
                self._resolve(pid, w, status)

    def on_reports(self, mask):
        try:
            data = os.read(oneitwire.REPORT_FD, 65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self.unwatch_fd(oneitwire.REPORT_FD)
            return
        records, self.report_buf = oneitwire.unpack(self.report_buf + data, self.report_fmt)
        if self.report_fmt != oneitwire.FORMAT_PID_STATUS:
            return      # toybox's oneit -3 names its child (us), not the orphan: no use
        for pid, status in records:
            w = self.watches.get(pid)
            if w is None or w.child:
                continue
            # oneit has reaped this PID: it is ours if our process is gone (a record
            # for an earlier process of that PID finds ours still there).
            st = None if w.gone else proc.stat(pid)
            if st is None or st.starttime != w.start:
                self._resolve(pid, w, status)

    def heartbeat(self):
        try:
            os.write(self.heartbeat_fd, b".")
        except OSError:
            pass
        self.timer(self.heartbeat_period, self.heartbeat)

    # -- control requests ----------------------------------------------------

    def handle(self, req, reply):
        def answer(obj):
            # What the client is told is on disk first, and in the log: a client that
            # sees a restart finds the lines about it there.
            self.persist()
            if self.logger.buf:
                self.logger.flush()
            reply(obj)
        self._handle(req, answer)

    def _handle(self, req, reply):
        cmd = req.get("cmd")
        if cmd == "list":
            svcs = sorted(self.sset.services.values(), key=lambda s: s.name)
            reply(protocol.reply_ok(services=[s.status() for s in svcs]))
            return
        if cmd == "info":
            reply(protocol.reply_ok(svinit=self.info()))
            return
        if cmd == "shutdown":
            how = req.get("how", "halt")
            if how not in HOWS:
                reply(protocol.reply_error("shutdown: how must be halt, poweroff or reboot, not %r"
                                           % (how,), protocol.E_BAD_REQUEST))
                return
            reply(protocol.reply_ok(accepted=True))
            self.request_shutdown(how)
            return
        from toybox import svcommands   # at the first request: a boot makes none
        # The control server let through only requests whose fields have their declared
        # types (protocol.check_request): a name here is a string.
        handler = getattr(svcommands, "cmd_" + cmd, None)
        if handler is None:
            reply(protocol.reply_error("unknown command %r" % (cmd,), protocol.E_UNKNOWN_CMD))
            return
        name = req.get("name")
        if not name:
            reply(protocol.reply_error('%s: a "name" string is needed' % cmd, protocol.E_BAD_REQUEST))
            return
        # start and the like load a service added after start-up; the others only say what
        # is wrong with its file, if anything.
        svc, error = self.requested_service(name, cmd in ("start", "wake", "reload", "restart", "enable"))
        if error is not None:
            reply(error)
            return
        handler(self, svc, req, reply)
        self.sset.process_queues()

    def info(self):
        """svinit at a glance (protocol.py: INFO)."""
        counts = {}
        failed = []
        for svc in self.sset.services.values():
            counts[svc.state] = counts.get(svc.state, 0) + 1
            if svc.failed and svc.state == STOPPED:
                failed.append([svc.name, svc.reason or "unknown reason"])
        failed_names = {name for name, _ in failed}
        requested = []
        for name in self.requested or self.cfg.names:
            svc = self.sset.get(name)
            word = "unknown" if svc is None else "failed" if name in failed_names else svc.state
            requested.append([name, word])
        ready_at, ready_uptime = self.ready or (None, None)
        return {"pid": os.getpid(), "since": self.since, "oneit": self.oneit_pid,
                "requested": requested, "recovered": self.recovered, "before": self.before,
                "ready_at": ready_at, "ready_uptime": ready_uptime,
                "shutdown": self.shutdown_how, "counts": counts, "failed": sorted(failed),
                "broken": sorted([name, why] for name, why in self.load_errors.items()),
                "services_dir": self.cfg.services_dir, "pid_dir": self.cfg.pid_dir,
                "socket": self.cfg.socket}

    # -- set-up and the loop -------------------------------------------------

    def rewrite_piddir(self):
        """Write every state file again (a new file system over the pid dir, a boot id learnt)."""
        if not self.boot_id:
            # /proc may be mounted by now (a boot's mounts come first): the files written
            # anew carry the boot id, and learn_boot_id need not write them all once more.
            self.boot_id = proc.boot_id()
        self.write_self()
        self.on_disk.clear()
        for svc in self.sset.services.values():
            self.sset.changed(svc)
        self.persist()

    def learn_boot_id(self):
        # Early in a boot /proc is not mounted yet and the boot id can't be read: the
        # files written until then carry none, and a restarted svinit, which can read
        # it, would take them for an earlier boot's. Once it can be read, write them again.
        self.boot_id = proc.boot_id()
        if self.boot_id and self.piddir is not None:
            self.rewrite_piddir()

    def reopen(self):
        from toybox.ctlserver import ServerError
        if self.piddir is not None:
            self.piddir.prepare()
            self.rewrite_piddir()
        try:
            if self.server is None:
                self.open_server()
            else:
                self.server.reopen()
        except ServerError as e:
            self.log(str(e))

    def open_server(self):
        from toybox.ctlserver import ControlServer
        self.server = ControlServer(self.cfg.socket, self.sel, self)

    def write_self(self):
        me = os.getpid()
        self.piddir.write_self([("pid", me), ("starttime", proc.starttime(me)),
                                ("boot_id", self.boot_id), ("socket", self.cfg.socket),
                                ("services_dir", self.cfg.services_dir), ("since", self.since),
                                ("shutdown", self.shutdown_how),
                                ("requested", None if self.requested is None else " ".join(self.requested)),
                                ("started", self.first_pass_recorded or None)])

    def setup(self):
        os.umask(0o022)
        os.chdir("/")
        self.pgrp = os.getpgrp()
        _close_on_exec_all()
        try:
            syscalls.set_subreaper()
        except OSError as e:
            self.log("can't become a child subreaper: %s (daemons' exits are seen through pidfds)"
                     % lib.strerror(e))
        _raise_fd_limit(self.cfg.fd_limit)
        self.devnull = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
        self.sig_r, sig_w = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)
        self.sig_w = sig_w
        _signal.set_wakeup_fd(sig_w, warn_on_full_buffer=False)
        for sig in HANDLED:
            _signal.signal(sig, _noop)
        _signal.signal(_signal.SIGPIPE, _signal.SIG_IGN)
        _signal.pthread_sigmask(_signal.SIG_BLOCK, HANDLED)
        self.sel.register(self.sig_r, EVENT_READ, self.on_signal_byte)
        self.setup_oneit()

    def setup_oneit(self):
        env = self.environ
        try:
            oneit = int(env.get(oneitwire.ENV_PID, ""))
        except ValueError:
            oneit = None
        # oneit's child leads a process group (a session as PID 1): a svinit started from a
        # shell under oneit (with ONEIT_PID in its environment) that went away, orphaning
        # it to oneit, is not that child, and must not take a `kill` for a reboot.
        if oneit is not None and oneit == os.getppid() and os.getpgrp() == os.getpid():
            self.oneit_pid = oneit
            self.oneit_container = env.get(oneitwire.ENV_CONTAINER) == "1"
        elif oneit is None and os.getppid() == 1 and os.getsid(0) == os.getpid() \
                and syscalls.process_is_ours(1):
            # toybox's own oneit sets no ONEIT_PID; it takes the same shutdown signals. It
            # starts its child in a session of its own: a svinit started from a shell that
            # later went away (orphaned to PID 1) is not its child, and must not take a
            # `kill` for a reboot of the machine.
            self.oneit_pid = 1
        fmt = env.get(oneitwire.ENV_FORMAT)
        if fmt is None and self.cfg.toybox_reports:
            fmt = oneitwire.FORMAT_PID
        if fmt in (oneitwire.FORMAT_PID, oneitwire.FORMAT_PID_STATUS) and _fd_open(oneitwire.REPORT_FD):
            self.report_fmt = fmt
            os.set_blocking(oneitwire.REPORT_FD, False)
            self.sel.register(oneitwire.REPORT_FD, EVENT_READ, self.on_reports)
        try:
            hb_fd = int(env.get(oneitwire.ENV_HEARTBEAT_FD, ""))
            period = float(env.get(oneitwire.ENV_HEARTBEAT_SECONDS, ""))
        except ValueError:
            hb_fd = period = None
        if hb_fd is not None and period and period > 0 and _fd_open(hb_fd):
            os.set_inheritable(hb_fd, False)
            os.set_blocking(hb_fd, False)
            self.heartbeat_fd = hb_fd
            self.heartbeat_period = period / 3
            self.heartbeat()
        if self.cfg.kmsg and self.oneit_pid == 1 and _initial_pid_namespace():
            self.logger.open_kmsg()

    def run(self):
        try:
            code = self._run()
        finally:
            # What is left in the log goes out on every way out: after the loop and its
            # cleanup, and when svinit gives up at start-up (another svinit, say) before the
            # loop ever flushed it, ahead of the error that ends it.
            self.logger.drain()
        if self.restart_entry is not None:
            return self.exec_restart()
        return code

    def _run(self):
        self.since = time.time()
        self.setup()
        self.piddir = PidDir(self.cfg.pid_dir, self.log)
        found = self.piddir.load(self.boot_id)
        if found.other is not None:
            raise lib.Fail("another svinit (pid %d) uses the pid dir %s" % (found.other, self.cfg.pid_dir))
        if self.piddir.prepare():
            self.write_self()
        from toybox.ctlserver import ServerError
        try:
            self.open_server()
        except ServerError as e:
            if "another svinit" in str(e):
                raise lib.Fail(str(e))
            self.log("%s (retried when a starts-rwfs service starts, or on SIGHUP)" % e)
        self.load_all(set(found.records) | set(found.broken))
        # What exists now (modules, descriptions, services) is svinit's for good: out of the
        # collector's sight, so that no collection walks it again. One full collection of
        # it, which allocation counts could trigger at any moment of a boot, cost 1.5M
        # instructions under QEMU.
        gc.freeze()
        gc.enable()
        me = found.me if found.this_boot else None
        if found.records or found.broken or (me is not None and "requested" in me):
            # A svinit of this boot began before us (piddir.py: `requested`), even if
            # every service is at rest now or its first launch went unrecorded.
            self.recovered = True
            pid = (found.me or {}).get("pid", "")
            self.before = int(pid) if pid.isdigit() else None
            from toybox import svrecover    # only after a restart of svinit
            svrecover.recover(self, found)
        else:
            self.start_requested()
        self.persist()
        self.first_pass_recorded = True
        self.write_self()
        try:
            self.loop()
        finally:
            self.cleanup()
        return self.exit_code

    def loop(self):
        sel = self.sel
        self.check_idle()
        logger = self.logger
        sigmask = _signal.pthread_sigmask
        while self.exit_code is None:
            timeout = self.next_timeout()
            if logger.buf:
                logger.flush()
            sigmask(_signal.SIG_UNBLOCK, HANDLED)
            try:
                ready = sel.select(timeout)
            finally:
                sigmask(_signal.SIG_BLOCK, HANDLED)
            for key, mask in ready:
                # An earlier callback of this batch may have closed this fd (and the
                # number may already be reused): only keys still registered run.
                try:
                    if sel.get_key(key.fileobj) is not key:
                        continue
                except KeyError:
                    continue
                key.data(mask)
            self.run_timers()
            if self.server is not None:
                self.server.tick()
            self.sset.process_queues()
            self.check_idle()
            if not self.boot_id:
                self.learn_boot_id()
            self.persist()

    def next_timeout(self):
        timers = self.timers
        while timers and timers[0][2].cancelled:
            heappop(timers)
        deadline = timers[0][0] if timers else None
        if self.server is not None:
            d = self.server.next_deadline()
            if d is not None and (deadline is None or d < deadline):
                deadline = d
        if deadline is None:
            return None
        # At most a day: epoll takes no more than 2**31 ms (a start-timeout of a month, or
        # an infinite one, would raise); the loop just wakes and waits again.
        return min(86400.0, max(0.0, deadline - time.monotonic()))

    def run_timers(self):
        now = time.monotonic()
        timers = self.timers
        while timers and (timers[0][2].cancelled or timers[0][0] <= now):
            t = heappop(timers)[2]
            if not t.cancelled:
                t.cancelled = True
                t.fn()

    def cleanup(self):
        if self.server is not None:
            self.server.close()
        if self.piddir is not None:
            self.persist()
            if self.exit_code is not None and not self.sset.running:
                # A clean end: the next svinit starts afresh, it is not a restart.
                for name in list(self.on_disk):
                    self.piddir.remove(name)
                self.piddir.remove_self()


def _noop(sig, frame):
    """Signals are taken from the wakeup pipe; the handler only has to exist."""


def _raw_status(info):
    """A wait status (as waitpid gives) from waitid's result."""
    if info.si_code == os.CLD_EXITED:
        return (info.si_status & 0xff) << 8
    if info.si_code == os.CLD_DUMPED:
        return (info.si_status & 0x7f) | 0x80
    return info.si_status & 0x7f


def _fd_open(fd):
    try:
        os.fstat(fd)
        return True
    except OSError:
        return False


def _close_on_exec_all():
    """Nothing svinit inherited (oneit's pipes, a test harness's fds) may leak into services."""
    try:
        fds = [int(n) for n in os.listdir("/proc/self/fd")]
    except OSError:
        return
    for fd in fds:
        if fd > 2:
            try:
                os.set_inheritable(fd, False)
            except OSError:
                pass


def _raise_fd_limit(want):
    """Each running service costs svinit an fd or two (output and readiness pipes)."""
    try:
        syscalls.raise_fd_limit(want)
    except OSError:
        pass


def _initial_pid_namespace():
    """True in the machine's own PID namespace (where PID 2 is the kernel's kthreadd), so a
    test run in a PID namespace does not write into the host's kernel log."""
    st = proc.stat(2)
    if st is None and proc.stat(os.getpid()) is None:
        return True     # no /proc yet: early boot of a machine (tests mount their own)
    return st is not None and st.comm == "kthreadd"


def console_device():
    """The terminal behind the console, for a service that needs job control on it:
    svinit's own terminal, unless that is /dev/console or its node was hidden by a
    devtmpfs mounted over /dev (ttyname fails then); else the kernel's active console
    (from /sys; early in a boot, before /sys is mounted, the node in /dev of the terminal
    behind svinit's /dev/console). None if there is none: the service then shares
    svinit's fds.
    """
    try:
        name = os.ttyname(0)
        if name != "/dev/console" and os.path.exists(name):
            return name
    except OSError:
        pass
    return proc.active_console() or proc.tty_node(0)
