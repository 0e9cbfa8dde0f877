"""bench/timeline.py, the boot case's picture, from given figures (no QEMU): the bars'
times on the uptime axis, and an SVG a browser can show, whose chart is the part of the
boot where the services are."""
import sys
import xml.etree.ElementTree as ET

from conftest import REPO

sys.path.insert(0, REPO)
from bench import timeline  # noqa: E402

SVG = "{http://www.w3.org/2000/svg}"


def test_bars_put_each_service_on_the_uptime_axis_in_ready_order():
    wall, boottime = 1000.0, 2.5            # time.time() 1000.0 is uptime 2.5
    listing = [
        {"name": "late", "state": "started", "since": 999.9, "start_began": 999.8},
        {"name": "early", "state": "started", "since": 999.7, "start_began": 999.65},
        {"name": "readopted", "state": "started", "since": 999.95, "started_at": 999.6},
        {"name": "inferred", "state": "started", "since": 999.99},
        {"name": "crasher", "state": "stopped", "since": 999.5},
    ]
    deps = {"inferred": ["late", "early", "crasher"]}
    got = timeline.bars(listing, wall, boottime, 999.5, deps)
    names = [b[0] for b in got]
    assert names == ["early", "late", "readopted", "inferred"]
    by = {b[0]: b for b in got}
    assert abs(by["early"][1] - 2.15) < 1e-9 and abs(by["early"][2] - 2.2) < 1e-9
    assert by["early"][3] is False and by["readopted"][3] is False
    assert abs(by["readopted"][1] - 2.1) < 1e-9
    # No start time of its own: from its last dependency ready (late, at 2.4).
    assert by["inferred"][3] is True and abs(by["inferred"][1] - 2.4) < 1e-9


def test_ticks_are_round_and_few():
    assert timeline.ticks(0.0, 2.13) == [0.0, 0.5, 1.0, 1.5, 2.0]
    assert timeline.ticks(1.5, 2.2) == [1.5, 1.6, 1.7, 1.8, 1.9, 2.0, 2.1, 2.2]
    small = timeline.ticks(1.961, 2.139)
    assert small[0] >= 1.961 and small[-1] <= 2.139 and 2 <= len(small) <= 11


def draw(phases=()):
    bars = [("mount-proc", 2.003, 2.034, False), ("syslogd", 2.101, 2.103, False),
            ("httpd", 2.106, 2.118, True), ("a<b", 2.119, 2.119, False)]
    marks = [("kernel runs /init", 1.55), ("svinit", 1.94), ("BENCH-READY", 2.13)]
    return ET.fromstring(timeline.svg(bars, marks, "boot & co", ["crasher"], phases))


def titled(root):
    return {r.find(SVG + "title").text: r for r in root.iter(SVG + "rect") if r.find(SVG + "title") is not None}


def test_the_chart_shows_the_part_of_the_boot_with_the_services():
    root = draw()
    rects = titled(root)
    bar = rects["mount-proc: 2.003 s to 2.034 s"]
    # 31 ms of a window from about 1.5 s to 2.15 s over 750 px: tens of pixels, where an
    # axis from 0 gave it ten.
    assert float(bar.get("width")) > 25, bar.attrib
    assert rects["httpd: 2.106 s to 2.118 s"].get("fill") == "url(#h)"
    assert "a<b: 2.119 s to 2.119 s" in rects                   # escaped in the file, read back
    assert float(rects["a<b: 2.119 s to 2.119 s"].get("width")) >= 2.0
    labels = [t.text for t in root.iter(SVG + "text")]
    assert "boot & co" in labels
    ticks = [float(t[:-1]) for t in labels if t and t.endswith("s") and t[:-1].replace(".", "").isdigit()]
    assert ticks and min(ticks) >= 1.5 and max(ticks) <= 2.2, ticks
    assert any(t and t.startswith("kernel runs /init 1.55") for t in labels), labels
    assert any(t and "crasher" in t for t in labels)
    assert "whole boot" not in labels


def test_the_whole_boot_strip_shows_each_phase_and_where_the_chart_is():
    phases = [("kernel", 0.0, 1.55), ("Python, oneit, svinit's imports", 1.55, 1.94),
              ("svinit: set-up, files, services", 1.94, 2.13)]
    root = draw(phases)
    rects = titled(root)
    widths = [float(rects["%s: %.3f s to %.3f s" % p].get("width")) for p in phases]
    # On the strip, 0 to 2.13 s: the kernel's phase is the widest, in proportion.
    assert abs(widths[0] / widths[2] - 1.55 / 0.19) < 0.2, widths
    labels = [t.text for t in root.iter(SVG + "text")]
    assert "whole boot" in labels
    assert "kernel 1.55 s" in labels and "svinit: set-up, files, services 0.19 s" in labels
    assert any(t and "the chart below" in t for t in labels), labels
