"""Service descriptions: Dinit-format service files -> Description objects for svinit.

One file per service in the services dir, named after the service (Dinit's format, see
README): `key = value` or `key: value` lines, `+=` appends to command/stop-command, `#`
comments (mid-line only after whitespace), `"..."` quoting and `\\` escapes, `\\`-newline
continuation (the next line must start with whitespace), `$VAR` substitution. Everything
is checked at load time; a problem is a LoadError that names FILE:LINE.

load_file() parses one file; load_dir() parses a directory and checks dependencies across
the set (missing services, cycles, services that hard-depend on a service that failed).
"""
from toybox import lib
from toybox.protocol import valid_name  # noqa: F401  (also this module's API)
from toybox import sysos as os     # posix, and os's helpers without its import
import _stat
import errno

TYPES = ("process", "bgprocess", "scripted", "internal")
PROCESS_TYPES = ("process", "bgprocess")

# Every option word Dinit defines; the engine decides what each does.
OPTION_WORDS = frozenset((
    "runs-on-console", "starts-on-console", "shares-console", "unmask-intr", "starts-rwfs",
    "starts-log", "pass-cs-fd", "start-interruptible", "skippable", "signal-process-only",
    "always-chain", "kill-all-on-stop", "no-new-privs"))

DEP_KEYS = ("depends-on", "depends-ms", "waits-for")
HARD_DEP_KEYS = ("depends-on", "depends-ms")
ORDER_KEYS = ("before", "after")
COMMAND_KEYS = ("command", "stop-command")
# The settings whose values are paths or names: `$VAR` is substituted in these and in commands.
SUBST_KEYS = ("working-dir", "logfile", "pid-file", "env-file", "chain-to",
              "unless-mounted") + DEP_KEYS + ORDER_KEYS

# Dinit settings svinit does not implement: named in the error so a ported file fails loudly
# instead of silently losing a limit or a socket.
UNSUPPORTED_KEYS = frozenset((
    "prepared-by", "socket-listen", "socket-permissions", "socket-uid", "socket-gid",
    "logfile-uid", "logfile-gid", "consumer-of", "load-options",
    "inittab-id", "inittab-line", "rlimit-nofile", "rlimit-core", "rlimit-data",
    "rlimit-addrspace", "nice", "ioprio", "oom-score-adj", "capabilities", "securebits",
    "run-in-cgroup"))

KEYS = frozenset((
    "type", "command", "stop-command", "working-dir", "run-as", "env-file",
    "depends-on", "depends-ms", "waits-for", "depends-on.d", "depends-ms.d", "waits-for.d",
    "before", "after", "chain-to", "restart", "restart-delay", "restart-limit-count",
    "restart-limit-interval", "start-timeout", "stop-timeout", "term-signal", "termsignal",
    "smooth-recovery", "pid-file", "logfile", "logfile-max-size", "logfile-permissions",
    "log-type", "log-buffer-size", "ready-notification", "options", "unless-mounted"))
# log-type: where a service's output goes (Dinit's words; `pipe` needs consumer-of).
LOG_TYPES = ("file", "buffer", "none")

DEFAULT_LOGFILE_MAX_SIZE = 1024 * 1024

_DIGITS = frozenset("0123456789")
_VAR_START = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
_VAR_CHARS = _VAR_START | _DIGITS
_KEY_CHARS = _VAR_CHARS | frozenset("-.")
_KEY_CHARS_STR = "".join(sorted(_KEY_CHARS))     # for str.lstrip: C speed


class LoadError(Exception):
    """A service that cannot be loaded: str() is `FILE:LINE: msg` (or `FILE: msg`)."""

    env_file = None     # the env-file the service names, when its file got that far

    def __init__(self, file, line, msg):
        super().__init__(file, line, msg)
        self.file = file
        self.line = line
        self.msg = msg

    def __str__(self):
        if self.line is None:
            return "%s: %s" % (self.file, self.msg)
        return "%s:%d: %s" % (self.file, self.line, self.msg)


_ABS = {}      # abspath() of the few directories a thousand services share


def _abspath(path):
    if not path.startswith("/"):
        return os.path.abspath(path)        # depends on the working directory: not kept
    got = _ABS.get(path)
    if got is None:
        got = _ABS[path] = os.path.abspath(path)
    return got


