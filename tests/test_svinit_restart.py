"""svinit: restarts and their limits, smooth recovery, timeouts, readiness, bgprocess."""
import os
import signal

from test_svinit_lib import svinit, pid_alive  # noqa: F401  (fixture)

KEEP = {"keep": "type = process\ncommand = /bin/sleep 1000\n"}
ARGS = ["boot", "keep"]      # keep: so svinit doesn't exit when boot has stopped


def sh(script, key="command"):
    """A `command = /bin/sh -c "SCRIPT"` line, quoted for a service file."""
    quoted = script.replace("\\", "\\\\").replace('"', '\\"').replace("$", "$$")
    return '%s = /bin/sh -c "%s"\n' % (key, quoted)


def runs(sv, name="runs"):
    return len(sv.read(name).splitlines())


def test_restart_yes_restarts_after_a_crash(svinit):
    sv = svinit({"boot": "command = /bin/sleep 1000\nrestart = yes\nrestart-delay = 0.05\n"})
    pid = sv.wait_for(lambda: sv.status("boot")["pid"])
    os.kill(pid, signal.SIGKILL)
    st = sv.wait_for(lambda: (lambda s: s["pid"] not in (None, pid) and s)(sv.status("boot")),
                     what="a new pid")
    assert st["state"] == "started" and st["restarts"] == 1
    err = sv.stderr()
    assert "svinit: boot: killed by signal 9 (SIGKILL); restarting" in err
    assert "svinit: boot: started (pid %d)" % st["pid"] in err


def test_restart_limit_gives_up(svinit):
    sv = svinit(dict(KEEP, boot=sh("echo x >> @ROOT@/runs; exit 4") +
                                "restart-delay = 0.05\nrestart-limit-count = 3\n"
                                "restart-limit-interval = 30\n"), args=ARGS)
    st = sv.wait_for(lambda: (lambda s: s["failed"] and s)(sv.status("boot")), what="boot to fail")
    assert st["state"] == "stopped" and st["restarts"] == 3
    assert "giving up" in st["reason"] and "exited 4" in st["reason"]
    assert (st["exit_status"], st["exit_code"]) == ("exited 4", 4)
    assert runs(sv) == 4            # the first start and 3 restarts; then no busy loop
    assert "svinit: boot: failed: exited 4; restarted 3 times within 30s: giving up" in sv.stderr()


def test_restart_no_and_on_failure(svinit):
    sv = svinit(dict(KEEP,
                     boot="type = internal\nwaits-for: once\nwaits-for: onfail\nwaits-for: clean\n",
                     once=sh("echo x >> @ROOT@/once; exit 1") + "restart = no\n",
                     onfail=sh("echo x >> @ROOT@/onfail; exit 1") +
                            "restart = on-failure\nrestart-delay = 0.01\nrestart-limit-count = 2\n",
                     clean=sh("echo x >> @ROOT@/clean; exit 0") +
                           "restart = on-failure\n"), args=ARGS)
    sv.wait_for(lambda: sv.status("onfail")["failed"], what="onfail to give up")
    sv.wait_state("once", "stopped")
    sv.wait_state("clean", "stopped")
    assert (runs(sv, "once"), runs(sv, "onfail"), runs(sv, "clean")) == (1, 3, 1)
    assert sv.status("once")["failed"] and sv.status("once")["reason"] == "exited 1"
    assert not sv.status("clean")["failed"]


def test_automatic_restart_restarts_hard_dependents(svinit):
    sv = svinit({
        "boot": "command = /bin/sleep 1000\ndepends-on: db\n",
        "db": "command = /bin/sleep 1000\nrestart-delay = 0.05\n",
    })
    boot1 = sv.wait_for(lambda: sv.status("boot")["pid"])
    db1 = sv.status("db")["pid"]
    os.kill(db1, signal.SIGKILL)
    sv.wait_for(lambda: sv.status("boot")["pid"] not in (None, boot1), what="boot to restart")
    sv.wait_state("db", "started")
    assert sv.status("db")["pid"] != db1


