"""usage: toybox [--help|--version|--list] [--install [-s] DIR] [APPLET [ARG...]]

One program that is every applet: it runs the applet named by the name it was
called by (argv[0]), or by its first argument.

--help           this text, or `toybox --help APPLET` for an applet's
--version        print the version
--list           one applet name per line
--install DIR    make one link per applet in DIR (hard links; -s symbolic)
"""
import posix
import sys

from toybox import lib

# `os` is not imported here: it costs more than a tenth of the interpreter's own
# start-up, and `ctl status` or `APPLET --help` need none of it. Paths are plain strings.


def _basename(path):
    return path.rsplit("/", 1)[-1]


def _dirname(path):
    return path.rsplit("/", 1)[0] if "/" in path else ""

# Applet name -> module in applets/. Kept here, not discovered, so that listing
# applets or running one imports nothing else. tests/test_meta.py checks it
# against the modules.
APPLETS = {
    "ctl": "ctl",
    "halt": "shutdown",
    "oneit": "oneit",
    "poweroff": "shutdown",
    "reboot": "shutdown",
    "shutdown": "shutdown",
    "svinit": "svinit",
}
# Other names an applet answers to. A kernel runs /sbin/init with no
# arguments; that is oneit starting the service manager.
ALIASES = {
    "init": "oneit",
}


def resolve(name):
    """Applet name for `name` (an alias resolves to its applet), or None."""
    name = ALIASES.get(name, name)
    return name if name in APPLETS else None


def load(name):
    """Import the module of applet `name` (which must resolve)."""
    return __import__("applets." + APPLETS[name], fromlist=["main"])


def help_text(module, name):
    """The --help text of applet `name`: the docstring block whose `usage:` line names it.

    A module serving several names may hold one block per name, or one block whose
    usage line names them all as `a|b|c`; the printed first line names `name` alone.
    """
    doc = module.__doc__
    if not doc:
        raise RuntimeError("applet %s has no help text (was it compiled with -OO?)" % name)
    blocks = []
    for block in ("\n" + doc.strip("\n")).split("\nusage: ")[1:]:
        first, _, rest = block.partition("\n")
        names, _, tail = first.partition(" ")
        blocks.append((names.split("|"), tail, rest))
    for names, tail, rest in blocks:
        if name in names:
            return ("usage: %s %s\n%s" % (name, tail, rest)).rstrip() + "\n"
    raise RuntimeError("applet module %s has no usage line for %s" % (module.__name__, name))


def option_string(module, name):
    opts = getattr(module, "OPTIONS", "")
    return opts.get(name, "") if isinstance(opts, dict) else opts


# The name the program was called by, before an alias resolves (`init`, not `oneit`).
INVOKED = None


class Context:
    """What an applet's main() receives: the name it runs as, parsed flags and arguments."""

    __slots__ = ("name", "opts", "args")

    def __init__(self, name, opts, args):
        self.name = name
        self.opts = opts
        self.args = args


def run_applet(name, argv):
    """Run applet `name` with arguments `argv`; return its exit code."""
    global INVOKED
    INVOKED = name
    applet = resolve(name)
    if name not in APPLETS:
        name = applet         # an alias runs, and speaks, as its applet
    lib.NAME = name
    module = load(applet)
    if argv[:1] == ["--help"]:
        lib.out(help_text(module, name))
        return 0
    if argv[:1] == ["--version"]:
        lib.out("toybox %s\n" % version())
        return 0
    from toybox.options import Grammar, UsageError
    try:
        # An applet's raw_args(invoked) may claim argv as plain words (init as PID 1 gets
        # the kernel's command-line words, which are not its options).
        raw = getattr(module, "raw_args", None)
        if raw is not None and raw(INVOKED):
            opts, args = Grammar(option_string(module, name)).parse([])[0], list(argv)
        else:
            opts, args = Grammar(option_string(module, name)).parse(argv)
        return module.main(Context(name, opts, args)) or 0
    except UsageError as e:
        return usage_error(name, str(e))
    except lib.Usage as e:
        return usage_error(name, e.msg)
    except lib.Fail as e:
        lib.warn(e.msg)
        return e.code


def usage_error(name, msg):
    lib.warn('%s (see "%s --help")' % (msg, name))
    return 1


def version():
    from toybox import __version__
    return __version__


def applet_from_argv0(argv0):
    """Applet for a program path, following symlinks as toybox does; None if there is none."""
    path = argv0
    for _ in range(16):
        base = _basename(path).lstrip("-")
        if base.startswith("toybox"):
            return None
        if resolve(base):
            return base
        try:
            target = posix.readlink(path)
        except OSError:
            return None
        if not target.startswith("/") and "/" in path:
            target = _dirname(path) + "/" + target
        path = target
    return None


def list_names():
    return sorted(set(APPLETS) | set(ALIASES))


