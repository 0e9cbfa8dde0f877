"""ctl: every command, human and --json output, exit codes, wait semantics.

Two halves: against a scripted svinit stand-in (a ControlServer with a fake service
table: exact requests and replies, every error path), and end to end against the
real svinit running services that sleep in a temporary directory.
"""
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import REPO

# -- a scripted svinit ----------------------------------------------------------

FAKE = r"""
import json, os, selectors, sys, time, _signal
sys.path.insert(0, %(repo)r)
from toybox import ctlserver, protocol

path, table_file, log_file = sys.argv[1:4]
services = json.load(open(table_file))
for s in services.values():
    # Times in the table are "seconds ago", so the output doesn't depend on when it was written.
    for key in ("since", "started_at"):
        if isinstance(s, dict) and s.get(key) is not None:
            s[key] = time.time() - s[key]
shutdown_error = services.pop("_shutdown_error", None)
timers = []

def unknown(name):
    return protocol.reply_error("unknown service '%%s'" %% name, protocol.E_UNKNOWN_SERVICE)

class Handler:
    def handle(self, req, reply):
        with open(log_file, "a") as f:
            f.write(json.dumps(req) + "\n")
        cmd, name = req["cmd"], req.get("name")
        if cmd == "list":
            return reply(protocol.reply_ok(services=[services[n] for n in sorted(services)]))
        if cmd == "info":
            since = time.time() - 7300
            return reply(protocol.reply_ok(svinit={
                "pid": 85, "since": since, "oneit": 1, "requested": [["boot", "started"]],
                "ready_at": since + 0.46, "ready_uptime": 2.04,
                "recovered": False, "before": None, "shutdown": None,
                "counts": {"started": 3, "starting": 1, "stopping": 1, "stopped": 2},
                "failed": [["getty", "exited 1"]], "services_dir": "/etc/svinit.d",
                "pid_dir": "/run/svinit", "socket": path}))
        if cmd == "shutdown":
            if shutdown_error:
                return reply(protocol.reply_error(shutdown_error, protocol.E_BUSY))
            return reply(protocol.reply_ok(accepted=True))
        if name not in services:
            return reply(unknown(name))
        s = services[name]
        if cmd == "status":
            return reply(protocol.reply_ok(service=s))
        if cmd == "log":
            lines = s.get("log", ["line %%d" %% i for i in range(req["lines"])])
            return reply(protocol.reply_ok(lines=lines, discarded=bool(s.get("discarded"))))
        if cmd in ("start", "wake", "restart"):
            if s.get("fails"):
                s.update(state="stopped", target="stopped", pid=None, failed=True, reason="exited 1")
                return reply(protocol.reply_error("%%s: failed to start: exited 1" %% name,
                                                  protocol.E_FAILED, service=s))
            s.update(state="starting", target="started", pid=4242, failed=False, reason=None)
            if not req.get("wait", True):
                return reply(protocol.reply_ok(service=s))
            def done(s=s):
                s.update(state="started", started_at=time.time())
                return protocol.reply_ok(service=s)
            timers.append((time.monotonic() + 0.3, reply, done))
            return
        if cmd == "stop":
            if s.get("needed_by") and not req.get("force"):
                return reply(protocol.reply_error(
                    "%%s is needed by running services: %%s" %% (name, ", ".join(s["needed_by"])),
                    protocol.E_REFUSED))
            s.update(state="stopped", target="stopped", pid=None)
            return reply(protocol.reply_ok(service=s))
        if cmd in ("release", "signal", "reload"):
            return reply(protocol.reply_ok(service=s))
        reply(protocol.reply_error("unknown command " + cmd, protocol.E_UNKNOWN_CMD))

sel = selectors.DefaultSelector()
server = ctlserver.ControlServer(path, sel, Handler())
print("ready", flush=True)
while True:
    for key, mask in sel.select(0.05):
        key.data(mask)
    now = time.monotonic()
    for t in [t for t in timers if t[0] <= now]:
        timers.remove(t)
        t[1](t[2]())
    server.tick(now)
"""

def status(name, state="started", **kw):
    s = {"name": name, "state": state, "target": "stopped" if state == "stopped" else "started",
         "pid": None, "failed": False, "reason": None, "active": True, "type": "process",
         "since": 100, "started_at": None, "restarts": 0, "exit_status": None,
         "exit_code": None, "console": None, "file": "/etc/svinit.d/" + name}
    s.update(kw)
    return s


