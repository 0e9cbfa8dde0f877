"""svinit: dependencies, activation, shutdown order, bad input, messages, the pid dir."""
import json
import os
import re
import signal
import time

import pytest

from test_svinit_lib import svinit, pid_alive  # noqa: F401  (fixture)
from toybox import piddir


SLEEP = "type = process\ncommand = /bin/sleep 1000\n"


def stamp(root, name, what):
    """A shell snippet appending `NAME WHAT TIME` to ROOT/events."""
    return "echo %s %s $$(date +%%s.%%N) >> %s/events" % (name, what, root)


def events(sv):
    out = []
    for line in sv.read("events").splitlines():
        name, what, t = line.split()
        out.append((name, what, float(t)))
    return out


def scripted(body, **extra):
    text = 'type = scripted\ncommand = /bin/sh -c "%s"\n' % body
    for k, v in extra.items():
        text += "%s = %s\n" % (k.replace("_", "-"), v)
    return text


def test_starts_boot_and_dependencies(svinit):
    sv = svinit({
        "boot": "type = internal\ndepends-on: web\n",
        "web": SLEEP + "depends-on: db\n",
        "db": SLEEP,
        "unrelated": SLEEP,
    })
    sv.wait_state("boot", "started")
    st = sv.states()
    assert st == {"boot": "started", "web": "started", "db": "started", "unrelated": "stopped"}
    web = sv.status("web")
    assert web["pid"] and pid_alive(web["pid"]) and web["active"] is False
    assert sv.status("boot")["active"] is True
    err = sv.stderr()
    assert "svinit: db: started (pid %d)" % sv.status("db")["pid"] in err
    assert err.index("db: started") < err.index("web: started") < err.index("boot: started")
    assert sv.shutdown() == 0
    assert not pid_alive(web["pid"])


def test_hard_dependency_waits_for_started(svinit):
    # db takes a while to be started (scripted); web must not be launched before that.
    sv = svinit({
        "boot": "type = internal\ndepends-on: web\n",
        "web": scripted(stamp("@ROOT@", "web", "start")) + "depends-on: db\n",
        "db": scripted("sleep 0.3; " + stamp("@ROOT@", "db", "done")),
    })
    sv.wait_state("boot", "started")
    ev = events(sv)
    assert [e[:2] for e in ev] == [("db", "done"), ("web", "start")]
    # start_began: when a service's own start began (its dependencies up), kept once started.
    db, web, boot = (sv.status(n) for n in ("db", "web", "boot"))
    assert db["start_began"] + 0.3 <= db["since"] <= web["start_began"] <= web["since"]
    assert web["since"] <= boot["start_began"] <= boot["since"]


def test_parallel_start_overlaps(svinit):
    body = lambda n: stamp("@ROOT@", n, "begin") + "; sleep 0.5; " + stamp("@ROOT@", n, "end")
    sv = svinit({
        "boot": "type = internal\ndepends-on: a\ndepends-on: b\n",
        "a": scripted(body("a")),
        "b": scripted(body("b")),
    })
    sv.wait_state("boot", "started")
    ev = {(n, w): t for n, w, t in events(sv)}
    # Each began before the other ended: they ran at the same time.
    assert ev["a", "begin"] < ev["b", "end"] and ev["b", "begin"] < ev["a", "end"]


def test_soft_dependency_failure_does_not_stop_dependent(svinit):
    sv = svinit({
        "boot": "type = internal\nwaits-for: broken\ndepends-on: ok\n",
        "broken": scripted("exit 3"),
        "ok": SLEEP,
    })
    sv.wait_state("boot", "started")
    st = sv.status("broken")
    assert st["state"] == "stopped" and st["failed"] and "exited 3" in st["reason"]
    assert "svinit: broken: failed: command exited 3" in sv.stderr()


def test_hard_dependency_failure_fails_dependents(svinit):
    sv = svinit({
        "boot": "type = internal\ndepends-on: app\n",
        "app": SLEEP + "depends-on: broken\n",
        "broken": scripted("exit 2"),
        "recovery": SLEEP,
    })
    sv.wait_state("recovery", "started")
    app = sv.status("app")
    assert app["failed"] and app["reason"] == "dependency broken failed"
    assert sv.status("boot")["reason"] == "dependency app failed"
    err = sv.stderr()
    assert "svinit: app: failed: dependency broken failed" in err
    assert "starting recovery" in err


def test_milestone_dependency(svinit):
    sv = svinit({
        "boot": "type = internal\ndepends-ms: ms\n",
        "app": SLEEP + "depends-ms: ms\n",
        "ms": SLEEP,
    })
    sv.wait_state("boot", "started")
    assert sv.call("start", name="app")["ok"]
    # Once started, the milestone may stop without taking app down with it.
    reply = sv.call("stop", name="ms")
    assert reply["ok"], reply
    assert sv.status("ms")["state"] == "stopped"
    assert sv.status("app")["state"] == "started"


def test_milestone_failure_fails_dependent(svinit):
    sv = svinit({"boot": SLEEP + "depends-ms: ms\n", "ms": scripted("exit 1")}, wait_socket=False)
    # Nothing left running and no recovery service: svinit gives up, saying why.
    assert sv.proc.wait(20) == 1
    assert "svinit: boot: failed: dependency ms failed" in sv.stderr()


def test_after_and_before_order_only(svinit):
    sv = svinit({
        "boot": "type = internal\nwaits-for: late\nwaits-for: early\n",
        "late": scripted(stamp("@ROOT@", "late", "run")) + "after: early\n",
        "early": scripted("sleep 0.3; " + stamp("@ROOT@", "early", "run")) + "before: late2\n",
        "late2": scripted(stamp("@ROOT@", "late2", "run")),
    })
    sv.wait_state("boot", "started")
    assert [e[0] for e in events(sv)] == ["early", "late"]
    # before/after don't start anything: late2 was never asked for.
    assert sv.status("late2")["state"] == "stopped"


def test_release_stops_dependencies_nobody_needs(svinit):
    sv = svinit({
        "boot": "type = internal\n",
        "app": SLEEP + "depends-on: lib\n",
        "lib": SLEEP,
        "other": SLEEP + "depends-on: lib\n",
    })
    sv.wait_state("boot", "started")
    assert sv.call("start", name="app")["ok"]
    assert sv.call("start", name="other")["ok"]
    assert sv.status("lib")["state"] == "started" and not sv.status("lib")["active"]
    assert sv.call("stop", name="app")["ok"]
    assert sv.status("lib")["state"] == "started"       # other still needs it
    reply = sv.call("release", name="other")
    assert reply["ok"] and reply["service"]["active"] is False
    sv.wait_state("other", "stopped")
    sv.wait_state("lib", "stopped")


def test_explicitly_started_dependency_stays(svinit):
    sv = svinit({"boot": "type = internal\n", "app": SLEEP + "depends-on: lib\n", "lib": SLEEP})
    sv.wait_state("boot", "started")
    assert sv.call("start", name="lib")["ok"]
    assert sv.call("start", name="app")["ok"]
    assert sv.call("stop", name="app")["ok"]
    assert sv.status("lib")["state"] == "started"