class Description:
    """One service, with every setting at its Dinit default until the file says otherwise.

    Attribute names are the Dinit keys with `-` replaced by `_`. `lines` maps (key, value)
    to the line that set it: (key, None) for any setting, (key, NAME) for each entry of a
    dependency/ordering list or option word, so a later check can point at the exact line.
    """

    def __init__(self, name, file, services_dir=None):
        self.name = name
        self.file = file
        # Absolute, because svinit runs services from "/" whatever directory it was started in.
        here = _abspath(os.path.dirname(file))
        self.services_dir = here if services_dir is None else _abspath(services_dir)
        self.type = "process"
        self.command = None
        self.stop_command = None
        self.working_dir = here
        self.run_as = None
        self.uid = None
        self.gid = None
        self.groups = None
        self.env_file = None
        self.env = {}
        self.depends_on = []
        self.depends_ms = []
        self.waits_for = []
        self.before = []
        self.after = []
        self.chain_to = None
        self.restart = "yes"
        self.restart_delay = 0.2
        self.restart_limit_count = 3
        self.restart_limit_interval = 10.0
        self.start_timeout = 60.0
        self.stop_timeout = 10.0
        self.term_signal = 15
        self.smooth_recovery = False
        self.pid_file = None
        self.logfile = None
        self.logfile_max_size = DEFAULT_LOGFILE_MAX_SIZE
        self.logfile_permissions = 0o600
        # None: svinit's own default, the tail in memory and the logfile if one is set.
        self.log_type = None
        self.log_buffer_size = None    # bytes of the tail kept; None: TAIL_LINES lines
        self.ready_notification = None
        self.unless_mounted = None
        self.options = set()
        self.lines = {}
        # Problems that do not stop the service from loading (the engine logs them).
        self.warnings = []
        # (key, name) of dependencies that came only from a .d dir: a missing one is ignored.
        self.from_dirs = set()
        # Loaded leniently (load_file): a missing dependency is left out too.
        self.lenient = False
        # key -> [(directory, line)] of its .d settings, in file order (`ctl enable`
        # writes into the first waits-for.d).
        self.dot_dirs = {}
        # Set only for services made from an inittab (toybox/inittab.py).
        self.tty = None
        self.askfirst = False
        self.inittab_action = None
        self.inittab_line = None
        # The program to exec when it differs from command[0] (a login shell's argv[0] is `-sh`).
        self.exec_path = None

    def __repr__(self):
        return "<Description %s (%s) from %s>" % (self.name, self.type, self.file)

    def dependencies(self):
        """(key, name) for every dependency, in file order within each kind."""
        return ([("depends-on", d) for d in self.depends_on]
                + [("depends-ms", d) for d in self.depends_ms]
                + [("waits-for", d) for d in self.waits_for])

    def line_of(self, key, value=None):
        """The line that set `key` (to `value`, for list settings), or None."""
        return self.lines.get((key, value))

    def error(self, key, value, msg):
        """A LoadError for this service pointing at the line that set key (= value)."""
        return LoadError(self.file, self.line_of(key, value), msg)


# ---------------------------------------------------------------------------------------
# Lexing

def _logical_lines(path, text):
    """(line number, text) per setting line, with `\\`-newline continuations joined.

    A continuation becomes a newline inside the value, which counts as whitespace and ends
    a `#` comment, as in Dinit."""
    lines = text.split("\n")
    if "\\" not in text:
        return enumerate(lines, 1)          # no continuation anywhere (the common case)
    return _joined_lines(path, lines)


def _joined_lines(path, lines):
    n = len(lines)
    i = 0
    while i < n:
        start = i
        seg = lines[i]
        i += 1
        # The pieces are joined once at the end: joining them one by one copied the whole
        # value again for each continuation line (40k lines: half a minute).
        pieces = []
        while seg.endswith("\\") and (len(seg) - len(seg.rstrip("\\"))) % 2 == 1:
            if i >= n or (i == n - 1 and lines[i] == ""):
                raise LoadError(path, i, "end of file after continuation backslash")
            nxt = lines[i]
            if not nxt[:1].isspace():
                raise LoadError(path, i + 1,
                                "line after continuation backslash must start with whitespace")
            pieces.append(seg[:-1])
            seg = nxt
            i += 1
        pieces.append(seg)
        yield start + 1, "\n".join(pieces)


def _parts(value, path, line):
    """Split a raw setting value into its whitespace-separated parts, removing quotes,
    escapes and a trailing comment. Quoted text keeps its whitespace."""
    if '"' not in value and "\\" not in value and "#" not in value:
        return value.split()        # the common case, and the same result
    if "\\" not in value:
        parts = _quoted_parts(value)
        if parts is not None:
            return parts
    parts = []
    cur = []
    in_part = False
    i = 0
    n = len(value)
    while i < n:
        c = value[i]
        if c == '"':
            in_part = True
            i += 1
            while True:
                if i >= n or value[i] == "\n":
                    raise LoadError(path, line, "unterminated quoted string")
                c = value[i]
                if c == '"':
                    break
                if c == "\\":
                    i += 1
                    if i >= n:
                        raise LoadError(path, line, "unterminated quoted string")
                    c = value[i]
                cur.append(c)
                i += 1
        elif c == "\\":
            i += 1
            if i >= n:
                raise LoadError(path, line, "backslash at end of value")
            in_part = True
            cur.append(value[i])
        elif c.isspace():
            if in_part:
                parts.append("".join(cur))
                cur = []
                in_part = False
            while i < n:
                c = value[i]
                if c == "#":
                    nl = value.find("\n", i)
                    if nl < 0:
                        return parts
                    i = nl
                elif not c.isspace():
                    break
                i += 1
            continue
        elif c == "#":
            raise LoadError(path, line, "'#' comment must be separated from the value by whitespace")
        else:
            in_part = True
            cur.append(c)
        i += 1
    if in_part:
        parts.append("".join(cur))
    return parts