TABLE = {
    "sshd": status("sshd", pid=812, started_at=125000, restarts=2, exit_status="exited 3"),
    "db": status("db", "starting", pid=840),
    "web": status("web", "stopping", pid=851, target="started"),
    "cron": status("cron", "stopped", exit_status="exited 0"),
    "getty": status("getty", "stopped", failed=True, reason="exited 1", exit_status="exited 1"),
    "lib": status("lib", pid=900, started_at=7300, active=False, needed_by=["app", "web"]),
    "broken": status("broken", "stopped", fails=True),
}


class Fake:
    def __init__(self, tmp_path, **extra):
        self.path = str(tmp_path / "svinit.sock")
        self.log = tmp_path / "requests.log"
        table = tmp_path / "table.json"
        table.write_text(json.dumps(dict(TABLE, **extra)))
        script = tmp_path / "fake.py"
        script.write_text(FAKE % {"repo": REPO})
        self.proc = subprocess.Popen([sys.executable, "-S", str(script), self.path, str(table),
                                      str(self.log)], stdout=subprocess.PIPE)
        assert self.proc.stdout.readline() == b"ready\n"

    def requests(self):
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]

    def stop(self):
        self.proc.kill()
        self.proc.wait(10)
        self.proc.stdout.close()


@pytest.fixture
def fake(tmp_path):
    f = Fake(tmp_path)
    yield f
    f.stop()


@pytest.fixture
def ctl(testcmd, fake):
    def run(args, **kw):
        env = {"SVINIT_SOCKET": fake.path}
        env.update(kw.pop("env", {}))
        return testcmd("ctl " + args, env=env, **kw)
    return run


def test_list_human(ctl):
    r = ctl("list")
    assert r.code == 0 and r.err == ""
    lines = r.out.splitlines()
    assert lines[0] == "[-] stopped   broken"
    assert lines[1] == "[-] stopped   cron    last exit: exited 0"
    assert lines[2] == "[~] starting  db      pid 840"
    assert lines[3] == "[X] stopped   getty   failed: exited 1"
    assert lines[4] == "[+] started   lib     pid 900, up 2h01m, started as a dependency"
    assert lines[5] == "[+] started   sshd    pid 812, up 1d10h, restarts 2"
    assert lines[6] == "[~] stopping  web     pid 851, will start again"
    assert len(lines) == 7


@pytest.mark.parametrize("seconds, text", [(0, "0s"), (59.9, "59s"), (60, "1m00s"), (192, "3m12s"),
                                            (3599, "59m59s"), (3600, "1h00m"), (7300, "2h01m"),
                                            (86400, "1d00h"), (125000, "1d10h"), (-5, "0s")])
def test_durations(seconds, text):
    from applets.ctl import duration
    assert duration(seconds) == text


def test_list_json(ctl):
    r = ctl("--json list")
    assert r.code == 0
    got = json.loads(r.out)
    assert [s["name"] for s in got] == sorted(TABLE)
    for s in got:
        assert {"name", "state", "pid", "failed", "reason"} <= set(s)
    assert r.out.count("\n") == 1


def test_colour_only_on_a_terminal(ctl, bindir, fake):
    assert "\033[" not in ctl("list").out
    import pty
    pid, fd = pty.fork()
    if pid == 0:
        os.environ["SVINIT_SOCKET"] = fake.path
        os.environ.pop("NO_COLOR", None)
        os.environ["TERM"] = "xterm"
        os.execv(os.path.join(bindir, "ctl"), ["ctl", "list"])
    out = b""
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    os.waitpid(pid, 0)
    os.close(fd)
    assert b"\033[32m+\033[0m] \033[32mstarted " in out
    assert b"\033[31mX\033[0m] \033[31mstopped " in out


def test_status_human(ctl):
    r = ctl("status sshd")
    assert r.code == 0 and r.err == ""
    lines = r.out.splitlines()
    assert lines[0] == "Service:    sshd"
    assert lines[1] == "State:      started"
    assert lines[2] == "Activation: explicitly started"
    assert lines[3] == "PID:        812"
    assert lines[4].startswith("Uptime:     1d10h (since ")
    assert lines[5:] == ["Restarts:   2", "Last exit:  exited 3", "Type:       process",
                         "File:       /etc/svinit.d/sshd"]


def test_status_alone_is_svinit_at_a_glance(ctl, fake):
    r = ctl("status")
    assert r.code == 0 and r.err == ""
    lines = r.out.splitlines()
    assert lines[0].startswith("svinit:     pid 85, up 2h01m (since ")
    assert lines[1:] == ["Parent:     oneit (pid 1)",
                         "Requested:  boot: started",
                         "Ready:      2.04s after boot (0.46s after svinit started)",
                         "Services:   7 (3 started, 1 starting, 1 stopping, 2 stopped)",
                         "Failed:     getty (exited 1)",
                         "Files:      /etc/svinit.d",
                         "Pid dir:    /run/svinit",
                         "Socket:     %s" % fake.path]
    assert fake.requests()[-1] == {"v": 1, "cmd": "info"}
    info = json.loads(ctl("--json status").out)
    assert (info["pid"], info["requested"], info["counts"]["started"]) == (85, [["boot", "started"]], 3)


