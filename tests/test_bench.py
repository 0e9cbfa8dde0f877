"""The benchmarks keep working: `bench/run.py --quick` on the cases that need no VM
produces a well-formed table, and leaves no process behind; `./build.sh bench --quick
boot` (one round of each QEMU boot, about 40 s) gives the boot case's rows and its
picture. No timing is asserted here: speed is what the table reports, not what a test
may fail on.
"""
import json
import os
import re
import subprocess
import sys
import time

import pytest

import qemu
from conftest import REPO
from qemu import run_tree

CASES = ["startup", "orphans", "services", "readopt"]
SERVICE_BASE = 7300000      # bench/managers.py: service i runs `sleep BASE+i`


def our_sleeps():
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/%s/cmdline" % entry, "rb") as f:
                    words = f.read().split(b"\0")
            except OSError:
                continue
            if len(words) == 3 and words[0] == b"/bin/sleep" and words[1].isdigit() \
                    and SERVICE_BASE < int(words[1]) < SERVICE_BASE + 100000:
                out.append(int(entry))
    return out


def rows_of(out):
    """The rows of a run's results.json."""
    with open(out / "results.json") as f:
        return json.load(f)["rows"]


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    p = run_tree([sys.executable, os.path.join(REPO, "bench", "run.py"), "--quick", "--out", str(out)]
                 + CASES, timeout=400)
    return p, out


def test_quick_run_exits_0_and_prints_the_table(quick_run):
    p, _ = quick_run
    assert p.returncode == 0, p.stderr
    head = p.stdout.splitlines()[0].split()
    assert head[:2] == ["case", "this"] and head[-1] == "met", p.stdout


def test_every_row_has_a_ratio_or_says_why_not(quick_run):
    _, out = quick_run
    with open(out / "results.json") as f:
        results = json.load(f)
    assert results["quick"] is True
    rows = results["rows"]
    assert rows
    for r in rows:
        assert set(r) >= {"case", "ours", "peer_name", "peer", "ratio", "goal", "met", "unit", "note"}, r
        if r["ratio"] is None:
            assert r["note"].startswith(("unavailable: ", "error: ")) or \
                (r["ours"] is not None and r["goal"]), r
        else:
            assert r["ratio"] == pytest.approx(r["ours"] / r["peer"]), r
            assert r["met"] in (True, False, None), r
            if r["goal"]:
                assert r["met"] is not None, r


def test_the_python_figures_run_under_the_interpreter_the_image_packs(quick_run):
    # Not the one running the tests (here a pyenv build, whose start is slower): the
    # figures describe svinit and ctl as the image runs them, floors alike.
    sys.path.insert(0, os.path.join(REPO, "initramfs"))
    import mkimage
    _, out = quick_run
    rows = rows_of(out)
    first = [r for r in rows if r["case"].startswith("start-up: ")][0]
    assert first["note"].endswith("runs under %s" % mkimage.default_python()), first


def test_every_case_is_in_the_table(quick_run):
    _, out = quick_run
    rows = rows_of(out)
    cases = " ".join(r["case"] for r in rows)
    errors = ["%s: %s" % (r["case"], r["note"]) for r in rows if (r["note"] or "").startswith("error")]
    for word in ("start-up", "orphans", "start 50 services", "supervision tree", "stop 50 services",
                 "status query", "restart after a crash", "re-adopted"):
        assert word in cases, (word, errors)


def test_service_peers_each_have_rows(quick_run):
    _, out = quick_run
    rows = rows_of(out)
    peers = {r["peer_name"] for r in rows if r["case"] == "start 50 services"}
    assert peers == {"Dinit", "runit", "s6", "supervisord", "Python floor"}


