"""What oneit and svinit use of os, without importing os.

os is mostly the posix module under another name, but importing it also imports
_collections_abc (for os.environ): 1.3 ms of every start on this machine, some 4.7
million instructions, about 30 ms of every boot under QEMU's emulation. svinit's
modules import this instead (as `os`, so the code reads as usual): posix's functions
and constants, and the few helpers of os and posixpath they call, with the same
semantics for str paths.

There is no environ here: os.environ is a snapshot of the environment at its import,
and oneit's forked child replaces the environment before it runs svinit
(oneitd.run_here). lib.environ() reads the current one.
"""
from posix import *  # noqa: F401,F403  (what os itself takes from posix)
from posix import lstat, mkdir, readlink, stat, getcwd

del environ  # noqa: F821  (posix's bytes mapping: lib.environ() instead)

SEEK_SET, SEEK_CUR, SEEK_END = 0, 1, 2
devnull = "/dev/null"
sep = "/"

_S_IFMT, _S_IFDIR, _S_IFREG = 0o170000, 0o040000, 0o100000


def _mode(p, follow=True):
    try:
        return (stat(p) if follow else lstat(p)).st_mode
    except (OSError, ValueError):
        return None


class path:
    """posixpath's functions, for str paths (a namespace: `os.path.join`)."""

    @staticmethod
    def join(a, *p):
        out = a
        for b in p:
            if b.startswith("/"):
                out = b
            elif not out or out.endswith("/"):
                out += b
            else:
                out += "/" + b
        return out

    @staticmethod
    def isabs(p):
        return p.startswith("/")

    @staticmethod
    def basename(p):
        return p[p.rfind("/") + 1:]

    @staticmethod
    def dirname(p):
        head = p[:p.rfind("/") + 1]
        if head and head != "/" * len(head):
            head = head.rstrip("/")
        return head

    @staticmethod
    def normpath(p):
        if not p:
            return "."
        initial = 2 if p.startswith("//") and not p.startswith("///") else 1 if p.startswith("/") else 0
        comps = []
        for comp in p.split("/"):
            if comp in ("", "."):
                continue
            if comp != ".." or (not initial and not comps) or (comps and comps[-1] == ".."):
                comps.append(comp)
            elif comps:
                comps.pop()
        return "/" * initial + "/".join(comps) or "."

    @staticmethod
    def abspath(p):
        return path.normpath(p if p.startswith("/") else path.join(getcwd(), p))

    @staticmethod
    def realpath(p):
        """Every symlink resolved, as posixpath.realpath: a missing component is kept as
        it is, a symlink loop stops the resolution there."""
        todo = (p if p.startswith("/") else path.join(getcwd(), p)).split("/")[1:]
        out = ""
        hops = 0
        while todo:
            comp = todo.pop(0)
            if comp in ("", "."):
                continue
            if comp == "..":
                out = out.rpartition("/")[0]
                continue
            new = out + "/" + comp
            try:
                target = readlink(new)
            except OSError:     # not a link, or not there
                out = new
                continue
            hops += 1
            if hops > 40:
                return "/".join([new] + todo)
            if target.startswith("/"):
                out = ""
            todo = target.split("/") + todo
        return out or "/"

    @staticmethod
    def exists(p):
        return _mode(p) is not None

    @staticmethod
    def lexists(p):
        return _mode(p, follow=False) is not None

    @staticmethod
    def isdir(p):
        m = _mode(p)
        return m is not None and m & _S_IFMT == _S_IFDIR

    @staticmethod
    def isfile(p):
        m = _mode(p)
        return m is not None and m & _S_IFMT == _S_IFREG


def makedirs(name, mode=0o777, exist_ok=False):
    """os.makedirs: the missing parents too (with the default mode), `mode` for the last."""
    head = path.dirname(name.rstrip("/"))
    if head and head != name and not path.exists(head):
        try:
            makedirs(head, exist_ok=True)
        except FileExistsError:
            pass
    try:
        mkdir(name, mode)
    except OSError:
        if not exist_ok or not path.isdir(name):
            raise
