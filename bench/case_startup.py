"""Applet start-up: `toybox APPLET --help` against the bare interpreter, in one run.

Every ctl call and every boot pays the interpreter's start-up plus what the applet
imports; the goal is that the suite adds at most 30% to `python3 -S -c pass`.
"""
import os
import tempfile

from bench.common import PYTHON, interleaved, make_bindir, row


def run(quick):
    rounds = 10 if quick else 60
    with tempfile.TemporaryDirectory() as tmp:
        bindir = make_bindir(tmp)
        py = PYTHON
        commands = {
            "python3 -S -c pass": [py, "-S", "-c", "pass"],
            "python3 -c pass": [py, "-c", "pass"],
            "oneit --help": [os.path.join(bindir, "oneit"), "--help"],
            "ctl --help": [os.path.join(bindir, "ctl"), "--help"],
            "svinit --help": [os.path.join(bindir, "svinit"), "--help"],
        }
        t = interleaved(commands, rounds, cpu=True)
    floor = t["python3 -S -c pass"]
    rows = [row("start-up: python3 -c pass (site)", t["python3 -c pass"], "python3 -S -c pass", floor, None,
                note="for scale: what site costs; every Python figure of the table runs under %s"
                % PYTHON)]
    for label in ("oneit --help", "ctl --help", "svinit --help"):
        rows.append(row("start-up: " + label, t[label], "python3 -S -c pass", floor, 1.3,
                        note="CPU time, user + system"))
    return rows