def _quoted_parts(value):
    """_parts() for a value with quotes but no backslash, by str methods rather than a
    loop over its characters (a command line is long); None when it has to go through
    that loop (a comment, an unterminated quote: errors are reported there)."""
    segs = value.split('"')
    if len(segs) % 2 == 0:
        return None
    parts = []
    cur = None          # the part being built: quoted and unquoted text that touch
    for k, seg in enumerate(segs):
        if k & 1:
            if "\n" in seg:
                return None
            cur = seg if cur is None else cur + seg
            continue
        if not seg:
            continue
        if "#" in seg:
            return None
        words = seg.split()
        if seg[0].isspace():
            if cur is not None:
                parts.append(cur)
                cur = None
        elif words:
            first = words.pop(0)
            cur = first if cur is None else cur + first
        if words:
            if cur is not None:
                parts.append(cur)
            parts.extend(words[:-1])
            cur = words[-1]
        if seg[-1].isspace() and cur is not None:
            parts.append(cur)
            cur = None
    if cur is not None:
        parts.append(cur)
    return parts


def _subst(text, lookup, path, line, key, split=False):
    """Substitute `$NAME`, `${NAME}`, `${NAME:-w}`, `${NAME-w}`, `${NAME:+w}`, `${NAME+w}` and
    `$$` in one value part. With split=True return a list of words: `$/NAME` word-splits its
    value (an empty value gives no word)."""
    if "$" not in text:
        return [text] if split else text
    if "$" not in text.replace("$$", ""):
        text = text.replace("$$", "$")      # only escaped dollars (a shell command's)
        return [text] if split else text
    words = []
    cur = []
    keep = False        # the word holds a non-split substitution: keep it even when empty
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c != "$":
            cur.append(c)
            i += 1
            continue
        i += 1
        if i < n and text[i] == "$":
            cur.append("$")
            i += 1
            continue
        wsplit = i < n and text[i] == "/"
        if wsplit:
            if not split:
                raise LoadError(path, line, "%s: '$/' word splitting is only allowed in commands" % key)
            i += 1
        brace = i < n and text[i] == "{"
        if brace:
            i += 1
        j = i
        if j < n and text[j] in _DIGITS:
            while j < n and text[j] in _DIGITS:
                j += 1
        elif j < n and text[j] in _VAR_START:
            while j < n and text[j] in _VAR_CHARS:
                j += 1
        name = text[i:j]
        if not name:
            raise LoadError(path, line, "%s: invalid or missing variable name after '$'" % key)
        value = lookup(name)
        i = j
        if brace:
            mode = None
            colon = False
            if i < n and text[i] == ":":
                colon = True
                i += 1
                if i >= n or text[i] not in "+-":
                    raise LoadError(path, line, "%s: invalid syntax in variable substitution" % key)
            if i < n and text[i] in "+-":
                mode = text[i]
                end = text.find("}", i + 1)
                if end < 0:
                    raise LoadError(path, line, "%s: unmatched '{' in variable substitution" % key)
                word = text[i + 1:end]
                i = end
                if mode == "-" and (value is None or (colon and value == "")):
                    value = word
                elif mode == "+":
                    value = word if value is not None and (not colon or value != "") else ""
            if i >= n or text[i] != "}":
                raise LoadError(path, line, "%s: unmatched '{' in variable substitution" % key)
            i += 1
        if value is None:
            if name.isdigit():
                raise LoadError(path, line, "%s: $%s used but the service has no argument" % (key, name))
            value = ""
        if not wsplit:
            cur.append(value)
            keep = True
            continue
        pieces = value.split()
        if not pieces:
            continue
        if value[:1].isspace() and (cur or keep):
            words.append("".join(cur))
            cur = []
            keep = False
        cur.append(pieces[0])
        for piece in pieces[1:]:
            words.append("".join(cur))
            cur = [piece]
        if value[-1:].isspace():
            words.append("".join(cur))
            cur = []
            keep = False
    if not split:
        return "".join(cur)
    if cur or keep:
        words.append("".join(cur))
    return words


