"""Reading /proc: process state and start time (to tell a PID from its reuse), boot id."""
from toybox import sysos as os     # posix, and os's helpers without its import
import time

from toybox.fs import read_text


class ProcStat:
    """Fields of /proc/PID/stat that a supervisor needs."""

    __slots__ = ("pid", "comm", "state", "ppid", "pgrp", "session", "starttime")

    def __init__(self, pid, comm, state, ppid, pgrp, session, starttime):
        self.pid = pid
        self.comm = comm
        self.state = state
        self.ppid = ppid
        self.pgrp = pgrp
        self.session = session
        self.starttime = starttime


def parse_stat(pid, text):
    """Parse the text of /proc/PID/stat. comm is in parentheses and may hold spaces and ')',
    so the fields are split after the last ')'. Returns None for text that doesn't parse.
    """
    open_at = text.find("(")
    close_at = text.rfind(")")
    if open_at < 0 or close_at < open_at:
        return None
    rest = text[close_at + 2:].split()
    # rest[0] is field 3 (state); field N is rest[N - 3]; starttime is field 22.
    if len(rest) < 20:
        return None
    try:
        return ProcStat(pid, text[open_at + 1:close_at], rest[0], int(rest[1]), int(rest[2]),
                        int(rest[3]), int(rest[19]))
    except ValueError:
        return None


def stat(pid, proc="/proc"):
    """ProcStat of a live process, or None if there is no such process."""
    text = read_text("%s/%d/stat" % (proc, pid), 4096)
    return None if text is None else parse_stat(pid, text)


def starttime(pid, proc="/proc"):
    """Start time of PID in clock ticks since boot (field 22), or None if it doesn't exist."""
    st = stat(pid, proc)
    return None if st is None else st.starttime


def alive(pid, start=None, proc="/proc"):
    """True if PID exists, is not a zombie, and (if given) started at `start`:
    the same process, not a later one that reuses its number."""
    st = stat(pid, proc)
    if st is None or st.state in ("Z", "X"):
        return False
    return start is None or st.starttime == start


def children(pid, proc="/proc"):
    """PIDs of the children of process pid (of all its threads); [] if it is gone. From
    the children files, or where the kernel has none (CONFIG_PROC_CHILDREN), from every
    process's parent."""
    return list(_children_lookup(pid, proc)(pid))


def descendants(pid, proc="/proc"):
    """Every process below pid in the process tree (children first, then theirs)."""
    lookup = _children_lookup(pid, proc)
    out = []
    todo = [pid]
    while todo:
        for child in lookup(todo.pop()):
            out.append(child)
            todo.append(child)
    return out


def _children_lookup(pid, proc):
    """A function from a PID to its children's, chosen once for a walk from pid."""
    if os.path.exists("%s/%d/task/%d/children" % (proc, pid, pid)):
        return lambda p: _from_children_files(p, proc)
    if not os.path.exists("%s/%d" % (proc, pid)):
        return lambda p: ()     # gone: no need to look at every process
    kids = _by_parent(proc)     # one scan for the whole tree
    return lambda p: kids.get(p, ())


def _from_children_files(pid, proc):
    out = []
    try:
        tasks = os.listdir("%s/%d/task" % (proc, pid))
    except OSError:
        return out
    for tid in tasks:
        text = read_text("%s/%d/task/%s/children" % (proc, pid, tid), 1 << 20)
        if text:
            out.extend(int(w) for w in text.split())
    return out


def _by_parent(proc):
    """{ppid: [pid, ...]} of every process."""
    kids = {}
    try:
        entries = os.listdir(proc)
    except OSError:
        return kids
    for entry in entries:
        if entry.isdigit():
            st = stat(int(entry), proc)
            if st is not None:
                kids.setdefault(st.ppid, []).append(st.pid)
    return kids


def boot_id(proc="/proc"):
    """This boot's id; state from an earlier boot must not be trusted."""
    text = read_text(proc + "/sys/kernel/random/boot_id", 128)
    return text.strip() if text else ""


_TICKS = []


def clock_ticks():
    if not _TICKS:
        _TICKS.append(os.sysconf("SC_CLK_TCK"))
    return _TICKS[0]


def boottime_ticks():
    """Now, in the unit and rounding of starttime (clock ticks of CLOCK_BOOTTIME, truncated),
    or None where the kernel rounds differently. A process forked between two calls that
    return the same value has that starttime: no need to read /proc (which, right after a
    launch, costs a supervisor the CPU its new child is using)."""
    ticks = clock_ticks()
    if ticks <= 0 or 1000000000 % ticks:
        return None
    return time.clock_gettime_ns(time.CLOCK_BOOTTIME) // (1000000000 // ticks)


def uptime(proc="/proc"):
    """Seconds since boot (float), the clock that starttime counts in."""
    text = read_text(proc + "/uptime", 128)
    return float(text.split()[0]) if text else 0.0


TIOCGDEV = 0x80045432


def tty_node(fd, dev_dir="/dev"):
    """The node in /dev of the terminal behind fd (the real one behind /dev/console, as
    TIOCGDEV tells): a character device of that number (ttyS0, tty1, hvc0...) other than
    console and tty; None if there is none."""
    import fcntl
    import sys
    try:
        rdev = int.from_bytes(fcntl.ioctl(fd, TIOCGDEV, bytes(4)), sys.byteorder)
        names = sorted(os.listdir(dev_dir))
    except OSError:
        return None
    for name in names:
        if name not in ("console", "tty", "ptmx"):
            path = dev_dir + "/" + name
            try:
                st = os.stat(path)
            except OSError:
                continue
            if st.st_rdev == rdev and st.st_mode & 0o170000 == 0o020000:
                return path
    return None


def active_console(sys_dir="/sys"):
    """The kernel's active console device (`/dev/ttyS0`): the last entry of
    /sys/class/tty/console/active whose /dev node exists; None if there is none
    (/sys not mounted, no node). /dev/console itself is no use as a controlling tty.
    """
    text = read_text(sys_dir + "/class/tty/console/active", 4096)
    names = text.split() if text else []
    if names and os.path.exists("/dev/" + names[-1]):
        return "/dev/" + names[-1]
    return None