def test_status_alone_in_a_shutdown_after_a_restart_with_many_failed():
    from applets.ctl import info_text
    info = {"pid": 7, "since": None, "oneit": None, "requested": [["boot", "failed"], ["x", "unknown"]],
            "recovered": True, "before": 6, "shutdown": "reboot", "counts": {},
            "failed": [["f%02d" % i, "exited 1"] for i in range(12)]}
    text = info_text(info, False)
    assert text.splitlines()[0] == "svinit:     pid 7"
    assert "Requested:  boot: failed, x: unknown\n" in text
    assert "Shutdown:   reboot, under way\n" in text
    assert "Services:   0\n" in text
    assert "Failed:     f00 (exited 1), " in text and "f09 (exited 1), and 2 more (ctl list)\n" in text
    assert "Recovered:  the svinit before (pid 6) died; this one took its services back\n" in text
    assert "Parent" not in text and "Ready" not in text and "\033[" not in text
    assert "Broken" not in text
    info["broken"] = [["b%02d" % i, "/etc/svinit.d/b%02d:2: unknown setting 'x'" % i] for i in range(11)]
    text = info_text(info, False)
    assert "Broken:     b00 (/etc/svinit.d/b00:2: unknown setting 'x'), " in text
    assert "b09 (/etc/svinit.d/b09:2: unknown setting 'x'), and 1 more (svinit's log)\n" in text
    info.update(ready_at=1000.0, ready_uptime=7300.0)
    assert "Ready:      2h01m after boot\n" in info_text(info, False)
    assert "\033[31mboot: failed" not in info_text(info, True)
    assert "boot: \033[31mfailed\033[0m" in info_text(info, True)


def test_status_says_a_scripted_service_was_skipped():
    from applets.ctl import status_text
    s = status("mount-proc", type="scripted", skipped="/proc is mounted already: command not run")
    assert "Skipped:    /proc is mounted already: command not run\n" in status_text(s, False)
    assert "Skipped" not in status_text(status("mount-proc", type="scripted"), False)


def test_status_of_a_failed_service_says_why_and_exits_0(ctl):
    r = ctl("status getty")
    assert r.code == 0
    assert "State:      stopped (failed)\n" in r.out
    assert "Reason:     exited 1\n" in r.out
    assert "PID:" not in r.out


def test_status_json(ctl):
    r = ctl("--json status web")
    assert r.code == 0
    s = json.loads(r.out)
    assert (s["name"], s["state"], s["pid"], s["failed"], s["reason"]) == ("web", "stopping", 851, False, None)


@pytest.mark.parametrize("cmd", ["status", "start", "stop", "restart", "wake", "release",
                                 "reload", "log", "is-started", "is-failed", "signal HUP"])
def test_unknown_service_exits_2(ctl, cmd):
    r = ctl("%s nosuch" % cmd)
    assert r.code == 2
    assert r.out == ""
    assert r.err == "ctl: unknown service 'nosuch'\n"


def test_start_waits_until_started(ctl, fake):
    r = ctl("start cron")
    assert (r.code, r.out, r.err) == (0, "cron: started\n", "")
    assert fake.requests()[-1] == {"v": 1, "cmd": "start", "name": "cron", "wait": True}


def test_start_no_wait_returns_at_once(ctl, fake):
    r = ctl("start --no-wait cron")
    assert (r.code, r.out) == (0, "cron: starting\n")
    assert fake.requests()[-1]["wait"] is False


def test_start_json_and_quiet(ctl):
    r = ctl("--json start cron")
    assert r.code == 0 and json.loads(r.out)["state"] == "started"
    r = ctl("-q start db")
    assert (r.code, r.out, r.err) == (0, "", "")


def test_failed_start_exits_1_with_the_reason(ctl):
    r = ctl("start broken")
    assert (r.code, r.out) == (1, "")
    assert r.err == "ctl: broken: failed to start: exited 1\n"
    r = ctl("--json start broken")
    assert r.code == 1 and json.loads(r.out)["failed"] is True


def test_timeout_on_a_waiting_start(ctl):
    r = ctl("-t 0.05 start cron")
    assert r.code == 1
    assert r.err == "ctl: cron: no answer within 0.05s; svinit goes on with it\n"


def test_stop_refused_while_needed_unless_forced(ctl, fake):
    r = ctl("stop lib")
    assert r.code == 1
    assert r.err == "ctl: lib is needed by running services: app, web (--force stops them too)\n"
    r = ctl("stop --force lib")
    assert (r.code, r.out) == (0, "lib: stopped\n")
    assert fake.requests()[-1] == {"v": 1, "cmd": "stop", "name": "lib", "wait": True, "force": True}


