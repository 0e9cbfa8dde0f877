"""Service output: a pipe per launch that svinit drains into the logfile and a short tail.

Why a pipe and not the file itself as the child's stdout: svinit sees every byte, so the
size cap is exact (the file is renamed to LOGFILE.1 and a new one started once a write
would pass logfile-max-size; one old generation is kept), and the last lines are in
memory for `ctl log` whether or not there is a logfile. svinit reads at most READ_CHUNK
bytes per wake-up per pipe and writes them at once, so nothing accumulates in svinit; a
service that writes faster than that waits on its full pipe, as it would on a slow disk.

Surviving svinit's death: the child's end is not the pipe's write end but the pipe
opened again read-write through /proc/self/fd (child_end()). The child is then a
reader of its own pipe too, so when svinit dies its writes never fail with EPIPE (nor
kill it with SIGPIPE): they fill the pipe (64 KiB) and then wait. A restarted svinit
finds the pipe again as /proc/PID/fd/1 of the process it re-adopts (reopen(); the
pipe's inode, recorded in the state file as `output`, tells it is ours) and reads on
from where the old one stopped. What the old svinit had read but not yet written is
lost, and so is the in-memory tail.
"""
from toybox import sysos as os     # posix, and os's helpers without its import
from _collections import deque     # (collections itself costs an import)
import _stat

from toybox import fs

READ_CHUNK = 65536
TAIL_LINES = 100
MAX_LINE = 4096      # a tail line longer than this is cut (the logfile gets all of it)


