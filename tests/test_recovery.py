"""svinit survives its own death (issue 7): re-adoption under oneit, exits while svinit was
away, activation marks, output across the restart."""
import os
import signal
import time

import pytest

from test_recovery_lib import supervised, alive  # noqa: F401  (fixture)


def sh(script, key="command"):
    quoted = script.replace("\\", "\\\\").replace('"', '\\"').replace("$", "$$")
    return '%s = /bin/sh -c "%s"\n' % (key, quoted)


def lines(sv, name):
    return sv.read(name).splitlines()


SERVICES = {
    "boot": "type = internal\ndepends-on: a\ndepends-on: s\nwaits-for: bg\nwaits-for: no\n",
    "a": sh("echo $$ >> @ROOT@/a.runs; exec /bin/sleep 1000"),
    "s": "type = scripted\n" + sh("echo ran >> @ROOT@/s.runs"),
    "bg": "type = bgprocess\npid-file = @ROOT@/bg.pid\n"
          + sh("/bin/sleep 1000 & echo $! > @ROOT@/bg.pid; echo x >> @ROOT@/bg.runs"),
    "no": sh("echo $$ >> @ROOT@/no.runs; exec /bin/sleep 1000") + "restart = no\n",
}


def listing(sv):
    return {s["name"]: s for s in sv.call("list")["services"]}


def test_restart_readopts_everything_with_the_same_pids_and_uptimes(supervised):
    sv = supervised(SERVICES)
    sv.wait_state("boot", "started")
    before = listing(sv)
    old = sv.kill_svinit()
    after = listing(sv)
    assert sv.svinit_pid() != old
    for name in SERVICES:
        for key in ("state", "pid", "started_at", "restarts", "active", "target"):
            assert after[name][key] == before[name][key], (name, key)
    assert all(alive(before[n]["pid"]) for n in ("a", "bg", "no"))
    # Nothing ran twice: scripted boot scripts run once per boot.
    assert (len(lines(sv, "a.runs")), len(lines(sv, "s.runs")), len(lines(sv, "bg.runs"))) == (1, 1, 1)
    err = sv.stderr()
    assert "svinit: restarted: the svinit before (pid %d) died; taking its 5 services back" % old in err
    assert "svinit: restarted: 3 processes re-adopted, 0 exited while svinit was away" in err
    info = sv.call("info")["svinit"]
    assert (info["pid"], info["recovered"], info["before"]) == (sv.svinit_pid(), True, old)
    # A re-adopted process that dies now, with svinit there, is an exit like any other:
    # not one "while svinit was away".
    a = before["a"]["pid"]
    os.kill(a, signal.SIGKILL)
    sv.wait_for(lambda: sv.status("a")["pid"] not in (None, a), what="a restarted")
    err = sv.stderr()
    assert "svinit: a: killed by signal 9 (SIGKILL); restarting" in err
    assert "while svinit was away\n" not in err.replace("0 exited while svinit was away\n", "")
    # The re-adopted services are stopped in order at shutdown, like any other.
    assert sv.stop() == 0
    assert not any(alive(before[n]["pid"]) for n in ("bg", "no"))
    assert os.listdir(os.path.join(sv.piddir, "services")) == []
    assert "while svinit was away\n" not in sv.stderr().replace("0 exited while svinit was away\n", "")


def test_exits_while_svinit_is_away_are_learnt_from_oneit(supervised):
    sv = supervised(SERVICES)
    sv.wait_state("boot", "started")
    a, no, bg = (sv.service_pid(n) for n in ("a", "no", "bg"))
    # svinit frozen, then killed: the exits happen while no svinit watches; oneit reaps
    # them (the services became its children) and queues its records for the next svinit.
    me = sv.svinit_pid()
    os.kill(me, signal.SIGSTOP)
    for pid, sig in ((a, signal.SIGKILL), (no, signal.SIGTERM), (bg, signal.SIGKILL)):
        os.kill(pid, sig)
    time.sleep(0.3)
    sv.kill_svinit()
    sv.wait_for(lambda: sv.status("a")["pid"] not in (None, a) and sv.status("a")["state"] == "started",
                what="a restarted")
    sv.wait_for(lambda: sv.status("bg")["pid"] not in (None, bg), what="bg restarted")
    err = sv.stderr()
    assert "svinit: a: pid %d killed by signal 9 (SIGKILL) while svinit was away" % a in err
    assert "svinit: no: pid %d killed by signal 15 (SIGTERM) while svinit was away" % no in err
    assert sv.status("a")["restarts"] == 1 and len(lines(sv, "a.runs")) == 2
    # restart = no: it stays down, though the new svinit has `boot` (which waits for it).
    st = sv.status("no")
    assert (st["state"], st["pid"], st["exit_status"]) == ("stopped", None, "killed by signal 15 (SIGTERM)")
    assert sv.status("boot")["state"] == "started"
    time.sleep(0.5)
    assert len(lines(sv, "no.runs")) == 1 and sv.status("no")["state"] == "stopped"
    assert len(lines(sv, "s.runs")) == 1


