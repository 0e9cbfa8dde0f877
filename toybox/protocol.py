"""The control protocol between ctl (and shutdown) and svinit, declared once.

Transport: a Unix stream socket, mode 0600. Each message is one line of JSON (an
object) ending in "\\n", at most MAX_LINE bytes. The client sends one request and
reads one reply; for a waiting request (start/stop without no_wait) the reply
comes when the service reached its state or failed.

Request:  {"v": 1, "cmd": "status", "name": "sshd", ...arguments}
Reply:    {"v": 1, "ok": true, ...results}
          {"v": 1, "ok": false, "error": "human text", "code": "ERROR-CODE"}

Both sides check "v": a reply or request of another version is an error
("version"), so an old ctl never misreads a new svinit. Both check the types of
the fields declared below (check_request, check_reply): a field of another type
is an error ("bad-request" for a request), and where an int is declared, true
and 1.0 are not one. Fields not declared are left alone.

Commands (request fields beyond v/cmd; reply fields when ok):
  list                                -> services: [STATUS...] sorted by name
  status   name                       -> service: STATUS
  start    name, wait=true            -> service: STATUS (when started; ok=false
                                         with code "failed" and service if it failed)
  stop     name, wait=true, force=false -> service: STATUS (refused with code
                                         "refused" if running hard dependents
                                         need it and not force)
  restart  name, wait=true, force=false -> service: STATUS
  wake     name, wait=true            -> service: STATUS (start without marking active)
  release  name                       -> service: STATUS (drop the active mark)
  signal   name, signal=INT           -> service: STATUS
  reload   name                       -> service: STATUS (file re-read; a bad file
                                         fails the request with FILE:LINE in error)
  enable   name, from="boot", wait=true -> service: STATUS (FROM waits for NAME, now and
                                         at every boot: a link in FROM's first waits-for.d;
                                         NAME started if FROM is up)
  disable  name, from="boot", wait=true -> service: STATUS (the link removed, the wait
                                         dropped; NAME stopped unless needed or active)
  log      name, lines=INT            -> lines: [str...] (its recent output),
                                         discarded: bool (log-type = none: output not kept)
  shutdown how="halt"|"poweroff"|"reboot" -> accepted: true (before it is done)
  info                                -> svinit: INFO (svinit itself, at a glance)

INFO is an object:
  pid        int                    svinit's PID
  since      float                  time.time() this svinit started
  oneit      int | null             the oneit it reports to (its parent), if any
  requested  [[name, STATE word]]   the services asked for at start-up ("boot"), and where
                                    each is ("started", "starting", ..., "failed", "unknown")
  recovered  bool                   this svinit took back the state a svinit before it left
                                    in the pid dir (it was restarted; boot scripts not rerun)
  before     int | null             that svinit's PID, when its file said
  ready_at   float | null           time.time() when all the requested services had first
                                    started (null until then, and in a recovered svinit)
  ready_uptime float | null         the same moment in seconds since the machine booted
                                    (CLOCK_BOOTTIME: the kernel's own start included)
  shutdown   str | null             "halt" | "poweroff" | "reboot" | "exit" | "restart" once asked for
  counts     {state: int}           how many services are in each state
  failed     [[name, reason]]       the services stopped because they failed, by name
  broken     [[name, error]]        service files that could not be loaded (not services: not
                                    in `list`), with FILE:LINE: why, by name
  services_dir, pid_dir, socket  str

STATUS is an object:
  name     str
  state    "stopped" | "starting" | "started" | "stopping"
  target   "started" | "stopped"    where the service is heading
  pid      int | null
  failed   bool                     stopped because it failed
  reason   str | null               why it failed / stopped, in words
  active   bool                     explicitly activated (not only a dependency)
  type     "process" | "bgprocess" | "scripted" | "internal"
  since    float                    time.time() of the last state change
  start_began float | null          time.time() its own start last began: its dependencies
                                    were up and its command launched (internal: started);
                                    null before, and after a restart of svinit
  started_at float | null           time.time() the running process started
  restarts int                      automatic restarts so far
  exit_status str | null            last exit in words ("exited 3", "killed by signal 9 (SIGKILL)")
  exit_code int | null              last exit as a shell shows it (128+N for signal N)
  console  "has" | "waiting" | null
  skipped  str (scripted only, absent unless so): its unless-mounted path was mounted
           already when it started, so its command was not run ("/proc is mounted
           already: command not run")
  file     str | null               the service file

This module imports only C modules (_json, _socket): every `ctl status` pays for
what it loads, and `json` (which pulls in `re`) and `socket` (which pulls in
`enum`) would double its cost.
"""
import posix

