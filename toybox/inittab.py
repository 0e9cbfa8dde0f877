"""busybox /etc/inittab -> svinit service descriptions.

Format (busybox init): `id:runlevels:action:process`, `#` starts a comment anywhere on a line.
id is the tty (`/dev/` + id; empty = svinit's own console), runlevels are ignored, action is
one of sysinit wait once respawn askfirst ctrlaltdel shutdown restart. A line with fewer than
four fields, an unknown action or an empty process is reported as `PATH:LINE: bad inittab
entry: WHY` and skipped, as busybox does.

Each entry becomes a Description named `inittab.LINE.ACTION` (plus `.TTY` when the id names
one, e.g. `inittab.12.askfirst.tty2`), and an internal service `inittab` waits for every
boot-time entry. Order, as busybox, wherever the lines are in the file: every sysinit entry
one after another (in file order), then every wait entry one after another, then once,
respawn and askfirst together. Each sysinit/wait entry waits for (waits-for, not depends-on:
busybox goes on when a script fails) the one before it in that order; once, respawn and
askfirst entries wait for the last of them, and respawn and askfirst are also ordered after
the once entries. Every entry is stopped as busybox stops it: SIGTERM, SIGKILL 1 s later.
shutdown, ctrlaltdel and restart entries are not part of boot: they carry inittab_action and
run in file order (ordered() lists them; each also waits-for the previous one of its action).
"""
from toybox import lib
from toybox.svcfile import Description, LoadError, read_file

ACTIONS = ("sysinit", "wait", "once", "respawn", "askfirst", "ctrlaltdel", "shutdown", "restart")
SEQUENTIAL = ("sysinit", "wait")
# Common in inittabs written for sysvinit: named when they are rejected.
SYSVINIT_ACTIONS = ("boot", "bootwait", "off", "ondemand", "initdefault", "powerwait", "powerfail",
                    "powerokwait", "powerfailnow", "kbrequest")
NAME = "inittab"

# busybox init stops everything with SIGTERM, then SIGKILL one second later: a console shell,
# which ignores SIGTERM, holds a shutdown up for that second, not for svinit's default 10 s.
STOP_TIMEOUT = 1.0

# busybox runs `process` through the shell when it contains any of these.
SHELL_CHARS = frozenset("~`!$^&*()=|\\{}[];\"'<>?")

# What busybox init uses when /etc/inittab does not exist (init/init.c).
DEFAULT_INITTAB = """\
::sysinit:/etc/init.d/rcS
::askfirst:-/bin/sh
tty2::askfirst:-/bin/sh
tty3::askfirst:-/bin/sh
tty4::askfirst:-/bin/sh
::ctrlaltdel:reboot
::shutdown:umount -a -r
::shutdown:swapoff -a
::restart:init
"""

# busybox init puts these in its own environment, so every entry sees them.
ENV = {"PATH": "/sbin:/usr/sbin:/bin:/usr/bin", "SHELL": "/bin/sh", "USER": "root"}


def argv_of(process):
    """(argv, exec_path) as busybox runs `process`: through `/bin/sh -c "exec ..."` if it has
    shell characters, else split on blanks. A leading `-` (login shell) goes on argv[0] only."""
    dash = process.startswith("-")
    if dash:
        process = process[1:]
    if any(c in SHELL_CHARS for c in process):
        argv = ["/bin/sh", "-c", "exec " + process]
    else:
        argv = process.split()
    if not argv:
        return None, None
    if dash:
        exec_path = argv[0]
        argv[0] = "-" + argv[0]
        return argv, exec_path
    return argv, None


def _service_name(line, action, tty):
    name = "%s.%d.%s" % (NAME, line, action)
    if tty:
        tail = tty[len("/dev/"):]
        name += "." + "".join(c if c.isalnum() or c in "._-" else "_" for c in tail)
    return name