def test_activation_marks_and_services_stopped_on_purpose_survive(supervised):
    services = dict(SERVICES, extra=sh("exec /bin/sleep 1000"), dep=sh("exec /bin/sleep 1000"),
                    user="type = internal\ndepends-on: dep\n")
    sv = supervised(services)
    sv.wait_state("boot", "started")
    assert sv.call("start", name="extra")["ok"]         # explicit
    assert sv.call("start", name="user")["ok"]          # dep: started as its dependency
    assert sv.call("stop", name="no")["ok"]             # soft dependency of boot, stopped on purpose
    assert sv.call("stop", name="bg")["ok"]
    before = listing(sv)
    sv.kill_svinit()
    after = listing(sv)
    for name in services:
        assert (after[name]["state"], after[name]["active"], after[name]["pid"]) == \
            (before[name]["state"], before[name]["active"], before[name]["pid"]), name
    assert (after["extra"]["active"], after["dep"]["active"]) == (True, False)
    time.sleep(0.5)
    assert sv.status("no")["state"] == "stopped" and len(lines(sv, "no.runs")) == 1
    # The dependency activation still works: releasing `user` stops `dep`.
    dep = after["dep"]["pid"]
    assert sv.call("release", name="user")["ok"]
    sv.wait_state("dep", "stopped")
    assert not alive(dep)


def test_output_goes_on_across_the_restart(supervised):
    # A service that writes all the time must neither die of SIGPIPE nor lose lines while
    # svinit is dead: its pipe is re-opened by the next svinit.
    sv = supervised({"boot": sh("i=0; while :; do i=$((i+1)); echo $i; sleep 0.01; done")
                             + "logfile = @ROOT@/boot.log\n"})
    pid = sv.wait_for(lambda: sv.status("boot")["pid"])
    sv.wait_for(lambda: len(lines(sv, "boot.log")) > 20, what="output")
    for _ in range(3):
        sv.kill_svinit()
        n = len(lines(sv, "boot.log"))
        sv.wait_for(lambda: len(lines(sv, "boot.log")) > n + 20, what="more output")
    assert sv.status("boot")["pid"] == pid and sv.status("boot")["restarts"] == 0
    numbers = [int(x) for x in lines(sv, "boot.log")[:-1]]
    assert numbers == list(range(1, len(numbers) + 1))
    assert sv.call("log", name="boot", lines=3)["lines"]


def test_under_toybox_style_oneit_reports_without_status(supervised):
    # `oneit -3` without -S: records carry no status (and, in toybox, svinit's own PID):
    # svinit watches the re-adopted process itself; its exit status is unknown, which
    # restart = on-failure counts as a failure.
    sv = supervised({"boot": sh("exec /bin/sleep 1000") + "restart = on-failure\n"},
                    oneit_args=("-r", "-3"), args=["-3"])
    pid = sv.wait_for(lambda: sv.status("boot")["pid"])
    sv.kill_svinit()
    assert sv.status("boot")["pid"] == pid
    os.kill(pid, signal.SIGTERM)
    st = sv.wait_for(lambda: (lambda s: s["pid"] not in (None, pid) and s)(sv.status("boot")),
                     what="boot restarted")
    assert st["restarts"] == 1
    assert "svinit: boot: exit status unknown; restarting" in sv.stderr()


def test_a_second_svinit_on_the_same_pid_dir_is_refused(supervised, bindir):
    import subprocess
    sv = supervised({"boot": sh("exec /bin/sleep 1000")})
    sv.wait_state("boot", "started")
    p = subprocess.run([os.path.join(bindir, "svinit"), "-d", sv.dir, "-p", sv.piddir,
                        "-s", sv.sock + "2", "--no-kmsg"], capture_output=True, text=True, timeout=20)
    assert p.returncode == 1
    assert "svinit: another svinit (pid %d) uses the pid dir %s" % (sv.svinit_pid(), sv.piddir) in p.stderr
    assert sv.status("boot")["state"] == "started"