def test_svinit_is_set_beside_the_least_a_python_supervisor_does(quick_run):
    """Not a peer: the start and stop figures of bench/floor_supervisor.py (a spawn loop,
    then a kill and reap loop), svinit's in the same row, and the floor beside the peers
    that carry a goal in the note."""
    _, out = quick_run
    rows = rows_of(out)
    by = {(r["case"], r["peer_name"]): r for r in rows}
    for fig in ("start", "stop"):
        r = by[("%s 50 services" % fig, "Python floor")]
        assert r["ours"] > 0 and r["peer"] > 0, r
        assert abs(r["ratio"] - r["ours"] / r["peer"]) < 1e-9, r
        assert r["goal"] is None and r["met"] is None, r
        assert "floor_supervisor.py" in r["note"], r
        # svinit's own figure, the same as in the case's other rows (but the rows of a peer
        # that could not be measured: Dinit's, where no source snapshot is beside the checkout).
        usual = {x["ours"] for x in rows if x["case"] == "%s 50 services" % fig and x["ours"] is not None}
        assert usual == {r["ours"]}, (r, usual)
        dinit = by[("%s 50 services" % fig, "Dinit")]
        if dinit["peer"] is not None:
            assert "the floor itself vs Dinit %.2fx" % (r["peer"] / dinit["peer"]) in r["note"], r
        else:
            assert "vs Dinit" not in r["note"], r


def test_svinit_with_its_pid_dir_on_disk_is_beside_its_usual_self(quick_run):
    """Not a peer: svinit's own start and stop figures, set beside the same run's rows
    with the pid dir on a tmpfs (or said unavailable where the temporary directory is a
    tmpfs too)."""
    _, out = quick_run
    rows = rows_of(out)
    for fig in ("start", "stop"):
        # svinit's usual figure, in every row of the case whose peer could be measured
        # (Dinit's is unavailable where there is no source snapshot beside the checkout).
        usual = {r["ours"] for r in rows if r["case"] == "%s 50 services" % fig and r["ours"] is not None}
        disk = [r for r in rows if r["case"] == "%s 50 services: svinit, pid dir on disk" % fig]
        assert len(usual) == 1 and len(disk) == 1, rows
        r = disk[0]
        assert r["peer_name"] == "svinit, pid dir on tmpfs", r
        if r["note"].startswith("unavailable"):
            assert "as the usual pid dir is" in r["note"], r
            continue
        assert r["ours"] > 0 and r["peer"] == usual.pop(), (r, usual)
        assert r["goal"] is None and r["met"] is None, r
        assert "pid dir on" in r["note"] and "tmpfs" not in r["note"], r


def test_svinit_and_dinit_are_also_set_side_by_side_doing_the_same_work(quick_run):
    """Dinit discards a service's output by default, svinit keeps its last lines: the
    start and stop goals are also judged with both keeping it (Dinit's log-type = buffer)
    and both discarding it (svinit's log-type = none)."""
    _, out = quick_run
    rows = rows_of(out)
    by = {(r["case"], r["peer_name"]): r for r in rows}
    for fig in ("start", "stop"):
        usual = by[("%s 50 services" % fig, "Dinit")]
        kept = by[("%s 50 services, output kept in memory by both" % fig, "Dinit, log-type = buffer")]
        gone = by[("%s 50 services, output discarded by both" % fig, "Dinit")]
        if usual["note"].startswith("unavailable"):
            assert kept["note"].startswith("unavailable") and gone["note"].startswith("unavailable")
            continue
        assert kept["ours"] == usual["ours"] and kept["peer"] > 0, (kept, usual)
        assert gone["peer"] == usual["peer"] and gone["ours"] > 0, (gone, usual)
        for r in (kept, gone):
            assert r["goal"] == "<= 1x" and r["met"] == (r["ratio"] <= 1.0), r
        assert kept["note"] == "this project's column: svinit", kept
        assert gone["note"] == "this project's column: svinit, log-type = none", gone


