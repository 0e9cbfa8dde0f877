"""The benchmarks keep working: `bench/run.py --quick` on the cases that need no VM
(the boot case takes minutes of QEMU; `./build.sh bench` runs it) produces a
well-formed table, and leaves no process behind. No timing is asserted here:
speed is what the table reports, not what a test may fail on.
"""
import json
import os
import subprocess
import sys

import pytest

from conftest import REPO

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


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    p = subprocess.run([sys.executable, os.path.join(REPO, "bench", "run.py"), "--quick", "--out", str(out)]
                       + CASES, capture_output=True, text=True, timeout=240)
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


def test_every_case_is_in_the_table(quick_run):
    _, out = quick_run
    with open(out / "results.json") as f:
        rows = json.load(f)["rows"]
    cases = " ".join(r["case"] for r in rows)
    errors = ["%s: %s" % (r["case"], r["note"]) for r in rows if (r["note"] or "").startswith("error")]
    for word in ("start-up", "orphans", "start 50 services", "supervision tree", "stop 50 services",
                 "status query", "restart after a crash", "re-adopted"):
        assert word in cases, (word, errors)


def test_service_peers_each_have_rows(quick_run):
    _, out = quick_run
    with open(out / "results.json") as f:
        rows = json.load(f)["rows"]
    peers = {r["peer_name"] for r in rows if r["case"].startswith("start 50 services")}
    assert peers == {"Dinit", "runit", "s6", "supervisord"}


def test_markdown_table_matches_the_json(quick_run):
    _, out = quick_run
    with open(out / "results.json") as f:
        rows = json.load(f)["rows"]
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