def test_restart_wake_release_reload(ctl, fake):
    assert ctl("restart sshd").out == "sshd: started\n"
    assert fake.requests()[-1] == {"v": 1, "cmd": "restart", "name": "sshd", "wait": True,
                                   "force": False}
    assert ctl("wake cron").out == "cron: started\n"
    assert ctl("release sshd").out == "sshd: released (started)\n"
    assert ctl("reload sshd").out == "sshd: reloaded /etc/svinit.d/sshd\n"
    assert [q["cmd"] for q in fake.requests()] == ["restart", "wake", "release", "reload"]


@pytest.mark.parametrize("sig", ["HUP", "SIGHUP", "hup", "1"])
def test_signal_by_name_or_number(ctl, fake, sig):
    r = ctl("signal %s sshd" % sig)
    assert (r.code, r.out) == (0, "sshd: sent SIGHUP to pid 812\n")
    assert fake.requests()[-1] == {"v": 1, "cmd": "signal", "name": "sshd", "signal": 1}


def test_bad_signal_is_a_usage_error(ctl, fake):
    r = ctl("signal BOGUS sshd")
    assert r.code == 1 and r.err == "ctl: unknown signal 'BOGUS' (see \"ctl --help\")\n"
    assert fake.requests() == []


def test_log(ctl, fake):
    r = ctl("log sshd")
    assert r.code == 0 and r.out.splitlines() == ["line %d" % i for i in range(20)]
    r = ctl("log sshd -n 3")
    assert r.out == "line 0\nline 1\nline 2\n"
    assert json.loads(ctl("--json log -n 2 sshd").out) == ["line 0", "line 1"]


def test_an_empty_log_is_said_so_on_stderr(testcmd, tmp_path):
    f = Fake(tmp_path, quiet=dict(status("quiet", pid=77), log=[]),
             dropped=dict(status("dropped", pid=78), log=[], discarded=True))
    try:
        def ctl(args):
            return testcmd("ctl " + args, env={"SVINIT_SOCKET": f.path})
        r = ctl("log quiet")
        assert (r.code, r.out, r.err) == (0, "", "ctl: quiet: nothing in its log\n")
        assert ctl("-q log quiet").err == ""
        assert json.loads(ctl("--json log quiet").out) == []
        r = ctl("log dropped")
        assert (r.code, r.out, r.err) == (0, "", "ctl: dropped: its output is discarded (log-type = none)\n")
        assert ctl("-q log dropped").err == ""
    finally:
        f.stop()


@pytest.mark.parametrize("name, started, failed, word", [
    ("sshd", 0, 1, "started"), ("db", 1, 1, "starting"), ("cron", 1, 1, "stopped"),
    ("getty", 1, 0, "failed")])
def test_is_started_and_is_failed_answer_by_exit_code(ctl, name, started, failed, word):
    r = ctl("is-started " + name)
    assert (r.code, r.out) == (started, word + "\n")
    r = ctl("is-failed " + name)
    assert (r.code, r.out) == (failed, word + "\n")
    r = ctl("-q is-started " + name)
    assert (r.code, r.out) == (started, "")


@pytest.mark.parametrize("cmd, how", [("shutdown", "poweroff"), ("poweroff", "poweroff"),
                                      ("reboot", "reboot"), ("halt", "halt")])
def test_shutdown_commands(ctl, fake, cmd, how):
    r = ctl(cmd)
    assert (r.code, r.out) == (0, "svinit: shutting down (%s)\n" % how)
    assert fake.requests()[-1] == {"v": 1, "cmd": "shutdown", "how": how}
    assert json.loads(ctl("--json " + cmd).out) == {"accepted": True, "how": how}


@pytest.mark.parametrize("args, message", [
    ("", "needs at least 1 argument"),
    ("frobnicate", "unknown command 'frobnicate'"),
    ("status a b", "status takes at most one service name"),
    ("list extra", "list takes no arguments"),
    ("signal sshd", "signal takes a signal and a service name"),
    ("--force start sshd", "--force applies to stop and restart"),
    ("--no-wait status sshd", "--no-wait applies to start, stop, restart, wake, enable, disable"),
    ("-n 3 status sshd", "-n applies to log"),
    ("log -n 0 sshd", "-n needs a positive number of lines"),
    ("start ''", "invalid service name ''"),
    ("enable 'a b'", "invalid service name 'a b'"),
    ("enable 'getty@ttyS0\nttyS1'", "invalid service name 'getty@ttyS0\\nttyS1'"),
    ("--from '' enable sshd", "invalid service name ''"),
    ("signal HUP @x", "invalid service name '@x'"),
])
def test_usage_errors(ctl, fake, args, message):
    r = ctl(args)
    assert r.code == 1 and r.out == ""
    assert r.err == 'ctl: %s (see "ctl --help")\n' % message
    assert fake.requests() == []