def test_stop_refuses_with_running_hard_dependents_unless_forced(svinit):
    sv = svinit({"boot": "type = internal\ndepends-on: app\n", "app": SLEEP + "depends-on: lib\n",
                 "lib": SLEEP, "keep": SLEEP}, args=["boot", "keep"])
    sv.wait_state("boot", "started")
    reply = sv.call("stop", name="lib")
    assert not reply["ok"] and reply["code"] == "refused" and "app" in reply["error"]
    assert sv.status("lib")["state"] == "started"
    reply = sv.call("stop", name="lib", force=True)
    assert reply["ok"] and reply["service"]["state"] == "stopped"
    assert sv.status("app")["state"] == "stopped"
    assert sv.status("app")["reason"] == "dependency lib stopped"


def test_reverse_order_shutdown(svinit):
    stop = 'stop-command = /bin/sh -c "%s"\n'
    svc = lambda n: (scripted(":") + stop % stamp("@ROOT@", n, "stop"))
    sv = svinit({
        "boot": "type = internal\ndepends-on: top\n",
        "top": svc("top") + "depends-on: mid\n",
        "mid": svc("mid") + "waits-for: base\ndepends-ms: base2\n",
        "base": svc("base"),
        "base2": svc("base2"),
    })
    sv.wait_state("boot", "started")
    assert sv.shutdown() == 0
    order = [e[0] for e in events(sv)]
    assert order.index("top") < order.index("mid") < min(order.index("base"), order.index("base2"))
    assert sorted(order) == ["base", "base2", "mid", "top"]


def test_sigterm_stops_everything_and_exits(svinit):
    sv = svinit({"boot": SLEEP})
    pid = sv.wait_for(lambda: sv.status("boot")["pid"])
    sv.proc.send_signal(signal.SIGTERM)
    assert sv.proc.wait(20) == 0
    assert not pid_alive(pid)
    assert "svinit: boot: stopped" in sv.stderr()


def test_exec_failure_is_reported_with_errno(svinit):
    sv = svinit({
        "boot": "type = internal\nwaits-for: missing\nwaits-for: noexec\nwaits-for: baddir\n",
        "missing": "command = /nonexistent/prog\n",
        "noexec": "command = @ROOT@/svc/boot\n",
        "baddir": SLEEP + "working-dir = /nonexistent/dir\n",
    })
    sv.wait_state("boot", "started")
    err = sv.stderr()
    assert "svinit: missing: failed: exec /nonexistent/prog: No such file or directory" in err
    assert "svinit: noexec: failed: exec %s/svc/boot: Permission denied" % sv.root in err
    assert "svinit: baddir: failed: chdir /nonexistent/dir: No such file or directory" in err
    st = sv.status("missing")
    assert st["failed"] and st["reason"] == "exec /nonexistent/prog: No such file or directory"


def test_exec_failure_through_fork_path(svinit):
    # run-as makes svinit fork and exec itself; the stage and errno come through the pipe.
    me = os.getuid()
    sv = svinit({"boot": "type = internal\nwaits-for: prog\n",
                 "prog": "command = /nonexistent/prog\nrun-as = %d\n" % me})
    sv.wait_state("boot", "started")
    assert sv.status("prog")["reason"] == "exec /nonexistent/prog: No such file or directory"
    assert "svinit: prog: failed: exec /nonexistent/prog: No such file or directory" in sv.stderr()


@pytest.mark.parametrize("run_as", [False, True])
def test_script_without_interpreter_line_runs_in_sh_as_under_dinit(svinit, run_as):
    # Dinit execs with execvp(3), which gives such a file to /bin/sh; so does svinit, by
    # posix_spawn and (run-as) by fork and exec.
    extra = "run-as = %d\n" % os.getuid() if run_as else ""
    sv = svinit({"boot": "type = internal\ndepends-on: s\n",
                 "s": "type = scripted\ncommand = @ROOT@/script one\n" + extra},
                files={"script": "echo \"$0 $1\" > @ROOT@/out\n"})
    sv.wait_state("boot", "started")
    assert sv.read("out") == "%s/script one\n" % sv.root


def test_bad_service_files(svinit):
    sv = svinit({
        "boot": "type = internal\nwaits-for: good\nwaits-for: typo\nwaits-for: cyc1\n",
        "good": SLEEP,
        "typo": SLEEP + "restart-dleay = 1\n",
        "cyc1": SLEEP + "depends-on: cyc2\n",
        "cyc2": SLEEP + "depends-on: cyc1\n",
        "needs_missing": SLEEP + "depends-on: nothere\n",
    })
    sv.wait_state("boot", "started")
    err = sv.stderr()
    assert "%s/svc/typo:3:" % sv.root in err
    assert "%s/svc/cyc1:3: dependency cycle" % sv.root in err
    assert "%s/svc/needs_missing:3: dependency nothere not found" % sv.root in err
    assert sv.status("good")["state"] == "started"
    # Asked about, a service whose file has errors says which (ctl exits 1, not 2).
    r = sv.call("status", name="typo")
    assert r["code"] == "failed" and r["error"].startswith("typo: can't load: %s/svc/typo:3: "
                                                            % sv.root)
    r = sv.call("start", name="cyc2")
    assert r["code"] == "failed" and r["error"].startswith("cyc2: can't load: %s/svc/cyc2:3: "
                                                            "dependency cycle" % sv.root)
    # svinit at a glance names them all, with why; fixed and started, one is no more.
    broken = dict(sv.call("info")["svinit"]["broken"])
    assert sorted(broken) == ["cyc1", "cyc2", "needs_missing", "typo"]
    assert broken["needs_missing"] == "%s/svc/needs_missing:3: dependency nothere not found" % sv.root
    sv.write_service("typo", SLEEP)
    assert sv.call("start", name="typo")["ok"]
    assert "typo" not in dict(sv.call("info")["svinit"]["broken"])
    assert sv.proc.poll() is None


def test_unknown_service_and_bad_requests(svinit):
    sv = svinit({"boot": "type = internal\n"})
    sv.wait_state("boot", "started")
    r = sv.call("start", name="nosuch")
    assert not r["ok"] and r["code"] == "unknown-service"
    r = sv.call("frobnicate", name="boot")
    assert not r["ok"] and r["code"] == "unknown-command"
    r = sv.call("status")
    assert not r["ok"] and r["code"] == "bad-request"


def test_requests_with_fields_of_the_wrong_type_are_refused_not_taken(svinit):
    import socket
    sv = svinit({"boot": "type = internal\n", "a": SLEEP})
    sv.wait_state("boot", "started")
    for args, error in (({"cmd": "start", "name": "a", "wait": "no"}, 'start: wait is "no", not true or false'),
                        ({"cmd": "log", "name": "a", "lines": 2.0}, "log: lines is 2.0, not an integer"),
                        ({"cmd": "signal", "name": "a", "signal": True},
                         "signal: signal is true, not a signal number or name"),
                        ({"cmd": "status", "name": 5}, "status: name is 5, not a string")):
        r = sv.call(args.pop("cmd"), **args)
        assert (r["ok"], r["code"], r["error"]) == (False, "bad-request", error)
    for v in (b"true", b"1.0"):
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(10)
            s.connect(sv.sock)
            s.sendall(b'{"v": %s, "cmd": "list"}\n' % v)
            r = json.loads(s.makefile("rb").readline())
        assert (r["ok"], r["code"], r["error"]) == (False, "version", "protocol version %s, expected 1"
                                                    % v.decode())
    assert sv.proc.poll() is None
    assert sv.status("a")["state"] == "stopped"