def test_smooth_recovery_leaves_dependents_alone(svinit):
    sv = svinit({
        "boot": "command = /bin/sleep 1000\ndepends-on: db\n",
        "db": "command = /bin/sleep 1000\nsmooth-recovery = yes\nrestart-delay = 0.05\n",
    })
    boot1 = sv.wait_for(lambda: sv.status("boot")["pid"])
    db1 = sv.status("db")["pid"]
    os.kill(db1, signal.SIGKILL)
    sv.wait_for(lambda: sv.status("db")["pid"] not in (None, db1), what="db's new process")
    assert sv.status("db")["state"] == "started"
    assert sv.status("boot")["pid"] == boot1
    assert "svinit: db: restarted (pid %d)" % sv.status("db")["pid"] in sv.stderr()


def test_start_timeout_kills_and_fails(svinit):
    sv = svinit(dict(KEEP, boot="type = internal\nwaits-for: slow\n",
                     slow="type = scripted\ncommand = /bin/sleep 1000\nstart-timeout = 0.3\n"),
                args=ARGS)
    st = sv.wait_for(lambda: (lambda s: s["failed"] and s)(sv.status("slow")), what="slow to fail")
    assert st["reason"] == "start timed out after 0.3s" and st["pid"] is None
    assert "svinit: slow: start timed out after 0.3s; stopping it" in sv.stderr()
    assert sv.status("boot")["state"] == "started"     # a soft dependency


def test_stop_timeout_sends_sigkill(svinit):
    sv = svinit(dict(KEEP, boot=sh("trap '' TERM; while :; do sleep 0.05; done") +
                               "stop-timeout = 0.3\n"), args=ARGS)
    pid = sv.wait_for(lambda: sv.status("boot")["pid"])
    reply = sv.call("stop", name="boot")
    assert reply["ok"] and reply["service"]["state"] == "stopped"
    assert not pid_alive(pid)
    assert "svinit: boot: stop timed out after 0.3s; sending SIGKILL" in sv.stderr()


def test_term_signal_and_stop_command(svinit):
    sv = svinit(dict(KEEP,
                     boot="type = internal\ndepends-on: hup\ndepends-on: cmd\n",
                     hup=sh("trap 'echo got-hup > @ROOT@/hup; exit 0' HUP; while :; do sleep 0.05; done")
                     + "term-signal = HUP\n",
                     cmd="command = /bin/sleep 1000\n"
                         + sh("echo stopping > @ROOT@/cmd; kill $MAINPID", "stop-command") +
                         "env-file = @ROOT@/cmd.env\n"),
                files={"cmd.env": ""}, args=ARGS)
    sv.wait_state("boot", "started")
    pid = sv.status("cmd")["pid"]
    with open(sv.path("cmd.env"), "w") as f:
        f.write("MAINPID=%d\n" % pid)
    assert sv.call("reload", name="cmd")["ok"]
    assert sv.call("stop", name="boot")["ok"]
    sv.wait_state("hup", "stopped")
    sv.wait_state("cmd", "stopped")
    assert sv.read("hup") == "got-hup\n" and sv.read("cmd") == "stopping\n"
    assert not pid_alive(pid)


def test_readiness_pipefd(svinit):
    # Started only once the byte arrives: the marker file is made before that.
    sv = svinit({"boot": sh("sleep 0.3; touch @ROOT@/ready; echo ok >&5; exec sleep 1000") +
                         "ready-notification = pipefd:5\n"})
    sv.wait_state("boot", "started")
    assert os.path.exists(sv.path("ready"))


def test_readiness_pipevar_and_start_waits(svinit):
    sv = svinit(dict(KEEP, boot="type = internal\n",
                     svc=sh("sleep 0.2; touch @ROOT@/ready; echo >&$READY_FD; exec sleep 1000") +
                         "ready-notification = pipevar:READY_FD\n"), args=ARGS)
    reply = sv.call("start", name="svc")
    assert reply["ok"] and reply["service"]["state"] == "started"
    assert os.path.exists(sv.path("ready"))


