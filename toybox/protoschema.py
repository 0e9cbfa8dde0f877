"""The fields of every control request and reply, with their types, declared once: what
protocol.check_request and protocol.check_reply check (protocol.py declares the framing).
Imported at the first request or reply, not at svinit's start."""
from toybox.protocol import ProtocolError, _shown


# -- what each message holds ---------------------------------------------------
# The types compare type() rather than isinstance: JSON's true is a Python bool, which is
# an int, and a pid, count or signal that arrives as true or 2.0 is a mistake, not a number.

class _Type:
    def __init__(self, words, test):
        self.words = words
        self.test = test

    def check(self, value, where):
        if not self.test(value):
            raise ProtocolError("%s is %s, not %s" % (where, _shown(value), self.words))


class _List(_Type):
    def __init__(self, item):
        super().__init__("a list", lambda v: type(v) is list)
        self.item = item

    def check(self, value, where):
        super().check(value, where)
        for i, item in enumerate(value):
            self.item.check(item, "%s[%d]" % (where, i))


class _Pair(_Type):
    def __init__(self, first, second):
        super().__init__("a list of two", lambda v: type(v) is list and len(v) == 2)
        self.kinds = (first, second)

    def check(self, value, where):
        super().check(value, where)
        for i, (kind, item) in enumerate(zip(self.kinds, value)):
            kind.check(item, "%s[%d]" % (where, i))


class _Counts(_Type):
    def __init__(self):
        super().__init__("an object", lambda v: type(v) is dict)

    def check(self, value, where):
        super().check(value, where)
        for key, item in value.items():
            INT.check(item, "%s.%s" % (where, key))


class _Object(_Type):
    """The fields in `required` and maybe those in `optional` ({name: type}); others are
    left alone (a newer peer may send more)."""

    def __init__(self, required, optional=None):
        super().__init__("an object", lambda v: type(v) is dict)
        self.required = required
        self.optional = optional or {}

    def check(self, value, where):
        super().check(value, where)
        self.fields(value, where + ".")

    def fields(self, obj, prefix):
        for name, kind in self.required.items():
            if name not in obj:
                raise ProtocolError('%sno "%s"' % (prefix, name))
            kind.check(obj[name], prefix + name)
        for name, kind in self.optional.items():
            if name in obj:
                kind.check(obj[name], prefix + name)


def _maybe(kind):
    return _Type(kind.words + " or null", lambda v: v is None or kind.test(v))


# A pid, count or time fits in 64 bits (what other JSON readers keep of an integer), and
# 1e999 reads as an infinite float: neither is something to compute with.
INT = _Type("an integer", lambda v: type(v) is int and -2**63 <= v < 2**63)
NUMBER = _Type("a number", lambda v: INT.test(v) or type(v) is float and v - v == 0)
STR = _Type("a string", lambda v: type(v) is str)
BOOL = _Type("true or false", lambda v: type(v) is bool)

STATUS = _Object({"name": STR, "state": STR}, {
    "target": STR, "pid": _maybe(INT), "failed": BOOL, "reason": _maybe(STR), "active": BOOL,
    "type": STR, "since": _maybe(NUMBER), "start_began": _maybe(NUMBER),
    "started_at": _maybe(NUMBER), "restarts": INT, "exit_status": _maybe(STR),
    "exit_code": _maybe(INT), "console": _maybe(STR), "skipped": STR, "file": _maybe(STR)})
INFO = _Object({"pid": INT}, {
    "since": NUMBER, "oneit": _maybe(INT), "requested": _List(_Pair(STR, STR)),
    "recovered": BOOL, "before": _maybe(INT), "ready_at": _maybe(NUMBER),
    "ready_uptime": _maybe(NUMBER), "shutdown": _maybe(STR), "counts": _Counts(),
    "failed": _List(_Pair(STR, STR)), "broken": _List(_Pair(STR, STR)), "services_dir": STR,
    "pid_dir": STR, "socket": STR})

_NAMED = {"name": STR}
# What each request carries beyond v and cmd.
REQUESTS = {
    "list": _Object({}), "info": _Object({}),
    "status": _Object(_NAMED), "release": _Object(_NAMED), "reload": _Object(_NAMED),
    "start": _Object(_NAMED, {"wait": BOOL}), "wake": _Object(_NAMED, {"wait": BOOL}),
    "stop": _Object(_NAMED, {"wait": BOOL, "force": BOOL}),
    "restart": _Object(_NAMED, {"wait": BOOL, "force": BOOL}),
    "signal": _Object({"name": STR, "signal": _Type("a signal number or name",
                                                    lambda v: type(v) in (int, str))}),
    "log": _Object(_NAMED, {"lines": INT}),
    "enable": _Object(_NAMED, {"wait": BOOL, "from": STR}),
    "disable": _Object(_NAMED, {"wait": BOOL, "from": STR}),
    "shutdown": _Object({}, {"how": STR}),
}
_SERVICE_REPLY = _Object({"service": STATUS})
# What a reply with "ok": true carries, by the command it answers (the other commands of
# REQUESTS: _SERVICE_REPLY).
REPLIES = {
    "list": _Object({"services": _List(STATUS)}), "info": _Object({"svinit": INFO}),
    "log": _Object({"lines": _List(STR)}, {"discarded": BOOL}),
    "shutdown": _Object({}, {"accepted": BOOL}),
}
_ERROR_REPLY = _Object({"error": STR, "code": STR}, {"service": STATUS})
_OK = _Object({"ok": BOOL})


def check_request(msg):
    """msg, a parse_message() of a request; ProtocolError (bad-request) unless it has a
    "cmd" and the fields its command declares, of their types. An unknown command passes:
    the daemon answers it with unknown-command."""
    cmd = msg.get("cmd")
    if type(cmd) is not str or not cmd:
        raise ProtocolError('a request needs a "cmd" string')
    if cmd in REQUESTS:
        REQUESTS[cmd].fields(msg, cmd + ": ")
    return msg


def check_reply(cmd, msg):
    """msg, a parse_message() of the reply to a `cmd` request; ProtocolError unless it holds
    what that reply declares, of the declared types."""
    prefix = "reply to %s: " % cmd
    _OK.fields(msg, prefix)
    if not msg["ok"]:
        _ERROR_REPLY.fields(msg, prefix)
    elif cmd in REPLIES:
        REPLIES[cmd].fields(msg, prefix)
    elif cmd in REQUESTS:
        _SERVICE_REPLY.fields(msg, prefix)
    return msg
