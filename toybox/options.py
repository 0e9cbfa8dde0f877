"""Declarative option strings, parsed once by the dispatcher before an applet runs.

Grammar (a space separates items and is otherwise ignored):

    ^        leading: options end at the first non-option argument
    <N >N    leading: at least / at most N positional arguments
    x        a flag: a letter or digit; its value counts how often it was given
    x(long)  the same flag also spelled --long (several (names) may follow,
             with no space between them)
    (long)   a long-only flag
    then a type for the one before: ':' a string, '/' a path (a string
             that is not empty), '#' an integer, '%' a number of seconds
             (float); '*' after the type collects every occurrence into a list
    [!xyz]   flags x, y and z exclude one another

Values are read as attributes: the flag's letter (`opts.c`) or its long name
with '-' as '_' (`opts.no_wait`). A flag not given is 0, None, or [] (lists).
"""


class UsageError(Exception):
    """Bad command line: the dispatcher prints it and adds the --help hint."""


class Spec:
    __slots__ = ("key", "names", "kind", "many")

    def __init__(self, key):
        self.key = key
        self.names = []
        self.kind = None
        self.many = False

    def label(self):
        return self.key if len(self.key) == 1 else "--" + self.key


class Options:
    """Parsed flags. Unknown attribute names raise AttributeError, so typos fail loudly."""

    def __init__(self, values, aliases):
        self._values = values
        self._aliases = aliases

    def __getattr__(self, name):
        try:
            return self._values[self._aliases[name]]
        except KeyError:
            raise AttributeError(name) from None

    def __getitem__(self, name):
        """For flags that are not identifiers: opts["3"]."""
        return self.__getattr__(name)

    def __repr__(self):
        return "Options(%r)" % self._values


class Grammar:
    def __init__(self, text):
        self.stop_at_arg = False
        self.min_args = 0
        self.max_args = None
        self.specs = {}        # key -> Spec
        self.short = {}        # letter -> Spec
        self.long = {}         # long name -> Spec
        self.exclusive = []    # lists of keys
        self._compile(text)

    def _compile(self, s):
        i = 0
        last = None
        attachable = False     # a "(name)" right after a letter or a "(name)" belongs to it
        while i < len(s):
            c = s[i]
            if c == " ":
                attachable = False
                i += 1
                continue
            if c == "^":
                self.stop_at_arg = True
            elif c in "<>":
                j = i + 1
                while j < len(s) and s[j].isdigit():
                    j += 1
                n = int(s[i + 1:j])
                if c == "<":
                    self.min_args = n
                else:
                    self.max_args = n
                i = j
                continue
            elif c == "(":
                j = s.index(")", i)
                name = s[i + 1:j]
                if attachable:
                    last.names.append(name)
                else:
                    last = self._add(name)
                self.long[name] = last
                attachable = True
                i = j + 1
                continue
            elif c in ":/#%" and last is not None:
                last.kind = c
            elif c == "*" and last is not None:
                last.many = True
            elif c == "[":
                j = s.index("]", i)
                if s[i + 1] != "!":
                    raise ValueError("option string: only [!...] groups are supported: %r" % s)
                self.exclusive.append(list(s[i + 2:j]))
                i = j + 1
                continue
            elif c.isalnum():
                last = self._add(c)
                self.short[c] = last
                attachable = True
                i += 1
                continue
            else:
                raise ValueError("option string: unexpected %r in %r" % (c, s))
            attachable = False
            i += 1

    def _add(self, key):
        if key in self.specs:
            raise ValueError("option string: %r defined twice" % key)
        spec = Spec(key)
        self.specs[key] = spec
        return spec

    def flag_names(self):
        """Every spelling a user may type: '-x' and '--long'."""
        out = set("-" + k for k in self.short)
        out.update("--" + k for k in self.long)
        return out

    def parse(self, argv):
        values = {}
        for key, spec in self.specs.items():
            values[key] = [] if spec.many else (None if spec.kind else 0)
        given = []
        args = []
        i = 0
        n = len(argv)
        while i < n:
            a = argv[i]
            i += 1
            if a == "--":
                args.extend(argv[i:])
                break
            if a.startswith("--"):
                name, eq, val = a[2:].partition("=")
                spec = self.long.get(name)
                if spec is None:
                    raise UsageError("unknown option '%s'" % a)
                if spec.kind is None:
                    if eq:
                        raise UsageError("option '--%s' takes no argument" % name)
                    self._store(values, spec, None)
                else:
                    if not eq:
                        if i >= n:
                            raise UsageError("option '--%s' needs an argument" % name)
                        val = argv[i]
                        i += 1
                    self._store(values, spec, val)
                given.append(spec.key)
                continue
            if a.startswith("-") and len(a) > 1:
                j = 1
                while j < len(a):
                    spec = self.short.get(a[j])
                    if spec is None:
                        raise UsageError("unknown option '%s'" % a[j])
                    given.append(spec.key)
                    j += 1
                    if spec.kind is None:
                        self._store(values, spec, None)
                        continue
                    if j < len(a):
                        val = a[j:]
                    elif i < n:
                        val = argv[i]
                        i += 1
                    else:
                        raise UsageError("option '%s' needs an argument" % spec.key)
                    self._store(values, spec, val)
                    break
                continue
            args.append(a)
            if self.stop_at_arg:
                args.extend(argv[i:])
                break
        for group in self.exclusive:
            both = [k for k in group if k in given]
            if len(set(both)) > 1:
                raise UsageError("options %s can't be used together"
                                 % " and ".join("-" + k for k in sorted(set(both), key=group.index)))
        if len(args) < self.min_args:
            raise UsageError("needs %s argument%s" % (
                "at least %d" % self.min_args if self.max_args != self.min_args else self.min_args,
                "" if self.min_args == 1 else "s"))
        if self.max_args is not None and len(args) > self.max_args:
            if self.max_args == 0:
                raise UsageError("takes no arguments, not '%s'" % args[0])
            raise UsageError("too many arguments (at most %d)" % self.max_args)
        aliases = {}
        for key, spec in self.specs.items():
            aliases[key.replace("-", "_")] = key
            for name in spec.names:
                aliases[name.replace("-", "_")] = key
        return Options(values, aliases), args

    @staticmethod
    def _store(values, spec, val):
        if spec.kind is None:
            values[spec.key] += 1
            return
        if spec.kind == "/":
            # A path left empty ($DIR unset in a script) must not quietly mean the default,
            # which is the system's own (/run/svinit...).
            if not val:
                raise UsageError("option '%s' needs a path, not an empty string" % spec.label())
        elif spec.kind == "#":
            try:
                val = int(val, 10)
            except ValueError:
                raise UsageError("option '%s' needs an integer, not '%s'" % (spec.label(), val)) from None
        elif spec.kind == "%":
            try:
                seconds = float(val)
            except ValueError:
                seconds = -1.0
            if not 0 <= seconds < float("inf"):
                raise UsageError("option '%s' needs a number of seconds, not '%s'" % (spec.label(), val))
            val = seconds
        if spec.many:
            values[spec.key].append(val)
        else:
            values[spec.key] = val


def parse(optstring, argv):
    return Grammar(optstring).parse(argv)