# ---------------------------------------------------------------------------------------
# Values

def _seconds(text):
    """A non-negative decimal number of seconds (`10`, `0.5`), or None if malformed."""
    head, dot, tail = text.partition(".")
    if not (head or tail) or not set(head) <= _DIGITS or not set(tail) <= _DIGITS:
        return None
    return float(text)


def _count(text):
    if not text or not set(text) <= _DIGITS:
        return None
    return int(text)


def _size(text):
    """Bytes, with an optional k/K, M or G suffix (powers of 1024)."""
    mult = 1
    if text[-1:] in ("k", "K", "M", "G"):
        mult = {"k": 1024, "K": 1024, "M": 1024 ** 2, "G": 1024 ** 3}[text[-1]]
        text = text[:-1]
    n = _count(text)
    return None if n is None else n * mult


def _bool(text):
    if text in ("yes", "true"):
        return True
    if text in ("no", "false"):
        return False
    return None


def _resolve_user(spec):
    """(uid, gid, groups) for a run-as value; raise ValueError with the reason."""
    import pwd
    if set(spec) <= _DIGITS:
        uid = int(spec)
        try:
            pw = pwd.getpwuid(uid)
        except KeyError:
            # No passwd entry: Dinit keeps the group; supplementary groups are dropped.
            return uid, None, []
        spec = pw.pw_name
    else:
        try:
            pw = pwd.getpwnam(spec)
        except KeyError:
            raise ValueError("user %r does not exist" % spec) from None
        uid = pw.pw_uid
    return uid, pw.pw_gid, _groups(pw.pw_name, pw.pw_gid)


MAX_FILE = 16 << 20     # bytes of a service or env file: no file of that kind comes near


def read_file(path):
    """The text of a service, env or inittab file; OSError if it can't be read, is not a
    regular file (a FIFO would block svinit's loop for good, a device such as /dev/zero
    never end) or is larger than MAX_FILE."""
    # A binary read then decode is about twice as fast as a text-mode open (1000 files at boot).
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
    try:
        st = os.fstat(fd)
        if _stat.S_ISDIR(st.st_mode):
            raise OSError(errno.EISDIR, "Is a directory")
        if not _stat.S_ISREG(st.st_mode):
            raise OSError(errno.EINVAL, "not a regular file")
        if st.st_size > MAX_FILE:
            raise OSError(errno.EFBIG, "larger than %d MiB" % (MAX_FILE >> 20))
        chunks = []
        while True:
            b = os.read(fd, 65536)
            if not b:
                break
            chunks.append(b)
    finally:
        os.close(fd)
    return b"".join(chunks).decode("utf-8", "surrogateescape")


def _groups(user, gid):
    try:
        return sorted(set(os.getgrouplist(user, gid)))
    except OSError:
        return [gid]


def read_env_file(path):
    """NAME=VALUE lines (blank lines and `#` comments allowed) -> dict; raise LoadError."""
    try:
        text = read_file(path)
    except OSError as e:
        raise LoadError(path, None, "cannot read: %s" % (e.strerror or e)) from None
    env = {}
    for num, line in enumerate(text.split("\n"), 1):
        s = line.strip()
        if not s or s[0] == "#":
            continue
        name, eq, value = line.lstrip().partition("=")
        name = name.rstrip()
        if s[0] == "!":
            raise LoadError(path, num, "env-file commands like %s are not supported" % s.split()[0])
        if not eq or not name or name[0] not in _VAR_START or not set(name) <= _VAR_CHARS:
            raise LoadError(path, num, "expected NAME=VALUE")
        env[name] = value
    return env


# ---------------------------------------------------------------------------------------
# Parsing

def _raw_settings(path, text, tolerate=None):
    """[(line, key, op, raw value)] for every setting line of a service file. With
    tolerate, a bad line is given to it (a LoadError) and skipped instead of raised."""
    out = []
    for num, line in _logical_lines(path, text):
        s = line.lstrip()
        if not s or s[0] == "#":
            continue
        if s[0] == "@":
            word = s[1:].split(None, 1)[0] if s[1:].strip() else ""
            if word == "meta":
                continue
            err = LoadError(path, num, "unsupported meta-command '@%s'" % word)
        else:
            i = len(s) - len(s.lstrip(_KEY_CHARS_STR))
            key = s[:i]
            i = len(s) - len(s[i:].lstrip(" \t"))
            op = s[i:i + 2] if s[i:i + 2] == "+=" else s[i:i + 1]
            if key and op in ("=", ":", "+="):
                out.append((num, key, op, s[i + len(op):]))
                continue
            err = LoadError(path, num, "expected 'KEY = VALUE'")
        if tolerate is None:
            raise err
        tolerate(err)
    return out


