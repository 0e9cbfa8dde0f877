"""Starting a service's process: posix_spawn when nothing must run in the child, else fork+exec.

posix_spawn (a vfork-style clone in glibc) is about twice as fast as fork+exec from
Python and reports an exec failure as an exception, so most services use it. It can't
run code in the child, so a service that needs a user switch or the askfirst prompt
goes through fork+exec, and the child reports a failing stage and errno through a
close-on-exec pipe: EOF on it means the exec happened.

A terminal is not a reason to fork: the child is a session leader (setsid) when the
file actions run, so opening the tty without O_NOCTTY makes it the controlling
terminal, as TIOCSCTTY would (unless it is another session's: then it is only the
child's stdio, as with TIOCSCTTY failing). Forking svinit, a large Python process,
cost a console shell 30-60 ms at boot under QEMU's emulation. If such a spawn fails,
it is tried again through fork+exec, whose error says which stage failed (the open
of the tty, or the exec).

The working directory is not a reason to fork: svinit is single-threaded and keeps
every path it uses absolute, so it changes its own directory around posix_spawn
(Python 3.11's posix_spawn has no chdir action).

Either way the child gets: its own session, every signal at its default disposition,
an empty signal mask, exactly the fds of `Launch.fds` (0, 1, 2, and a readiness fd),
nothing else: every other fd of svinit is close-on-exec.
"""
from toybox import sysos as os     # posix, and os's helpers without its import
import _signal
import errno
import posix

from toybox import lib, syscalls

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
ASKFIRST_PROMPT = b"\nPlease press Enter to activate this console. "

CATCHABLE = frozenset(_signal.valid_signals()) - {_signal.SIGKILL, _signal.SIGSTOP}


class SpawnError(Exception):
    """A service's process could not be started: `exec /bin/foo: No such file or directory`."""

    def __init__(self, stage, err, what=None):
        super().__init__(stage, err, what)
        self.stage = stage
        self.errno = err
        self.what = what

    def __str__(self):
        where = "%s %s" % (self.stage, self.what) if self.what is not None else self.stage
        return "%s: %s" % (where, lib.strerror(self.errno))


class Launch:
    """What to start: argv, environment, directory, fds {child fd: svinit fd}, and the extras
    that need code in the child (run_as = (uid, gid, groups), tty path, askfirst)."""

    __slots__ = ("argv", "exec_path", "env", "cwd", "fds", "run_as", "tty", "ctty", "askfirst")

    def __init__(self, argv, env, cwd="/", fds=None, exec_path=None, run_as=None, tty=None,
                 ctty=False, askfirst=False):
        self.argv = argv
        self.exec_path = exec_path
        self.env = env
        self.cwd = cwd
        self.fds = fds or {}
        self.run_as = run_as
        self.tty = tty
        self.ctty = ctty
        self.askfirst = askfirst

    def needs_fork(self):
        return self.run_as is not None or self.askfirst


# As execvp(3) (which Dinit uses), an executable file the kernel can't run (a script
# without #!) is run by the shell: a Dinit service file means the same here.
SHELL = "/bin/sh"


def _or_sh(run, path, argv):
    """run(path, argv); for a file the kernel can't run (ENOEXEC), run(/bin/sh, [/bin/sh,
    path, ARGS...]). Raises the first error if both fail."""
    try:
        return run(path, argv)
    except OSError as e:
        if e.errno != errno.ENOEXEC:
            raise
        try:
            return run(SHELL, [SHELL, path] + list(argv[1:]))
        except OSError:
            raise e from None


def find_program(name, env):
    """The path to exec for argv[0] `name`, searched in the service's own PATH as execvp would."""
    if "/" in name:
        return name
    for d in (env.get("PATH") or DEFAULT_PATH).split(":"):
        path = os.path.join(d or ".", name)
        if os.access(path, os.X_OK) and not os.path.isdir(path):
            return path
    raise SpawnError("exec", 2, name)      # ENOENT, as execvp reports it


def spawn(launch):
    """Start the process: (pid, status_fd). status_fd is None when the exec is already known
    to have worked (posix_spawn), else the read end of the close-on-exec error pipe: read it
    with read_status() once it is readable. Raises SpawnError for a failure known at once."""
    try:
        path = find_program(launch.exec_path or launch.argv[0], launch.env)
        if not launch.needs_fork():
            pid = _posix_spawn(launch, path)
            if pid is not None:
                return pid, None
        return _fork_exec(launch, path)
    except (ValueError, OverflowError) as e:
        raise SpawnError("setup", errno.EINVAL, _bad_value(e)) from None


def _bad_value(e):
    """What a launch's ValueError or OverflowError says, for its SpawnError (the
    interpreter raises them before any system call: a NUL byte, an ID out of range)."""
    text = str(e)
    if "null" in text:
        return "a NUL byte in an argument, the environment or a path"
    return text