def test_service_added_later_is_loaded_on_start(svinit):
    sv = svinit({"boot": "type = internal\n"})
    sv.wait_state("boot", "started")
    sv.write_service("late", SLEEP + "depends-on: late-dep\n")
    sv.write_service("late-dep", SLEEP)
    r = sv.call("start", name="late")
    assert r["ok"] and r["service"]["state"] == "started"
    assert sv.status("late-dep")["state"] == "started"


def test_an_env_file_kept_in_the_services_dir_is_no_service(svinit):
    sv = svinit({
        "boot": "type = internal\nwaits-for: web\n",
        "web": scripted("echo $$PORT > @ROOT@/port") + "env-file = web.env\n",
        "web.env": "PORT=8080\n",
    })
    sv.wait_state("boot", "started")
    assert sv.read("port") == "8080\n"
    assert "web.env" not in sv.stderr()
    assert sorted(sv.states()) == ["boot", "web"]
    r = sv.call("start", name="web.env")
    assert (r["code"], r["error"]) == (
        "failed", "web.env: can't load: %s/web.env: the env-file of web, not a service" % sv.dir)
    assert sorted(sv.states()) == ["boot", "web"]


def test_status_object_fields(svinit):
    sv = svinit({"boot": SLEEP})
    st = sv.wait_for(lambda: sv.status("boot")["pid"] and sv.status("boot"))
    assert set(st) == {"name", "state", "target", "pid", "failed", "reason", "active", "type",
                       "since", "start_began", "started_at", "restarts", "exit_status", "exit_code",
                       "console", "file"}
    assert (st["state"], st["target"], st["type"], st["restarts"]) == ("started", "started",
                                                                          "process", 0)
    assert st["file"] == os.path.join(sv.dir, "boot")
    assert st["started_at"] <= st["since"] + 1


def test_pid_dir_contents(svinit):
    sv = svinit({
        "boot": "type = internal\ndepends-on: d\ndepends-on: s\n",
        "d": SLEEP,
        "s": scripted("true"),
    }, args=["boot", "s"])
    sv.wait_state("boot", "started")
    pid = sv.status("d")["pid"]
    me = piddir.read(os.path.join(sv.piddir, "svinit"))
    assert me["pid"] == str(sv.proc.pid)
    boot_id = open("/proc/sys/kernel/random/boot_id").read().strip()
    assert me["boot_id"] == boot_id and me["socket"] == sv.sock
    d = piddir.read(os.path.join(sv.piddir, "services", "d"))
    starttime = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()[19]
    assert (d["name"], d["type"], d["state"], d["pid"], d["starttime"], d["boot_id"]) == \
        ("d", "process", "started", str(pid), starttime, boot_id)
    s = piddir.read(os.path.join(sv.piddir, "services", "s"))
    assert (s["state"], s["completed"]) == ("started", "1") and "pid" not in s
    # Internal services have a file too (explicit mark, held dependencies); a stopped
    # service's file is gone.
    boot = piddir.read(os.path.join(sv.piddir, "services", "boot"))
    assert (boot["type"], boot["active"], sorted(boot["holds"].split())) == ("internal", "1", ["d", "s"])
    assert sorted(os.listdir(os.path.join(sv.piddir, "services"))) == ["boot", "d", "s"]
    assert sv.call("stop", name="d", force=True)["ok"]
    assert sorted(os.listdir(os.path.join(sv.piddir, "services"))) == ["s"]
    assert sv.shutdown() == 0
    assert os.listdir(os.path.join(sv.piddir, "services")) == []
    assert not os.path.exists(os.path.join(sv.piddir, "svinit"))


def test_pid_dir_state_parser_rejects_garbage():
    with pytest.raises(ValueError):
        piddir.parse("")
    with pytest.raises(ValueError):
        piddir.parse("svinit-state 1\npid 12")        # torn: no final newline
    with pytest.raises(ValueError):
        piddir.parse("svinit-state 2\n")
    assert piddir.parse(piddir.render([("pid", 5), ("x", None), ("active", True)])) == \
        {"pid": "5", "active": "1"}


def test_a_client_that_shuts_down_its_writing_side_gets_its_reply(svinit):
    # `nc -N` and socat shut down their side once the request is sent: a restart, which
    # waits for the service, must still be answered.
    import socket
    import json
    sv = svinit({"boot": "type = internal\nwaits-for: app\n", "app": SLEEP})
    sv.wait_state("boot", "started")
    before = sv.status("app")["pid"]
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(20)
    s.connect(sv.sock)
    s.sendall(b'{"v": 1, "cmd": "restart", "name": "app"}\n')
    s.shutdown(socket.SHUT_WR)
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    reply = json.loads(data)
    assert reply["ok"] is True and reply["service"]["state"] == "started", reply
    assert reply["service"]["pid"] not in (None, before)
    sv.pids.add(reply["service"]["pid"])


def test_log_tail_and_logfile(svinit):
    sv = svinit({
        "boot": "type = internal\ndepends-on: talk\ndepends-on: filed\n",
        "talk": scripted("echo one; echo two >&2; echo three"),
        "filed": scripted("echo to-file") + "logfile = @ROOT@/filed.log\n",
    })
    sv.wait_state("boot", "started")
    assert sv.call("log", name="talk", lines=2)["lines"] == ["two", "three"]
    assert sv.read("filed.log") == "to-file\n"
    assert sv.call("log", name="filed", lines=5)["lines"] == ["to-file"]


def test_log_types_none_buffer_and_buffer_size(svinit):
    sv = svinit({
        "boot": "type = internal\ndepends-on: quiet\ndepends-on: kept\ndepends-on: long\n",
        # none: stdout and stderr are /dev/null, no pipe; nothing kept.
        "quiet": scripted("[ /proc/self/fd/1 -ef /dev/null ] && [ /proc/self/fd/2 -ef /dev/null ] "
                          "&& echo devnull > @ROOT@/fds; echo gone") +
                 "log-type = none\n",
        # buffer: the tail only (the logfile is ignored), at most log-buffer-size bytes of it.
        "kept": scripted("echo aaaa; echo bbbb; echo cccc") +
                "logfile = @ROOT@/never.log\nlog-type = buffer\nlog-buffer-size = 10\n",
        "long": scripted("echo 0123456789abcdef") + "log-buffer-size = 10\n",
    })
    sv.wait_state("boot", "started")
    assert sv.read("fds") == "devnull\n"          # the test builtin: the shell's own fds
    got = sv.call("log", name="quiet", lines=5)
    assert (got["lines"], got["discarded"]) == ([], True)
    got = sv.call("log", name="kept", lines=5)
    assert (got["lines"], got["discarded"]) == (["bbbb", "cccc"], False)
    assert not os.path.exists(sv.path("never.log"))
    assert "logfile: ignored, log-type is buffer" in sv.stderr()
    assert sv.call("log", name="long", lines=5)["lines"] == ["6789abcdef"]