def load_file(path, name=None, services_dir=None, environ=None, lenient=False):
    """Parse the service file at `path` into a Description; raise LoadError.

    name defaults to the file's name; services_dir (for env-file and .d dirs) to its
    directory; environ (for `$VAR` not set by the env-file) to the process's (lib.environ()).
    lenient: a bad line (or env-file) is a warning on the Description and left out, as if
    not written; only what makes no service at all (no command, say) raises."""
    if name is None:
        name = os.path.basename(path)
    if not valid_name(name):
        raise LoadError(path, None, "invalid service name %r" % name)
    try:
        text = read_file(path)
    except OSError as e:
        raise LoadError(path, None, "cannot read: %s" % (e.strerror or e)) from None
    return parse(text, path, name, services_dir, environ, lenient)


LENIENT_NOTE = " (left out: the service was running when svinit restarted)"


def parse(text, path, name, services_dir=None, environ=None, lenient=False):
    """Parse service-file text (see load_file)."""
    d = Description(name, path, services_dir)
    d.lenient = lenient
    if environ is None:
        environ = lib.environ()
    arg = name.partition("@")[2] or None
    tolerate = None
    if lenient:
        def tolerate(e):
            d.warnings.append(LoadError(e.file, e.line, e.msg + LENIENT_NOTE))
    raw = _raw_settings(path, text, tolerate)

    # The env-file is read first: its variables take part in substitution anywhere in the file.
    for num, key, op, value in raw:
        if key == "env-file":
            try:
                if op == "+=":
                    raise LoadError(path, num, "'+=' is only valid for command and stop-command, not 'env-file'")
                parts = _parts(value, path, num)
                if not parts:
                    raise LoadError(path, num, "env-file: missing value")
                p = _subst(" ".join(parts), lambda v: arg if v == "1" else environ.get(v), path, num, key)
            except LoadError as e:
                if tolerate is None:
                    raise
                tolerate(e)
                continue
            d.env_file = p if os.path.isabs(p) else os.path.join(d.services_dir, p)
            d.lines[("env-file", None)] = num
    try:
        _parse_rest(d, raw, arg, environ, tolerate)
    except LoadError as e:
        # load_dir must know it even so: that file in the services dir is no service.
        e.env_file = d.env_file
        raise
    return d


def _parse_rest(d, raw, arg, environ, tolerate=None):
    """parse() once the env-file's path is known."""
    path = d.file
    if d.env_file is not None:
        try:
            d.env = read_env_file(d.env_file)
        except LoadError as e:
            err = LoadError(path, d.lines[("env-file", None)], "env-file: %s" % e)
            if tolerate is None:
                raise err from None
            tolerate(err)

    env = d.env

    def lookup(var):
        if var == "1":
            return arg
        v = env.get(var)
        return environ.get(var) if v is None else v

    for num, key, op, value in raw:
        if key == "env-file":
            continue
        if tolerate is None:
            _apply(d, num, key, op, value, lookup)
            continue
        try:
            _apply(d, num, key, op, value, lookup)
        except LoadError as e:
            tolerate(e)
    _finish(d)


