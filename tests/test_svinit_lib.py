"""Helpers for the svinit tests: run svinit on a temporary services dir, drive it over its
control socket (toybox.protocol.call, so these tests don't depend on ctl), clean up by PID."""
import os
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

from toybox import protocol


class Svinit:
    """One svinit with its own services dir, pid dir, socket and stderr file."""

    def __init__(self, bindir, services, args=(), env=None, files=None, wait_socket=True,
                 wrapper=()):
        # Short paths: a Unix socket path is limited to 107 bytes.
        self.root = tempfile.mkdtemp(prefix="svt")
        self.dir = os.path.join(self.root, "svc")
        self.piddir = os.path.join(self.root, "pid")
        self.sock = os.path.join(self.root, "sock")
        self.errpath = os.path.join(self.root, "stderr")
        os.mkdir(self.dir)
        for name, text in services.items():
            self.write_service(name, text)
        for name, text in (files or {}).items():
            path = os.path.join(self.root, name)
            with open(path, "w") as f:
                f.write(text.replace("@ROOT@", self.root))
            os.chmod(path, 0o755)
        self.pids = set()
        argv = list(wrapper) + [os.path.join(bindir, "svinit"), "-d", self.dir, "-p", self.piddir, "-s", self.sock,
                "--no-kmsg"] + [a.replace("@ROOT@", self.root) for a in args]
        full_env = {"PATH": bindir + ":/usr/bin:/bin", "LC_ALL": "C.UTF-8"}
        full_env.update(env or {})
        with open(self.errpath, "wb") as err:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=err, stderr=err,
                                         env=full_env)
        if wait_socket:
            self.wait_for(lambda: os.path.exists(self.sock), what="the control socket")

    def path(self, name):
        return os.path.join(self.root, name)

    def write_service(self, name, text):
        with open(os.path.join(self.dir, name), "w") as f:
            f.write(text.replace("@ROOT@", self.root))

    def call(self, cmd, timeout=20, **args):
        reply = protocol.call(self.sock, protocol.request(cmd, **args), timeout=timeout)
        for st in reply.get("services", []) + [reply.get("service") or {}]:
            if st.get("pid"):
                self.pids.add(st["pid"])
        return reply

    def status(self, name):
        reply = self.call("status", name=name)
        assert reply["ok"], reply
        return reply["service"]

    def states(self):
        return {s["name"]: s["state"] for s in self.call("list")["services"]}

    def wait_for(self, pred, timeout=20, what="condition"):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            value = pred()
            if value:
                return value
            if self.proc.poll() is not None and not pred():
                raise AssertionError("svinit exited (%s) waiting for %s; stderr:\n%s"
                                     % (self.proc.returncode, what, self.stderr()))
            time.sleep(0.02)
        raise AssertionError("timed out waiting for %s; stderr:\n%s" % (what, self.stderr()))

    def wait_state(self, name, state, timeout=20):
        return self.wait_for(lambda: self.status(name)["state"] == state, timeout,
                             "%s to be %s" % (name, state))

    def stderr(self):
        with open(self.errpath, errors="replace") as f:
            return f.read()

    def read(self, name):
        try:
            with open(self.path(name)) as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def shutdown(self, timeout=30):
        """Ask svinit to shut down; return its exit code."""
        try:
            self.call("shutdown", how="halt")
        except (protocol.Unreachable, protocol.ProtocolError, OSError):
            pass
        return self.proc.wait(timeout)

    def cleanup(self):
        if self.proc.poll() is None:
            try:
                self.call("list", timeout=5)     # learn the PIDs to clean up
            except Exception:
                pass
            self.proc.kill()
            self.proc.wait(10)
        # Under a wrapper (oneit), proc is not svinit: find svinit by its own state file.
        try:
            with open(os.path.join(self.piddir, "svinit")) as f:
                self.pids.add(int(f.read().split("\npid ", 1)[1].split()[0]))
        except (OSError, IndexError, ValueError):
            pass
        for pid in self.pids:
            for target in (-pid, pid):
                try:
                    os.kill(target, signal.SIGKILL)
                except OSError:
                    pass
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def svinit(bindir):
    """svinit(services={...}, args=[...]) starts one; all are cleaned up after the test."""
    made = []

    def start(services, **kw):
        s = Svinit(bindir, services, **kw)
        made.append(s)
        return s

    yield start
    for s in made:
        s.cleanup()


def pid_alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return False
