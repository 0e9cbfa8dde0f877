"""The one place where the suite forks, execs, signals, mounts and reboots.

Everything that can harm a machine is guarded here, whatever the caller thinks:
reboot(2), mount(2) and kill(-1, ...) happen only when this process is PID 1 (of
the machine, or of a PID namespace); PID 1 is signalled only through
signal_init(), and only when PID 1 is this suite's own oneit. So nothing run on a
host by a test can reboot it or signal its init.

Set TOYBOX_SYSCALL_LOG=FILE to have every guarded call appended to FILE as one
line (`reboot poweroff`, `kill -1 15`, ...), so tests can watch what a PID 1 did.
"""
import posix
import sys

from toybox import lib

REBOOT_CMDS = {
    "reboot": 0x01234567,
    "halt": 0xCDEF0123,
    "poweroff": 0x4321FEDC,
}
RB_DISABLE_CAD = 0
PR_SET_PDEATHSIG = 1
PR_SET_NAME = 15
PR_SET_MM = 35
PR_SET_MM_ARG_START = 8
PR_SET_MM_ARG_END = 9
PR_SET_MM_ENV_START = 10
PR_SET_MM_ENV_END = 11
RLIMIT_NOFILE = 7
RLIM_INFINITY = (1 << 64) - 1
PR_SET_CHILD_SUBREAPER = 36
PR_GET_CHILD_SUBREAPER = 37
TIOCSCTTY = 0x540E
TIOCNOTTY = 0x5422
TIOCOUTQ = 0x5411

_libc = None


class Refused(PermissionError):
    """A guarded call made where it must not be (not PID 1, or PID 1 is not ours)."""


class _Libc:
    """The C library's prctl, reboot and mount, called through the _ctypes extension
    module itself: the ctypes package takes 5-10 ms of imports (ten times that under
    QEMU's emulation) at every start of oneit and svinit, this about one. Arguments
    are converted as ctypes does without argtypes (int, bytes, None); results are C ints,
    errno is kept (get_errno())."""

    def __init__(self):
        import _ctypes

        class c_int(_ctypes._SimpleCData):
            _type_ = "i"

        class Function(_ctypes.CFuncPtr):
            _flags_ = _ctypes.FUNCFLAG_CDECL | _ctypes.FUNCFLAG_USE_ERRNO
            _restype_ = c_int

        class c_ulong(_ctypes._SimpleCData):
            _type_ = "L"

        class c_char(_ctypes._SimpleCData):
            _type_ = "c"

        self._handle = _ctypes.dlopen(None, posix.RTLD_NOW)
        self._function = Function
        self.get_errno = _ctypes.get_errno
        self.ulong = c_ulong
        self.char = c_char
        self.addressof = _ctypes.addressof
        self.array = _ctypes.Array

    def __getattr__(self, name):
        fn = self._function((name, self))
        setattr(self, name, fn)
        return fn


def libc():
    global _libc
    if _libc is None:
        _libc = _Libc()
    return _libc


def _check(ret):
    if ret < 0:
        err = libc().get_errno()
        raise OSError(err, posix.strerror(err))
    return ret


def trace(*words):
    path = posix.environ.get(b"TOYBOX_SYSCALL_LOG")
    if not path:
        return
    try:
        fd = posix.open(path, posix.O_WRONLY | posix.O_APPEND | posix.O_CREAT | posix.O_CLOEXEC, 0o644)
        try:
            posix.write(fd, (" ".join(str(w) for w in words) + "\n").encode())
        finally:
            posix.close(fd)
    except OSError:
        pass


def is_pid1():
    return posix.getpid() == 1


def _require_pid1(what):
    if not is_pid1():
        raise Refused(1, "%s refused: only PID 1 may do that (this is PID %d)" % (what, posix.getpid()))


# -- signals ---------------------------------------------------------------

def kill(pid, sig):
    """Signal one process (pid > 1) or one process group (pid < -1)."""
    if pid in (0, 1, -1):
        raise Refused(1, "kill(%d) refused: use kill_all() or signal_init()" % pid)
    posix.kill(pid, sig)


def killpg(pgid, sig):
    """Signal a process group; refuses group 0 (our own) and 1."""
    if pgid <= 1:
        raise Refused(1, "killpg(%d) refused" % pgid)
    posix.killpg(pgid, sig)