def test_same_work_rows_say_why_a_side_is_missing():
    sys.path.insert(0, REPO)
    from bench import case_services
    fig = {"start": 0.2, "pss": 8.0, "rss": 11.0, "stop": 0.03}
    names = ("svinit", "Dinit", "runit", "s6", "supervisord", "svinit, log-type = none")
    got = {name: dict(fig) for name in names}
    got["svinit, log-type = none"]["start"] = 0.15
    broken = {"Dinit, log-type = buffer": "error: dinit exited with status 1 while starting"}
    rows = case_services.table(200, got, broken, False, {}, {})
    by = {(r["case"], r["peer_name"]): r for r in rows}
    r = by[("start 200 services, output discarded by both", "Dinit")]
    assert (r["ours"], r["peer"], r["ratio"], r["met"]) == (0.15, 0.2, 0.15 / 0.2, True), r
    r = by[("start 200 services, output kept in memory by both", "Dinit, log-type = buffer")]
    assert r["note"] == "error: dinit exited with status 1 while starting" and r["met"] is False, r


def test_goal_rows_say_how_far_the_ratio_moved_between_rounds():
    sys.path.insert(0, REPO)
    from bench import case_services
    names = ("svinit", "Dinit", "runit", "s6", "supervisord", "svinit, log-type = none",
             "Dinit, log-type = buffer")
    per_round = {name: [{"start": 0.2, "stop": 0.03, "pss": 8.0, "rss": 11.0}
                        for _ in range(3)] for name in names}
    per_round["svinit"][1]["start"] = 0.22         # one round 1.10x Dinit, two 1.00x
    got = {name: case_services.medians(s) for name, s in per_round.items()}
    rows = case_services.table(200, got, {}, False, {}, {}, per_round)
    by = {(r["case"], r["peer_name"]): r for r in rows}
    assert by[("start 200 services", "Dinit")]["note"] == \
        "rounds' ratios 1.00-1.10x, within 1x in 2 of 3", by[("start 200 services", "Dinit")]
    kept = by[("start 200 services, output kept in memory by both", "Dinit, log-type = buffer")]
    assert kept["note"] == "this project's column: svinit; rounds' ratios 1.00-1.10x, within 1x in 2 of 3"
    assert "rounds'" not in by[("start 200 services", "runit")]["note"]      # no goal there
    assert "rounds'" not in by[("supervision tree PSS, 200 services", "runit")]["note"]
    # One round (--quick): nothing to say.
    rows = case_services.table(200, got, {}, False, {}, {}, {k: v[:1] for k, v in per_round.items()})
    assert [r["note"] for r in rows if r["case"] == "start 200 services" and r["peer_name"] == "Dinit"] == [""]


def test_the_reaping_row_says_how_far_the_ratio_moved_between_rounds():
    sys.path.insert(0, REPO)
    from bench import case_orphans
    times = {"oneit": [0.16, 0.17, 0.24], "tini": [0.16, 0.15, 0.15], "dumb-init": [0.16] * 3}
    rss = {k: [8000.0] * 3 for k in times}
    rows = case_orphans.table(1000, times, rss, {})
    by = {(r["case"], r["peer_name"]): r for r in rows}
    tini = by[("reap 1000 orphans (container PID 1)", "tini")]
    assert tini["met"] is True and abs(tini["ratio"] - 0.17 / 0.15) < 1e-9
    assert tini["note"] == "rounds' ratios 1.00-1.60x, within 1.5x in 2 of 3", tini
    assert "rounds'" not in by[("reap 1000 orphans (container PID 1)", "dumb-init")]["note"]
    # A missing peer is said so; one round (--quick) says nothing of rounds.
    rows = case_orphans.table(200, {k: v[:1] for k, v in times.items()},
                              {k: v[:1] for k, v in rss.items()}, {"dumb-init": "not installed"})
    by = {(r["case"], r["peer_name"]): r for r in rows}
    assert by[("reap 200 orphans (container PID 1)", "tini")]["note"] == ""
    assert by[("reap 200 orphans (container PID 1)", "dumb-init")]["note"] == "unavailable: not installed"