def _apply(d, num, key, op, value, lookup):
    path = d.file
    if key == "termsignal":
        key = "term-signal"
    if key not in KEYS:
        if key in UNSUPPORTED_KEYS:
            raise LoadError(path, num, "setting '%s' is not supported by svinit" % key)
        raise LoadError(path, num, "unknown setting '%s'" % key)
    if op == "+=" and key not in COMMAND_KEYS:
        raise LoadError(path, num, "'+=' is only valid for command and stop-command, not '%s'" % key)
    parts = _parts(value, path, num)
    d.lines[(key, None)] = num

    if key in COMMAND_KEYS:
        argv = []
        for p in parts:
            argv.extend(_subst(p, lookup, path, num, key, split=True))
        attr = key.replace("-", "_")
        if op == "+=" and getattr(d, attr):
            getattr(d, attr).extend(argv)
        else:
            setattr(d, attr, argv)
        return

    if not parts:
        raise LoadError(path, num, "%s: missing value" % key)
    if key == "options":
        for word in parts:
            if word not in OPTION_WORDS:
                raise LoadError(path, num, "options: unknown option '%s'" % word)
            d.options.add(word)
            d.lines[(key, word)] = num
        return

    v = " ".join(parts)
    if key in SUBST_KEYS:
        v = _subst(v, lookup, path, num, key)

    if key in DEP_KEYS or key in ORDER_KEYS:
        if not valid_name(v):
            raise LoadError(path, num, "%s: invalid service name '%s'" % (key, v))
        lst = getattr(d, key.replace("-", "_"))
        if (key, v) in d.from_dirs:
            d.from_dirs.discard((key, v))
            d.lines[(key, v)] = num
        elif (key, v) not in d.lines:       # (not `v in lst`: boot may list 1000 services)
            lst.append(v)
            d.lines[(key, v)] = num
    elif key.endswith(".d"):
        # As Dinit: a .d dir is an "enabled services" list, so an unreadable dir or a dangling
        # entry is a warning, not a reason to fail the service (and with it the boot).
        base = key[:-2]
        dirpath = v if os.path.isabs(v) else os.path.join(d.services_dir, v)
        d.dot_dirs.setdefault(base, []).append((dirpath, num))
        try:
            entries = sorted(e for e in os.listdir(dirpath) if not e.startswith("."))
        except OSError as e:
            d.warnings.append(LoadError(path, num, "%s: %s: %s" % (key, dirpath, e.strerror or e)))
            return
        lst = getattr(d, base.replace("-", "_"))
        for entry in entries:
            if not valid_name(entry):
                d.warnings.append(LoadError(path, num, "%s: ignoring '%s' in %s: invalid service name"
                                            % (key, entry, dirpath)))
            elif (base, entry) not in d.lines:
                lst.append(entry)
                d.lines[(base, entry)] = num
                d.from_dirs.add((base, entry))
    elif key == "type":
        if v not in TYPES:
            if v == "triggered":
                raise LoadError(path, num, "type: 'triggered' is not supported by svinit")
            raise LoadError(path, num, "type: unknown type '%s' (process, bgprocess, scripted, internal)" % v)
        d.type = v
    elif key == "working-dir":
        d.working_dir = v if os.path.isabs(v) else os.path.join(d.services_dir, v)
    elif key in ("logfile", "pid-file"):
        setattr(d, key.replace("-", "_"), v if os.path.isabs(v) else os.path.join(d.services_dir, v))
    elif key == "log-type":
        if v not in LOG_TYPES:
            why = " (it needs consumer-of)" if v == "pipe" else ""
            raise LoadError(path, num, "log-type: '%s' is not supported%s (file, buffer or none)"
                            % (v, why))
        d.log_type = v
    elif key == "log-buffer-size":
        n = _size(v)
        if not n:
            raise LoadError(path, num, "log-buffer-size: expected a size in bytes above 0 "
                            "(k, M, G suffixes allowed), not '%s'" % v)
        d.log_buffer_size = n
    elif key == "run-as":
        try:
            d.uid, d.gid, d.groups = _resolve_user(v)
        except ValueError as e:
            raise LoadError(path, num, "run-as: %s" % e) from None
        d.run_as = v
    elif key == "chain-to":
        if not valid_name(v):
            raise LoadError(path, num, "chain-to: invalid service name '%s'" % v)
        d.chain_to = v
    elif key == "restart":
        if v in ("yes", "true"):
            d.restart = "yes"
        elif v in ("no", "false"):
            d.restart = "no"
        elif v == "on-failure":
            d.restart = v
        else:
            raise LoadError(path, num, "restart: must be yes, true, no, false or on-failure, not '%s'" % v)
    elif key == "smooth-recovery":
        b = _bool(v)
        if b is None:
            raise LoadError(path, num, "smooth-recovery: must be yes, true, no or false, not '%s'" % v)
        d.smooth_recovery = b
    elif key in ("restart-delay", "restart-limit-interval", "start-timeout", "stop-timeout"):
        secs = _seconds(v)
        if secs is None:
            raise LoadError(path, num, "%s: expected a number of seconds, not '%s'" % (key, v))
        setattr(d, key.replace("-", "_"), secs)
    elif key == "restart-limit-count":
        n = _count(v)
        if n is None:
            raise LoadError(path, num, "restart-limit-count: expected a whole number, not '%s'" % v)
        d.restart_limit_count = n
    elif key == "unless-mounted":
        if not v.startswith("/"):
            raise LoadError(path, num, "unless-mounted: expected an absolute path, not '%s'" % v)
        d.unless_mounted = v
    elif key == "logfile-max-size":
        n = _size(v)
        if n is None:
            raise LoadError(path, num, "logfile-max-size: expected a size in bytes "
                            "(k, M, G suffixes allowed), not '%s'" % v)
        d.logfile_max_size = n
    elif key == "logfile-permissions":
        if not v or not set(v) <= frozenset("01234567") or int(v, 8) > 0o777:
            raise LoadError(path, num,
                            "logfile-permissions: expected octal permissions like 600, not '%s'" % v)
        d.logfile_permissions = int(v, 8)
    elif key == "term-signal":
        if v == "none":
            d.term_signal = 0
        else:
            from toybox.lib import signal_number
            try:
                d.term_signal = signal_number(v)
            except ValueError:
                raise LoadError(path, num, "term-signal: unknown signal '%s'" % v) from None
    elif key == "ready-notification":
        kind, colon, what = v.partition(":")
        if kind == "pipefd" and _count(what) is not None:
            fd = int(what)
            if fd < 3:
                raise LoadError(path, num, "ready-notification: pipefd must be 3 or more (0-2 are stdio)")
            d.ready_notification = ("pipefd", fd)
        elif kind == "pipevar" and what and what[0] in _VAR_START and set(what) <= _VAR_CHARS:
            d.ready_notification = ("pipevar", what)
        else:
            raise LoadError(path, num, "ready-notification: expected pipefd:N or pipevar:VAR, not '%s'" % v)


