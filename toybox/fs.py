"""Files that must never be seen half-written: pid files and state."""
from toybox import sysos as os     # posix, and os's helpers without its import


def write_atomic(path, data, mode=0o644):
    """Replace `path` with `data` (str or bytes) so that a reader sees the old file or the
    new one, never a mix: temp file beside it, rename. Not fsynced: what a reader in
    another process sees does not need it (piddir.py says why the pid dir does not)."""
    if isinstance(data, str):
        data = data.encode()
    directory, _, name = path.rpartition("/")
    directory = directory or ("/" if path.startswith("/") else ".")
    tmp = "%s/.%s.%d.tmp" % (directory, name, os.getpid())
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, mode)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    except BaseException:
        os.close(fd)
        unlink_quiet(tmp)
        raise
    os.close(fd)
    try:
        os.rename(tmp, path)
    except BaseException:
        unlink_quiet(tmp)
        raise


def is_mount_point(path):
    """Whether path is a directory something is mounted on (another file system than its
    parent's, or the root), as os.path.ismount; False if it can't be looked at. Two
    lstat calls, no /proc needed: usable before /proc is mounted. A bind mount of a
    directory of the same file system is not seen."""
    try:
        st = os.lstat(path)
        if (st.st_mode & 0o170000) != 0o040000:
            return False
        parent = os.lstat(path.rstrip("/") + "/..")
    except (OSError, ValueError):
        return False
    return st.st_dev != parent.st_dev or st.st_ino == parent.st_ino


def replaced(path, ident):
    """Whether path no longer names the file whose (st_dev, st_ino) is ident (a file system
    mounted over its directory hides it, or it was removed or replaced); False without an
    ident to compare."""
    if ident is None:
        return False
    try:
        st = os.lstat(path)
    except OSError:
        return True
    return (st.st_dev, st.st_ino) != ident


def unlink_quiet(path):
    try:
        os.unlink(path)
        return True
    except FileNotFoundError:
        return False


def read_bytes(path, limit=65536):
    """The file's bytes, up to limit, or None if it can't be read. Read to the end: a /proc
    file gives a page per read (a children file of 1000 PIDs is longer)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        chunks = []
        left = limit
        while left > 0:
            data = os.read(fd, left)
            if not data:
                break
            chunks.append(data)
            left -= len(data)
        return b"".join(chunks)
    except OSError:
        return None
    finally:
        os.close(fd)


def read_text(path, limit=65536):
    """read_bytes() decoded (undecodable bytes replaced), or None."""
    data = read_bytes(path, limit)
    return None if data is None else data.decode("utf-8", "replace")