def test_tail_size_counts_bytes_and_applies_to_what_is_kept_already():
    from toybox import logs
    out = logs.Output("x", lambda msg: None)
    out.configure(None, 0, 0o600)
    out.feed("één\ntwo\nthree\n".encode())
    assert out.lines(10) == ["één", "two", "three"]
    out.configure(None, 0, 0o600, tail_max=9)      # a reload with log-buffer-size = 9
    assert out.lines(10) == ["two", "three"]       # "één" is 5 bytes: 5 + 3 + 5 > 9
    out.feed(b"four\n")
    assert out.lines(10) == ["three", "four"]      # 5 + 4 bytes; with two, 12
    out.feed(b"0123456789ab\n")
    assert out.lines(10) == ["3456789ab"]          # longer than the whole size: its end
    out.configure(None, 0, 0o600)                  # back to 100 lines: nothing comes back
    out.feed(b"five\n")
    assert out.lines(10) == ["3456789ab", "five"]


def test_a_full_disk_is_warned_of_once_not_at_every_write(svinit):
    sv = svinit({
        "boot": scripted("for i in 1 2 3 4 5 6; do echo line-$$i; sleep 0.05; done") +
                "logfile = /dev/full\n",
    })
    sv.wait_state("boot", "started")
    assert sv.stderr().count("boot: logfile /dev/full") == 1
    assert sv.call("log", name="boot", lines=2)["lines"] == ["line-5", "line-6"]


def test_logfile_failures_are_warned_of_again_after_a_write_succeeded(tmp_path):
    from toybox import logs
    warnings = []
    link = str(tmp_path / "log")
    os.symlink("/dev/full", link)
    out = logs.Output("x", warnings.append)
    out.configure(link, 0, 0o600)
    for i in range(4):
        out.feed(b"lost %d\n" % i)
    assert warnings == ["x: logfile %s: No space left on device" % link]
    os.unlink(link)                     # room again
    os.symlink(str(tmp_path / "real"), link)
    out.feed(b"back\n")
    assert len(warnings) == 1
    full = os.open("/dev/full", os.O_WRONLY)
    os.dup2(full, out.fd)               # full again, under the open file
    os.close(full)
    out.feed(b"lost again\n")
    out.feed(b"kept\n")
    assert warnings[1:] == ["x: logfile %s: No space left on device" % link]
    assert (tmp_path / "real").read_text() == "back\nkept\n"


def test_a_failing_rotation_is_warned_of_once_until_one_succeeds(tmp_path):
    from toybox import logs
    warnings = []
    log = str(tmp_path / "log")
    os.makedirs(log + ".1/in-the-way")   # rename(2) onto a non-empty directory fails
    out = logs.Output("x", warnings.append)
    out.configure(log, 10, 0o600)
    for i in range(5):
        out.feed(b"line-%d\n" % i)
    assert len(warnings) == 1 and warnings[0].startswith("x: can't rotate logfile %s: " % log)
    os.rmdir(log + ".1/in-the-way")
    os.rmdir(log + ".1")
    out.feed(b"line-5\n")
    assert len(warnings) == 1 and os.path.isfile(log + ".1")
    os.unlink(log + ".1")
    os.makedirs(log + ".1/in-the-way")
    out.feed(b"line-6\n")
    out.feed(b"line-7\n")
    assert len(warnings) == 2


def test_logfile_is_capped_with_one_rotation(svinit):
    sv = svinit({
        "boot": scripted("for i in 1 2 3 4 5 6 7 8 9 10; do echo line-$$i-xxxxxxxxxxxxxxxxxxxxxxxxxx; "
                         "sleep 0.02; done") + "logfile = @ROOT@/big.log\nlogfile-max-size = 100\n",
    })
    sv.wait_state("boot", "started")
    cur, old = sv.read("big.log"), sv.read("big.log.1")
    assert 0 < len(cur) <= 100 and 0 < len(old) <= 100
    assert cur.endswith("line-10-xxxxxxxxxxxxxxxxxxxxxxxxxx\n")
    assert not os.path.exists(sv.path("big.log.2"))


def test_chain_to(svinit):
    sv = svinit({
        "boot": "command = /bin/true\nrestart = no\nchain-to = next\n",
        "next": SLEEP,
    })
    sv.wait_state("next", "started")
    assert "svinit: boot: chaining to next" in sv.stderr()


def test_only_stdio_and_readiness_fd_inherited(svinit):
    sv = svinit({"boot": scripted("ls /proc/self/fd > @ROOT@/fds")})
    sv.wait_state("boot", "started")
    # ls's own directory fd is the one above 2.
    assert len(sv.read("fds").split()) == 4


def blocked_signals(pid):
    with open("/proc/%d/status" % pid) as f:
        return int([line for line in f if line.startswith("SigBlk:")][0].split()[1], 16)


def test_services_start_with_no_signal_blocked_or_ignored(svinit):
    # svinit keeps the signals it handles blocked but while it waits, and ignores SIGPIPE:
    # none of it reaches a service, started by posix_spawn or (run-as) by fork and exec.
    # A SIGTERM blocked in a service would leave it to the stop timeout's SIGKILL.
    me = os.getuid()
    grep = "exec grep -E '^Sig(Blk|Ign)' /proc/self/status > @ROOT@/%s"
    sv = svinit({"boot": "type = internal\nwaits-for: spawned\nwaits-for: forked\n",
                 "spawned": scripted(grep % "spawned"),
                 "forked": scripted(grep % "forked", run_as=me)})
    sv.wait_state("boot", "started")
    for name in ("spawned", "forked"):
        fields = dict(line.split(":\t") for line in sv.read(name).splitlines())
        assert int(fields["SigBlk"], 16) == 0, (name, fields)
        # glibc's posix_spawn (2.36) leaves its two reserved signals, 32 and 33, ignored in
        # the child: no program sees them (SIGRTMIN is 34), and glibc sets its own handler
        # before it uses one. Every other signal is at its default.
        assert int(fields["SigIgn"], 16) & ~(1 << 31 | 1 << 32) == 0, (name, fields)
    # While svinit waits for something to happen, nothing is blocked: a SIGTERM stops it.
    assert sv.wait_for(lambda: blocked_signals(sv.proc.pid) == 0, what="svinit's mask empty")
    sv.proc.send_signal(signal.SIGTERM)
    assert sv.proc.wait(20) == 0


def test_no_services_left_exits(svinit):
    sv = svinit({"boot": "command = /bin/true\nrestart = no\n"}, wait_socket=False)
    assert sv.proc.wait(20) == 0
    assert "no service is running any more; exiting" in sv.stderr()


def test_missing_boot_exits_1(svinit):
    sv = svinit({"other": SLEEP}, wait_socket=False)
    assert sv.proc.wait(20) == 1
    assert "boot: no such service" in sv.stderr()


def test_console_output_and_starts_rwfs(svinit):
    # shares-console: the service writes to svinit's own stdout (here: the stderr file).
    # starts-rwfs: once it has started, svinit re-creates its control socket (which this
    # service removed, as a mount over /run would hide it).
    sv = svinit({
        "boot": "type = internal\ndepends-on: talk\ndepends-on: rw\n",
        "talk": scripted("echo hello-console") + "options = shares-console\n",
        "rw": scripted("rm @ROOT@/sock") + "depends-on: talk\noptions = starts-rwfs\n",
    })
    sv.wait_for(lambda: os.path.exists(sv.path("sock")) and "rw: started" in sv.stderr(),
                what="rw")
    assert sv.status("boot")["state"] == "started"
    assert "hello-console\n" in sv.stderr()
    assert "svinit: rw: starts-rwfs: control socket and pid dir made again\n" in sv.stderr()
    assert sv.call("log", name="talk")["lines"] == []