def kill_all(sig):
    """kill(-1, sig): every process but PID 1 and the caller. PID 1 only."""
    _require_pid1("kill(-1)")
    trace("kill", -1, sig)
    posix.kill(-1, sig)


def pid1_is_ours():
    """True when PID 1 runs this suite (its command line names oneit/init/toybox under Python).

    A foreign init (systemd, a container runtime's) must never get our signals.
    """
    return process_is_ours(1)


_OURS = set()     # PIDs process_is_ours() found ours while /proc could tell


def process_is_ours(pid):
    """True when process `pid` runs this suite's oneit (see pid1_is_ours), or toybox's own
    `oneit`, which takes the same signals (USR1 halt, USR2 power off, TERM reboot).

    With /proc gone (a shutdown entry's `umount -a`), the answer it gave before for the
    same PID stands: callers ask about PID 1 or their own parent, which stay the same
    process while the caller lives."""
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            words = [w.decode("utf-8", "replace") for w in f.read().split(b"\0") if w]
    except OSError:
        return pid in _OURS
    ours = _names_ours([w.rsplit("/", 1)[-1] for w in words])
    if ours:
        _OURS.add(pid)
    return ours


def _names_ours(names):
    if not names:
        return False
    if names[0] == "oneit" or (names[0].startswith("toybox") and names[1:2] == ["oneit"]):
        return True
    if not names[0].startswith("python"):
        return False
    return any(n in ("oneit", "init", "toybox", "linuxrc") for n in names[1:])


def signal_parent_oneit(sig, oneit_pid):
    """svinit asks its parent oneit (PID `oneit_pid`, from $ONEIT_PID) to halt, power off or
    reboot by its conventional signal. Refused unless the parent is that PID and runs our
    oneit; a parent that is PID 1 goes through signal_init()'s guards."""
    ppid = posix.getppid()
    if ppid != oneit_pid:
        raise Refused(1, "parent %d is not oneit (%d): not signalling it" % (ppid, oneit_pid))
    if ppid == 1:
        return signal_init(sig)
    if not process_is_ours(ppid):
        raise Refused(1, "parent %d does not run this suite's oneit: not signalling it" % ppid)
    trace("signal_parent", ppid, sig)
    posix.kill(ppid, sig)


def check_init_signal():
    """Refused unless signal_init may signal PID 1: PID 1 is ours, and we are not it."""
    if is_pid1():
        raise Refused(1, "signal_init refused: this is PID 1")
    if not pid1_is_ours():
        raise Refused(1, "PID 1 is not this suite's oneit: not signalling it")


def signal_init(sig):
    """Ask PID 1 to halt/poweroff/reboot by its conventional signal, if PID 1 is ours."""
    check_init_signal()
    trace("signal_init", sig)
    posix.kill(1, sig)


# -- process control ---------------------------------------------------------

def fork():
    return posix.fork()


def setsid():
    return posix.setsid()


def set_controlling_tty(fd):
    """Make the terminal on fd the controlling tty of this session leader (job control)."""
    import fcntl
    fcntl.ioctl(fd, TIOCSCTTY, 0)


def output_queued(fd):
    """Bytes written to the terminal on fd and not sent yet; OSError if fd is no terminal."""
    import fcntl
    return int.from_bytes(fcntl.ioctl(fd, TIOCOUTQ, bytes(4)), sys.byteorder, signed=True)


def drop_controlling_tty():
    """Give up our controlling terminal, if we have one (a daemon given the console by oneit).

    Otherwise ^C typed on the console signals the daemon, and a console service can't
    make the terminal its own. As a session leader we would get SIGHUP for it: ignored
    for the moment of the call. Returns True if there was one to drop.
    """
    import _signal
    try:
        fd = posix.open("/dev/tty", posix.O_RDWR | posix.O_NOCTTY | posix.O_CLOEXEC)
    except OSError:
        return False
    old = _signal.signal(_signal.SIGHUP, _signal.SIG_IGN)
    try:
        import fcntl
        fcntl.ioctl(fd, TIOCNOTTY)
        return True
    except OSError:
        return False
    finally:
        _signal.signal(_signal.SIGHUP, old)
        posix.close(fd)


def prctl(option, arg):
    return _check(libc().prctl(option, arg, 0, 0, 0))


_cmdline = None    # the buffer /proc/self/cmdline shows after set_cmdline(): kept for good


