"""usage: ctl [-s PATH] [--json] [-q] [--no-wait] [--force] [--from NAME] [-t SECONDS] COMMAND [ARG...]

Ask svinit, the service manager, about its services and tell it what to do.

Commands:
  list                every service, one line each (format below)
  status              svinit itself: PID, uptime, the services asked for at
                      start-up and how long after boot they were all up, how many
                      services are in each state, which failed, which service
                      files could not be loaded and why
  status NAME         state, PID, uptime, restarts, last exit and why it failed
  start NAME          mark NAME active and start it (and what it needs); wait
                      until it has started or failed
  stop NAME           drop the active mark and stop it; wait until stopped.
                      Refused while running services need it, unless --force
                      (which stops them too)
  restart NAME        stop, then start again (waits for both); as stop, refused
                      while running services need it, unless --force (which
                      restarts them too), as dinitctl
  wake NAME           start NAME without marking it active
  release NAME        drop the active mark; NAME stops if nothing needs it
  signal SIG NAME     send SIG (HUP, SIGHUP or 1) to its process
  reload NAME         read its service file again
  enable NAME         start NAME now and at every boot: boot waits for it (a
                      link in the first waits-for.d of boot's file)
  disable NAME        undo enable: the link goes; NAME stops unless something
                      else needs it or it was started with `start`
  log NAME            its recent output (-n lines, default 20)
  is-started NAME     exit 0 if NAME is started, 1 if not (prints its state)
  is-failed NAME      exit 0 if NAME stopped because it failed, 1 if not
  shutdown            stop every service, then power off (as poweroff)
  poweroff, reboot, halt
                      stop every service, then power off, reboot or halt

Options:
  -s, --socket PATH   svinit's control socket (default $SVINIT_SOCKET, else
                      /run/svinit.sock)
  --json              print the reply for programs: one JSON line
  -q, --quiet         print nothing on success (errors still go to stderr)
  --no-wait           start/stop/restart/wake/enable/disable: return once
                      svinit has begun
  --force             stop/restart: also stop the services that need NAME
  --from NAME         enable/disable: the service that waits for it, instead
                      of boot
  -t, --timeout SECONDS  wait at most this long for an answer (start and stop
                      wait as long as svinit takes unless this is given)
  -n LINES            log: how many lines

`list` prints one line per service, sorted by name:
  [+] started   sshd    pid 812, up 3m12s
  [~] starting  db      pid 840
  [~] stopping  web     pid 851, will start again
  [-] stopped   cron
  [X] stopped   getty   failed: exited 1
The mark is + started, ~ starting or stopping, - stopped, X stopped after a
failure; then the state, the name (padded to the longest) and, after two
spaces, comma-separated details: pid N, up DURATION, will start again / will
stop, failed: REASON, last exit (of a stopped service), restarts N, started as
a dependency (not marked active), has console / waiting for console.
Colour only on a terminal, and not with NO_COLOR set.

--json prints for status NAME and the service commands a STATUS object with
at least name, state (stopped, starting, started, stopping), pid (int or null),
failed (bool) and reason (string or null), as toybox/protocol.py declares;
list prints an array of them, log an array of lines, status alone an INFO object.

Exit status:
  0  done; for is-started and is-failed: yes
  1  the operation failed or was refused; for is-started and is-failed: no;
     a mistake on the command line; stdout could not be written
  2  no such service
  3  svinit can't be reached or won't talk to us: no socket, nobody listening,
     permission denied, no answer in time, another protocol version, a reply
     that breaks the protocol (a field of the wrong type)
"""
import posix

from toybox import lib, protocol

# Each long-only flag follows a type character: the grammar would take a "(name)"
# right after another flag's "(name)" as a second spelling of that flag.
OPTIONS = "<1 q(quiet) s(socket)/ (json) t(timeout)% (no-wait) n# (from): (force)"

EXIT_NO = 1
EXIT_UNKNOWN = 2
EXIT_UNREACHABLE = 3

# Command -> how many arguments it takes.
COMMANDS = {
    "list": 0, "status": 1, "start": 1, "stop": 1, "restart": 1, "wake": 1,
    "release": 1, "signal": 2, "reload": 1, "log": 1, "is-started": 1,
    "is-failed": 1, "shutdown": 0, "poweroff": 0, "reboot": 0, "halt": 0,
    "enable": 1, "disable": 1,
}
WAITING = ("start", "stop", "restart", "wake", "enable", "disable")
DONE_WORD = {"start": "started", "stop": "stopped", "restart": "started", "wake": "started"}
LOG_LINES = 20

# Reply error codes that mean "can't talk to svinit", not "the operation failed".
UNREACHABLE_CODES = (protocol.E_DENIED, protocol.E_VERSION, protocol.E_BAD_REQUEST)


