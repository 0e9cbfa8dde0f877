"""Container PID 1: N orphans exit at once; time for the init to reap them all, and its RSS.

Each init runs as PID 1 of a fresh PID namespace (`unshare --pid --fork --mount-proc`,
root only) with the same workload as its child: oneit -C against tini and dumb-init.
"""
import os
import statistics
import subprocess
import sys
import tempfile

from bench.common import make_bindir, row, spread, unavailable
from bench.peers import Unavailable, ensure_program

HERE = os.path.dirname(os.path.abspath(__file__))
GOALS = {"tini": 1.5}


def measure(init_argv, n, result):
    workload = [sys.executable, "-S", os.path.join(HERE, "orphans_workload.py"), str(n), result]
    subprocess.run(["unshare", "--pid", "--fork", "--mount-proc"] + init_argv + workload,
                   check=True, timeout=300, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(result) as f:
        seconds, rss = f.read().split()
    return float(seconds), int(rss) / 1024.0


def run(quick):
    case = "reap 1000 orphans (container PID 1)"
    if os.geteuid() != 0:
        return [unavailable(case, "tini", "needs root for a PID namespace")]
    n = 200 if quick else 1000
    rounds = 1 if quick else 7
    with tempfile.TemporaryDirectory() as tmp:
        bindir = make_bindir(os.path.join(tmp, "bin"))
        inits = {"oneit": [os.path.join(bindir, "oneit"), "-C"]}
        missing = {}
        for peer in ("tini", "dumb-init"):
            try:
                inits[peer] = [ensure_program(peer)] + (["-s", "--"] if peer == "tini" else [])
            except Unavailable as e:
                missing[peer] = str(e)
        times = {k: [] for k in inits}
        rss = {k: [] for k in inits}
        for _ in range(rounds):
            for name, argv in inits.items():
                t, r = measure(argv, n, os.path.join(tmp, "result"))
                times[name].append(t)
                rss[name].append(r)
    return table(n, times, rss, missing)


def table(n, times, rss, missing):
    """The rows: times and rss are {init: [one figure per round]}; missing {peer: why}."""
    label = "reap %d orphans (container PID 1)" % n
    rows = []
    ours_t, ours_rss = statistics.median(times["oneit"]), statistics.median(rss["oneit"])
    for peer in ("tini", "dumb-init"):
        if peer in missing:
            rows.append(unavailable(label, peer, missing[peer]))
            continue
        goal = GOALS.get(peer)
        noisy = goal is not None and len(times["oneit"]) > 1
        rows.append(row(label, ours_t, peer, statistics.median(times[peer]), goal,
                        note=spread(times["oneit"], times[peer], goal) if noisy else ""))
        rows.append(row("PID 1 RSS", ours_rss, peer, statistics.median(rss[peer]), None, unit="MB",
                        note="a Python interpreter costs ~10 MB"))
    return rows