def test_socket_option_beats_the_environment(testcmd, fake):
    r = testcmd(["ctl", "--socket", fake.path, "is-started", "sshd"],
                env={"SVINIT_SOCKET": "/nonexistent"})
    assert r.code == 0


def test_unreachable_names_the_socket_and_exits_3(testcmd, tmp_path):
    path = str(tmp_path / "none.sock")
    r = testcmd(["ctl", "-s", path, "status", "sshd"])
    assert r.code == 3 and r.out == ""
    assert r.err == ("ctl: can't reach svinit at %s: No such file or directory "
                     "(is svinit running? see --socket)\n" % path)
    r = testcmd(["ctl", "list"], env={"SVINIT_SOCKET": path})
    assert r.code == 3 and path in r.err


def test_nobody_listening_exits_3(testcmd, tmp_path):
    import socket
    path = str(tmp_path / "stale.sock")
    s = socket.socket(socket.AF_UNIX)
    s.bind(path)
    s.close()
    r = testcmd(["ctl", "-s", path, "list"])
    assert r.code == 3 and "can't reach svinit at %s: Connection refused" % path in r.err


def test_a_server_that_never_answers_times_out_with_3(testcmd, tmp_path):
    import socket
    path = str(tmp_path / "mute.sock")
    s = socket.socket(socket.AF_UNIX)
    s.bind(path)
    s.listen(5)
    try:
        r = testcmd(["ctl", "-s", path, "-t", "0.2", "list"])
    finally:
        s.close()
    assert r.code == 3 and r.err == "ctl: no answer from svinit at %s within 0.2s\n" % path


# -- end to end, against the real svinit ---------------------------------------

HAVE_SVINIT = os.path.exists(os.path.join(REPO, "applets", "svinit.py"))
needs_svinit = pytest.mark.skipif(not HAVE_SVINIT, reason="applets/svinit.py not written yet")


class Svinit:
    def __init__(self, bindir, root, services, start=()):
        self.root = root
        self.sock = str(root / "svinit.sock")
        sdir = root / "svinit.d"
        sdir.mkdir()
        for name, text in services.items():
            (sdir / name).write_text(text)
        (root / "run").mkdir()
        with open(root / "svinit.err", "wb") as err:
            self.proc = subprocess.Popen(
                [os.path.join(bindir, "svinit"), "--services-dir", str(sdir), "--pid-dir",
                 str(root / "run"), "--socket", self.sock] + list(start),
                stdout=subprocess.DEVNULL, stderr=err, start_new_session=True)
        for _ in range(200):
            if os.path.exists(self.sock) or self.proc.poll() is not None:
                break
            time.sleep(0.05)
        assert os.path.exists(self.sock), (root / "svinit.err").read_text()

    def service_pids(self):
        from toybox import proc, protocol
        try:
            reply = protocol.call(self.sock, protocol.request("list"), 5)
        except (OSError, protocol.ProtocolError, protocol.Unreachable):
            return []
        pids = [s["pid"] for s in reply.get("services", []) if s.get("pid")]
        return [(pid, proc.starttime(pid)) for pid in pids]

    def stop(self):
        """SIGTERM svinit (which stops its services); then kill, by PID, any service it left."""
        from toybox import proc
        left = self.service_pids() if self.proc.poll() is None else []
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for pid, start in left:
            if start is not None and proc.alive(pid, start):
                os.kill(pid, signal.SIGKILL)


SLEEPER = "type = process\ncommand = /bin/sleep 1000\n"
SERVICES = {
    "boot": "type = internal\nwaits-for = web\n",
    "base": SLEEPER,
    "web": SLEEPER + "depends-on = base\n",
    "idle": SLEEPER,
    "bad": "type = process\ncommand = /nonexistent/program\n",
    "quick": "type = scripted\ncommand = /bin/true\n",
}


@pytest.fixture
def svinit(bindir, tmp_path):
    s = Svinit(bindir, tmp_path, SERVICES)
    yield s
    s.stop()


@pytest.fixture
def real(testcmd, svinit):
    def run(args, **kw):
        return testcmd(["ctl", "-s", svinit.sock] + args.split(), **kw)
    return run


def wait_state(real, name, state):
    for _ in range(100):
        r = real("--json status " + name)
        if r.code == 0 and json.loads(r.out)["state"] == state:
            return json.loads(r.out)
        time.sleep(0.1)
    raise AssertionError("%s never reached %s: %s" % (name, state, r))