@pytest.mark.skipif(os.geteuid() != 0, reason="run-as another user needs root")
def test_run_as_another_user(svinit):
    import pwd
    import shutil
    import tempfile
    nobody = pwd.getpwnam("nobody")
    out = tempfile.mkdtemp(prefix="runas")      # pytest's tmp dirs are closed to others
    os.chmod(out, 0o777)
    try:
        sv = svinit({"boot": "type = internal\ndepends-on: who\n",
                     "who": "type = scripted\nrun-as = nobody\nworking-dir = /\n"
                            "command = /bin/sh -c \"id -u > %s/uid; id -g >> %s/uid\"\n" % (out, out)})
        sv.wait_state("boot", "started")
        # Written by the service itself: it ran with nobody's uid and primary group.
        with open(os.path.join(out, "uid")) as f:
            assert f.read().split() == [str(nobody.pw_uid), str(nobody.pw_gid)]
        assert os.stat(os.path.join(out, "uid")).st_uid == nobody.pw_uid
    finally:
        shutil.rmtree(out)


def test_askfirst_prompts_on_its_tty_and_waits_for_enter(svinit, tmp_path):
    import pty
    import select
    master, slave = pty.openpty()
    tty = os.ttyname(slave)
    # The slave stays open here too: with no process holding it (before svinit's child
    # opens it), reading the master fails with EIO.
    try:
        inittab = tmp_path / "inittab"
        inittab.write_text("%s::askfirst:/bin/sh -c 'echo asked > %s/ran; exec sleep 1000'\n"
                           % (tty[len("/dev/"):], tmp_path))
        sv = svinit({}, args=["--inittab", str(inittab), "inittab"])
        seen = b""
        deadline = time.time() + 20
        while b"Please press Enter to activate this console." not in seen and time.time() < deadline:
            if select.select([master], [], [], 0.5)[0]:
                seen += os.read(master, 1024)
        assert b"Please press Enter to activate this console." in seen
        time.sleep(0.5)
        assert not (tmp_path / "ran").exists()      # it waits for Enter
        os.write(master, b"\n")
        sv.wait_for(lambda: (tmp_path / "ran").exists(), what="the askfirst command")
        assert (tmp_path / "ran").read_text() == "asked\n"
    finally:
        os.close(master)
        os.close(slave)


def test_a_tty_entry_gets_its_terminal_as_controlling_tty(svinit, tmp_path):
    """Started by posix_spawn (no fork of svinit): in its own session, the tty as stdio
    and controlling terminal. A tty that can't be opened fails that entry alone, with
    the stage that failed."""
    import pty
    master, slave = pty.openpty()
    tty = os.ttyname(slave)
    try:
        inittab = tmp_path / "inittab"
        inittab.write_text("%s::respawn:/bin/sh -c 'echo $$ > %s/ttypid; exec sleep 1000'\n"
                           "nosuchtty9::respawn:/bin/sleep 1000\n" % (tty[len("/dev/"):], tmp_path))
        sv = svinit({}, args=["--inittab", str(inittab), "inittab"])
        out = tmp_path / "ttypid"
        pid = int(sv.wait_for(lambda: out.exists() and out.read_text().strip(), what="the tty entry"))
        with open("/proc/%d/stat" % pid) as f:
            st = f.read().rsplit(")", 1)[1].split()      # state ppid pgrp session tty_nr ...
        tty_nr = int(st[4])
        rdev = os.stat(tty).st_rdev
        assert int(st[3]) == pid
        assert ((tty_nr >> 8) & 0xfff, (tty_nr & 0xff) | ((tty_nr >> 12) & 0xfff00)) == \
            (os.major(rdev), os.minor(rdev))
        assert [os.readlink("/proc/%d/fd/%d" % (pid, fd)) for fd in (0, 1, 2)] == [tty] * 3
        bad = [s for s in sv.call("list")["services"] if s["name"].endswith("nosuchtty9")]
        assert len(bad) == 1
        # No reason yet while the entry is still being tried (a loaded machine).
        sv.wait_for(lambda: "open /dev/nosuchtty9: No such file or directory"
                    in (sv.status(bad[0]["name"])["reason"] or ""), what="the bad tty's failure")
    finally:
        os.close(master)
        os.close(slave)


def test_a_terminals_owner_is_signalled_once_svinits_lines_are_out(svinit, tmp_path):
    """A process svinit gave a controlling terminal hangs the terminal up as it exits,
    and the kernel drops what the terminal had not sent yet (a poweroff's first lines, on
    a serial console under QEMU). So svinit signals such a process once its own lines are
    out; when they can't go out, CONSOLE_DRAIN seconds later. Here svinit's stderr is a
    pipe the test keeps full, and a start of another service gives it a line to write."""
    import fcntl
    import pty
    from toybox.svinitd import CONSOLE_DRAIN
    ptys = [pty.openpty() for _ in range(2)]
    fifo = str(tmp_path / "err")
    os.mkfifo(fifo)
    r = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    w = None
    try:
        fcntl.fcntl(r, fcntl.F_SETPIPE_SZ, 4096)
        inittab = tmp_path / "inittab"
        inittab.write_text("".join("%s::respawn:/bin/sh -c 'echo $$ > %s/pid%d; exec sleep 1000'\n"
                                   % (os.ttyname(slave)[len("/dev/"):], tmp_path, i)
                                   for i, (_, slave) in enumerate(ptys)))
        noise = "type = process\ncommand = /bin/sleep 1000\nrestart = no\n"
        sv = svinit({"noise1": noise, "noise2": noise}, args=["--inittab", str(inittab), "inittab"],
                    wrapper=["/bin/sh", "-c", 'exec "$@" 2<>%s' % fifo, "sh"])
        pids = [int(sv.wait_for(lambda: (tmp_path / ("pid%d" % i)).exists()
                                and (tmp_path / ("pid%d" % i)).read_text().strip(), what="tty entry %d" % i))
                for i in range(2)]
        names = {s["pid"]: s["name"] for s in sv.call("list")["services"]}

        def drain():
            while True:
                try:
                    if not os.read(r, 65536):
                        return
                except BlockingIOError:
                    return

        def fill():
            drain()
            while True:
                try:
                    os.write(w, b"x" * 4096)
                except BlockingIOError:
                    return

        w = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        # Lines that can go out once read: the process is signalled when they have.
        fill()
        sv.call("start", name="noise1")         # "noise1: started": in svinit's buffer
        asked = time.monotonic()
        sv.call("stop", name=names[pids[0]], wait=False)
        time.sleep(0.5)
        assert pid_alive(pids[0]), "signalled while svinit's lines were still waiting"
        while pid_alive(pids[0]) and time.monotonic() - asked < CONSOLE_DRAIN + 5:
            drain()
            time.sleep(0.01)
        took = time.monotonic() - asked
        assert not pid_alive(pids[0]) and took < CONSOLE_DRAIN, took
        # Lines that never go out: signalled anyway, CONSOLE_DRAIN seconds on.
        fill()
        sv.call("start", name="noise2")
        asked = time.monotonic()
        sv.call("stop", name=names[pids[1]], wait=False)
        time.sleep(CONSOLE_DRAIN / 2)
        assert pid_alive(pids[1])
        sv.wait_for(lambda: not pid_alive(pids[1]), timeout=CONSOLE_DRAIN + 10, what="the bound")
        assert time.monotonic() - asked >= CONSOLE_DRAIN
        drain()
    finally:
        for fd in [r, w] + [fd for pair in ptys for fd in pair]:
            if fd is not None:
                os.close(fd)