def parse(text, path):
    """[(line, tty, action, process)] for the good entries, and LoadErrors for the bad."""
    entries = []
    errors = []
    for num, line in enumerate(text.split("\n"), 1):
        line = line.split("#", 1)[0]
        if not line.strip():
            continue
        fields = line.split(":", 3)
        ident, _runlevels, action, process = (f.strip() for f in fields + [""] * (4 - len(fields)))
        why = None
        if len(fields) < 4:
            why = "fewer than four fields (id:runlevels:action:process)"
        elif action not in ACTIONS:
            why = "unknown action %r" % action
            if action in SYSVINIT_ACTIONS:
                why += " (sysvinit's; busybox init has no such action)"
        elif argv_of(process)[0] is None:
            why = "empty process"
        if why is not None:
            errors.append(LoadError(path, num, "bad inittab entry: " + why))
            continue
        if ident.startswith("/dev/"):
            ident = ident[len("/dev/"):]
        entries.append((num, "/dev/" + ident if ident else None, action, process))
    return entries, errors


def convert_text(text, path, environ=None):
    """(descs, errors) for inittab text; see convert()."""
    if environ is None:
        environ = lib.environ()
    entries, errors = parse(text, path)
    env = dict(ENV)
    env["TERM"] = environ.get("TERM") or "linux"
    descs = {}
    prev_of = {}                # action -> the previous entry of that action (shutdown chains)
    boot = []
    for num, tty, action, process in entries:
        argv, exec_path = argv_of(process)
        d = Description(_service_name(num, action, tty), path)
        d.working_dir = "/"
        d.env = dict(env)
        d.command = argv
        d.exec_path = exec_path
        d.tty = tty
        d.inittab_line = num
        d.inittab_action = action
        d.stop_timeout = STOP_TIMEOUT
        d.lines[("command", None)] = num
        d.lines[("type", None)] = num
        if tty is None:
            d.options.add("shares-console")
        descs[d.name] = d
        if action in SEQUENTIAL:
            d.type = "scripted"
            d.restart = "no"
            d.start_timeout = 0.0       # busybox waits as long as rcS takes (fsck...)
        elif action == "once":
            d.restart = "no"
        elif action in ("respawn", "askfirst"):
            d.restart = "yes"
            d.restart_delay = 1.0
            d.restart_limit_count = 0
            d.smooth_recovery = True
            d.askfirst = action == "askfirst"
            if d.askfirst:
                # Starting until someone presses Enter, which may be never: busybox
                # waits for ever; a start-timeout would kill the prompt and ask again.
                d.start_timeout = 0.0
        else:
            d.type = "scripted"
            d.restart = "no"
            d.start_timeout = 0.0
            prev = prev_of.get(action)
            if prev is not None:
                _add(d, "waits_for", prev, num)
            prev_of[action] = d.name
            continue
        boot.append(d)
    # busybox runs every sysinit entry, then every wait entry, one after another, wherever
    # they are in the file (a sysinit line below the gettys still runs first); then it
    # starts the once entries, then the respawn and askfirst ones.
    chain = [d for action in SEQUENTIAL for d in boot if d.inittab_action == action]
    for prev, d in zip(chain, chain[1:]):
        _add(d, "waits_for", prev.name, d.inittab_line)
    once = [d for d in boot if d.inittab_action == "once"]
    for d in boot:
        if d.inittab_action in SEQUENTIAL:
            continue
        if chain:
            _add(d, "waits_for", chain[-1].name, d.inittab_line)
        if d.inittab_action != "once":
            for o in once:
                _add(d, "after", o.name, d.inittab_line)
    top = Description(NAME, path)
    top.type = "internal"
    top.working_dir = "/"
    for d in boot:
        _add(top, "waits_for", d.name, d.inittab_line)
    descs[NAME] = top
    return descs, errors


def _add(d, attr, name, line):
    getattr(d, attr).append(name)
    d.lines[(attr.replace("_", "-"), name)] = line


def convert(path, environ=None):
    """(descs: {name: Description}, errors: [LoadError]) for the inittab at path.

    A missing file gives busybox's built-in default inittab (DEFAULT_INITTAB), as busybox
    init does; the descriptions then name `PATH (busybox default)` as their file."""
    try:
        text = read_file(path)     # a regular file only (a FIFO would block svinit)
    except FileNotFoundError:
        return convert_text(DEFAULT_INITTAB, path + " (busybox default)", environ)
    except OSError as e:
        return {}, [LoadError(path, None, "cannot read: %s" % (e.strerror or e))]
    return convert_text(text, path, environ)


def ordered(descs, action):
    """The descriptions for `action` (e.g. shutdown) in inittab file order."""
    found = [d for d in descs.values() if d.inittab_action == action]
    found.sort(key=lambda d: d.inittab_line)
    return found