def _finish(d):
    """Checks that need the whole file (the type may come after the command)."""
    path = d.file
    tline = d.line_of("type")
    if d.type in ("process", "bgprocess", "scripted") and not d.command:
        raise LoadError(path, tline, "type %s needs a command" % d.type)
    if d.type == "internal":
        for key in COMMAND_KEYS:
            if d.line_of(key) is not None:
                raise LoadError(path, d.line_of(key), "%s: an internal service runs no commands" % key)
    if d.type == "bgprocess" and d.pid_file is None:
        raise LoadError(path, tline, "type bgprocess needs a pid-file")
    if d.ready_notification is not None and d.type != "process":
        raise LoadError(path, d.line_of("ready-notification"),
                        "ready-notification: only process services can signal readiness")
    if d.unless_mounted is not None and d.type != "scripted":
        raise LoadError(path, d.line_of("unless-mounted"),
                        "unless-mounted: only for scripted services (this one is %s)" % d.type)
    if "kill-all-on-stop" in d.options and d.type not in ("scripted", "internal"):
        raise LoadError(path, d.line_of("options", "kill-all-on-stop"),
                        "options: kill-all-on-stop is only for scripted and internal services")
    if d.restart == "on-failure" and d.type not in PROCESS_TYPES:
        d.restart = "no"
    if d.log_type == "file" and d.logfile is None:
        raise LoadError(path, d.line_of("log-type"), "log-type: file needs a logfile")
    if d.log_type in ("buffer", "none") and d.logfile is not None:
        d.warnings.append(LoadError(path, d.line_of("logfile"), "logfile: ignored, log-type is %s"
                                    % d.log_type))
        d.logfile = None


def load_dir(services_dir, environ=None, extra=None, lenient=()):
    """Load every service in services_dir: (descs, errors), both dicts keyed by name.

    A file that fails to parse, a missing dependency, a dependency cycle, or a hard
    dependency (depends-on/depends-ms) on a service that failed puts the service in errors
    instead of descs. waits-for on a service that exists but failed is allowed (soft).
    extra ({name: Description}, e.g. from an inittab) joins the set before the checks; a
    file of the same name wins (with a warning on its Description). The services named in
    lenient are loaded so (load_file)."""
    descs = {}
    errors = {}
    if environ is None:
        environ = lib.environ()     # once, not per file
    try:
        names = sorted(os.listdir(services_dir))
    except OSError as e:
        raise LoadError(services_dir, None, "cannot read services dir: %s" % (e.strerror or e)) from None
    templates = {}
    for name in names:
        if name.startswith(".") or name.endswith("~") or name.endswith(".d"):
            continue
        path = os.path.join(services_dir, name)
        if os.path.isdir(path):
            continue
        if name.endswith("@") and valid_name(name):
            templates[name] = path
            continue
        try:
            descs[name] = load_file(path, name, services_dir, environ, name in lenient)
        except LoadError as e:
            errors[name] = e
    # A file that a service of the directory names as its env-file is that, not a service
    # (Dinit never meets one: it reads only the files of the services it is asked for).
    for item in list(descs.values()) + list(errors.values()):
        name = env_file_name(services_dir, item)
        if name is not None and name != os.path.basename(item.file):
            descs.pop(name, None)
            errors.pop(name, None)
    # Instances (getty@tty1) of templates (getty@) exist when something names them.
    todo = list(descs.values()) + list((extra or {}).values())
    while todo:
        d = todo.pop()
        for name in [n for _, n in d.dependencies()] + [d.chain_to]:
            if name in descs or name in errors or not name or "@" not in name:
                continue
            path = templates.get(name.partition("@")[0] + "@")
            if path is None:
                continue
            try:
                descs[name] = load_file(path, name, services_dir, environ, name in lenient)
                todo.append(descs[name])
            except LoadError as e:
                errors[name] = e
    for name, d in (extra or {}).items():
        if name in descs:
            descs[name].warnings.append(LoadError(
                d.file, d.inittab_line, "ignored: service %s is defined by %s" % (name, descs[name].file)))
        elif name not in errors:
            descs[name] = d
    check_set(descs, errors)
    return descs, errors