def test_readiness_eof_is_a_failure(svinit):
    sv = svinit(dict(KEEP, boot="type = internal\nwaits-for: svc\n",
                     svc=sh("exec 5>&-; exec sleep 1000") +
                         "ready-notification = pipefd:5\nrestart = no\n"), args=ARGS)
    st = sv.wait_for(lambda: (lambda s: s["failed"] and s)(sv.status("svc")), what="svc to fail")
    assert st["reason"] == "closed its readiness pipe without signalling readiness"


def test_start_reply_reports_failure(svinit):
    sv = svinit(dict(KEEP, boot="type = internal\n",
                     bad="type = scripted\n" + sh("exit 7")), args=ARGS)
    reply = sv.call("start", name="bad")
    assert not reply["ok"] and reply["code"] == "failed"
    assert reply["error"] == "bad: failed to start: command exited 7"
    assert reply["service"]["failed"]


def test_bgprocess_pid_file(svinit):
    sv = svinit({"boot": "type = bgprocess\n"
                         + sh("/bin/sleep 1000 & echo $! > @ROOT@/d.pid") +
                         "pid-file = @ROOT@/d.pid\n"})
    st = sv.wait_for(lambda: (lambda s: s["state"] == "started" and s)(sv.status("boot")))
    assert st["pid"] == int(sv.read("d.pid"))
    assert pid_alive(st["pid"])
    # The daemon is not svinit's child by birth; its exit is still seen (and restarted).
    os.kill(st["pid"], signal.SIGKILL)
    sv.wait_for(lambda: sv.status("boot")["pid"] not in (None, st["pid"]), what="restart")
    assert sv.shutdown() == 0
    assert not pid_alive(int(sv.read("d.pid")))


def test_bgprocess_bad_pid_file(svinit):
    sv = svinit(dict(KEEP, boot="type = internal\nwaits-for: bg\n",
                     bg="type = bgprocess\ncommand = /bin/true\npid-file = @ROOT@/none.pid\n"),
                args=ARGS)
    st = sv.wait_for(lambda: (lambda s: s["failed"] and s)(sv.status("bg")))
    assert st["reason"].startswith("pid-file %s/none.pid: No such file" % sv.root)


def test_restart_request(svinit):
    sv = svinit({"boot": "command = /bin/sleep 1000\n"})
    pid = sv.wait_for(lambda: sv.status("boot")["pid"])
    reply = sv.call("restart", name="boot")
    assert reply["ok"] and reply["service"]["state"] == "started"
    assert reply["service"]["pid"] not in (None, pid) and not pid_alive(pid)


def test_signal_request(svinit):
    sv = svinit(dict(KEEP, boot=sh("trap 'touch @ROOT@/usr1' USR1; while :; do sleep 0.05; done")),
                args=ARGS)
    sv.wait_for(lambda: sv.status("boot")["pid"])
    assert sv.call("signal", name="boot", signal="USR1")["ok"]
    sv.wait_for(lambda: os.path.exists(sv.path("usr1")), what="the trap")


def test_stop_signals_the_whole_process_group(svinit):
    """A process service is the leader of its own session: stopping it signals its whole
    process group (a background child too), unless signal-process-only is set."""
    script = "/bin/sleep 1000 & echo $! > @ROOT@/%s.pid; wait"
    sv = svinit(dict(KEEP, boot="type = internal\n",
                     grp="type = process\n" + sh(script % "grp"),
                     one="type = process\noptions = signal-process-only\n" + sh(script % "one")),
                args=ARGS)
    pids = {}
    for name in ("grp", "one"):
        assert sv.call("start", name=name)["ok"]
        pids[name] = sv.wait_for(lambda: sv.read(name + ".pid").strip(), what=name + ".pid")
        pids[name] = int(pids[name])
    try:
        for name in ("grp", "one"):
            leader = sv.status(name)["pid"]
            assert sv.call("stop", name=name)["ok"]
            sv.wait_for(lambda: sv.status(name)["state"] == "stopped", what=name + " stopped")
            assert not pid_alive(leader)
        sv.wait_for(lambda: not pid_alive(pids["grp"]), what="the group's background child gone")
        assert pid_alive(pids["one"])       # only the service's own process was signalled
    finally:
        for pid in pids.values():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    assert sv.shutdown() == 0