@needs_svinit
def test_e2e_list_and_status(real):
    wait_state(real, "web", "started")
    r = real("list")
    assert r.code == 0
    by_name = {line.split()[2]: line for line in r.out.splitlines()}
    assert set(by_name) == set(SERVICES)
    assert by_name["web"].startswith("[+] started   web ") and "pid " in by_name["web"]
    assert by_name["idle"].startswith("[-] stopped   idle")
    r = real("--json list")
    assert [s["name"] for s in json.loads(r.out)] == sorted(SERVICES)
    r = real("status web")
    assert r.code == 0 and "State:      started\n" in r.out and "PID:" in r.out
    s = json.loads(real("--json status web").out)
    assert s["state"] == "started" and isinstance(s["pid"], int) and s["failed"] is False
    os.kill(s["pid"], 0)
    assert real("status idle").code == 0


@needs_svinit
def test_e2e_status_alone(real, svinit):
    wait_state(real, "web", "started")
    real("start bad")
    info = json.loads(real("--json status").out)
    assert info["pid"] == svinit.proc.pid and info["oneit"] is None and not info["recovered"]
    assert info["requested"] == [["boot", "started"]]
    with open("/proc/uptime") as f:
        uptime = float(f.read().split()[0])
    assert info["since"] <= info["ready_at"] <= time.time()
    assert uptime - 60 < info["ready_uptime"] <= uptime + 0.1
    assert sum(info["counts"].values()) == len(SERVICES)
    assert info["failed"] == [["bad", "exec /nonexistent/program: No such file or directory"]]
    r = real("status")
    assert r.code == 0
    assert "Requested:  boot: started\n" in r.out
    assert "Failed:     bad (exec /nonexistent/program: No such file or directory)\n" in r.out
    assert "Services:   %d (" % len(SERVICES) in r.out


@needs_svinit
def test_e2e_start_stop_wait_and_exit_codes(real):
    r = real("start idle")
    assert (r.code, r.out) == (0, "idle: started\n")
    assert real("is-started idle").code == 0
    pid = json.loads(real("--json status idle").out)["pid"]
    os.kill(pid, 0)
    r = real("stop idle")
    assert (r.code, r.out) == (0, "idle: stopped\n")
    assert real("-q is-started idle").code == 1
    with pytest.raises(ProcessLookupError):
        for _ in range(50):
            os.kill(pid, 0)
            time.sleep(0.1)


@needs_svinit
def test_e2e_failed_start(real):
    r = real("start bad")
    assert r.code == 1 and "bad" in r.err and "/nonexistent/program" in r.err
    assert real("is-failed bad").code == 0
    s = json.loads(real("--json status bad").out)
    assert s["failed"] is True and s["reason"]


@needs_svinit
def test_e2e_stop_needed_service_refused_without_force(real):
    wait_state(real, "web", "started")
    r = real("stop base")
    assert r.code == 1 and "web" in r.err
    assert real("is-started base").code == 0
    r = real("stop --force base")
    assert r.code == 0
    assert real("-q is-started web").code == 1


@needs_svinit
def test_e2e_signal_restart_release_wake_reload_log(real):
    wait_state(real, "web", "started")
    pid = json.loads(real("--json status web").out)["pid"]
    r = real("restart web")
    assert r.code == 0
    new = json.loads(real("--json status web").out)
    assert new["state"] == "started" and new["pid"] != pid
    r = real("signal TERM web")
    assert r.code == 0 and r.out == "web: sent SIGTERM to pid %d\n" % new["pid"]
    # wake starts only what an active service needs (as Dinit's does).
    r = real("wake idle")
    assert r.code == 1 and "idle" in r.err
    r = real("wake base")
    assert (r.code, r.out) == (0, "base: started\n")
    assert json.loads(real("--json status base").out)["active"] is False
    assert real("start idle").code == 0
    r = real("release idle")
    assert r.code == 0 and r.out.startswith("idle: released")
    assert real("reload idle").code == 0
    assert real("log web").code == 0
    assert real("--json log web").out.startswith("[")


@needs_svinit
def test_e2e_unknown_service(real):
    r = real("status nosuch")
    assert r.code == 2 and "nosuch" in r.err


@needs_svinit
@pytest.mark.skipif(os.geteuid() != 0 or not os.access("/usr/bin/python3", os.X_OK),
                    reason="needs root to become nobody, and a python3 nobody may run")