def test_kill_all_on_stop_terms_then_kills_every_process_below_svinit(svinit):
    # a leaves an orphan behind in a session of its own (it comes back to svinit, the
    # subreaper); stubborn ignores SIGTERM. Stopping `final` must end them all, TERM first.
    sv = svinit({
        "a": "type = process\nrestart = no\ncommand = /bin/sh -c \"setsid /bin/sleep 1002 & "
             "exec /bin/sleep 1001\"\n",
        "stubborn": "type = process\nrestart = no\ncommand = /bin/sh -c \"trap '' TERM; "
                    "echo up > @ROOT@/up; while :; do /bin/sleep 0.05; done\"\n",
        "final": "type = internal\noptions = kill-all-on-stop\n",
        "boot": "type = internal\nwaits-for: a\nwaits-for: stubborn\n",
    }, args=["boot", "final"])
    sv.wait_state("boot", "started")
    sv.wait_for(lambda: sv.read("up"), what="stubborn to trap TERM")
    me = sv.proc.pid

    def all_below():
        # `setsid` execs the orphan's sleep a moment after it shows up as a process, and
        # stubborn's sh is between two sleeps now and then.
        d = descendants(me)
        found = [cmdline(p) for p in d]
        return d if len(d) >= 4 and "/bin/sleep 1002" in found and "/bin/sleep 1001" in found \
            else None
    below = sv.wait_for(all_below, what="a, its orphan and stubborn")
    t0 = time.monotonic()
    reply = sv.call("stop", name="final")
    assert reply["ok"], reply
    took = time.monotonic() - t0
    assert took >= 0.9          # the TERM, then a second before the KILL
    assert descendants(me) == [] and not any(pid_alive(p) for p in below)
    assert sv.proc.poll() is None and sv.status("final")["state"] == "stopped"
    err = sv.stderr()
    term = re.search(r"svinit: sending SIGTERM to (\d+) processes \(kill-all-on-stop\)\n", err)
    kill = re.search(r"svinit: sending SIGKILL to (\d+) processes \(kill-all-on-stop\)\n", err)
    assert term and int(term.group(1)) >= len(below)
    assert kill and kill.start() > term.start()     # stubborn was still there
    assert sv.status("a")["state"] == "stopped" and sv.status("stubborn")["state"] == "stopped"
    # Each stop kills all once: started again and stopped again, it does it again.
    assert sv.call("start", name="final")["ok"] and sv.call("stop", name="final")["ok"]
    assert sv.stderr().count("(kill-all-on-stop)\n") == 3    # TERM, KILL; TERM (nothing left)


def test_kill_all_on_stop_is_for_scripted_and_internal_services_only(svinit):
    sv = svinit({"x": "type = process\ncommand = /bin/sleep 1000\noptions = kill-all-on-stop\n",
                 "boot": "type = internal\n"})
    sv.wait_state("boot", "started")
    assert ("x:3: options: kill-all-on-stop is only for scripted and internal services"
            in sv.stderr())


def test_unless_mounted_counts_a_mounted_path_as_done(svinit):
    def mount_like(where):
        return (scripted(stamp("@ROOT@", where, "run"))
                + 'stop-command = /bin/sh -c "%s"\n' % stamp("@ROOT@", where, "stop")
                + "unless-mounted = %s\n" % ("/" if where == "done" else "@ROOT@/svc"))
    sv = svinit({
        "boot": "type = internal\ndepends-on: done\ndepends-on: todo\n",
        "done": mount_like("done"),      # / is always a mount point
        "todo": mount_like("todo"),      # a plain directory
        "rel": "type = scripted\ncommand = /bin/true\nunless-mounted = proc\n",
        "proc": "type = process\ncommand = /bin/sleep 1000\nunless-mounted = /proc\n",
    })
    sv.wait_state("boot", "started")
    assert [e[:2] for e in events(sv)] == [("todo", "run")]
    assert "svinit: done: started (/ is mounted already: command not run)\n" in sv.stderr()
    assert "svinit: todo: started\n" in sv.stderr()
    assert "\nskipped 1\n" in open(os.path.join(sv.piddir, "services", "done")).read()
    assert sv.status("done")["skipped"] == "/ is mounted already: command not run"
    assert "skipped" not in sv.status("todo")
    assert "skipped" not in open(os.path.join(sv.piddir, "services", "todo")).read()
    err = sv.stderr()
    assert "rel:3: unless-mounted: expected an absolute path, not 'proc'" in err
    assert "proc:3: unless-mounted: only for scripted services (this one is process)" in err
    # Nothing was run for `done`, so its stop-command has nothing to undo.
    assert sv.shutdown() == 0
    assert sorted(e[:2] for e in events(sv)) == [("todo", "run"), ("todo", "stop")]


def descendants(pid):
    from toybox import proc
    return [p for p in proc.descendants(pid) if pid_alive(p)]


def cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().rstrip(b"\0").replace(b"\0", b" ").decode()
    except OSError:
        return ""


class _NoSelector:
    def register(self, *args):
        pass

    def unregister(self, *args):
        pass


def test_messages_held_while_a_service_has_the_console_say_so_when_released():
    """svinit keeps its messages back while a service has the console (as Dinit does);
    released, they follow a line that says they waited, so that the first lines shown at
    a shutdown are not taken for news of the moment."""
    from toybox import lib
    from toybox.svinitd import Logger
    r, w = os.pipe()
    os.set_blocking(r, False)
    try:
        logger = Logger(_NoSelector())
        logger.fd = w
        logger.log("before")
        logger.hold(True, "shell")
        # What came before the hold is out at once: ahead of the holder's own output.
        assert os.read(r, 4096) == ("%s: before\n" % lib.NAME).encode()
        logger.log("while one")
        logger.log("while two")
        logger.flush()                  # the loop does, before it waits: nothing may go
        with pytest.raises(BlockingIOError):
            os.read(r, 4096)
        logger.hold(False)
        logger.hold(True, "shell")      # a hold with nothing held says nothing
        logger.hold(False)
        logger.log("after")
        logger.flush()
        n = lib.NAME
        assert os.read(r, 4096).decode() == (
            "\n%s: held while shell had the console:\n%s: while one\n%s: while two\n%s: after\n"
            % (n, n, n, n))
    finally:
        os.close(r)
        os.close(w)


def test_a_reply_goes_out_after_the_log_lines_of_what_it_reports():
    """svinit writes its log at each turn of its loop; a client answered in the same turn
    as a change (a restart it then sees in `ctl status`) must find the lines about that
    change already written."""
    from toybox import lib
    from toybox.svinitd import Config, Daemon
    r, w = os.pipe()
    os.set_blocking(r, False)
    daemon = Daemon(Config())
    try:
        daemon.logger.fd = w
        daemon.log("a: exit status unknown; restarting")
        seen = []
        daemon.handle({"cmd": "list"}, lambda obj: seen.append((obj["ok"], os.read(r, 4096))))
        assert seen == [(True, ("%s: a: exit status unknown; restarting\n" % lib.NAME).encode())]
    finally:
        daemon.sel.close()
        os.close(r)
        os.close(w)


