"""Service managers side by side: svinit, Dinit, runit, s6 and supervisord, each with
the same N trivial services (`sleep`, restarted when they die, no delay configured;
see managers.py for each one's configuration). For each manager, in one run, the
managers taking turns (5 rounds, medians; the goals' rows also say how the rounds' own
ratios spread):
  - start N: from launching the manager until all N service processes have exec'd
    `sleep` (found by their exact command lines in the manager's process tree)
  - memory: PSS of the whole supervision tree (the manager, and runsv / s6-supervise
    per service for runit / s6), the services themselves left out; RSS sum in the note
  - status: one status query of one service (`ctl status`, `dinitctl status`,
    `sv status`, `s6-svstat`, `supervisorctl status`), beside `python3 -S -c pass`
  - restart: SIGKILL one service's process; time until its new process has exec'd
    (a different service each time, each up for more than 1 s: runsv and
    s6-supervise pause 1 s before restarting a service that ran for less)
  - stop N: from the stop request until the manager, its supervisors and all N
    services are gone
Status and restart are measured once, at the largest N. Every process is killed
by PID at the end, the whole tree. Start and stop are timed by the kernel's process
events where it gives them (events.py: root), else by polling /proc.
"""
import os
import statistics
import subprocess
import sys
import tempfile
import time

from bench import events, procs
from bench.common import PYTHON, error, row, spawn_wait, spread, unavailable
from bench.managers import ALL, BASE, FLOORS, SAME_WORK, VARIANTS, last_line
from bench.peers import Unavailable

START_TIMEOUT = 120
STOP_TIMEOUT = 60
STATUS_BUDGET = 15.0     # seconds of status queries per manager at most (supervisorctl is slow)


class Failed(Exception):
    pass