def main(ctx):
    opts, args = ctx.opts, ctx.args
    cmd, args = args[0], args[1:]
    if cmd not in COMMANDS:
        raise lib.Usage("unknown command '%s'" % cmd)
    if cmd == "status" and not args:
        cmd = "info"        # svinit itself
    elif len(args) != COMMANDS[cmd]:
        need = COMMANDS[cmd]
        raise lib.Usage("%s takes %s" % (cmd, {0: "no arguments", 1: "one service name",
                                               2: "a signal and a service name"}[need]
                                        if cmd != "status" else "at most one service name"))
    if opts.no_wait and cmd not in WAITING:
        raise lib.Usage("--no-wait applies to %s" % ", ".join(WAITING))
    if opts.force and cmd not in ("stop", "restart"):
        raise lib.Usage("--force applies to stop and restart")
    if opts.n is not None and cmd != "log":
        raise lib.Usage("-n applies to log")
    if opts["from"] is not None and cmd not in ("enable", "disable"):
        raise lib.Usage("--from applies to enable and disable")
    for name in args[-1:] + ([opts["from"]] if opts["from"] is not None else []):
        if not protocol.valid_name(name):
            raise lib.Usage("invalid service name %s" % _quoted(name))
    ctl = Ctl(opts)
    return ctl.run(cmd, args)


def _quoted(name):
    # A newline or an escape sequence shown as such, not acted on by the terminal.
    return "'%s'" % name.encode("unicode_escape", "backslashreplace").decode("ascii")


class Ctl:
    def __init__(self, opts):
        self.opts = opts
        self.path = protocol.socket_path(opts.socket)
        self.json = bool(opts.json)
        self.quiet = bool(opts.quiet)

    def request(self, cmd, args):
        if cmd in ("list", "info"):
            return protocol.request(cmd)
        if cmd in ("shutdown", "poweroff", "reboot", "halt"):
            return protocol.request("shutdown", how="poweroff" if cmd == "shutdown" else cmd)
        if cmd == "signal":
            try:
                sig = lib.signal_number(args[0])
            except ValueError as e:
                raise lib.Usage(str(e)) from None
            return protocol.request("signal", name=args[1], signal=sig)
        name = args[0]
        if cmd in ("is-started", "is-failed"):
            return protocol.request("status", name=name)
        if cmd == "log":
            n = self.opts.n if self.opts.n is not None else LOG_LINES
            if n < 1:
                raise lib.Usage("-n needs a positive number of lines")
            return protocol.request("log", name=name, lines=n)
        msg = protocol.request(cmd, name=name)
        if cmd in WAITING:
            msg["wait"] = not self.opts.no_wait
        if cmd in ("stop", "restart"):
            msg["force"] = bool(self.opts.force)
        if self.opts["from"] is not None:
            msg["from"] = self.opts["from"]
        return msg

    def call(self, msg):
        waits = msg.get("wait", False)
        timeout = self.opts.timeout
        if timeout is None:
            timeout = None if waits else protocol.CLIENT_TIMEOUT
        try:
            return protocol.call(self.path, msg, timeout)
        except protocol.Unreachable as e:
            raise lib.Fail("%s (%s)" % (e, e.hint), EXIT_UNREACHABLE) from None
        except TimeoutError as e:
            if waits:
                raise lib.Fail("%s: no answer within %gs; svinit goes on with it"
                               % (msg["name"], timeout), EXIT_NO) from None
            raise lib.Fail(str(e), EXIT_UNREACHABLE) from None
        except protocol.ProtocolError as e:
            raise lib.Fail("svinit at %s: %s" % (self.path, e), EXIT_UNREACHABLE) from None
        except OSError as e:
            raise lib.Fail("svinit at %s: %s" % (self.path, lib.strerror(e)), EXIT_UNREACHABLE) from None

    def run(self, cmd, args):
        reply = self.call(self.request(cmd, args))
        if not reply.get("ok"):
            return self.failed(cmd, reply)
        if cmd in ("list", "info"):
            key, empty, text = (("services", [], list_text) if cmd == "list"
                                else ("svinit", {}, info_text))
            value = reply.get(key) or empty
            if self.json:
                out_json(value)
            else:
                out(text(value, colour()))
            return 0
        if cmd == "log":
            lines = reply.get("lines") or []
            if self.json:
                out_json(lines)
            elif lines:
                out("".join(ln if ln.endswith("\n") else ln + "\n" for ln in lines))
            elif not self.quiet and reply.get("discarded"):
                lib.warn("%s: its output is discarded (log-type = none)" % args[0])
            elif not self.quiet:
                # Not an error, but not a silence to puzzle over either (the demo's httpd
                # pipes its output to the logger: /var/log/messages has it).
                lib.warn("%s: nothing in its log" % args[0])
            return 0
        if cmd in ("shutdown", "poweroff", "reboot", "halt"):
            how = "poweroff" if cmd == "shutdown" else cmd
            if self.json:
                out_json({"accepted": bool(reply.get("accepted", True)), "how": how})
            elif not self.quiet:
                out("svinit: shutting down (%s)\n" % how)
            return 0
        service = reply.get("service") or {}
        if cmd in ("is-started", "is-failed"):
            yes = service.get("state") == "started" if cmd == "is-started" else bool(service.get("failed"))
            if self.json:
                out_json(service)
            elif not self.quiet:
                out(("failed" if service.get("failed") else service.get("state", "?")) + "\n")
            return 0 if yes else EXIT_NO
        if self.json:
            out_json(service)
            return 0
        if cmd == "status":
            out(status_text(service, colour()))
            return 0
        if not self.quiet:
            out(done_text(cmd, args, service))
        return 0

    def failed(self, cmd, reply):
        code = reply.get("code")
        error = reply.get("error") or "svinit refused without saying why"
        service = reply.get("service")
        if self.json and isinstance(service, dict):
            out_json(service)
        if code == protocol.E_REFUSED and cmd in ("stop", "restart") and "--force" not in error:
            error += " (--force stops them too)"
        lib.warn(error)
        if code == protocol.E_UNKNOWN_SERVICE:
            return EXIT_UNKNOWN
        if code in UNREACHABLE_CODES:
            return EXIT_UNREACHABLE
        return EXIT_NO