def test_a_shutdown_goes_on_after_a_restart(supervised):
    # The slow service takes its time to stop; svinit is killed meanwhile. The next one
    # finds the shutdown in svinit's state file, finishes it and asks oneit, here in
    # container mode, to end: oneit exits 0 instead of relaunching it.
    slow = sh("trap 'sleep 0.5; echo stopped >> @ROOT@/slow.stopped; exit 0' TERM; "
              "while :; do sleep 0.05; done")
    sv = supervised({"boot": "type = internal\ndepends-on: slow\ndepends-on: a\n",
                     "slow": slow, "a": sh("exec /bin/sleep 1000")})
    sv.wait_state("boot", "started")
    pids = [sv.service_pid(n) for n in ("slow", "a")]
    assert sv.call("shutdown", how="halt")["ok"]
    sv.wait_for(lambda: sv.status("a")["state"] == "stopped", what="a stopped")
    old = sv.kill_svinit(wait=False)
    assert sv.proc.wait(30) == 0
    err = sv.stderr()
    assert "halt: asking oneit (pid %d) to end the container" % sv.proc.pid in err
    assert "svinit: the svinit before was shutting down (halt): going on with it" in err
    assert "svinit (pid %d) killed by signal 9" % old in err
    assert sv.read("slow.stopped") == "stopped\n"
    assert not any(alive(p) for p in pids)


def test_a_failure_and_its_reason_survive_the_restart(supervised):
    sv = supervised({
        "boot": "type = internal\ndepends-on: a\nwaits-for: bad\n",
        "a": sh("exec /bin/sleep 1000"),
        "bad": sh("exit 3") + "restart = no\n",
    })
    sv.wait_state("boot", "started")
    sv.wait_for(lambda: sv.status("bad")["failed"], what="bad failed")
    before = sv.status("bad")
    assert before["reason"] and before["exit_status"] == "exited 3"
    sv.kill_svinit()
    after = sv.status("bad")
    for key in ("state", "failed", "reason", "exit_status", "exit_code"):
        assert after[key] == before[key], key


def test_services_all_at_rest_stay_at_rest_after_a_restart(supervised):
    # `ctl stop boot`: everything stops and no service has a file. svinit's own file still
    # says it began: the next svinit is a restart, not a boot, and starts nothing again.
    sv = supervised({"boot": "type = internal\ndepends-on: a\ndepends-on: s\n",
                     "a": sh("exec /bin/sleep 1000"),
                     "s": "type = scripted\n" + sh("echo ran >> @ROOT@/s.runs")})
    sv.wait_state("boot", "started")
    a = sv.service_pid("a")
    assert sv.call("stop", name="boot")["ok"]
    sv.wait_state("a", "stopped")
    sv.wait_state("s", "stopped")
    assert os.listdir(os.path.join(sv.piddir, "services")) == []
    old = sv.kill_svinit()
    time.sleep(0.5)
    assert {s["name"]: s["state"] for s in sv.call("list")["services"]} == \
        {"boot": "stopped", "a": "stopped", "s": "stopped"}
    assert lines(sv, "s.runs") == ["ran"] and not alive(a)
    assert "svinit: restarted: the svinit before (pid %d) died; taking its 0 services back" % old \
        in sv.stderr()
    assert sv.call("info")["svinit"]["recovered"] is True


def test_a_smooth_recovery_in_its_restart_delay_goes_on_after_a_restart(supervised):
    # sm's process dies young: svinit waits restart-delay before the next one, and is
    # killed meanwhile. The file says started with no process: the next svinit restarts it.
    sv = supervised({"boot": "type = internal\ndepends-on: sm\n",
                     "sm": sh("exec /bin/sleep 1000") + "smooth-recovery = yes\nrestart-delay = 1.5\n"})
    sv.wait_state("boot", "started")
    first = sv.service_pid("sm")
    os.kill(first, signal.SIGKILL)
    sv.wait_for(lambda: "svinit: sm: killed by signal 9 (SIGKILL); restarting (smooth recovery)"
                in sv.stderr(), what="the smooth recovery")
    sv.kill_svinit()
    st = sv.wait_for(lambda: (lambda s: s["pid"] not in (None, first) and s)(sv.status("sm")),
                     what="sm restarted")
    assert st["state"] == "started" and alive(st["pid"])
    assert "svinit: sm: was restarting (smooth recovery) when svinit died: restarting" in sv.stderr()
    assert sv.status("boot")["state"] == "started"