def test_bad_inputs_fail_their_service_never_svinit(svinit):
    # Each of these once killed svinit, blocked it, or left a copy of it running (a
    # forked child whose run-as failed fell back into svinit's own code).
    import socket
    sv = svinit({"boot": "type = internal\nwaits-for: runas\nwaits-for: nul\nwaits-for: slow\n"
                         "waits-for: good\n",
                 "runas": "command = /nonexistent/daemon\nrun-as = nobody\nrestart = no\n",
                 "nul": "command = /bin/sleep 8765\0\nrestart = no\n",
                 "slow": "command = /bin/sleep 1000\nstop-timeout = 3000000\nstart-timeout = 4000000\n",
                 "good": "command = /bin/sleep 1000\n"},
                wait_socket=False)
    os.mkfifo(os.path.join(sv.dir, "fifo"))         # a FIFO among the service files
    sv.wait_for(lambda: os.path.exists(sv.sock), what="the control socket")
    sv.wait_state("boot", "started")
    sv.wait_for(lambda: sv.status("runas")["failed"] and sv.status("nul")["failed"], what="failures")
    assert "exec /nonexistent/daemon" in sv.status("runas")["reason"]
    assert "NUL" in sv.status("nul")["reason"]
    # One control request nested 50000 deep: an error for it, svinit goes on.
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(10)
        s.connect(sv.sock)
        s.sendall(b"[" * 50000 + b"\n")
        assert b"nested too deeply" in s.recv(4096)
    assert sv.call("stop", name="slow")["ok"]       # a stop-timeout of a month: armed
    assert sv.states()["good"] == "started"
    assert "%s/fifo: cannot read: not a regular file" % sv.dir in sv.stderr()
    def cmdline_of_child(p):
        try:       # any process may go away between the listing and the reading
            if open("/proc/%s/stat" % p).read().rsplit(")", 1)[1].split()[1] == str(sv.proc.pid):
                return open("/proc/%s/cmdline" % p, "rb").read()
        except OSError:
            pass
        return b""
    assert not [p for p in os.listdir("/proc") if p.isdigit() and b"svinit" in cmdline_of_child(p)]
    assert sv.shutdown() == 0


def test_a_reload_that_would_make_a_cycle_is_refused(svinit):
    sv = svinit({"a": "command = /bin/sleep 1000\n", "keep": "command = /bin/sleep 1000\n",
                 "b": "command = /bin/sleep 1000\ndepends-on: a\n"}, args=["b", "keep"])
    sv.wait_state("b", "started")
    assert sv.call("stop", name="b")["ok"] and sv.call("stop", name="a")["ok"]
    sv.write_service("a", "command = /bin/sleep 1000\ndepends-on: b\n")
    reply = sv.call("reload", name="a")
    assert not reply["ok"] and "dependency cycle: a -> b -> a" in reply["error"]
    assert sv.call("start", name="b")["ok"]
    assert sv.states() == {"a": "started", "b": "started", "keep": "started"}
    assert sv.shutdown() == 0


def test_a_pid_file_naming_svinit_is_not_taken_as_the_daemon(svinit):
    # Taken, svinit would have signalled itself at the service's stop.
    sv = svinit({"bg": "type = bgprocess\npid-file = @ROOT@/bg.pid\nrestart = no\n"
                       'command = /bin/sh -c "echo $$PPID > @ROOT@/bg.pid"\n'}, args=["bg"],
                wait_socket=False)
    assert sv.proc.wait(20) == 1
    assert "is svinit or its parent, not the daemon" in sv.stderr()


def test_out_of_file_descriptors_pauses_accepting_and_says_so_once(svinit):
    import socket
    # At its fd limit accept(2) fails and the connection stays queued: the listener stays
    # readable, and svinit must neither spin on it nor fill the console.
    sv = svinit({"boot": "type = internal\n"}, wrapper=("prlimit", "--nofile=40:40"))
    sv.wait_state("boot", "started")
    socks = []
    try:
        for _ in range(60):
            s = socket.socket(socket.AF_UNIX)
            s.connect(sv.sock)
            socks.append(s)
        sv.wait_for(lambda: "accept: Too many open files" in sv.stderr(), what="the warning")
        time.sleep(1.5)     # three pauses
        assert sv.stderr().count("accept: Too many open files") == 1, sv.stderr()[-2000:]
    finally:
        for s in socks:
            s.close()
    # The silent clients closed (or timed out), the queued ones are taken and served.
    assert sv.wait_for(lambda: sv.call("status", name="boot")["ok"], what="an answer")
    assert "control socket %s: accept: Too many open files (connections wait; trying again " \
           "every 0.5s)" % sv.sock in sv.stderr()


# -- an inittab run by svinit ---------------------------------------------------

def started_order(sv, names):
    """The names in the order their `NAME: started` lines are in svinit's log."""
    err = sv.stderr()
    return sorted(names, key=lambda n: err.index("svinit: %s: started" % n))


def test_inittab_runs_sysinit_then_wait_then_once_and_respawn_whatever_the_file_order(svinit):
    sv = svinit({}, args=["--inittab", "@ROOT@/inittab"], files={"inittab": """\
::once:/bin/sh -c 'echo once >> @ROOT@/events'
::wait:/bin/sh -c 'echo wait >> @ROOT@/events'
::respawn:/bin/sh -c 'echo respawn >> @ROOT@/events; exec sleep 1000'
::sysinit:/bin/sh -c 'sleep 1; echo sysinit >> @ROOT@/events'
::sysinit:/bin/sh -c 'echo sysinit2 >> @ROOT@/events'
"""})
    sv.wait_state("inittab", "started")
    sv.wait_for(lambda: len(sv.read("events").split()) == 5, what="every entry")
    ran = sv.read("events").split()
    assert ran[:3] == ["sysinit", "sysinit2", "wait"]
    assert sorted(ran[3:]) == ["once", "respawn"]
    assert started_order(sv, ["inittab.1.once", "inittab.2.wait", "inittab.3.respawn",
                              "inittab.4.sysinit", "inittab.5.sysinit"]) == [
        "inittab.4.sysinit", "inittab.5.sysinit", "inittab.2.wait", "inittab.1.once",
        "inittab.3.respawn"]


def test_inittab_entries_get_sigkill_one_second_after_sigterm(svinit):
    # A console shell ignores SIGTERM: busybox kills it a second later, and so does svinit.
    sv = svinit({}, args=["--inittab", "@ROOT@/inittab"], files={"inittab": """\
::respawn:/bin/sh -c 'trap "" TERM; echo $$ > @ROOT@/shellpid; exec sleep 1000'
"""})
    sv.wait_state("inittab", "started")
    pid = int(sv.wait_for(lambda: sv.read("shellpid").strip(), what="the respawn entry"))
    assert sv.shutdown() == 0
    assert not pid_alive(pid)
    err = sv.stderr()
    assert "svinit: inittab.1.respawn: stop timed out after 1s; sending SIGKILL\n" in err


