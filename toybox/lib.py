"""Errors and messages shared by every applet.

Applets never call sys.exit: they return an exit code from main() or raise Fail,
and the dispatcher prints `NAME: message` and exits.
"""
import posix
import sys

NAME = "toybox"         # set by the dispatcher to the applet's name


class Fail(Exception):
    """An applet failed: the dispatcher prints `NAME: msg` and exits with `code`."""

    def __init__(self, msg, code=1):
        super().__init__(msg)
        self.msg = msg
        self.code = code


class Usage(Fail):
    """A command-line mistake: printed with the `(see "NAME --help")` hint."""


def strerror(err):
    """`No such file or directory` for an OSError or an errno number."""
    if isinstance(err, OSError):
        return err.strerror or str(err)
    return posix.strerror(err)


def fsencode(name):
    """os.fsencode without importing os (the applets on a boot's critical path avoid it)."""
    if isinstance(name, bytes):
        return name
    return name.encode(sys.getfilesystemencoding(), sys.getfilesystemencodeerrors())


def environ():
    """os.environ as a plain dict of str, without importing os."""
    enc, errors = sys.getfilesystemencoding(), sys.getfilesystemencodeerrors()
    return {k.decode(enc, errors): v.decode(enc, errors) for k, v in posix.environ.items()}


def out(text):
    """Write text on stdout. A stdout that is closed or can't take it (a full disk,
    /dev/full) fails the applet with `write error: ...`; a reader that went away raises
    BrokenPipeError, which the dispatcher ends in a quiet exit 1, as a pipeline expects."""
    stream = sys.stdout
    if stream is None:
        # What Python makes of an fd 1 that was closed when it started (`ctl list >&-`).
        raise Fail("write error: standard output is closed")
    try:
        stream.write(text)
    except BrokenPipeError:
        raise
    except OSError as e:
        # What it still holds can't be written either: the dispatcher's last flush
        # would say so a second time.
        sys.stdout = None
        raise Fail("write error: %s" % strerror(e)) from None


def warn(msg):
    """`NAME: msg` on stderr; never raises (stderr may be closed on a console-less boot)."""
    try:
        sys.stderr.write("%s: %s\n" % (NAME, msg))
        sys.stderr.flush()
    except (OSError, ValueError, AttributeError):
        pass


def exit_code_of(status):
    """A raw wait status as a shell shows it: the exit code, or 128+N if killed by signal N."""
    if posix.WIFSIGNALED(status):
        return 128 + posix.WTERMSIG(status)
    if posix.WIFEXITED(status):
        return posix.WEXITSTATUS(status)
    return 1


def describe_status(status):
    """A raw wait status in words: `exited 3`, `killed by signal 9 (SIGKILL)`."""
    if posix.WIFSIGNALED(status):
        sig = posix.WTERMSIG(status)
        return "killed by signal %d (%s)" % (sig, signal_name(sig))
    if posix.WIFEXITED(status):
        return "exited %d" % posix.WEXITSTATUS(status)
    return "status %#x" % status


def signal_name(num):
    """SIGTERM for 15, without importing the `signal` module (it costs enum and more)."""
    import _signal
    for name in dir(_signal):
        if name.startswith("SIG") and not name.startswith("SIG_") and getattr(_signal, name) == num:
            if name not in ("SIGIOT", "SIGPOLL", "SIGCLD"):
                return name
    return "SIG%d" % num


def signal_number(text):
    """Accept `HUP`, `SIGHUP`, `hup` or `1`; raise ValueError otherwise."""
    import _signal
    t = text.strip()
    if t.isdigit():
        n = int(t)
        if 0 < n < _signal.NSIG:
            return n
        raise ValueError("bad signal number %s" % t)
    name = t.upper()
    if not name.startswith("SIG"):
        name = "SIG" + name
    n = getattr(_signal, name, None)
    if not isinstance(n, int) or name.startswith("SIG_"):
        raise ValueError("unknown signal %r" % text)
    return n