class Output:
    """One service's output: open pipes, its logfile (optional), the last TAIL_LINES lines."""

    def __init__(self, name, warn):
        self.name = name
        self.warn = warn
        self.logfile = None
        self.max_size = 0
        self.mode = 0o600
        self.fd = None          # the open logfile
        self.size = 0
        self.tail = deque(maxlen=TAIL_LINES)
        self.tail_max = None     # log-buffer-size: the tail's bytes at most (else TAIL_LINES lines)
        self.tail_bytes = 0      # counted only while tail_max is set
        self.partial = b""
        self.pipes = set()      # read ends still open (an old launch's children may write on)
        self.failed_path = None  # logfile we could not open or write: warned once, until a write succeeds
        self.rotate_failed = False

    def configure(self, logfile, max_size, mode, tail_max=None):
        if logfile != self.logfile:
            self.close_file()
            self.failed_path = None
            self.rotate_failed = False
        self.logfile = logfile
        self.max_size = max_size or 0
        self.mode = mode
        if tail_max != self.tail_max:
            self.tail_max = tail_max
            self.tail_bytes = sum(_nbytes(line) for line in self.tail) if tail_max else 0
            self._trim()

    def new_pipe(self):
        """(read_fd, write_fd, pipe id) for a launch: the write end goes to the child as 1
        and 2; the id (the pipe's inode) finds the pipe again after a restart of svinit."""
        r, w = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)
        self.pipes.add(r)
        return r, child_end(r, w), str(os.fstat(r).st_ino)

    def reopen(self, pid, pipe_id):
        """After a restart of svinit: a new read end of the output pipe of process pid (its
        fd 1 or 2, if that is still the pipe recorded as pipe_id), or None."""
        for fd in (1, 2):
            path = "/proc/%d/fd/%d" % (pid, fd)
            try:
                if str(os.stat(path).st_ino) != pipe_id:
                    continue
                r = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
            except OSError:
                continue
            if str(os.fstat(r).st_ino) != pipe_id:      # it changed in between
                os.close(r)
                continue
            self.pipes.add(r)
            return r
        return None

    def readable(self, fd):
        """Drain one chunk from pipe fd. False at EOF: unwatch it, then close_pipe(fd)."""
        try:
            data = os.read(fd, READ_CHUNK)
        except BlockingIOError:
            return True
        except OSError:
            data = b""
        if not data:
            return False
        self.feed(data)
        return True

    def close_pipe(self, fd):
        if fd in self.pipes:
            self.pipes.discard(fd)
            os.close(fd)

    def feed(self, data):
        self._keep_tail(data)
        if self.logfile is not None:
            self._write(data)

    def _keep_tail(self, data):
        lines = (self.partial + data).split(b"\n")
        self.partial = lines.pop()[:MAX_LINE]
        for line in lines[-TAIL_LINES:]:
            self._append(line[:MAX_LINE].decode("utf-8", "replace"))

    def _append(self, line):
        if self.tail_max is None:
            self.tail.append(line)
            return
        if len(self.tail) == TAIL_LINES:
            self.tail_bytes -= _nbytes(self.tail[0])
        self.tail.append(line)
        self.tail_bytes += _nbytes(line)
        self._trim()

    def _trim(self):
        """Under log-buffer-size: the oldest lines go until the tail fits; a last line
        longer than the whole size keeps its end."""
        if self.tail_max is None:
            return
        while self.tail_bytes > self.tail_max and len(self.tail) > 1:
            self.tail_bytes -= _nbytes(self.tail.popleft())
        if self.tail and self.tail_bytes > self.tail_max:
            last = self.tail.pop().encode()[-self.tail_max:].decode("utf-8", "ignore")
            self.tail.append(last)
            self.tail_bytes = _nbytes(last)

    def _open(self):
        try:
            self.fd = os.open(self.logfile, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC,
                              self.mode)
            self.size = os.fstat(self.fd).st_size
            return True
        except OSError as e:
            self.fd = None
            self._failed(e)
            return False

    def _failed(self, e):
        """Warn of a failed open or write once per failure episode: a full disk fails every
        write, and each would otherwise put a line in svinit's log (the console). The
        episode ends when a write succeeds: an open alone proves nothing (/dev/full)."""
        if self.failed_path != self.logfile:
            self.failed_path = self.logfile
            self.warn("%s: logfile %s: %s" % (self.name, self.logfile, e.strerror))

    def _write(self, data):
        if self.fd is None and not self._open():
            return
        if self.max_size and self.size and self.size + len(data) > self.max_size:
            self._rotate()
            if self.fd is None:
                return
        view = memoryview(data)
        try:
            while view:
                n = os.write(self.fd, view)
                view = view[n:]
                self.size += n
        except OSError as e:
            self.close_file()
            self._failed(e)
            return
        self.failed_path = None

    def _rotate(self):
        self.close_file()
        try:
            os.rename(self.logfile, self.logfile + ".1")
            self.rotate_failed = False
        except OSError as e:
            # Tried again at each write (the file stays past its size): said once, until
            # a rotation succeeds.
            if not self.rotate_failed:
                self.rotate_failed = True
                self.warn("%s: can't rotate logfile %s: %s" % (self.name, self.logfile, e.strerror))
        self._open()

    def close_file(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def close(self):
        for fd in list(self.pipes):
            self.close_pipe(fd)
        self.close_file()

    def lines(self, n):
        """The last n lines: from the logfile (and LOGFILE.1) when there is one, else the tail."""
        if self.logfile is not None:
            out = _file_tail(self.logfile, n)
            if out is not None:
                if len(out) < n:
                    older = _file_tail(self.logfile + ".1", n - len(out)) or []
                    out = older + out
                return out
        out = list(self.tail)
        if self.partial:
            out.append(self.partial.decode("utf-8", "replace"))
        return out[-n:] if n > 0 else []


def _nbytes(line):
    """A tail line's size in bytes, as the service wrote it (invalid bytes count as 3)."""
    return len(line.encode())


def child_end(r, w):
    """The fd to give a child as the write end of pipe (r, w): the pipe opened read-write
    (see the module's docstring), blocking; w itself where /proc is not mounted. Closes w
    in the first case."""
    try:
        rw = os.open("/proc/self/fd/%d" % r, os.O_RDWR | os.O_CLOEXEC)
    except OSError:
        os.set_blocking(w, True)
        return w
    os.close(w)
    return rw


def own_pipe(pid):
    """The id (inode) of the output pipe svinit gave process pid, found without a record
    (the launch was not recorded): its fd 1, or 2, if that is a pipe open for reading and
    writing, which only child_end() makes (a pipe of the process's own, or a shell's, is
    open one way). None if it has none: its output goes elsewhere, or nowhere svinit can
    read."""
    for fd in (1, 2):
        try:
            st = os.stat("/proc/%d/fd/%d" % (pid, fd))
        except OSError:
            continue
        if not _stat.S_ISFIFO(st.st_mode):
            continue
        info = fs.read_text("/proc/%d/fdinfo/%d" % (pid, fd), 4096) or ""
        for line in info.splitlines():
            if line.startswith("flags:"):
                if int(line.split()[1], 8) & os.O_ACCMODE == os.O_RDWR:
                    return str(st.st_ino)
                break
    return None


def _file_tail(path, n, limit=256 * 1024):
    """The last n lines of a file, reading at most its last `limit` bytes; None if unreadable
    or not a regular file (a logfile such as /dev/full or a terminal never ends, and svinit
    would read it for good: the in-memory tail stands in)."""
    if n <= 0:
        return []
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK | os.O_NOCTTY)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not _stat.S_ISREG(st.st_mode):
            return None
        size = st.st_size
        start = max(0, size - limit)
        os.lseek(fd, start, os.SEEK_SET)
        chunks = []
        while True:
            chunk = os.read(fd, READ_CHUNK)
            if not chunk:
                break
            chunks.append(chunk)
    except OSError:
        return None
    finally:
        os.close(fd)
    data = b"".join(chunks)
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    if start > 0 and lines:
        lines.pop(0)        # cut in the middle
    return [line.decode("utf-8", "replace") for line in lines[-n:]]