def test_markdown_table_matches_the_json(quick_run):
    _, out = quick_run
    rows = rows_of(out)
    lines = (out / "results.md").read_text().splitlines()
    assert lines[0].startswith("| case | this project | peer |")
    assert lines[1].startswith("|---|")
    assert len(lines) == 2 + len(rows)
    for line, r in zip(lines[2:], rows):
        assert line.startswith("| %s |" % r["case"])
        assert line.count(" | ") == 6


def test_no_service_process_is_left_behind(quick_run):
    assert our_sleeps() == []


def test_unknown_case_is_refused():
    p = subprocess.run([sys.executable, os.path.join(REPO, "bench", "run.py"), "nosuchcase"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 1
    assert "unknown case nosuchcase" in p.stderr


def test_the_disk_pid_dir_is_on_a_disk_or_said_missing(tmp_path):
    sys.path.insert(0, REPO)
    from bench import managers
    from bench.peers import Unavailable
    assert managers.fs_type("/proc/self") == "proc"
    assert managers.fs_type("/no/such/path") == managers.fs_type("/")
    shm = "/dev/shm" if managers.fs_type("/dev/shm") == "tmpfs" else None
    for tmp in [str(tmp_path)] + ([shm] if shm else []):
        try:
            path = managers.disk_dir(tmp, "tmpfs")
        except Unavailable as e:
            # Nowhere on a disk: the temporary directory and the checkout are tmpfs.
            assert managers.fs_type(tmp) == managers.fs_type(REPO) == "tmpfs", e
            continue
        assert os.path.isdir(path)
        assert managers.fs_type(path) not in ("tmpfs", "ramfs")
        if managers.fs_type(tmp) == "tmpfs":
            assert path.startswith(os.path.join(REPO, ".cache") + os.sep)
            os.rmdir(path)      # not left for the exit handler: a killed run would leave it
        else:
            assert path == tmp


def test_a_manager_that_could_not_be_measured_says_why_once():
    """The table of the services case, from figures given to it: a peer that failed says
    `error: <what>` (not `error: error: ...`), one that is missing `unavailable: <why>`,
    and the floor's note names only the peers that were measured."""
    sys.path.insert(0, REPO)
    from bench import case_services
    fig = {"start": 0.2, "pss": 8.0, "rss": 11.0, "stop": 0.03}
    got = {name: dict(fig) for name in ("svinit", "runit", "s6", "supervisord", "Python floor")}
    got["supervisord"]["start"] = 1.6
    got["Python floor"]["start"] = 0.16
    broken = {"Dinit": "error: dinit exited with status 1 while starting",
              "svinit, pid dir on disk": "unavailable: no disk here"}
    rows = case_services.table(200, got, broken, False, {}, {"Python floor": "the floor"})
    by = {(r["case"], r["peer_name"]): r for r in rows}
    dinit = by[("start 200 services", "Dinit")]
    assert dinit["note"] == "error: dinit exited with status 1 while starting", dinit
    assert dinit["met"] is False and dinit["ours"] is None, dinit
    disk = by[("start 200 services: svinit, pid dir on disk", "svinit")]
    assert disk["note"] == "unavailable: no disk here", disk
    floor = by[("start 200 services", "Python floor")]
    assert floor["note"] == "the floor; the floor itself vs supervisord 0.10x", floor
    assert abs(floor["ratio"] - 0.2 / 0.16) < 1e-9, floor
    assert by[("stop 200 services", "Python floor")]["note"] == "the floor", rows
    # svinit itself failing: each peer's row says so once, with the peer's figure kept.
    rows = case_services.table(200, got, {"svinit": "error: no control socket"}, False, {}, {})
    r = [r for r in rows if r["case"] == "start 200 services" and r["peer_name"] == "runit"][0]
    assert r["note"] == "error: svinit: no control socket" and r["peer"] == 0.2, r


def bench_qemus():
    """PIDs of the QEMUs the boot case starts: their kernel command line or image is the
    bench's (the demo's marker service, the busybox and floor images)."""
    found = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % entry, "rb") as f:
                words = f.read().split(b"\0")
        except OSError:
            continue
        if words and b"qemu-system" in words[0] and any(
                b"SVINIT_SERVICES=bench-ready" in w
                or w.endswith((b"/busybox.cpio", b"/floor.cpio", b"/work-floor.cpio"))
                for w in words):
            found.add(int(entry))
    return found


@pytest.fixture(scope="module")
def quick_boot(tmp_path_factory):
    why = qemu.available()
    if why:
        pytest.skip(why)
    out = tmp_path_factory.mktemp("bench-boot")
    before = bench_qemus()
    p = run_tree([os.path.join(REPO, "build.sh"), "bench", "--quick", "--out", str(out), "boot"],
                 timeout=800)
    return p, out, before


def test_quick_boot_case_gives_its_rows_and_picture(quick_boot):
    """Through `./build.sh bench`: every boot row measured (no error row), the ratio
    against busybox with its goal, the two floors, the instruction count, the sizes, and
    an SVG timeline that parses and names the demo's services."""
    p, out, _ = quick_boot
    assert p.returncode == 0, p.stderr[-2000:]
    rows = rows_of(out)
    errors = [r for r in rows if (r["note"] or "").startswith(("error", "unavailable"))]
    assert not errors, errors
    by = {r["case"]: r for r in rows}
    main = by["boot to all-ready (QEMU)"]
    assert main["peer_name"] == "busybox init" and main["goal"] and main["met"] in (True, False), main
    assert main["ratio"] == pytest.approx(main["ours"] / main["peer"]), main
    for case in ("boot floor: a Python /init that only prints the marker",
                 "boot floor with the work: a Python /init that starts the demo's services",
                 "boot: guest instructions, /init to all-ready",
                 "initramfs size (plain cpio, as booted)", "initramfs size (gzip -9)"):
        assert by[case]["ours"] > 0 and by[case]["peer"] > 0, by[case]
    work = by["boot floor with the work: a Python /init that starts the demo's services"]
    assert "oneit and svinit add %.2fx above it" % ((main["ours"] - work["ours"]) / main["peer"]) \
        in work["note"], work
    assert "the work floor" in by["boot: guest instructions, /init to all-ready"]["note"]
    assert re.search(r"host load average [0-9.]+-[0-9.]+ on \d+ CPUs$", main["note"]), main
    import xml.etree.ElementTree as ET
    svg = ET.parse(str(out / "boot-timeline.svg")).getroot()
    texts = " ".join(t.text or "" for t in svg.iter("{http://www.w3.org/2000/svg}text"))
    for name in ("mount-proc", "syslogd", "httpd", "boot", "bench-ready"):
        assert name in texts, texts


def test_boot_note_says_how_noisy_the_ratio_is_and_how_often_it_met_the_goal():
    from bench.common import spread
    ours = [2.4, 2.6, 2.2]
    busybox = [1.9, 1.9, 2.0]
    assert spread(ours, busybox, 1.3) == "rounds' ratios 1.10-1.37x, within 1.3x in 2 of 3"
    assert spread(ours, busybox) == "rounds' ratios 1.10-1.37x"
    assert spread(ours[:1], busybox[:1], 1.3) == "one round"


def test_boot_note_gives_the_hosts_load_while_the_boots_ran():
    from bench.case_boot import host_load
    assert host_load([0.5, 3.25, 1.0]).startswith("host load average 0.5-3.2 on ")
    assert host_load([]) == "host load not known"


def test_the_work_floor_starts_the_demos_services_in_its_order():
    """bench/floor_boot.py's table is the demo's service files: the services `boot` needs
    or waits for, each with the same command, scripted ones waited for, each started once
    what its file makes it wait for is done, the console shell in its working directory;
    then the marker, as the demo's bench-ready service prints it, once all are done."""
    from bench import busybox_image, floor_boot
    from toybox import svcfile
    descs, errors = svcfile.load_dir(os.path.join(REPO, "initramfs", "rootfs", "etc", "svinit.d"))
    assert not errors, errors
    wanted = set(descs["boot"].depends_on) | set(descs["boot"].waits_for)
    assert set(floor_boot.SERVICES) == wanted | {"bench-ready"}
    for name in wanted:
        argv, scripted, needs, console = floor_boot.SERVICES[name]
        d = descs[name]
        assert argv == d.command, name
        assert scripted == (d.type == "scripted"), name
        assert set(needs) == set(d.depends_on) | set(d.waits_for) | set(d.after), name
        assert (console is not None) == ("runs-on-console" in d.options), name
        assert console is None or console == d.working_dir, name
    argv, scripted, needs, console = floor_boot.SERVICES["bench-ready"]
    assert argv == ["/bin/sh", "-c", busybox_image.MARKER_SH] and scripted and console is None
    assert set(needs) == wanted


def test_quick_boot_case_leaves_no_qemu_behind(quick_boot):
    _, _, before = quick_boot
    assert bench_qemus() - before == set()


# -- the kernel's process events (bench/events.py) -------------------------------------

class FakeEvents:
    """take() hands out one batch per call, then nothing."""

    def __init__(self, *batches):
        self.batches = list(batches)
        self.lost = False

    def take(self):
        return self.batches.pop(0) if self.batches else []


def test_a_process_last_exec_is_the_one_that_counts():
    sys.path.insert(0, REPO)
    from bench import events
    numbers = {10: 1, 11: 2}
    # Service 1's process shows the service's command line already at its first exec
    # (a run script's shell): its later exec, read after all were seen, counts.
    fake = FakeEvents([("exec", 10, 100), ("exit", 99, 120), ("exec", 12, 130), ("exec", 11, 150)],
                      [("exec", 10, 300)])
    assert events.wait_execs(fake, numbers.get, [1, 2], 5) == {1: 300, 2: 150}


def test_waiting_for_execs_stops_when_the_manager_is_gone():
    sys.path.insert(0, REPO)
    from bench import events
    fake = FakeEvents([("exec", 10, 100)])
    t0 = time.monotonic()
    assert events.wait_execs(fake, {10: 1}.get, [1, 2], 30, alive=lambda: False) == {1: 100}
    assert time.monotonic() - t0 < 5


def test_waiting_for_exits_gives_each_pid_its_time():
    sys.path.insert(0, REPO)
    from bench import events
    fake = FakeEvents([("exit", 5, 50), ("exec", 6, 60)], [("exit", 6, 70), ("exit", 7, 80)])
    assert events.wait_exits(fake, [5, 6], 5) == {5: 50, 6: 70}
    assert events.wait_exits(FakeEvents(), [5], 0.05) == {}


def test_a_measurement_the_kernel_dropped_events_from_is_refused():
    sys.path.insert(0, REPO)
    from bench import events
    fake = FakeEvents([("exec", 10, 100)])
    fake.lost = True
    with pytest.raises(events.Lost, match="dropped process events"):
        events.wait_execs(fake, {10: 1}.get, [1], 5)
    with pytest.raises(events.Lost):
        events.wait_exits(fake, [10], 5)


def test_the_kernels_events_time_a_childs_exec_and_exit():
    sys.path.insert(0, REPO)
    from bench import events
    ev = events.open_events()
    if ev is None:
        pytest.skip("no proc connector here (needs root and CONFIG_PROC_EVENTS)")
    try:
        ev.take()
        t0 = time.monotonic_ns()
        child = subprocess.Popen(["/bin/sleep", "0.2"])
        try:
            execs = events.wait_execs(ev, lambda pid: 1 if pid == child.pid else None, [1], 10)
            exits = events.wait_exits(ev, [child.pid], 10)
        finally:
            child.wait()
        assert set(execs) == {1} and set(exits) == {child.pid}
        assert t0 < execs[1] < exits[child.pid] <= time.monotonic_ns()
        assert exits[child.pid] - execs[1] >= 150e6       # it slept 0.2 s in between
        assert not ev.lost
    finally:
        ev.close()