def leftovers(base, n):
    """PIDs of service processes of an earlier manager still running (there must be none)."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            words = procs.cmdline(int(entry)).split(b"\0")
            if len(words) == 3 and words[0] == b"/bin/sleep" and words[1].isdigit() \
                    and base < int(words[1]) <= base + n:
                out.append(int(entry))
    return out


def status_latency(argv, rounds):
    """Median of `argv` and of the floor, timed alternately, within STATUS_BUDGET."""
    floor = [PYTHON, "-S", "-c", "pass"]
    spawn_wait(argv)
    spawn_wait(floor)
    ours, base = [], []
    t0 = time.perf_counter()
    while len(ours) < rounds and (len(ours) < 3 or time.perf_counter() - t0 < STATUS_BUDGET):
        ours.append(spawn_wait(argv))
        base.append(spawn_wait(floor))
    return statistics.median(ours), statistics.median(base)


def restart_latency(svc, rounds, ev=None):
    """Median time from SIGKILL of a service's process to its new process's exec: from the
    kernel's exec events with ev (a poll of /proc with 1000 services up takes about as
    long as the figure itself), else polled."""
    out = []
    for i in range(1, rounds + 1):
        pid = svc.forget(i)
        if ev is not None:
            ev.take()
        t0_ns = time.monotonic_ns()
        t0 = time.perf_counter()
        os.kill(pid, 9)
        if ev is not None:
            execs = events.wait_execs(ev, svc.number, [i], 10, interval=0.0005)
            took = (execs[i] - t0_ns) / 1e9 if i in execs else None
            # svc learns the new process's PID (the next rounds and the stop need it).
            if took is not None and procs.wait_for(lambda: svc.poll() and i in svc.pids, 10) is None:
                took = None
        else:
            took = procs.wait_for(lambda: svc.poll() and i in svc.pids, 10, interval=0.0005)
            took = None if took is None else time.perf_counter() - t0
        if took is None:
            raise Failed("service s%d was not restarted within 10 s" % i)
        out.append(took)
        time.sleep(0.05)
    return statistics.median(out)


def startup(cls, tmp, rounds):
    """Medians of (launch to control socket, with one service: the manager's own start-up,
    the part of the start figure before it can spawn anything; its control client's stop
    request to a socket nobody listens on: the part of the stop figure that is the client's)."""
    d = os.path.join(tmp, "startup-" + cls.name)
    os.makedirs(d)
    mgr = cls(d, 1)
    took = []
    for _ in range(rounds):
        if os.path.exists(mgr.sock):
            os.unlink(mgr.sock)
        before = set(procs.children(os.getpid()))
        t0 = time.perf_counter()
        proc = mgr.launch()
        try:
            if procs.wait_for(lambda: os.path.exists(mgr.sock) or proc.poll() is not None,
                              START_TIMEOUT, interval=0.0005) is None or proc.poll() is not None:
                raise Failed("%s made no control socket: %s" % (mgr.name, last_line(mgr.log)))
            took.append(time.perf_counter() - t0)
            mgr.stop(proc)
            proc.wait(STOP_TIMEOUT)
        finally:
            cleanup(proc, before)
    client = statistics.median(spawn_wait(mgr.client_argv(), fails=True) for _ in range(rounds))
    return statistics.median(took), client


def cycle(mgr, n, extras, rounds):
    """One life of a manager: start N, memory, (status, restart,) stop. Returns a dict."""
    stale = leftovers(BASE, n)
    if stale:
        raise Failed("service processes of an earlier run are still there: %s" % stale[:5])
    before = set(procs.children(os.getpid()))
    out = {}
    ev = events.open_events()
    if ev is not None:
        ev.take()       # what happened before: not ours
    t0_ns = time.monotonic_ns()
    t0 = time.perf_counter()
    proc = mgr.launch()
    try:
        svc = procs.Services(proc.pid, mgr.depth, BASE)
        if ev is not None:
            execs = events.wait_execs(ev, svc.number, range(1, n + 1), START_TIMEOUT,
                                      alive=lambda: proc.poll() is None)
            took = max(execs.values()) if len(execs) == n else None
        else:
            took = procs.wait_for(lambda: svc.poll() >= n or proc.poll() is not None, START_TIMEOUT)
        if proc.poll() is not None:
            raise Failed("%s exited with status %s while starting: %s"
                         % (mgr.name, proc.returncode, last_line(mgr.log)))
        if took is None:
            raise Failed("%d of %d services running after %d s"
                         % (len(execs) if ev is not None else len(svc.pids), n, START_TIMEOUT))
        if ev is not None:
            out["start"] = (took - t0_ns) / 1e9
            if procs.wait_for(lambda: svc.poll() >= n, 10) is None:
                raise Failed("%d of %d service processes found below %s" % (len(svc.pids), n, mgr.name))
        else:
            out["start"] = time.perf_counter() - t0
        up = time.perf_counter()
        time.sleep(0.5)        # let the supervisors finish writing their state
        pss, rss = procs.memory_kb(svc.supervisors())
        out["pss"], out["rss"] = pss / 1024.0, rss / 1024.0
        out["supervisors"] = len(svc.supervisors())
        if extras:
            out["status"], out["floor"] = status_latency(mgr.status_argv(n), rounds["status"])
            if mgr.name != "supervisord":
                time.sleep(max(0.0, 1.5 - (time.perf_counter() - up)))
                out["restart"] = restart_latency(svc, rounds["restart"], ev)
        svc.poll()
        tree = svc.supervisors() + list(svc.pids.values())
        if ev is not None:
            ev.take()
        t0_ns = time.monotonic_ns()
        t0 = time.perf_counter()
        mgr.stop(proc)
        if ev is not None:
            exits = events.wait_exits(ev, tree, STOP_TIMEOUT)
            if len(exits) < len(tree):
                raise Failed("%s did not stop within %d s" % (mgr.name, STOP_TIMEOUT))
            out["stop"] = (max(exits.values()) - t0_ns) / 1e9
            return out
        # Polled every millisecond (a waitpid while the manager runs): the figures are
        # 15-40 ms at N = 200, where 5 ms steps added 2.5 ms to each on average.
        took = procs.wait_for(lambda: proc.poll() is not None and all(procs.gone(p) for p in tree),
                              STOP_TIMEOUT, interval=0.001)
        if took is None:
            raise Failed("%s did not stop within %d s" % (mgr.name, STOP_TIMEOUT))
        out["stop"] = time.perf_counter() - t0
        return out
    finally:
        if ev is not None:
            ev.close()
        cleanup(proc, before)


def cleanup(proc, before):
    """Kill the manager's whole tree by PID, and whatever was orphaned to us since."""
    procs.kill_tree(proc.pid, keep=(proc.pid,))
    proc.wait(timeout=10)
    for pid in set(procs.children(os.getpid())) - before:
        procs.kill_tree(pid)


def medians(samples):
    """Per figure, the median over the cycles that measured it (status and restart: one)."""
    keys = {k for s in samples for k in s}
    return {k: statistics.median(s[k] for s in samples if k in s) for k in keys}


def run(quick):
    sizes = [50] if quick else [200, 1000]
    rounds = 1 if quick else 5
    extra_rounds = {"status": 5, "restart": 3} if quick else {"status": 20, "restart": 10}
    procs.reaper()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        startups = {}       # name: (own start-up, client's stop request), seconds
        for cls in ALL:
            if hasattr(cls, "client_argv"):       # the managers with a control socket
                try:
                    startups[cls.name] = startup(cls, tmp, rounds * 3)
                except (Unavailable, Failed, OSError, subprocess.SubprocessError):
                    pass        # the cycles below say what is wrong with it
        for n in sizes:
            d = os.path.join(tmp, "n%d" % n)
            os.makedirs(d)
            managers, broken = [], {}
            for cls in ALL + VARIANTS + SAME_WORK_CLASSES + FLOORS:
                try:
                    managers.append(cls(d, n))
                except Unavailable as e:
                    broken[cls.name] = "unavailable: %s" % e
            samples = {m.name: [] for m in managers}
            for r in range(rounds):
                order = managers[r % len(managers):] + managers[:r % len(managers)]
                for mgr in order:
                    if mgr.name in broken:
                        continue
                    try:
                        extras = r == 0 and n == sizes[-1] and mgr.name in ALL_NAMES
                        samples[mgr.name].append(cycle(mgr, n, extras, extra_rounds))
                    except (Failed, OSError, RuntimeError, ValueError, subprocess.SubprocessError) as e:
                        broken[mgr.name] = "error: %s" % e
                sys.stderr.write("bench: services n=%d round %d done\n" % (n, r + 1))
            got = {name: medians(s) for name, s in samples.items() if s and name not in broken}
            notes = {m.name: m.row_note for m in managers if hasattr(m, "row_note")}
            rows += table(n, got, broken, n == sizes[-1], startups, notes, samples)
    return rows


ALL_NAMES = [cls.name for cls in ALL]
SAME_WORK_CLASSES = [c for pair in SAME_WORK for c in pair[:2] if c not in ALL]
GOALS = {   # figure -> peer -> (goal ratio, goal text)
    "start": {"Dinit": (1.0, "<= 1x"), "supervisord": (0.1, ">= 10x faster")},
    "pss": {"runit": (1.0, "<= 1x"), "s6": (1.0, "<= 1x"), "supervisord": (1.0, "<= 1x")},
    "stop": {"Dinit": (1.0, "<= 1x")},
    "restart": {"runit": (1.0, "<= 1x"), "s6": (1.0, "<= 1x")},
}
LABELS = {"start": "start %d services", "pss": "supervision tree PSS, %d services",
          "stop": "stop %d services", "restart": "restart after a crash (%d services up)",
          "status": "status query (%d services)"}


def noise(fig, ours, peer, per_round, goal):
    """The rounds' own ratios of a start or stop figure (the two managers took their turns
    one after the other in each round), as a note's last part; "" without them."""
    if fig not in ("start", "stop") or not per_round or ours not in per_round or peer not in per_round:
        return ""
    a, b = per_round[ours], per_round[peer]
    if len(a) != len(b) or len(a) < 2:
        return ""
    return spread([x[fig] for x in a], [x[fig] for x in b], goal)


def table(n, got, broken, extras, startups, row_notes, per_round=None):
    """The rows of one N. got: {manager: {figure: median}}; per_round: {manager: [{figure:
    value} per round]}, for how much a goal's ratio moved from round to round."""
    rows = []
    notes = {cls.name: cls.note for cls in ALL}
    figures = ["start", "pss", "stop"] + (["status", "restart"] if extras else [])
    for fig in figures:
        label = LABELS[fig] % n
        unit = "MB" if fig == "pss" else "s"
        if "svinit" in broken:
            for cls in ALL[1:]:
                r = error(label, "svinit: " + broken["svinit"].partition(": ")[2], cls.name)
                if fig in got.get(cls.name, {}):
                    r.update(peer=got[cls.name][fig], unit=unit)   # the peer's figure still stands
                rows.append(r)
            continue
        ours = got["svinit"]
        if fig == "status":
            rows.append(row(label, ours["status"], "python3 -S -c pass", ours["floor"], 1.5,
                            note="floor measured alternately with ctl status"))
        for peer in [cls.name for cls in ALL if cls.name != "svinit"]:
            if fig == "restart" and peer == "supervisord":
                continue
            if peer in broken:
                rows.append(broken_row(label, broken[peer], peer))
                continue
            goal, text = GOALS.get(fig, {}).get(peer, (None, None))
            note = notes.get(peer, "") if fig == "start" else ""
            if fig == "start" and "svinit" in startups and peer in startups:
                note = ("of which the manager's own start-up, launch to control socket with one "
                        "service: svinit %.1f / %s %.1f ms" % (startups["svinit"][0] * 1000, peer,
                                                                startups[peer][0] * 1000))
            if fig == "restart":
                note = getattr(next(c for c in ALL if c.name == peer), "restart_note", "")
            if fig == "pss":
                note = "RSS sums %.1f / %.1f MB" % (ours["rss"], got[peer]["rss"])
            if fig == "stop" and "svinit" in startups and peer in startups:
                note = ("of which the stop request's client alone (no manager listening): "
                        "ctl %.1f / %s %.1f ms" % (startups["svinit"][1] * 1000, peer.lower() + "ctl",
                                                   startups[peer][1] * 1000))
            if fig == "status":
                note = "each beside its own floor: %.1f / %.1f ms" % (ours["floor"] * 1000,
                                                                      got[peer]["floor"] * 1000)
            if goal is not None:
                note = "; ".join(t for t in (note, noise(fig, "svinit", peer, per_round, goal)) if t)
            rows.append(row(label, ours[fig], peer, got[peer][fig], goal, unit=unit, note=note,
                            goal_text=text))
        if fig in ("start", "stop"):
            rows += same_work_rows(fig, label, got, broken, per_round)
            rows += variant_rows(fig, label, ours, got, broken, row_notes)
            rows += floor_rows(fig, label, ours, got, broken, row_notes)
    return rows


def same_work_rows(fig, label, got, broken, per_round=None):
    """svinit beside Dinit where both do the same with the services' output (Dinit's
    default discards it, svinit's keeps the last lines): the goal, for the same work."""
    rows = []
    for ours, peer, what in SAME_WORK:
        ours, peer = ours.name, peer.name
        case = "%s, %s" % (label, what)
        why = broken.get(ours) or broken.get(peer)
        if why:
            rows.append(broken_row(case, why, peer))
        elif fig in got.get(ours, {}) and fig in got.get(peer, {}):
            goal, text = GOALS[fig]["Dinit"]
            note = "; ".join(t for t in ("this project's column: %s" % ours,
                                         noise(fig, ours, peer, per_round, goal)) if t)
            rows.append(row(case, got[ours][fig], peer, got[peer][fig], goal, goal_text=text,
                            note=note))
    return rows


def floor_rows(fig, label, ours, got, broken, notes):
    """svinit beside the least a supervisor in Python does; the note says how that floor
    compares with the peers that have a goal, as far as they were measured."""
    rows = []
    for cls in FLOORS:
        if cls.name in broken:
            rows.append(broken_row(label, broken[cls.name], cls.name))
            continue
        if cls.name not in got:
            continue
        floor = got[cls.name][fig]
        beside = ["%s %.2fx" % (peer, floor / got[peer][fig]) for peer in GOALS.get(fig, {})
                  if fig in got.get(peer, {}) and got[peer][fig]]
        note = notes.get(cls.name, "")
        if beside:
            note += "; the floor itself vs " + ", ".join(beside)
        rows.append(row(label, ours[fig], cls.name, floor, None, note=note))
    return rows


def broken_row(case, why, peer_name):
    """The row of a manager that could not be measured: why is "unavailable: ..." or
    "error: ...", as run() records it."""
    kind, _, text = why.partition(": ")
    if kind == "unavailable":
        return unavailable(case, peer_name, text)
    return error(case, text, peer_name)


def variant_rows(fig, label, ours, got, broken, notes):
    """svinit set up otherwise, beside svinit as usual (this project's column: the variant)."""
    rows = []
    for cls in VARIANTS:
        case = "%s: %s" % (label, cls.name)
        if cls.name in broken:
            rows.append(broken_row(case, broken[cls.name], "svinit"))
        elif cls.name in got:
            rows.append(row(case, got[cls.name][fig], "svinit, pid dir on tmpfs", ours[fig], None,
                            note=notes.get(cls.name, "")))
    return rows