def test_e2e_nobody_is_refused(bindir):
    import pathlib
    import shutil
    import tempfile
    from bindir import make_bindir
    # Everything nobody touches must be reachable by nobody: pytest's directories
    # are 0700 and this interpreter may live under /root.
    top = tempfile.mkdtemp(prefix="ctl-nobody-")
    try:
        os.chmod(top, 0o755)
        open_bin = make_bindir(os.path.join(top, "bin"), python="/usr/bin/python3")
        os.mkdir(os.path.join(top, "sv"))
        s = Svinit(bindir, pathlib.Path(top, "sv"), SERVICES)
        try:
            os.chmod(s.sock, 0o666)      # so that the refusal comes from SO_PEERCRED
            p = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                                os.path.join(open_bin, "ctl"), "-s", s.sock, "list"],
                               capture_output=True, text=True, timeout=30)
            assert (p.returncode, p.stdout) == (3, "")
            assert p.stderr == "ctl: permission denied: uid 65534 may not control svinit (root only)\n"
            os.chmod(s.sock, 0o600)
            p = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                                os.path.join(open_bin, "ctl"), "-s", s.sock, "list"],
                               capture_output=True, text=True, timeout=30)
            assert p.returncode == 3
            assert p.stderr == ("ctl: can't reach svinit at %s: Permission denied (its control "
                                "socket is for root and svinit's own user)\n" % s.sock)
        finally:
            s.stop()
    finally:
        shutil.rmtree(top)


@needs_svinit
def test_e2e_shutdown_stops_everything(real, svinit):
    wait_state(real, "web", "started")
    pid = json.loads(real("--json status web").out)["pid"]
    r = real("poweroff")
    assert (r.code, r.out) == (0, "svinit: shutting down (poweroff)\n")
    svinit.proc.wait(30)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


# -- replies that break the protocol, and a stdout that takes nothing -------------

@pytest.fixture
def answering(tmp_path):
    """answering(reply) -> the path of a socket where a stand-in svinit answers every
    request with the line json.dumps(reply) (or reply, a str), whatever it was asked."""
    import socket
    import threading
    path = str(tmp_path / "answering.sock")
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(path)
    listener.listen(8)
    listener.settimeout(0.1)
    done = threading.Event()
    replies = []

    def serve():
        while not done.is_set():
            try:
                conn, _ = listener.accept()
            except socket.timeout:
                continue
            with conn:
                conn.settimeout(5)
                conn.recv(65536)
                reply = replies[0]
                conn.sendall((reply if isinstance(reply, str) else json.dumps(reply)).encode() + b"\n")

    thread = threading.Thread(target=serve)
    thread.start()

    def start(reply):
        replies.append(reply)
        return path

    yield start
    done.set()
    thread.join(10)
    listener.close()


def ok(**fields):
    return dict({"v": 1, "ok": True}, **fields)


SSHD = TABLE["sshd"]
INFO = {"pid": 85, "since": 1000.0, "counts": {"started": 1}, "failed": [], "requested": []}


@pytest.mark.parametrize("args, reply, problem", [
    ("list", ok(services=[dict(SSHD, pid="812")]),
     'reply to list: services[0].pid is "812", not an integer or null'),
    ("list", ok(services={"sshd": SSHD}),
     'reply to list: services is {"sshd": {"name": "sshd", "state": "s..., not a list'),
    ("list", {"v": 1, "ok": "yes", "services": []}, 'reply to list: ok is "yes", not true or false'),
    ("status", ok(svinit=dict(INFO, counts={"started": True})),
     "reply to info: svinit.counts.started is true, not an integer"),
    ("status", ok(svinit=dict(INFO, requested=[["boot"]])),
     'reply to info: svinit.requested[0] is ["boot"], not a list of two'),
    ("status sshd", ok(service=dict(SSHD, restarts=2.0)),
     "reply to status: service.restarts is 2.0, not an integer"),
    ("start sshd", ok(service=["sshd"]), 'reply to start: service is ["sshd"], not an object'),
    ("stop sshd", ok(), 'reply to stop: no "service"'),
    ("restart sshd", ok(service=dict(SSHD, name=7)), "reply to restart: service.name is 7, not a string"),
    ("wake sshd", ok(service=dict(SSHD, pid=True)),
     "reply to wake: service.pid is true, not an integer or null"),
    ("release sshd", ok(service=dict(SSHD, failed="no")),
     'reply to release: service.failed is "no", not true or false'),
    ("signal HUP sshd", ok(service=dict(SSHD, since="yesterday")),
     'reply to signal: service.since is "yesterday", not a number or null'),
    ("reload sshd", ok(service=dict(SSHD, file=0)), "reply to reload: service.file is 0, not a string or null"),
    ("log sshd", ok(lines=["a", 1]), "reply to log: lines[1] is 1, not a string"),
    ("log sshd", ok(lines=[], discarded=0), "reply to log: discarded is 0, not true or false"),
    ("is-started sshd", ok(service=dict(SSHD, state=None)),
     "reply to status: service.state is null, not a string"),
    ("is-failed sshd", ok(service=dict(SSHD, failed=1)),
     "reply to status: service.failed is 1, not true or false"),
    ("status sshd", json.dumps(ok(service=SSHD)).replace('"started_at": 125000', '"started_at": 1e999'),
     "reply to status: service.started_at is inf, not a number or null"),
    ("shutdown", ok(accepted="yes"), 'reply to shutdown: accepted is "yes", not true or false'),
    ("stop sshd", {"v": 1, "ok": False, "error": ["needed"], "code": "refused"},
     'reply to stop: error is ["needed"], not a string'),
    ("list", {"v": True, "ok": True, "services": []}, "protocol version true, expected 1"),
    ("list", {"v": 1.0, "ok": True, "services": []}, "protocol version 1.0, expected 1"),
])
def test_a_reply_of_the_wrong_types_is_a_protocol_error(testcmd, answering, args, reply, problem):
    path = answering(reply)
    r = testcmd(["ctl", "-s", path] + args.split())
    assert (r.code, r.out, r.err) == (3, "", "ctl: svinit at %s: %s\n" % (path, problem))