def test_the_start_timeout_of_a_start_command_goes_on_after_a_restart(supervised):
    # hang's start command never finishes; svinit is killed half-way through its
    # start-timeout: the next one times it out when the launch is start-timeout old.
    sv = supervised({"boot": "type = internal\nwaits-for: hang\n",
                     "hang": "type = scripted\nstart-timeout = 2\nrestart = no\n"
                             + sh("exec /bin/sleep 1000")})
    pid = sv.wait_for(lambda: sv.status("hang")["pid"], what="hang's command")
    sv.kill_svinit()
    st = sv.wait_for(lambda: (lambda s: s["state"] == "stopped" and s)(sv.status("hang")),
                     timeout=10, what="hang timed out")
    assert st["failed"] and st["reason"] == "start timed out after 2s"
    assert not alive(pid)
    assert sv.status("boot")["state"] == "started"


@pytest.mark.parametrize("sig, how", [(signal.SIGRTMIN + 3, "halt"), (signal.SIGPWR, "halt"),
                                      (signal.SIGRTMIN + 5, "reboot")])
def test_other_inits_stop_signals_end_the_container(supervised, sig, how):
    # A container image's STOPSIGNAL (systemd's SIGRTMIN+3, busybox's SIGPWR): oneit passes
    # it on, svinit takes it for the request systemd or busybox would and ends the container.
    sv = supervised({"boot": "type = internal\ndepends-on: a\n", "a": sh("exec /bin/sleep 1000")})
    sv.wait_state("boot", "started")
    a = sv.service_pid("a")
    os.kill(sv.proc.pid, sig)
    assert sv.proc.wait(30) == 0
    err = sv.stderr()
    assert "svinit: %s: asking oneit (pid %d) to end the container" % (how, sv.proc.pid) in err
    assert "relaunching" not in err and not alive(a)


def test_a_halt_under_a_containers_oneit_ends_the_container(supervised):
    # In container mode oneit halts nothing: svinit stops every service in order, then
    # asks oneit to end, and oneit exits 0 instead of relaunching it.
    sv = supervised({"boot": "type = internal\ndepends-on: a\n", "a": sh("exec /bin/sleep 1000")})
    sv.wait_state("boot", "started")
    a = sv.service_pid("a")
    assert sv.call("shutdown", how="poweroff")["ok"]
    assert sv.proc.wait(30) == 0
    err = sv.stderr()
    assert "svinit: poweroff: asking oneit (pid %d) to end the container" % sv.proc.pid in err
    assert "relaunching" not in err and not alive(a)


def test_a_file_broken_while_its_service_ran_does_not_drop_it_at_a_restart(supervised):
    # One typo in a running service's file, then svinit dies: its successor must not let
    # go of the service (nor, through boot's hard dependency, of boot and all it holds).
    sv = supervised({"boot": "type = internal\ndepends-on: a\ndepends-on: b\n",
                     "a": sh("exec /bin/sleep 1000"), "b": sh("exec /bin/sleep 1000")})
    sv.wait_state("boot", "started")
    before = {n: sv.service_pid(n) for n in ("a", "b")}
    sv.write_service("a", sh("exec /bin/sleep 1000") + "restart-dleay = 1\n")
    sv.write_service("b", sh("exec /bin/sleep 1000") + "depends-on: not-written-yet\n")
    sv.kill_svinit()
    assert {n: sv.service_pid(n) for n in ("a", "b")} == before
    assert sv.status("boot")["state"] == "started"
    err = sv.stderr()
    assert "svinit: %s/a:2: unknown setting 'restart-dleay' (left out: the service was running " \
           "when svinit restarted)\n" % sv.dir in err
    assert "svinit: %s/b:2: dependency not-written-yet not found (left out: the service was " \
           "running when svinit restarted)\n" % sv.dir in err
    assert "restarted: 2 processes re-adopted, 0 exited while svinit was away" in err
    # Only the restart is lenient: a reload reads the file as it is.
    reply = sv.call("reload", name="a")
    assert not reply["ok"] and reply["error"] == "%s/a:2: unknown setting 'restart-dleay'" % sv.dir
