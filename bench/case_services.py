"""Service managers side by side: svinit against Dinit, on the very same service files.

Both read Dinit's format, so one directory serves both: N process services running
`sleep`, an internal `boot` that depends on all of them, an internal `idle` to start
the manager with, and `crasher` (restart, no delay) for the restart case. For each
manager, in one run:
  - start N: time for `CTL start boot` to return (it waits until all N are started)
  - RSS of the manager process with N running
  - status latency: `CTL status s1`, beside `python3 -S -c pass` (the floor)
  - restart latency: SIGKILL crasher's process, time until the manager runs a new one
  - stop N: time from `CTL shutdown` until the manager has stopped everything and exited
"""
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from bench.common import interleaved, make_bindir, row, spawn_wait, unavailable
from bench.peers import Unavailable, ensure_dinit


def write_services(directory, n):
    os.makedirs(directory)
    names = ["s%d" % i for i in range(1, n + 1)]
    for name in names:
        with open(os.path.join(directory, name), "w") as f:
            f.write("type = process\ncommand = /bin/sleep 100000\nrestart = no\n")
    with open(os.path.join(directory, "boot"), "w") as f:
        f.write("type = internal\n" + "".join("depends-on: %s\n" % s for s in names))
    with open(os.path.join(directory, "idle"), "w") as f:
        f.write("type = internal\n")
    with open(os.path.join(directory, "crasher"), "w") as f:
        f.write("type = process\ncommand = /bin/sleep 100001\nrestart = yes\nrestart-delay = 0\n"
                "restart-limit-count = 0\n")


def children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().split(b"\0")
    except OSError:
        return []


def rss_mb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


class Manager:
    def __init__(self, name, start_argv, ctl_argv):
        self.name = name
        self.start_argv = start_argv
        self.ctl = ctl_argv
        self.proc = None

    def __enter__(self):
        self.proc = subprocess.Popen(self.start_argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 30
        while subprocess.run(self.ctl + ["status", "idle"], capture_output=True).returncode != 0:
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError("%s did not come up" % self.name)
            time.sleep(0.05)
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for pid in children(self.proc.pid):
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass

    def crasher_pid(self):
        for pid in children(self.proc.pid):
            if b"100001" in cmdline(pid):
                return pid
        return None


def measure(mgr, rounds):
    out = {}
    out["start"] = spawn_wait(mgr.ctl + ["start", "boot"])
    out["rss"] = rss_mb(mgr.proc.pid)
    lat = interleaved({"ctl": mgr.ctl + ["status", "s1"],
                       "floor": [sys.executable, "-S", "-c", "pass"]}, rounds)
    out["status"], out["floor"] = lat["ctl"], lat["floor"]
    spawn_wait(mgr.ctl + ["start", "crasher"])
    restarts = []
    for _ in range(rounds):
        old = mgr.crasher_pid()
        t0 = time.perf_counter()
        os.kill(old, 9)
        while True:
            new = mgr.crasher_pid()
            if new and new != old:
                break
            if time.perf_counter() - t0 > 10:
                raise RuntimeError("%s did not restart crasher" % mgr.name)
            time.sleep(0.0002)
        restarts.append(time.perf_counter() - t0)
        time.sleep(0.3)   # stay clear of restart limits measured over a window
    out["restart"] = statistics.median(restarts)
    t0 = time.perf_counter()
    subprocess.run(mgr.ctl + ["shutdown"], capture_output=True, timeout=120)
    mgr.proc.wait(timeout=120)
    out["stop"] = time.perf_counter() - t0
    return out


def run(quick):
    sizes = [50] if quick else [200, 1000]
    rounds = 5 if quick else 20
    rows = []
    try:
        dinit, dinitctl = ensure_dinit()
    except Unavailable as e:
        dinit = None
        missing = str(e)
    with tempfile.TemporaryDirectory() as tmp:
        bindir = make_bindir(os.path.join(tmp, "bin"))
        for n in sizes:
            svc = os.path.join(tmp, "svc%d" % n)
            write_services(svc, n)
            sock = os.path.join(tmp, "svinit.sock")
            piddir = os.path.join(tmp, "pids%d" % n)
            ours = Manager("svinit", [os.path.join(bindir, "svinit"), "-d", svc, "-p", piddir, "-s", sock, "idle"],
                           [os.path.join(bindir, "ctl"), "-s", sock])
            with ours:
                o = measure(ours, rounds)
            if dinit is None:
                rows.append(unavailable("start %d services" % n, "Dinit", missing))
                continue
            dsock = os.path.join(tmp, "dinit.sock")
            peer = Manager("dinit", [dinit, "-u", "-q", "-d", svc, "-p", dsock, "idle"], [dinitctl, "-p", dsock])
            with peer:
                d = measure(peer, rounds)
            rows.append(row("start %d services" % n, o["start"], "Dinit", d["start"], 1.0))
            rows.append(row("manager RSS, %d services" % n, o["rss"], "Dinit", d["rss"], None, unit="MB"))
            rows.append(row("stop %d services" % n, o["stop"], "Dinit", d["stop"], 1.0))
            if n == sizes[0]:
                rows.append(row("status query (ctl status)", o["status"], "python3 -S -c pass", o["floor"], 1.5))
                rows.append(row("status query (ctl status)", o["status"], "dinitctl status", d["status"], None))
                rows.append(row("restart after crash, no delay", o["restart"], "Dinit", d["restart"], 1.0))
            shutil.rmtree(piddir, ignore_errors=True)
    return rows