def test_times_past_what_the_c_library_shows_are_shown_as_numbers():
    from applets.ctl import status_text
    text = status_text(dict(SSHD, state="stopped", since=1e300), False)
    assert "Since:      1e+300 s after 1970 (" in text


def ctl_with_stdout(bindir, fake, args, stdout, shell=""):
    argv = [os.path.join(bindir, "ctl")] + args.split() + ["-s", fake.path]
    if shell:
        argv = ["/bin/sh", "-c", 'exec "$@" ' + shell, "sh"] + argv
    p = subprocess.run(argv, stdout=stdout, stderr=subprocess.PIPE, timeout=30)
    return p.returncode, p.stderr.decode()


@pytest.mark.parametrize("args", ["list", "--json list", "status", "status sshd", "log sshd",
                                  "start sshd", "--help"])
def test_a_full_stdout_is_a_write_error(bindir, fake, args):
    with open("/dev/full", "w") as full:
        assert ctl_with_stdout(bindir, fake, args, full) == (
            1, "ctl: write error: No space left on device\n")


@pytest.mark.parametrize("args", ["list", "--json status", "is-started sshd", "log sshd"])
def test_a_closed_stdout_is_a_write_error(bindir, fake, args):
    assert ctl_with_stdout(bindir, fake, args, None, ">&-") == (
        1, "ctl: write error: standard output is closed\n")


def test_a_closed_stdout_is_no_error_when_nothing_is_written(bindir, fake):
    assert ctl_with_stdout(bindir, fake, "-q release sshd", None, ">&-") == (0, "")


def test_a_reader_that_went_away_ends_ctl_quietly_with_1(bindir, fake):
    r, w = os.pipe()
    os.close(r)
    try:
        assert ctl_with_stdout(bindir, fake, "list", w) == (1, "")
    finally:
        os.close(w)


@needs_svinit
def test_e2e_a_service_file_with_errors_is_said_so_with_file_and_line(real, svinit):
    wait_state(real, "web", "started")
    sdir = svinit.root / "svinit.d"
    (sdir / "typo").write_text("command = /bin/sleep 1000\nrestart = maybe\n")
    (sdir / "tpl@").write_text("command = /bin/sleep 1000 $1\nstart-timeout = soon\n")
    (sdir / "needy").write_text(SLEEPER + "depends-on = typo\n")
    for cmd in ("start", "restart", "wake", "reload", "status", "stop", "is-started"):
        r = real("%s typo" % cmd)
        assert (r.code, r.out) == (1, ""), (cmd, r)
        assert r.err.startswith("ctl: typo: can't load: %s/typo:2: restart: " % sdir), (cmd, r)
    # A template instance that nothing named at start-up.
    r = real("start tpl@x")
    assert r.code == 1 and r.err.startswith("ctl: tpl@x: can't load: %s/tpl@:2: " % sdir), r
    r = real("start needy")
    assert r.code == 1
    assert r.err == "ctl: needy: can't load: %s/needy:3: dependency typo failed to load\n" % sdir
    # Nothing of it was loaded; a name without a file is still no such service.
    assert real("status nothere").code == 2
    names = [line.split()[2] for line in real("list").out.splitlines()]
    assert not {"typo", "tpl@x", "needy"} & set(names)
    # Fixed, it starts.
    (sdir / "typo").write_text("command = /bin/sleep 1000\nrestart = no\n")
    assert real("start needy").out == "needy: started\n"
    assert real("is-started typo").code == 0