def _posix_spawn(launch, path):
    actions = []
    dups = []
    for target in sorted(launch.fds):
        source = launch.fds[target]
        if source == target:
            # A dup2 onto itself would leave it close-on-exec.
            source = os.dup(source)
            dups.append(source)
        actions.append((os.POSIX_SPAWN_DUP2, source, target))
    if launch.tty is not None:
        actions += [(os.POSIX_SPAWN_OPEN, 0, launch.tty, os.O_RDWR | (0 if launch.ctty else os.O_NOCTTY), 0),
                    (os.POSIX_SPAWN_DUP2, 0, 1), (os.POSIX_SPAWN_DUP2, 0, 2)]
    moved = False
    try:
        if launch.cwd and launch.cwd != "/":
            try:
                os.chdir(launch.cwd)
            except OSError as e:
                raise SpawnError("chdir", e.errno, launch.cwd) from None
            moved = True
        def go(program, argv):
            return os.posix_spawn(program, argv, launch.env, file_actions=actions,
                                  setsid=True, setsigdef=CATCHABLE, setsigmask=())
        try:
            return _or_sh(go, path, launch.argv)
        except OSError as e:
            if launch.tty is not None:
                return None      # the open of the tty, or the exec: _fork_exec tells which
            raise SpawnError("exec", e.errno, path) from None
    finally:
        if moved:
            os.chdir("/")
        for fd in dups:
            os.close(fd)


def _fork_exec(launch, path):
    rfd, wfd = os.pipe2(os.O_CLOEXEC)
    pid = syscalls.fork()
    if pid == 0:
        try:
            os.close(rfd)
            _child(launch, path, wfd)
        finally:
            posix._exit(127)    # whatever happened: never a second svinit
    os.close(wfd)
    return pid, rfd


def _default_signals():
    _signal.set_wakeup_fd(-1)
    for sig in CATCHABLE:
        try:
            _signal.signal(sig, _signal.SIG_DFL)
        except (OSError, ValueError):
            pass
    _signal.pthread_sigmask(_signal.SIG_SETMASK, ())


def execve_or_sh(path, argv, env):
    """execve(2); for a file the kernel can't run (ENOEXEC), /bin/sh FILE ARGS, as
    execvp(3) does. Raises the first error if both fail."""
    _or_sh(lambda program, args: os.execve(program, args, env), path, argv)


def exec_in_place(argv, exec_path, env):
    """Replace this process by argv (svinit by an inittab's restart entry), with signals
    at their defaults and nothing blocked, as a spawned child. Raises SpawnError if that
    fails; the caller is then on its way out (its signals are at their defaults)."""
    try:
        path = find_program(exec_path or argv[0], env)
        _default_signals()
        try:
            execve_or_sh(path, argv, env)
        except OSError as e:
            raise SpawnError("exec", e.errno, path) from None
    except (ValueError, OverflowError) as e:
        raise SpawnError("setup", errno.EINVAL, _bad_value(e)) from None


def _child(launch, path, wfd):
    stage, what = "setup", None
    try:
        _default_signals()
        stage = "setsid"
        os.setsid()
        # Move every source above the targets first, so no dup2 clobbers a later source.
        high = max(list(launch.fds) + [2]) + 1
        moved = {}
        for target, source in launch.fds.items():
            moved[target] = _fcntl_dupfd(source, high)
        for target, source in moved.items():
            os.dup2(source, target)
        if launch.tty is not None:
            stage, what = "open", launch.tty
            fd = os.open(launch.tty, os.O_RDWR | os.O_NOCTTY)
            if launch.ctty:
                try:
                    syscalls.set_controlling_tty(fd)
                except OSError:
                    pass    # the tty is some other session's: run without job control
            for target in (0, 1, 2):
                os.dup2(fd, target)
            if fd > 2:
                os.close(fd)
        if launch.askfirst:
            stage, what = "askfirst", launch.tty or "console"
            os.write(1, ASKFIRST_PROMPT)
            while True:
                c = os.read(0, 1)
                if not c or c == b"\n":
                    break
        if launch.cwd:
            stage, what = "chdir", launch.cwd
            os.chdir(launch.cwd)
        if launch.run_as is not None:
            uid, gid, groups = launch.run_as
            stage, what = "setgid", gid
            if gid is not None:
                os.setgroups(list(groups or [gid]))
                os.setgid(gid)
            stage, what = "setuid", uid
            os.setuid(uid)
        stage, what = "exec", path
        execve_or_sh(path, launch.argv, launch.env)
    except (OSError, ValueError, OverflowError) as e:
        err = e.errno or 0 if isinstance(e, OSError) else errno.EINVAL
        if not isinstance(e, OSError):
            what = _bad_value(e)
        msg = "%s\0%s\0%d" % (stage, "" if what is None else what, err)
        try:
            os.write(wfd, msg.encode("utf-8", "surrogateescape"))
        except OSError:
            pass


def _fcntl_dupfd(fd, low):
    import fcntl
    return fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, low)


def read_status(fd):
    """After the status pipe became readable: None if the exec worked, else the SpawnError.
    Closes fd."""
    try:
        data = os.read(fd, 4096)
    except OSError:
        data = b""
    finally:
        os.close(fd)
    if not data:
        return None
    parts = data.decode("utf-8", "surrogateescape").split("\0")
    if len(parts) != 3 or not parts[2].isdigit():
        return SpawnError("setup", 0, "garbled status from the child")
    return SpawnError(parts[0], int(parts[2]), parts[1] or None)