def env_file_name(services_dir, item):
    """The name of the file in services_dir that a Description (or the LoadError of a
    service file that named one) uses as its env-file; None if it uses none there."""
    env_file = item.env_file
    if env_file is None:
        return None
    env_file = os.path.normpath(env_file if env_file.startswith("/") else _abspath(env_file))
    if os.path.dirname(env_file) != _abspath(services_dir):
        return None
    return os.path.basename(env_file)


def find_file(services_dir, name):
    """The file that describes service `name`: its own file, or for `base@arg` without one
    the template file `base@`; None if neither exists (or the name is invalid)."""
    if not valid_name(name):
        return None
    path = os.path.join(services_dir, name)
    if os.path.isfile(path):
        return path
    if "@" in name:
        path = os.path.join(services_dir, name.partition("@")[0] + "@")
        if os.path.isfile(path):
            return path
    return None


def drop_dir_entry(d, key, dep):
    """Forget the dependency `dep` that d's `key.d` dir names and no service file makes
    (a dangling entry: a warning, as in Dinit), or that a leniently loaded d names;
    returns the warning."""
    if (key, dep) in d.from_dirs:
        warning = d.error(key, dep, "%s.d: ignoring %s: no such service" % (key, dep))
    else:
        warning = d.error(key, dep, "dependency %s not found%s" % (dep, LENIENT_NOTE))
    getattr(d, key.replace("-", "_")).remove(dep)
    d.from_dirs.discard((key, dep))
    del d.lines[(key, dep)]
    return warning


def check_set(descs, errors):
    """Move services with a missing dependency, in a dependency cycle, or hard-depending on a
    failed service from descs to errors (in place)."""
    for name in sorted(descs):
        d = descs[name]
        for key, dep in d.dependencies():
            if dep in descs or dep in errors:
                continue
            if (key, dep) in d.from_dirs or d.lenient:
                d.warnings.append(drop_dir_entry(d, key, dep))
                continue
            errors[name] = d.error(key, dep, "dependency %s not found" % dep)
            break
        else:
            if d.chain_to is not None and d.chain_to not in descs and d.chain_to not in errors:
                errors[name] = d.error("chain-to", None, "chain-to service %s not found" % d.chain_to)
    for name in errors:
        descs.pop(name, None)

    find_cycles(descs, errors)

    # Hard dependents of failed services fail too, transitively.
    dependents = {}
    for name in sorted(descs):
        d = descs[name]
        for key in HARD_DEP_KEYS:
            for dep in getattr(d, key.replace("-", "_")):
                dependents.setdefault(dep, []).append((d, key))
    failed = sorted(errors)
    while failed:
        dep = failed.pop(0)
        for d, key in dependents.get(dep, ()):
            if d.name not in errors:
                errors[d.name] = d.error(key, dep, "dependency %s failed to load" % dep)
                failed.append(d.name)
    for name in errors:
        descs.pop(name, None)


def find_cycles(descs, errors):
    """Fail every service on a dependency cycle, naming the cycle from that service."""
    # graph[n] = [(t, owner, key)]: n starts after t, because of owner's `key` line. Ordering
    # counts too (it would deadlock a start just the same); `a before b` is an edge of b.
    graph = {name: [] for name in descs}
    for name, d in descs.items():
        for key, t in d.dependencies() + [("after", t) for t in d.after]:
            if t in descs:
                graph[name].append((t, d, key))
        for t in d.before:
            if t in descs:
                graph[t].append((name, d, "before"))

    WHITE, GREY, BLACK = 0, 1, 2
    color = dict.fromkeys(graph, WHITE)
    cycles = []
    for root in sorted(graph):
        if color[root] != WHITE:
            continue
        # Iterative DFS: a deep chain of 1000 services must not hit the recursion limit.
        stack = [(root, iter(graph[root]))]
        path = [root]
        color[root] = GREY
        while stack:
            node, it = stack[-1]
            for edge in it:
                t = edge[0]
                if color[t] == WHITE:
                    color[t] = GREY
                    path.append(t)
                    stack.append((t, iter(graph[t])))
                    break
                if color[t] == GREY:
                    cycles.append(path[path.index(t):])
            else:
                color[node] = BLACK
                stack.pop()
                path.pop()
    for cycle in cycles:
        for i, name in enumerate(cycle):
            if name in errors:
                continue
            nxt = cycle[(i + 1) % len(cycle)]
            ring = cycle[i:] + cycle[:i] + [name]
            msg = "dependency cycle: " + " -> ".join(ring)
            errors[name] = _edge_error(graph, name, nxt, msg)
    for name in errors:
        descs.pop(name, None)


def _edge_error(graph, name, nxt, msg):
    for t, owner, key in graph[name]:
        if t == nxt:
            value = name if key == "before" else t
            return owner.error(key, value, msg)
    raise AssertionError("no edge %s -> %s" % (name, nxt))