VERSION = 1
MAX_LINE = 64 * 1024          # a request longer than this is refused
MAX_REPLY = 16 * 1024 * 1024  # replies (a `list` of thousands of services) may be longer
CLIENT_TIMEOUT = 10.0         # seconds ctl waits for an answer (waiting commands: see ctl)
SERVER_IDLE_TIMEOUT = 5.0     # seconds svinit gives a client to send its request
DEFAULT_SOCKET = "/run/svinit.sock"

# Error codes a reply may carry in "code"; ctl maps them to exit codes.
E_BAD_REQUEST = "bad-request"       # not JSON, too long, missing or bad fields
E_VERSION = "version"               # protocol version mismatch
E_UNKNOWN_CMD = "unknown-command"
E_UNKNOWN_SERVICE = "unknown-service"
E_FAILED = "failed"                 # the operation was tried and failed
E_REFUSED = "refused"               # e.g. stop with running hard dependents, no --force
E_DENIED = "denied"                 # peer credentials not allowed
E_BUSY = "busy"                     # e.g. shutdown already in progress

# Service states on the wire (`state` of a status object).
STATES = ("stopped", "starting", "started", "stopping")


class ProtocolError(Exception):
    def __init__(self, msg, code=E_BAD_REQUEST):
        super().__init__(msg)
        self.code = code


# -- JSON without `json` -------------------------------------------------------

class _Context:
    # What _json.make_scanner reads from json.JSONDecoder.
    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    memo = None

    @staticmethod
    def parse_constant(name):
        raise ValueError("bad constant %s" % name)


_scan = None


def _scanner():
    global _scan
    if _scan is None:
        try:
            import _json
            _scan = _json.make_scanner(_Context())
        except (ImportError, AttributeError):
            import json
            _scan = json.JSONDecoder().scan_once
    return _scan


def decode(data):
    """One JSON value from bytes or str; ValueError if it is not exactly one value."""
    if isinstance(data, (bytes, bytearray)):
        data = data.decode("utf-8")
    text = data.strip()
    try:
        value, end = _scanner()(text, 0)
    except StopIteration:
        raise ValueError("not JSON") from None
    if end != len(text):
        raise ValueError("extra data after JSON value")
    return value


def _encode_str(s):
    try:
        from _json import encode_basestring_ascii
    except ImportError:
        from json.encoder import encode_basestring_ascii
    return encode_basestring_ascii(s)


def encode(obj):
    """JSON text (ASCII) of dicts, lists, tuples, str, int, float, bool and None."""
    if obj is None:
        return "null"
    if obj is True:
        return "true"
    if obj is False:
        return "false"
    if isinstance(obj, str):
        return _encode_str(obj)
    if isinstance(obj, int):
        return int.__repr__(obj)
    if isinstance(obj, float):
        if obj != obj or obj in (float("inf"), float("-inf")):
            return "null"
        return float.__repr__(obj)
    if isinstance(obj, dict):
        return "{" + ", ".join(_encode_str(str(k)) + ": " + encode(v) for k, v in obj.items()) + "}"
    if isinstance(obj, (list, tuple)):
        return "[" + ", ".join(encode(v) for v in obj) + "]"
    raise TypeError("can't encode %r" % type(obj).__name__)


def line(obj):
    """One protocol message: the object as JSON on one line, as bytes."""
    return (encode(obj) + "\n").encode()


def parse_message(raw, limit=MAX_LINE):
    """The object in one received line (bytes, without or with its newline).

    Raises ProtocolError for anything that is not a JSON object of our version."""
    if len(raw) > limit:
        raise ProtocolError("message longer than %d bytes" % limit)
    try:
        obj = decode(raw)
    except (ValueError, UnicodeDecodeError) as e:
        raise ProtocolError("not a JSON line: %s" % e) from None
    except RecursionError:
        raise ProtocolError("not a JSON line: nested too deeply") from None
    if not isinstance(obj, dict):
        raise ProtocolError("a message must be a JSON object")
    v = obj.get("v")
    # true and 1.0 equal 1 in Python: only the integer is a version.
    if type(v) is not int or v != VERSION:
        raise ProtocolError("protocol version %s, expected %d"
                            % (_shown(v) if "v" in obj else "missing", VERSION), E_VERSION)
    return obj


def _shown(value):
    # encode() writes an infinite float as null, which would hide the mistake.
    text = repr(value) if type(value) is float and value - value != 0 else encode(value)
    return text if len(text) <= 40 else text[:37] + "..."


def check_request(msg):
    """msg, a parse_message() of a request; ProtocolError (bad-request) unless it has a
    "cmd" and the fields its command declares, of their types (toybox/protoschema.py,
    imported at the first request: a boot makes none)."""
    from toybox import protoschema
    return protoschema.check_request(msg)


