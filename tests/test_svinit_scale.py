"""svinit: 1000 services, an inittab converted and run end to end, running under oneit."""
import os
import time

from test_svinit_lib import svinit, pid_alive  # noqa: F401  (fixture)

N = 1000


def test_thousand_services_start_and_stop_cleanly(svinit):
    services = {"s%04d" % i: "command = /bin/sleep 1000\n" for i in range(N)}
    services["boot"] = "type = internal\n" + "".join("depends-on: s%04d\n" % i for i in range(N))
    sv = svinit(services)
    sv.wait_for(lambda: sv.status("boot")["state"] == "started", timeout=120, what="boot")
    listed = sv.call("list")["services"]
    pids = [s["pid"] for s in listed if s["name"] != "boot"]
    assert len(listed) == N + 1 and all(s["state"] == "started" for s in listed)
    assert len(set(pids)) == N and all(pid_alive(p) for p in pids)
    assert len(os.listdir(os.path.join(sv.piddir, "services"))) == N + 1     # and boot's
    assert sv.shutdown(timeout=120) == 0
    assert not any(pid_alive(p) for p in pids)
    assert os.listdir(os.path.join(sv.piddir, "services")) == []
    err = sv.stderr()
    assert err.count(": started (pid ") == N and err.count(": stopped\n") == N + 1
    assert "Traceback" not in err


INITTAB = """\
# a busybox inittab
::sysinit:/bin/sh -c 'echo sysinit >> @ROOT@/events'
::wait:/bin/sh -c 'sleep 0.2; echo wait >> @ROOT@/events'
::once:/bin/sh -c 'echo once >> @ROOT@/events'
::respawn:/bin/sleep 1000
::shutdown:/bin/sh -c 'echo shutdown1 >> @ROOT@/events'
::shutdown:/bin/sh -c 'echo shutdown2 >> @ROOT@/events'
this line is bad
"""


def test_inittab_end_to_end(svinit):
    sv = svinit({}, args=["--inittab", "@ROOT@/inittab"], files={"inittab": INITTAB})
    sv.wait_state("inittab", "started")
    respawn = [s for s in sv.call("list")["services"] if ".respawn" in s["name"]]
    assert len(respawn) == 1 and respawn[0]["state"] == "started" and pid_alive(respawn[0]["pid"])
    sv.wait_for(lambda: "once" in sv.read("events"), what="the once entry")
    assert sv.read("events").split() == ["sysinit", "wait", "once"]
    assert "%s/inittab:8: bad inittab entry" % sv.root in sv.stderr()
    assert sv.shutdown() == 0
    assert sv.read("events").split() == ["sysinit", "wait", "once", "shutdown1", "shutdown2"]
    assert not pid_alive(respawn[0]["pid"])


def test_under_oneit_heartbeat_reports_and_shutdown_signal(svinit, bindir):
    # oneit (not PID 1: container mode) with exit reports and a 1-second heartbeat: svinit
    # must keep writing it, read fd 3, and at shutdown ask its parent oneit, which can't
    # halt in container mode, to end.
    sv = svinit({"boot": "type = bgprocess\npid-file = @ROOT@/d.pid\n"
                         'command = /bin/sh -c "/bin/sleep 1000 & echo $$! > @ROOT@/d.pid"\n'},
                wrapper=[os.path.join(bindir, "oneit"), "-3", "-S", "-w", "1"])
    sv.wait_state("boot", "started")
    pid = sv.status("boot")["pid"]
    time.sleep(2.5)                                 # more than two heartbeat periods
    assert sv.status("boot")["pid"] == pid          # svinit alive: no restart, same daemon
    assert sv.shutdown() == 0
    assert not pid_alive(pid)
    assert "halt: asking oneit (pid %d) to end the container" % sv.proc.pid in sv.stderr()