def wrapped(names, width=80):
    lines, line = [], ""
    for n in names:
        if line and len(line) + 1 + len(n) > width:
            lines.append(line)
            line = n
        else:
            line = line + " " + n if line else n
    if line:
        lines.append(line)
    return "\n".join(lines) + "\n"


def multiplexer(argv):
    """`toybox ...`: list, help, version, install, or run the applet named by argv[0]."""
    lib.NAME = "toybox"
    if not argv:
        lib.out(wrapped(list_names()))
        return 0
    first = argv[0]
    if first == "--help":
        if len(argv) > 1:
            if not resolve(argv[1]):
                return unknown(argv[1])
            return run_applet(argv[1], ["--help"])
        lib.out(__doc__.strip("\n") + "\n\napplets: " + wrapped(list_names()))
        return 0
    if first == "--version":
        lib.out("toybox %s\n" % version())
        return 0
    if first == "--list":
        lib.out("".join(n + "\n" for n in list_names()))
        return 0
    if first == "--install":
        return install(argv[1:])
    if first.startswith("-"):
        return usage_error("toybox", "unknown option '%s'" % first)
    name = _basename(first)
    if not resolve(name):
        return unknown(first)
    return run_applet(name, argv[1:])


def unknown(name):
    lib.warn('unknown applet %s (see "toybox --help")' % name)
    return 127


def install(argv):
    """`toybox --install [-s] DIR`: link every applet name in DIR to this program."""
    import os
    symbolic = False
    if argv[:1] == ["-s"]:
        symbolic = True
        argv = argv[1:]
    if len(argv) != 1:
        return usage_error("toybox", "--install needs one directory")
    directory = argv[0]
    target = own_program()
    if target is None:
        raise lib.Fail("--install: can't tell which program to link to: run it as the `toybox` "
                       "launcher, not as `python -m toybox`")
    if not os.path.isdir(directory):
        raise lib.Fail("--install: %s: %s" % (directory, "not a directory" if os.path.exists(directory)
                                              else "no such directory"))
    failed = 0
    st_target = os.stat(target)
    for name in list_names():
        path = os.path.join(directory, name)
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            st = None
        if st is not None:
            if is_own_link(path, st, target, st_target, symbolic):
                continue
            lib.warn("--install: %s exists and is not a link to %s: left alone" % (path, target))
            failed = 1
            continue
        try:
            if symbolic:
                os.symlink(target, path)
            else:
                os.link(target, path)
        except OSError as e:
            lib.warn("--install: %s: %s" % (path, lib.strerror(e)))
            failed = 1
    return failed


def is_own_link(path, st, target, st_target, symbolic):
    import os
    import stat
    if symbolic:
        return stat.S_ISLNK(st.st_mode) and os.path.realpath(path) == target
    return (st.st_dev, st.st_ino) == (st_target.st_dev, st_target.st_ino)


def own_program():
    """The resolved path of the executable that started us, if it is a launcher."""
    from toybox import sysos as os      # oneit calls this at boot: no os import
    path = os.path.realpath(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    if not path or path.endswith(".py") or not os.access(path, os.X_OK):
        return None
    return path


def launcher(python, libdir):
    """Text of a `toybox` program for an image or a checkout: `python -S`, libdir on the path.

    -S skips site (no site-packages on a small image, and 5-10 ms less per run);
    the absolute libdir keeps hard links to it working. libdir takes the place of the
    program's own directory (/bin in an image), which holds no modules: Python would
    list its ~270 busybox links at the first import that searches the path, and a
    stray .py there could shadow a module.
    """
    return ("#!%s -S\n"
            "import sys\n"
            "sys.path[0] = %r\n"
            "from toybox.main import main\n"
            "main()\n") % (python, libdir)


def main(argv=None):
    """Entry point: never returns; exits with the applet's code.

    Without the interpreter's teardown (stdout and stderr flushed, then _exit): every
    applet writes through raw fds or flushed streams, and no applet registers atexit
    work. The teardown is a quarter of the instructions of a bare `python3 -S -c pass`,
    which every ctl call would pay, and tens of milliseconds for a svinit that ran a
    thousand services."""
    if argv is None:
        argv = sys.argv
    argv0 = argv[0] if argv else "toybox"
    try:
        name = applet_from_argv0(argv0)
        if name is None:
            code = multiplexer(argv[1:])
        else:
            code = run_applet(name, argv[1:])
    except lib.Fail as e:
        lib.warn(e.msg)
        code = e.code
    except KeyboardInterrupt:
        code = 130
    except BrokenPipeError:
        code = 1
    if code is None:
        code = 0
    elif not isinstance(code, int):
        lib.warn(str(code))
        code = 1
    try:
        if sys.stdout is not None:
            sys.stdout.flush()
    except BrokenPipeError:
        # A reader that went away (`ctl list | head -1`): no message, as a pipeline expects.
        code = code or 1
    except (OSError, ValueError) as e:
        lib.warn("write error: %s" % (lib.strerror(e) if isinstance(e, OSError) else e))
        code = code or 1
    try:
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
    posix._exit(code & 0xff)