def test_bad_inittab_lines_are_logged_with_the_reason(svinit):
    sv = svinit({}, args=["--inittab", "@ROOT@/inittab"], files={"inittab": """\
::frob:/bin/true
::once
::respawn:
::once:/bin/true
"""})
    sv.wait_state("inittab", "started")
    err = sv.stderr()
    path = sv.path("inittab")
    assert "svinit: %s:1: bad inittab entry: unknown action 'frob'\n" % path in err
    assert "svinit: %s:2: bad inittab entry: fewer than four fields (id:runlevels:action:process)\n" \
        % path in err
    assert "svinit: %s:3: bad inittab entry: empty process\n" % path in err


@pytest.mark.skipif(os.geteuid() != 0, reason="mounts a tmpfs in a mount namespace of its own: needs root")
def test_a_sysinit_mount_over_the_socket_and_pid_dir_is_noticed(svinit, testcmd):
    # A typical inittab mounts a tmpfs on /run, which holds svinit's socket and pid dir.
    # Here svinit runs in a mount namespace of its own and the entry mounts over the
    # test's directory (ROOT, holding -s ROOT/sock and -p ROOT/pid), never over a real
    # /run. The test reaches that namespace's view through /proc/PID/root.
    sv = svinit({}, args=["--inittab", "@ROOT@/inittab"], wrapper=["unshare", "--mount"], files={"inittab": """\
::sysinit:/bin/mount -t tmpfs tmpfs @ROOT@
::wait:/bin/true
"""})
    root = sv.root
    sv.sock = "/proc/%d/root%s" % (sv.proc.pid, sv.sock)
    sv.wait_for(lambda: "svinit: inittab.1.sysinit: started" in sv.stderr(), what="the mount")
    assert "svinit: inittab.1.sysinit: control socket and pid dir hidden (a mount over it?): " \
           "made again\n" in sv.stderr()
    r = testcmd(["ctl", "-s", sv.sock, "is-started", "inittab"])
    assert (r.code, r.out) == (0, "started\n")
    inside = "/proc/%d/root%s/pid/services" % (sv.proc.pid, root)
    assert {"inittab", "inittab.1.sysinit", "inittab.2.wait"} <= set(os.listdir(inside))
    assert sv.shutdown() == 0


def test_a_pid_dir_replaced_by_a_one_shot_command_is_made_again(svinit):
    # The same as a mount over it: the path names another directory now.
    sv = svinit({"boot": "type = internal\ndepends-on: swap\n",
                 "swap": scripted("mv @ROOT@/pid @ROOT@/pid.old; mkdir @ROOT@/pid")})
    sv.wait_state("boot", "started")
    assert "svinit: swap: pid dir hidden (a mount over it?): made again\n" in sv.stderr()
    assert sorted(os.listdir(sv.path("pid/services"))) == ["boot", "swap"]
    assert "control socket" not in sv.stderr()


def test_a_starts_rwfs_service_under_way_makes_them_again_alone(svinit):
    # The demo's mount-run runs beside hostname: the one-shot that ends first must not
    # make the pid dir again too (every state file rewritten twice at each boot).
    sv = svinit({"boot": "type = internal\ndepends-on: rw\ndepends-on: quick\n",
                 "rw": scripted("mv @ROOT@/pid @ROOT@/pid.old; mkdir @ROOT@/pid; "
                                "touch @ROOT@/moved; sleep 0.5") + "options = starts-rwfs\n",
                 "quick": scripted("while [ ! -e @ROOT@/moved ]; do sleep 0.01; done")})
    # From the log, not the socket: a request in the old socket's queue as it is made
    # again is reset.
    sv.wait_for(lambda: "svinit: boot: started" in sv.stderr(), what="boot")
    err = sv.stderr()
    assert "hidden" not in err, err
    assert err.count("made again") == 1 and "svinit: rw: starts-rwfs: control socket and pid " \
        "dir made again\n" in err, err


def test_sigquit_without_a_restart_entry_is_logged_and_ignored(svinit):
    # busybox's "restart init" signal: its default action would kill svinit (core dump).
    sv = svinit({"boot": SLEEP})
    pid = sv.wait_for(lambda: sv.status("boot")["pid"], what="boot")
    os.kill(sv.proc.pid, signal.SIGQUIT)
    sv.wait_for(lambda: "SIGQUIT" in sv.stderr(), what="the log line")
    assert "svinit: SIGQUIT (busybox's restart init): ignored: the inittab has no restart entry\n" \
        in sv.stderr()
    assert sv.proc.poll() is None
    assert sv.status("boot")["pid"] == pid
    assert sv.shutdown() == 0


def test_sigquit_with_a_restart_entry_stops_all_then_execs_it(svinit, bindir):
    # The usual restart entry execs the init again: here, svinit with the same arguments,
    # in the same process (under oneit: still its child), which boots anew.
    restart = "%s/svinit -d @ROOT@/svc -p @ROOT@/pid -s @ROOT@/sock --no-kmsg --inittab @ROOT@/inittab" % bindir
    sv = svinit({}, args=["--inittab", "@ROOT@/inittab"], files={"inittab": """\
::sysinit:/bin/sh -c 'echo sysinit >> @ROOT@/events'
::respawn:/bin/sh -c 'echo $$ > @ROOT@/shellpid; exec sleep 1000'
::shutdown:/bin/sh -c 'echo shutdown >> @ROOT@/events'
::restart:%s
""" % restart})
    sv.wait_state("inittab", "started")
    first = int(sv.wait_for(lambda: sv.read("shellpid").strip(), what="the respawn entry"))
    sv.pids.add(first)      # cleaned up even if svinit dies
    os.kill(sv.proc.pid, signal.SIGQUIT)
    sv.wait_for(lambda: sv.read("events").split() == ["sysinit", "shutdown", "sysinit"],
                what="the second boot")
    sv.wait_state("inittab", "started")
    assert not pid_alive(first)
    assert sv.call("info")["svinit"]["pid"] == sv.proc.pid
    second = int(sv.wait_for(lambda: sv.read("shellpid").strip() != str(first) and sv.read("shellpid").strip(),
                             what="the new respawn entry"))
    sv.pids.add(second)
    assert pid_alive(second)
    err = sv.stderr()
    quit_line = "svinit: SIGQUIT: restart: stopping all services, then exec %s (%s:4)\n" \
        % (restart.replace("@ROOT@", sv.root), sv.path("inittab"))
    assert quit_line in err
    assert err.index(quit_line) < err.index("running the inittab's shutdown entries") \
        < err.index("all services stopped") < err.rindex("inittab.1.sysinit: started")
    assert "restarted:" not in err      # a clean stop: the new svinit begins afresh
    assert sv.shutdown() == 0
    assert not pid_alive(second)


def test_sigquit_from_a_container_oneit_stops_all_and_ends(svinit, bindir):
    # A container's oneit forwards SIGQUIT as a stop (docker stop with STOPSIGNAL QUIT)
    # and relaunches nothing after it: svinit stops its services and exits 0.
    sv = svinit({"boot": SLEEP}, wrapper=[os.path.join(bindir, "oneit")])
    pid = sv.wait_for(lambda: sv.status("boot")["pid"], what="boot")
    os.kill(sv.proc.pid, signal.SIGQUIT)
    assert sv.proc.wait(20) == 0
    assert not pid_alive(pid)
    assert "svinit: exit: stopping all services\n" in sv.stderr()