def check_reply(cmd, msg):
    """msg, a parse_message() of the reply to a `cmd` request; ProtocolError unless it
    holds what that reply declares, of the declared types (toybox/protoschema.py)."""
    from toybox import protoschema
    return protoschema.check_reply(cmd, msg)


_NAME_PUNCT = frozenset("._-")


def valid_name(name):
    """Dinit's service-name rule: not empty, no leading `.` or `@`, and before any `@` only
    letters, digits, `.`, `_`, `-` (or non-ASCII characters). After the `@`, a template's
    argument may be anything but `/`, white space and control characters: the state files
    are lines, and list names separated by spaces (`getty@$(ls /dev/ttyS*)` must not give
    a name with a newline that no state file can hold)."""
    if not name or name[0] in ".@":
        return False
    base, _at, arg = name.partition("@")
    for c in base:
        if not (c.isalnum() or c in _NAME_PUNCT or ord(c) >= 0x80):
            return False
    for c in arg:
        if c == "/" or c.isspace() or ord(c) < 0x20 or 0x7f <= ord(c) < 0xa0:
            return False
    try:
        name.encode()       # a file name that is not UTF-8 (surrogate escapes) is none
    except UnicodeEncodeError:
        return False
    return True


def request(cmd, **args):
    msg = {"v": VERSION, "cmd": cmd}
    msg.update(args)
    return msg


def reply_ok(**results):
    msg = {"v": VERSION, "ok": True}
    msg.update(results)
    return msg


def reply_error(error, code=E_FAILED, **more):
    msg = {"v": VERSION, "ok": False, "error": error, "code": code}
    msg.update(more)
    return msg


# -- client ------------------------------------------------------------------

class Unreachable(Exception):
    """svinit can't be reached at the socket path (the message names it); `hint` says what
    to look at."""

    def __init__(self, msg, hint="is svinit running? see --socket"):
        super().__init__(msg)
        self.hint = hint


def call(path, msg, timeout=CLIENT_TIMEOUT):
    """Send one request to svinit at socket `path`, return its reply object.

    Raises Unreachable when there is nobody at `path`, ProtocolError for a reply
    that isn't one (of another version, or with a field of the wrong type: check_reply),
    TimeoutError when no reply came within `timeout` seconds (None waits for ever).
    """
    import _socket
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM | _socket.SOCK_CLOEXEC)
    try:
        sock.settimeout(timeout)
        try:
            _connect(sock, path, timeout)
        except (FileNotFoundError, ConnectionRefusedError) as e:
            raise Unreachable("can't reach svinit at %s: %s" % (path, e.strerror)) from None
        except PermissionError as e:
            # The socket is mode 0600: only svinit's own user (root) may connect.
            raise Unreachable("can't reach svinit at %s: %s" % (path, e.strerror),
                              "its control socket is for root and svinit's own user") from None
        except _socket.timeout:
            raise TimeoutError("no answer from svinit at %s" % path) from None
        try:
            sock.sendall(line(msg))
        except (BrokenPipeError, ConnectionResetError):
            pass    # svinit refused at once (denied, busy) and closed: its reply is still there to read
        buf = b""
        while b"\n" not in buf:
            try:
                chunk = sock.recv(65536)
            except _socket.timeout:
                raise TimeoutError("no answer from svinit at %s within %gs" % (path, timeout)) from None
            if not chunk:
                if buf:
                    break
                raise ProtocolError("svinit at %s closed the connection without a reply" % path)
            buf += chunk
            if len(buf) > MAX_REPLY:
                raise ProtocolError("reply from svinit longer than %d bytes" % MAX_REPLY)
        return check_reply(msg["cmd"], parse_message(buf.split(b"\n", 1)[0], MAX_REPLY))
    finally:
        sock.close()


def _connect(sock, path, timeout):
    # With a timeout the socket is non-blocking, and connect(2) to a Unix socket
    # whose listen backlog is full fails with EAGAIN instead of waiting: svinit is
    # busy accepting others, so try again until the timeout.
    import time
    deadline = time.monotonic() + timeout if timeout is not None else None
    while True:
        try:
            sock.connect(path)
            return
        except BlockingIOError:
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError("no answer from svinit at %s within %gs" % (path, timeout)) from None
            time.sleep(0.005)


def socket_path(option=None):
    """The socket path: --socket, else $SVINIT_SOCKET, else DEFAULT_SOCKET."""
    env = posix.environ.get(b"SVINIT_SOCKET")
    return option or (env.decode("utf-8", "surrogateescape") if env else None) or DEFAULT_SOCKET
