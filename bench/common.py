"""Shared by the benchmark cases: timing commands side by side, and result rows."""
import os
import statistics
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
OUTDIR = os.path.join(REPO, "bench", "results")     # run.py --out changes it


def image_python():
    """The interpreter the applets run under in the benchmarks: the one build.sh packs into
    the image (initramfs/mkimage.py's default: the distribution's python3.X when it is
    installed, else this one). Every Python floor runs under it too, so that ratios to a
    floor compare the same interpreter. (A pyenv build linked to libpython.so starts 1.5 ms
    slower than Debian's static one: each svinit and ctl figure would carry that.)"""
    sys.path.insert(0, os.path.join(REPO, "initramfs"))
    import mkimage
    return mkimage.default_python()


PYTHON = image_python()


def spawn_wait(argv, env=None, cpu=False, fails=False):
    """Run argv to completion with stdout/stderr on /dev/null; return wall seconds, or
    with cpu=True the CPU seconds (user + system) it used: on a loaded machine that is
    its cost, without the time it waited for a CPU. It must exit 0, or with fails=True
    anything but 0."""
    devnull = os.open(os.devnull, os.O_RDWR)
    try:
        t0 = time.perf_counter()
        pid = os.posix_spawn(argv[0], argv, env if env is not None else os.environ,
                             file_actions=[(os.POSIX_SPAWN_DUP2, devnull, 1),
                                           (os.POSIX_SPAWN_DUP2, devnull, 2)])
        _, status, usage = os.wait4(pid, 0)
        elapsed = time.perf_counter() - t0
        if cpu:
            elapsed = usage.ru_utime + usage.ru_stime
    finally:
        os.close(devnull)
    if (os.waitstatus_to_exitcode(status) != 0) != fails:
        raise RuntimeError("%s exited %d" % (" ".join(argv), os.waitstatus_to_exitcode(status)))
    return elapsed


def interleaved(commands, rounds, env=None, cpu=False):
    """Time each command `rounds` times, round-robin so load changes hit all alike.

    Returns {label: median seconds} (CPU seconds with cpu=True)."""
    samples = {label: [] for label in commands}
    for label, argv in commands.items():   # warm the page cache and .pyc files
        spawn_wait(argv, env)
    for _ in range(rounds):
        for label, argv in commands.items():
            samples[label].append(spawn_wait(argv, env, cpu))
    return {label: statistics.median(v) for label, v in samples.items()}


def row(case, ours, peer_name, peer, goal_ratio, unit="s", lower_is_better=True, note="", goal_text=None):
    """One table row. ratio = ours / peer; the goal is met when ratio <= goal_ratio
    (or >= for higher-is-better figures); goal_text words the goal when "<= Nx"
    would not (">= 10x faster")."""
    ratio = ours / peer if peer else None
    if ratio is None or goal_ratio is None:
        met = None
    elif lower_is_better:
        met = ratio <= goal_ratio
    else:
        met = ratio >= goal_ratio
    return {"case": case, "ours": ours, "peer_name": peer_name, "peer": peer, "ratio": ratio,
            "goal": None if goal_ratio is None else goal_text or ("<= %gx" % goal_ratio if lower_is_better
                                                                  else ">= %gx" % goal_ratio),
            "met": met, "unit": unit, "note": note}


def spread(ours, theirs, goal=None):
    """How noisy a ratio is: the lowest and highest of the rounds' own ratios (each round
    measures both sides one after the other: a slow moment of the host weighs on both),
    and with a goal, in how many rounds the ratio was within it."""
    ratios = [a / b for a, b in zip(ours, theirs) if b]
    if len(ratios) < 2:
        return "one round"
    text = "rounds' ratios %.2f-%.2fx" % (min(ratios), max(ratios))
    if goal is not None:
        text += ", within %gx in %d of %d" % (goal, sum(r <= goal for r in ratios), len(ratios))
    return text


def unavailable(case, peer_name, why):
    return {"case": case, "ours": None, "peer_name": peer_name, "peer": None, "ratio": None,
            "goal": None, "met": None, "unit": "", "note": "unavailable: " + why}


def error(case, why, peer_name=None):
    """A case (or one peer's part of it) that could not be measured: the table says why."""
    return {"case": case, "ours": None, "peer_name": peer_name, "peer": None, "ratio": None,
            "goal": None, "met": False, "unit": "", "note": "error: %s" % why}


def make_bindir(path):
    """Applet links to the checkout, its modules byte-compiled first, as an installed
    package or the image has them: with PYTHONDONTWRITEBYTECODE set (as on CI machines)
    every run would otherwise compile the sources again and the start-up figures would
    measure the compiler. Compiled by PYTHON, which runs them."""
    import subprocess
    subprocess.run([PYTHON, "-S", "-m", "compileall", "-q"]
                   + [os.path.join(REPO, package) for package in ("toybox", "applets")],
                   check=True, stdout=subprocess.DEVNULL)
    sys.path.insert(0, os.path.join(REPO, "tests"))
    from bindir import make_bindir as make
    return make(path, PYTHON)
