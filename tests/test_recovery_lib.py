"""Helpers for the recovery tests (issue 7): svinit under oneit, killed and relaunched.

Every process a test starts carries RECOVERY_MARK=<a unique token> in its environment
(svinit passes its environment on to the services), so the tests find them all in
/proc (services, strays, orphans) and kill them by PID at the end.
"""
import os
import signal
import sys
import time

import pytest

from test_svinit_lib import Svinit
from toybox import protocol

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# oneit pauses up to 5 s before relaunching a child that died young (no busy loop at
# boot): right for a machine, too slow for 50 kills in a row. This is the same oneit
# with a shorter pause.
FAST_ONEIT = """#!%s -S
import sys
sys.path.insert(0, %r)
import toybox.oneitd as oneit
oneit.FIRST_PAUSE = 0.02
oneit.MAX_PAUSE = 0.05
from toybox.main import main
main()
""" % (sys.executable, REPO)


def read_file(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return b""


def stat_fields(pid):
    text = read_file("/proc/%d/stat" % pid).decode("ascii", "replace")
    if ")" not in text:
        return None
    return text.rsplit(")", 1)[1].split()


def alive(pid):
    f = stat_fields(pid)
    return f is not None and f[0] not in ("Z", "X")


def marked(mark):
    """PIDs of live processes whose environment holds RECOVERY_MARK=mark."""
    want = b"RECOVERY_MARK=" + mark.encode() + b"\0"
    out = []
    for name in os.listdir("/proc"):
        if name.isdigit() and want in read_file("/proc/%s/environ" % name) and alive(int(name)):
            out.append(int(name))
    return out


def cmdline(pid):
    return read_file("/proc/%d/cmdline" % pid)


class Supervised(Svinit):
    """svinit as the child of oneit (`oneit -r -3 [-S]`, container mode: oneit is a child
    subreaper, so a killed svinit's services go to oneit, which reports their exits)."""

    made = 0

    def __init__(self, bindir, services, oneit_args=("-r", "-3", "-S"), fast=False, prefix=(),
                 env=None, **kw):
        oneit = os.path.join(bindir, "oneit")
        if fast:
            oneit = os.path.join(bindir, "fast", "oneit")
            if not os.path.exists(oneit):
                os.makedirs(os.path.dirname(oneit), exist_ok=True)
                with open(oneit, "w") as f:
                    f.write(FAST_ONEIT)
                os.chmod(oneit, 0o755)
        Supervised.made += 1
        self.mark = "rt%d.%d.%d" % (os.getpid(), Supervised.made, time.monotonic_ns())
        env = dict(env or {}, RECOVERY_MARK=self.mark)
        super().__init__(bindir, services, wrapper=list(prefix) + [oneit] + list(oneit_args),
                         env=env, wait_socket=False, **kw)
        self.wait_for(lambda: self.svinit_pid() and self.answering(), what="svinit to start")

    def pids_by_name(self, suffix):
        """Our processes whose program (argv[0], or the script a launcher runs) ends with
        suffix, as PIDs seen from here (also when they run in a PID namespace)."""
        out = []
        for pid in marked(self.mark):
            words = cmdline(pid).split(b"\0")
            if any(w.endswith(suffix) for w in words[:3]):
                out.append(pid)
        return out

    def svinit_pid(self):
        """The running svinit's PID, or None."""
        pids = self.pids_by_name(b"/svinit")
        return pids[0] if pids else None

    def answering(self):
        try:
            return self.call("list", timeout=5)["ok"]
        except (protocol.Unreachable, protocol.ProtocolError, OSError):
            return False

    def kill_svinit(self, wait=True):
        old = self.wait_for(self.svinit_pid, what="svinit")
        os.kill(old, signal.SIGKILL)
        if wait:
            self.wait_for(lambda: self.svinit_pid() not in (None, old) and self.answering(),
                          what="a new svinit")
        return old

    def stop(self, timeout=30):
        """`docker stop`: SIGTERM to oneit, which forwards it; svinit stops every service and
        exits, and oneit with it. Returns oneit's exit code."""
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def service_pid(self, name):
        return self.status(name)["pid"]


def kill_marked(mark):
    """SIGKILL every process carrying the mark, until none is left."""
    for _ in range(50):
        pids = marked(mark)
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.05)


@pytest.fixture
def supervised(bindir):
    """supervised(services={...}, ...) starts oneit + svinit; everything is killed after."""
    made = []

    def start(services, **kw):
        s = Supervised(bindir, services, **kw)
        made.append(s)
        return s

    yield start
    for s in made:
        s.proc.kill()
        s.cleanup()
        kill_marked(s.mark)
