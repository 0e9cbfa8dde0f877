"""halt, poweroff, reboot and shutdown: ask svinit; else signal PID 1 (ours only); -f reboot(2).

The fallback and -f run only inside a fresh PID namespace whose PID 1 is the real
oneit: the host's PID 1 is not ours, and the guards must refuse there.
"""
import os
import subprocess

import pytest

from test_ctl import Fake, HAVE_SVINIT, SERVICES, Svinit


@pytest.fixture
def fake(tmp_path):
    f = Fake(tmp_path)
    yield f
    f.stop()


@pytest.mark.parametrize("cmd, how", [("halt", "halt"), ("poweroff", "poweroff"), ("reboot", "reboot"),
                                      ("shutdown", "poweroff"), ("shutdown now", "poweroff"),
                                      ("shutdown -h now", "poweroff"), ("shutdown -P", "poweroff"),
                                      ("shutdown -H now", "halt"), ("shutdown -r +0", "reboot")])
def test_asks_svinit(testcmd, fake, cmd, how):
    r = testcmd(cmd, env={"SVINIT_SOCKET": fake.path})
    assert r.code == 0 and r.out == ""
    assert fake.requests() == [{"v": 1, "cmd": "shutdown", "how": how}]
    if cmd.startswith("shutdown"):
        assert r.err == "shutdown: the system is going down to %s NOW\n" % {
            "halt": "halt", "poweroff": "power off", "reboot": "reboot"}[how]
    else:
        assert r.err == ""


def test_shutdown_message_is_announced(testcmd, fake):
    r = testcmd(["shutdown", "-r", "now", "new", "kernel"], env={"SVINIT_SOCKET": fake.path})
    assert r.code == 0
    assert r.err == "shutdown: the system is going down to reboot NOW: new kernel\n"


def test_svinit_refusing_is_reported(testcmd, tmp_path):
    f = Fake(tmp_path, _shutdown_error="a shutdown (reboot) is already in progress")
    try:
        r = testcmd("poweroff", env={"SVINIT_SOCKET": f.path})
    finally:
        f.stop()
    assert r.code == 1
    assert r.err == "poweroff: svinit refused: a shutdown (reboot) is already in progress\n"


def test_a_later_shutdown_waits_in_the_foreground_and_can_be_cancelled(bindir, fake):
    p = subprocess.Popen([os.path.join(bindir, "shutdown"), "-r", "+5", "disk", "swap"],
                         env={"SVINIT_SOCKET": fake.path}, stderr=subprocess.PIPE, text=True)
    try:
        line = p.stderr.readline()
        assert line.startswith("shutdown: the system will reboot at ")
        assert line.endswith(" (in 5 minutes): disk swap\n")
        assert p.poll() is None
    finally:
        p.terminate()
        p.wait(10)
        p.stderr.close()
    assert fake.requests() == []


def test_time_parsing(monkeypatch):
    import time
    from applets import shutdown
    from toybox import lib
    monkeypatch.setattr(time, "localtime", lambda *a: time.struct_time((2026, 1, 1, 23, 50, 30, 3, 1, 0)))
    assert shutdown.parse_time("now") == 0
    assert shutdown.parse_time("+0") == 0
    assert shutdown.parse_time("+15") == 900
    assert shutdown.parse_time("00:10") == 19 * 60 + 30
    assert shutdown.parse_time("23:55") == 4 * 60 + 30
    assert shutdown.parse_time("23:50") == 86400 - 30       # passed a moment ago: tomorrow
    for bad in ("soon", "+", "+1.5", "-5", "24:00", "12:60", "1:5", "12:"):
        with pytest.raises(lib.Usage, match="bad time '%s'" % bad.replace("+", r"\+")):
            shutdown.parse_time(bad)


@pytest.mark.parametrize("cmd, message", [
    ("shutdown soon", "bad time 'soon': use now, +MINUTES or HH:MM"),
    ("shutdown -h -r now", "options -h and -r can't be used together"),
    ("halt now", "takes no arguments, not 'now'"),
    ("reboot -d x", "option 'd' needs a number of seconds, not 'x'"),
])
def test_usage_errors(testcmd, fake, cmd, message):
    r = testcmd(cmd, env={"SVINIT_SOCKET": fake.path})
    assert r.code == 1
    assert r.err == '%s: %s (see "%s --help")\n' % (cmd.split()[0], message, cmd.split()[0])
    assert fake.requests() == []


