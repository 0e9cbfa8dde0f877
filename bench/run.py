"""Run the benchmarks and print one table of ratios against peers measured in the same run.

usage: python3 bench/run.py [--quick] [--out DIR] [CASE...]

Cases: startup orphans services readopt boot (default: all). --quick runs a small
version of each. Writes results.json and results.md (and the boot timeline,
boot-timeline.svg) to DIR, default bench/results/. Absolute times on a shared
machine are noise; ratios measured side by side in one run are not.
"""
import importlib
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench import common  # noqa: E402
from bench.common import error  # noqa: E402

CASES = ["startup", "orphans", "services", "readopt", "boot"]


def fmt(value, unit):
    if value is None:
        return "-"
    if unit == "s":
        return "%.1f ms" % (value * 1000) if value < 1 else "%.2f s" % value
    if unit == "MB":
        return "%.1f MB" % value
    return "%g %s" % (value, unit)


def table(rows):
    head = ["case", "this project", "peer", "peer value", "ratio", "goal", "met"]
    lines = [head]
    for r in rows:
        met = {True: "yes", False: "NO", None: "-"}[r["met"]]
        lines.append([r["case"], fmt(r["ours"], r["unit"]), r["peer_name"] or "-", fmt(r["peer"], r["unit"]),
                      "%.2fx" % r["ratio"] if r["ratio"] is not None else "-", r["goal"] or "-",
                      met + ((" (" + r["note"] + ")") if r["note"] else "")])
    return lines


def render_text(lines):
    widths = [max(len(str(l[i])) for l in lines) for i in range(len(lines[0]))]
    return "\n".join("  ".join(str(c).ljust(w) for c, w in zip(l, widths)).rstrip() for l in lines) + "\n"


def render_markdown(lines):
    out = ["| " + " | ".join(lines[0]) + " |", "|" + "---|" * len(lines[0])]
    out += ["| " + " | ".join(str(c) for c in l) + " |" for l in lines[1:]]
    return "\n".join(out) + "\n"


def run_case(name, module, quick):
    """The case's rows. A case that breaks (an exception, not a goal missed) is tried once
    more, as a shared machine's hiccup should not hide a case; the rows then say so, and a
    second failure is an error row. The traceback goes to stderr either way."""
    import traceback
    first = None
    for _ in range(2):
        try:
            rows = module.run(quick)
        except Exception as e:  # one broken case must not hide the others
            traceback.print_exc()
            if first is not None:
                return [error(name, "%s: %s (and before that: %s)" % (type(e).__name__, e, first))]
            first = "%s: %s" % (type(e).__name__, e)
            continue
        if first is not None:
            for r in rows:
                r["note"] = ((r["note"] + "; ") if r["note"] else "") + "second try, the first failed: " + first
        return rows


def main(argv):
    if "-h" in argv or "--help" in argv:
        sys.stdout.write(__doc__)
        return 0
    quick = "--quick" in argv
    if "--out" in argv:
        i = argv.index("--out")
        if i + 1 >= len(argv):
            sys.stderr.write("bench: --out needs a directory\n")
            return 1
        common.OUTDIR = os.path.abspath(argv[i + 1])
        argv = argv[:i] + argv[i + 2:]
    wanted = [a for a in argv if not a.startswith("-")] or CASES
    bad = [a for a in argv if a.startswith("-") and a != "--quick"]
    if bad:
        sys.stderr.write("bench: unknown option %s\n%s\n" % (bad[0], __doc__.split("\n\n")[1]))
        return 1
    unknown = [c for c in wanted if c not in CASES]
    if unknown:
        sys.stderr.write("bench: unknown case %s (cases: %s)\n" % (", ".join(unknown), " ".join(CASES)))
        return 1
    rows = []
    for name in wanted:
        t0 = time.time()
        module = importlib.import_module("bench.case_" + name)
        rows.extend(run_case(name, module, quick))
        sys.stderr.write("bench: %s done in %.1f s\n" % (name, time.time() - t0))
    lines = table(rows)
    sys.stdout.write(render_text(lines))
    outdir = common.OUTDIR
    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(outdir, "results.json"), "w") as f:
        json.dump({"quick": quick, "time": time.time(), "rows": rows}, f, indent=1)
    with open(os.path.join(outdir, "results.md"), "w") as f:
        f.write(render_markdown(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