out = lib.out


def out_json(obj):
    lib.out(protocol.encode(obj) + "\n")


# -- human output ------------------------------------------------------------

def colour():
    env = posix.environ
    return posix.isatty(1) and not env.get(b"NO_COLOR") and env.get(b"TERM") != b"dumb"


GREEN, YELLOW, RED, RESET = "\033[32m", "\033[33m", "\033[31m", "\033[0m"


def mark_of(s):
    """(mark, colour) for a STATUS: + started, ~ on the way, - stopped, X failed."""
    state = s.get("state")
    if state == "started":
        return "+", GREEN
    if state in ("starting", "stopping"):
        return "~", YELLOW
    if s.get("failed"):
        return "X", RED
    return "-", ""


def duration(seconds):
    """3m12s, 2h05m, 4d03h: two units, the larger first."""
    s = max(0, int(seconds))
    if s < 60:
        return "%ds" % s
    if s < 3600:
        return "%dm%02ds" % (s // 60, s % 60)
    if s < 86400:
        return "%dh%02dm" % (s // 3600, s % 3600 // 60)
    return "%dd%02dh" % (s // 86400, s % 86400 // 3600)


def uptime_of(s, now):
    started_at = s.get("started_at")
    if s.get("state") in ("started", "stopping") and isinstance(started_at, (int, float)):
        return duration(now - started_at)
    return None


def heading(s):
    """Where a service in transition is heading, in words; None if nowhere else."""
    state, target = s.get("state"), s.get("target")
    if state == "stopping" and target == "started":
        return "will start again"
    if state == "starting" and target == "stopped":
        return "will stop once started"
    return None


def console_words(s):
    return {"has": "has console", "waiting": "waiting for console"}.get(s.get("console"))


def details(s, now):
    parts = []
    if s.get("pid") is not None:
        parts.append("pid %s" % s["pid"])
    up = uptime_of(s, now)
    if up:
        parts.append("up " + up)
    h = heading(s)
    if h:
        parts.append(h)
    if s.get("failed"):
        parts.append("failed: %s" % (s.get("reason") or s.get("exit_status") or "unknown reason"))
    elif s.get("state") == "stopped" and s.get("exit_status"):
        parts.append("last exit: %s" % s["exit_status"])
    if s.get("restarts"):
        parts.append("restarts %d" % s["restarts"])
    if s.get("state") in ("started", "starting") and s.get("active") is False:
        parts.append("started as a dependency")
    c = console_words(s)
    if c:
        parts.append(c)
    return ", ".join(parts)


def list_text(services, tty):
    import time
    now = time.time()
    width = max([len(str(s.get("name", ""))) for s in services] + [1])
    lines = []
    for s in services:
        mark, col = mark_of(s)
        state = "%-8s" % s.get("state", "?")
        if tty and col:
            mark, state = col + mark + RESET, col + state + RESET
        line = "[%s] %s  %-*s  %s" % (mark, state, width, s.get("name", "?"), details(s, now))
        lines.append(line.rstrip() + "\n")
    return "".join(lines)


def status_text(s, tty):
    import time
    now = time.time()
    rows = [("Service", s.get("name", "?"))]
    mark, col = mark_of(s)
    state = s.get("state", "?")
    if s.get("failed"):
        state += " (failed)"
    h = heading(s)
    if h:
        state += " (%s)" % h
    if tty and col:
        state = col + state + RESET
    rows.append(("State", state))
    if s.get("state") != "stopped" and "active" in s:
        rows.append(("Activation", "explicitly started" if s["active"] else "started as a dependency"))
    if s.get("failed") or s.get("reason"):
        rows.append(("Reason", s.get("reason") or "unknown"))
    if s.get("pid") is not None:
        rows.append(("PID", str(s["pid"])))
    up = uptime_of(s, now)
    if up:
        rows.append(("Uptime", "%s (since %s)" % (up, when(s["started_at"]))))
    elif isinstance(s.get("since"), (int, float)):
        rows.append(("Since", "%s (%s ago)" % (when(s["since"]), duration(now - s["since"]))))
    rows.append(("Restarts", str(s.get("restarts", 0))))
    if s.get("skipped"):
        rows.append(("Skipped", s["skipped"]))
    if s.get("exit_status"):
        rows.append(("Last exit", s["exit_status"]))
    c = console_words(s)
    if c:
        rows.append(("Console", c))
    if s.get("type"):
        rows.append(("Type", s["type"]))
    if s.get("file"):
        rows.append(("File", s["file"]))
    return "".join("%-11s %s\n" % (k + ":", v) for k, v in rows)


# Failed services named in full by `ctl status`; past that, how many more (`ctl list` has all).
FAILED_SHOWN = 10


def info_text(info, tty):
    """`ctl status` without a name: svinit itself, its services counted."""
    import time
    now = time.time()
    rows = []
    since = info.get("since")
    where = "pid %s" % info.get("pid", "?")
    if isinstance(since, (int, float)):
        where += ", up %s (since %s)" % (duration(now - since), when(since))
    rows.append(("svinit", where))
    if info.get("oneit"):
        rows.append(("Parent", "oneit (pid %s)" % info["oneit"]))
    words = []
    for name, word in info.get("requested") or []:
        _, col = mark_of({"state": word, "failed": word == "failed"})   # the colours list uses
        words.append("%s: %s" % (name, col + word + RESET if tty and col else word))
    if words:
        rows.append(("Requested", ", ".join(words)))
    ready_at, uptime = info.get("ready_at"), info.get("ready_uptime")
    if isinstance(ready_at, (int, float)) and isinstance(uptime, (int, float)):
        text = "%s after boot" % ("%.2fs" % uptime if uptime < 60 else duration(uptime))
        if isinstance(since, (int, float)):
            text += " (%.2fs after svinit started)" % (ready_at - since)
        rows.append(("Ready", text))
    if info.get("shutdown"):
        rows.append(("Shutdown", "%s, under way" % info["shutdown"]))
    counts = info.get("counts") or {}
    total = sum(counts.values())
    parts = ["%d %s" % (counts[st], st) for st in ("started", "starting", "stopping", "stopped")
             if counts.get(st)]
    rows.append(("Services", "%d%s" % (total, " (%s)" % ", ".join(parts) if parts else "")))
    for key, label, elsewhere in (("failed", "Failed", "ctl list"), ("broken", "Broken", "svinit's log")):
        pairs = info.get(key) or []
        if pairs:
            shown = ["%s (%s)" % (name, why) for name, why in pairs[:FAILED_SHOWN]]
            if len(pairs) > FAILED_SHOWN:
                shown.append("and %d more (%s)" % (len(pairs) - FAILED_SHOWN, elsewhere))
            text = ", ".join(shown)
            rows.append((label, RED + text + RESET if tty else text))
    if info.get("recovered"):
        before = " (pid %s)" % info["before"] if info.get("before") else ""
        rows.append(("Recovered", "the svinit before%s died; this one took its services back"
                     % before))
    for key, label in (("services_dir", "Files"), ("pid_dir", "Pid dir"), ("socket", "Socket")):
        if info.get(key):
            rows.append((label, info[key]))
    return "".join("%-11s %s\n" % (k + ":", v) for k, v in rows)


def when(t):
    import time
    try:
        return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t))
    except (OverflowError, ValueError, OSError):
        return "%s s after 1970" % t   # past the years the C library can show


def done_text(cmd, args, s):
    name = s.get("name") or args[-1]
    if cmd == "signal":
        return "%s: sent %s to pid %s\n" % (name, lib.signal_name(lib.signal_number(args[0])),
                                            s.get("pid"))
    if cmd == "reload":
        return "%s: reloaded %s\n" % (name, s.get("file") or "its file")
    if cmd in ("release", "enable", "disable"):
        return "%s: %sd (%s)\n" % (name, cmd, s.get("state", "?"))
    return "%s: %s\n" % (name, s.get("state", DONE_WORD.get(cmd, "?")))
