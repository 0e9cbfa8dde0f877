"""oneit running its own svinit in the child it forked, without an exec (oneitd.run_here).

As PID 1 of a machine oneit can make /proc/PID/cmdline read as after the exec
(prctl PR_SET_MM needs CAP_SYS_RESOURCE, which this host's root lacks: the boot tests
check that part in QEMU). Here a driver stands in for it, so that the rest of the path
runs: oneit with no COMMAND, in container mode, svinit in its forked child. The child's
cmdline stays the driver's, which tells that no exec happened.
"""
import os
import signal
import subprocess
import sys
import time

import pytest

from bindir import make_bindir
from test_recovery_lib import read_file, stat_fields

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

DRIVER = """
import sys
sys.path[0] = %(repo)r
from toybox import oneitd, syscalls
syscalls.set_cmdline = lambda words, env, comm: None
oneitd.service_manager = lambda: [%(svinit)r, "-d", %(svc)r, "-p", %(pids)r, "-s", %(sock)r, "web"]
from toybox.main import main
main(["oneit", "-C", "-w", "1"])
"""


def wait_for(what, fn, timeout=20):
    deadline = time.monotonic() + timeout
    while True:
        got = fn()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError("not within %ss: %s" % (timeout, what))
        time.sleep(0.05)


def svinit_pid(piddir):
    for line in read_file(os.path.join(piddir, "svinit")).decode().splitlines():
        if line.startswith("pid "):
            return int(line.split()[1])
    return None


def pipes(pid):
    out = {}
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        if target.startswith("pipe:"):
            out[int(fd)] = target
    return out


@pytest.fixture
def oneit(tmp_path):
    bindir = make_bindir(str(tmp_path / "bin"))
    svc = tmp_path / "svc"
    svc.mkdir()
    (svc / "web").write_text("type = process\ncommand = /bin/sleep 1000\n")
    paths = dict(repo=REPO, svinit=os.path.join(bindir, "svinit"), svc=str(svc),
                 pids=str(tmp_path / "pids"), sock=str(tmp_path / "sock"))
    p = subprocess.Popen([sys.executable, "-S", "-c", DRIVER % paths], start_new_session=True,
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    p.paths = paths
    p.ctl = [os.path.join(bindir, "ctl"), "-s", paths["sock"]]
    try:
        yield p
    finally:
        if p.poll() is None:
            os.kill(p.pid, signal.SIGTERM)      # container mode: to svinit, which stops all
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                pass
        for pid in [pid for pid in (svinit_pid(paths["pids"]),) if pid]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if p.poll() is None:
            p.kill()
        p.wait()
        print(p.stdout.read().decode(errors="replace"))


def test_svinit_runs_in_oneits_forked_child(oneit):
    pid = wait_for("svinit answers", lambda: subprocess.run(oneit.ctl + ["list"], capture_output=True)
                   .returncode == 0 and svinit_pid(oneit.paths["pids"]))
    assert stat_fields(pid)[1] == str(oneit.pid)                    # oneit's child
    assert read_file("/proc/%d/cmdline" % pid) == read_file("/proc/%d/cmdline" % oneit.pid)  # no exec
    # None of oneit's own pipes but the two it hands over, at 3 and 4 (its stdio is
    # svinit's too, in container mode).
    theirs = {t for fd, t in pipes(oneit.pid).items() if fd > 2}
    assert sorted(fd for fd, t in pipes(pid).items() if t in theirs) == [3, 4], \
        str((pipes(oneit.pid), pipes(pid)))
    out = subprocess.run(oneit.ctl + ["status", "web"], capture_output=True, text=True).stdout
    assert "started" in out, out
    # The environment oneit gives its child reached svinit: it heartbeats on fd 4
    # (ONEIT_HEARTBEAT_FD), or oneit (-w 1) would have killed it by now.
    time.sleep(3)
    assert svinit_pid(oneit.paths["pids"]) == pid and stat_fields(pid)[0] not in "ZX"


def test_killed_svinit_is_forked_again_and_takes_its_services_back(oneit):
    pid = wait_for("svinit answers", lambda: subprocess.run(oneit.ctl + ["list"], capture_output=True)
                   .returncode == 0 and svinit_pid(oneit.paths["pids"]))
    web = wait_for("web's pid", lambda: [l.split()[1] for l in read_file(
        os.path.join(oneit.paths["pids"], "services", "web")).decode().splitlines() if l.startswith("pid ")])
    os.kill(pid, signal.SIGKILL)
    new = wait_for("a new svinit", lambda: (svinit_pid(oneit.paths["pids"]) or pid) != pid
                   and subprocess.run(oneit.ctl + ["list"], capture_output=True).returncode == 0
                   and svinit_pid(oneit.paths["pids"]))
    assert read_file("/proc/%d/cmdline" % new) == read_file("/proc/%d/cmdline" % oneit.pid)
    out = subprocess.run(oneit.ctl + ["status", "web"], capture_output=True, text=True).stdout
    assert web[0] in out, out      # the same process, re-adopted
