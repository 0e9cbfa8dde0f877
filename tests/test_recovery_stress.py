"""svinit killed with SIGKILL 50 times in a row at random moments (issue 7), while services
start, stop and crash, and while the next svinit is still taking them back. oneit (the
project's, with its relaunch pause shortened) relaunches it each time and reports the
exits it reaps.

At the end: every service that should run runs exactly once (counted in /proc), nothing
else of the test runs, no scripted service ran twice, and no exit was missed (each
killed process was replaced by exactly one new run; the self-crashing ones go on).
"""
import os
import random
import signal
import time

from test_recovery_lib import supervised, cmdline, marked, stat_fields  # noqa: F401  (fixture)
from toybox import protocol

KILLS = 50


def sh(script):
    quoted = script.replace("\\", "\\\\").replace('"', '\\"').replace("$", "$$")
    return 'command = /bin/sh -c "%s"\n' % quoted


def long_running(name, number):
    # Each logs its start, then becomes `sleep NUMBER`, unique to the service.
    return sh("echo $$ >> @ROOT@/runs.%s; exec /bin/sleep %d" % (name, number)) + \
        "restart-delay = 0.05\nrestart-limit-count = 0\n"


SLEEPERS = {"p1": 10001, "p2": 10002, "p3": 10003, "q1": 10011, "q2": 10012,
            "n1": 10021, "n2": 10022, "t1": 10031, "t2": 10032, "t3": 10033}
HARD, SOFT, NORESTART, TOGGLED = ("p1", "p2", "p3"), ("q1", "q2"), ("n1", "n2"), ("t1", "t2", "t3")
SCRIPTS = ("s1", "s2", "s3", "s4")
FLAPPERS = ("f1", "f2")


def services():
    svc = {name: long_running(name, number) for name, number in SLEEPERS.items()}
    for name in NORESTART:
        svc[name] += "restart = no\n"
    for i, name in enumerate(SCRIPTS):
        svc[name] = "type = scripted\n" + sh("echo x >> @ROOT@/ran.%s; sleep 0.2" % name) + \
            ("depends-on: %s\n" % SCRIPTS[i - 1] if i else "")
    for name in FLAPPERS:
        svc[name] = sh("echo $$ >> @ROOT@/runs.%s; sleep 0.4; exit 1" % name) + \
            "restart-delay = 0.1\nrestart-limit-count = 0\n"
    svc["bg"] = "type = bgprocess\npid-file = @ROOT@/bg.pid\nrestart-delay = 0.05\n" \
        "restart-limit-count = 0\n" + sh("/bin/sleep 10041 & echo $! > @ROOT@/bg.pid")
    svc["boot"] = "type = internal\n" + "".join(
        "depends-on: %s\n" % n for n in HARD + (SCRIPTS[-1],)) + "".join(
        "waits-for: %s\n" % n for n in SOFT + NORESTART + FLAPPERS + ("bg",))
    return svc


def instances(sv, number):
    """PIDs of this test running `sleep NUMBER` (after the exec: the run is logged by then)."""
    want = b"/bin/sleep\0%d\0" % number
    return [p for p in marked(sv.mark) if cmdline(p) == want]


def lines(sv, name):
    return sv.read(name).splitlines()


def about(err, name):
    return "\n".join(line for line in err.splitlines()
                     if line.startswith(("svinit: %s:" % name, "svinit: restarted", "oneit")))


def try_call(sv, cmd, **args):
    try:
        return sv.call(cmd, timeout=3, **args)
    except (protocol.Unreachable, protocol.ProtocolError, OSError):
        return None


def test_fifty_kills_in_a_row(supervised):
    sv = supervised(services(), fast=True)
    kill_and_check(sv, KILLS)


def own_pid(pid):
    return pid