def test_on_this_host_pid1_is_not_signalled(testcmd, tmp_path):
    sock = str(tmp_path / "none.sock")
    r = testcmd("poweroff", env={"SVINIT_SOCKET": sock})
    assert r.code == 1
    assert r.err == ("poweroff: can't reach svinit at %s: No such file or directory; and PID 1 is "
                     "not this suite's oneit: not signalling it\n" % sock)


def test_on_this_host_force_is_refused(testcmd, tmp_path):
    log = tmp_path / "syscalls.log"
    r = testcmd("reboot -f -n", env={"TOYBOX_SYSCALL_LOG": str(log)})
    assert r.code == 1
    assert r.err == "reboot: -f (reboot now, without svinit) refused: PID 1 is not this suite's oneit\n"
    assert not log.exists()


# -- inside a PID namespace whose PID 1 is oneit --------------------------------

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root for a PID namespace")


def in_namespace(bindir, tmp_path, oneit_args, script):
    """Run `oneit ARGS sh -c SCRIPT` as PID 1 of a new PID namespace; (exit code, syscall log)."""
    log = tmp_path / "syscalls.log"
    env = {"PATH": bindir + ":/usr/bin:/bin", "TOYBOX_SYSCALL_LOG": str(log),
           "SVINIT_SOCKET": str(tmp_path / "none.sock")}
    p = subprocess.run(["unshare", "--pid", "--fork", "--mount-proc", os.path.join(bindir, "oneit")]
                       + oneit_args + ["sh", "-c", script],
                       env=env, capture_output=True, text=True, timeout=60)
    return p, log.read_text() if log.exists() else ""


@needs_root
@pytest.mark.parametrize("cmd, sig", [("halt", 10), ("poweroff", 12), ("reboot", 15)])
def test_fallback_signals_pid1_oneit(bindir, tmp_path, cmd, sig):
    # Container mode: oneit passes the signal on to its child, the shell, which dies of it.
    p, log = in_namespace(bindir, tmp_path, ["-C"], "%s; sleep 20" % cmd)
    assert log == "signal_init %d\n" % sig
    assert p.returncode == 128 + sig, p.stderr
    assert ("%s: can't reach svinit at %s/none.sock: No such file or directory; sending SIG"
            % (cmd, tmp_path)) in p.stderr


@needs_root
@pytest.mark.parametrize("cmd, sig, how", [("halt", 10, "halt"), ("poweroff", 12, "poweroff"),
                                           ("reboot", 15, "reboot")])
def test_fallback_makes_pid1_oneit_shut_down(bindir, tmp_path, cmd, sig, how):
    p, log = in_namespace(bindir, tmp_path, ["-c", "/dev/null"], "%s -d 0.1; sleep 20" % cmd)
    lines = log.splitlines()
    assert "signal_init %d" % sig in lines
    assert lines[-1] == "reboot %s" % how, log


@needs_root
@pytest.mark.parametrize("cmd, how", [("halt -f", "halt"), ("poweroff -f", "poweroff"),
                                      ("reboot -fn", "reboot")])
def test_force_calls_reboot_at_once(bindir, tmp_path, cmd, how):
    survived = tmp_path / "survived"
    # reboot(2) ends its caller and kills the namespace's init, which takes the shell
    # with it a moment later: on a loaded machine the shell's next command may run in
    # that moment, so only one that waits first shows the namespace lived on.
    p, log = in_namespace(bindir, tmp_path, ["-C"], "%s; sleep 5; touch %s; sleep 20" % (cmd, survived))
    assert log == "reboot %s\n" % how
    assert not survived.exists()
    # reboot(2) in a PID namespace kills its init: SIGHUP for reboot, SIGINT otherwise.
    assert p.returncode in ((-1, 129) if how == "reboot" else (-2, 130)), p.stderr


@pytest.mark.skipif(not HAVE_SVINIT, reason="applets/svinit.py not written yet")
def test_poweroff_through_real_svinit(bindir, tmp_path, testcmd):
    s = Svinit(bindir, tmp_path, SERVICES)
    try:
        r = testcmd("poweroff", env={"SVINIT_SOCKET": s.sock})
        assert (r.code, r.out, r.err) == (0, "", "")
        s.proc.wait(30)
        assert not os.path.exists(s.sock)
    finally:
        s.stop()