def set_cmdline(words, env, comm):
    """Make /proc/self/cmdline read `words`, /proc/self/environ `env` (NAME=VALUE strings)
    and /proc/self/comm `comm`, as an exec would have: ps, pidof and process_is_ours read
    them. Needs CAP_SYS_RESOURCE (prctl PR_SET_MM); raises OSError without it. A failure
    may leave them half moved: the caller then execs, which makes them anew."""
    global _cmdline
    c = libc()
    args = b"".join(lib.fsencode(w) + b"\0" for w in words)
    data = args + b"".join(lib.fsencode(w) + b"\0" for w in env)
    buf = type("cmdline", (c.array,), {"_type_": c.char, "_length_": len(data)}).from_buffer_copy(data)
    at = c.addressof(buf)
    # The kernel wants start <= end after each step. What the exec left is on the stack,
    # above the heap this buffer is in: each start moves down first, then its end.
    for what, addr in ((PR_SET_MM_ARG_START, at), (PR_SET_MM_ARG_END, at + len(args)),
                       (PR_SET_MM_ENV_START, at + len(args)), (PR_SET_MM_ENV_END, at + len(data))):
        if c.prctl(PR_SET_MM, what, c.ulong(addr), c.ulong(0), c.ulong(0)) < 0:
            err = c.get_errno()
            raise OSError(err, posix.strerror(err))
    _cmdline = buf
    c.prctl(PR_SET_NAME, lib.fsencode(comm)[:15], 0, 0, 0)


def raise_fd_limit(want):
    """Raise the soft limit on open files to `want`, or to the hard limit if lower (the
    resource module would cost an extension module's load at every boot)."""
    c = libc()
    lim = (c.ulong * 2)()
    if c.getrlimit(RLIMIT_NOFILE, lim) < 0:
        return
    soft, hard = lim[0], lim[1]
    limit = want if hard == RLIM_INFINITY else min(want, hard)
    if soft != RLIM_INFINITY and soft < limit:
        lim[0] = limit
        _check(c.setrlimit(RLIMIT_NOFILE, lim))


def set_subreaper():
    """Orphans of our descendants come to us, not to PID 1 (Linux >= 3.4)."""
    return prctl(PR_SET_CHILD_SUBREAPER, 1)


def set_pdeathsig(sig):
    return prctl(PR_SET_PDEATHSIG, sig)


# -- machine -----------------------------------------------------------------

def sync():
    posix.sync()


def reboot(how):
    """reboot(2) with `halt`, `poweroff` or `reboot`. PID 1 only.

    HALT and POWER_OFF end in do_exit() of the caller when the machine keeps
    running, which for PID 1 is a kernel panic; so a child makes the call and
    this process waits for it. Does not return when it works.
    """
    cmd = REBOOT_CMDS[how]
    _require_pid1("reboot(%s)" % how)
    trace("reboot", how)
    pid = posix.fork()
    if pid == 0:
        try:
            libc().reboot(cmd)
        finally:
            posix._exit(1)
    posix.waitpid(pid, 0)


def reboot_now(how):
    """reboot(2) from any process of a machine (or PID namespace) this suite runs: `reboot -f`.

    Allowed when this process is PID 1, or when PID 1 is this suite's oneit (then
    the caller is an ordinary process, which reboot(2) lets end the machine, or in
    a PID namespace kills its init). Refused anywhere else, such as on a host
    whose init is not ours. Does not return when it works.
    """
    if is_pid1():
        return reboot(how)
    cmd = REBOOT_CMDS[how]
    if not pid1_is_ours():
        raise Refused(1, "-f (%s now, without svinit) refused: PID 1 is not this suite's oneit"
                      % how)
    trace("reboot", how)
    _check(libc().reboot(cmd))


def disable_cad():
    """Ctrl-alt-del sends SIGINT to PID 1 instead of rebooting at once. PID 1 only."""
    _require_pid1("reboot(CAD_OFF)")
    trace("reboot", "cad-off")
    try:
        _check(libc().reboot(RB_DISABLE_CAD))
    except OSError:
        pass   # EINVAL in a PID namespace: nothing to disable there


def mount(source, target, fstype, flags=0, data=None):
    """mount(2). PID 1 only (of a machine or of a namespace with its own mounts)."""
    _require_pid1("mount")
    trace("mount", source, target, fstype, flags, data or "")
    enc = lib.fsencode
    _check(libc().mount(enc(source), enc(target), enc(fstype), flags,
                        enc(data) if data is not None else None))