def kill_and_check(sv, count, inner=own_pid):
    """Kill svinit `count` times, then check. inner(pid): a PID of ours as svinit sees it
    (in its PID namespace)."""
    seed = os.environ.get("RECOVERY_SEED", str(time.time()))
    rng = random.Random(seed)
    sv.wait_for(lambda: sv.status("boot")["state"] == "started", timeout=30, what="boot")
    kills = {name: set() for name in SLEEPERS}     # the PIDs killed
    # (Not bg's daemon: killed between its launcher's exit and svinit's look at the pid
    # file, it is a failed start, which is not restarted.)
    victims = [n for n in SLEEPERS if n not in NORESTART]
    killed_norestart = set()

    def kill_a_service(pool):
        name = rng.choice(pool)
        for pid in instances(sv, SLEEPERS[name]):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                continue        # it died between the listing and now (killed before, stopped)
            kills[name].add(pid)
            if name in NORESTART:
                killed_norestart.add(name)

    old = None
    for i in range(count):
        for _ in range(rng.randrange(3)):
            if rng.random() < 0.6:
                kill_a_service(victims)
            else:
                name = rng.choice(TOGGLED)
                try_call(sv, rng.choice(("start", "stop")), name=name, wait=False)
            time.sleep(rng.uniform(0, 0.1))
        # Sometimes while the new svinit is still taking the services back.
        time.sleep(rng.choice((0, 0.02, 0.1, 0.3, 0.6)))
        old = sv.wait_for(lambda: (lambda p: p not in (None, old) and p)(sv.svinit_pid()),
                          what="svinit #%d" % i)
        os.kill(old, signal.SIGKILL)
        if rng.random() < 0.5:      # while no svinit runs
            kill_a_service(victims + [n for n in NORESTART if n not in killed_norestart])
    sv.wait_for(lambda: sv.svinit_pid() not in (None, old) and sv.answering(), what="the last svinit")
    final = {name: rng.choice(("start", "stop")) for name in TOGGLED}
    for name, cmd in final.items():
        assert sv.call(cmd, name=name, force=True)["ok"], name
    should_run = set(HARD + SOFT + ("bg",)) | {n for n in NORESTART if n not in killed_norestart} \
        | {n for n, cmd in final.items() if cmd == "start"}

    def settled():
        st = {s["name"]: s for s in sv.call("list")["services"]}
        live = {inner(p) for p in marked(sv.mark)}
        # A process that died while no svinit ran, whose exit oneit reported to a svinit
        # killed before it acted on it, is known dead to the next one only after REPORT_WAIT
        # (2 s) without a report: the stopped ones may take that long to say so.
        return all(st[n]["state"] == "started" and st[n]["pid"] in live for n in should_run) \
            and all(st[n]["state"] == "stopped" for n in SLEEPERS if n not in should_run) and st
    st = sv.wait_for(settled, timeout=30, what="every service up (seed %s)" % seed)
    time.sleep(1.0)     # anything that would start twice has had time to
    st = sv.wait_for(settled, timeout=30, what="every service up (seed %s)" % seed)
    err = sv.stderr()
    assert "Traceback" not in err, (seed, err)

    for name, number in SLEEPERS.items():
        running = instances(sv, number)
        expected = 1 if name in should_run else 0
        assert len(running) == expected, (seed, name, running, about(err, name))
        if expected:
            assert [inner(p) for p in running] == [st[name]["pid"]], (seed, name)
        else:
            assert st[name]["state"] == "stopped", (seed, name, sorted(st[name].items()),
                                                    sv.read(os.path.join(sv.piddir, "services", name)),
                                                    about(err, name))
    assert [inner(p) for p in instances(sv, 10041)] == [st["bg"]["pid"]]
    for name in HARD + SOFT:
        # One run to begin with, and one more for each kill: no exit missed, no double start.
        assert len(lines(sv, "runs." + name)) == len(kills[name]) + 1, \
            (name, sorted(kills[name]), lines(sv, "runs." + name), about(err, name))
    for name in NORESTART:
        assert len(lines(sv, "runs." + name)) == 1, name
    for name in SCRIPTS:
        assert lines(sv, "ran." + name) == ["x"], name
    assert st["boot"]["state"] == "started"
    # The self-crashing ones are still being restarted (their exits are not lost).
    flaps = {name: len(lines(sv, "runs." + name)) for name in FLAPPERS}
    sv.wait_for(lambda: all(len(lines(sv, "runs." + n)) > flaps[n] + 1 for n in FLAPPERS),
                what="the flappers to go on")

    # Nothing else of this test runs: oneit, svinit, the services' processes and their
    # short-lived children (a flapper's `sleep 0.4`).
    me = {sv.proc.pid, sv.svinit_pid()}
    for p in marked(sv.mark):
        if cmdline(p).split(b"\0")[2:3] and cmdline(p).split(b"\0")[2].endswith(b"/oneit"):
            me.add(p)

    def strays():
        st = {s["name"]: s for s in sv.call("list")["services"]}
        pids = {s["pid"] for s in st.values() if s["pid"]}
        out = []
        for p in marked(sv.mark):
            parent = (stat_fields(p) or [0, 0])[1]
            if p not in me and inner(p) not in pids and not (parent and inner(int(parent)) in pids):
                out.append(p)
        return out
    sv.wait_for(lambda: not strays(), timeout=10, what="no strays (%s)" % strays())
