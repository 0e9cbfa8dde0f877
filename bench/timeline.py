"""The demo's boot as a picture: one bar per service from its start to its ready
time, on the guest kernel's uptime axis, written as a self-contained SVG.

Sources, read in the booted guest: `ctl --json list` (each service's `since`, the
time.time() it became started, and `start_began`, the time.time() its own start
began: dependencies up, command launched), the guest's time.time() beside
CLOCK_BOOTTIME (to put both on the uptime axis), svinit's state file (when svinit
started) and `dmesg` (when the kernel ran /init). A service re-adopted after a
restart of svinit has no `start_began`: its bar starts at `started_at` (its
process's launch) or, without one, when the last of its dependencies was ready
(or when svinit started), drawn hatched.
"""
import os
import re

ROW = 18
LEFT = 130
WIDTH = 900


def service_deps(dirs):
    """{name: [dependencies]} from Dinit-format files (depends-on / waits-for)."""
    deps = {}
    for d in dirs:
        if not os.path.isdir(d):
            continue
        for name in os.listdir(d):
            with open(os.path.join(d, name)) as f:
                lines = f.read().splitlines()
            deps[name] = [m.group(2).strip() for m in
                          (re.match(r"\s*(depends-on|waits-for|depends-ms)\s*[:=]\s*(\S+)", l) for l in lines) if m]
    return deps


def bars(listing, wall, boottime, svinit_since, deps):
    """[(name, start, ready, inferred)] in uptime seconds, ordered by ready time."""
    offset = wall - boottime            # time.time() - offset = uptime
    ready = {s["name"]: s["since"] - offset for s in listing if s["state"] == "started"}
    base = svinit_since - offset if svinit_since else min(ready.values(), default=0.0)
    out = []
    for s in listing:
        name = s["name"]
        if name not in ready:
            continue
        if s.get("start_began"):
            start, inferred = s["start_began"] - offset, False
        elif s.get("started_at"):
            start, inferred = s["started_at"] - offset, False
        else:
            before = [ready[d] for d in deps.get(name, ()) if d in ready and ready[d] <= ready[name]]
            start, inferred = max(before + [base]), True
        out.append((name, min(start, ready[name]), ready[name], inferred))
    out.sort(key=lambda b: (b[2], b[1]))
    return out


def esc(text):
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def svg(bars_, marks, title, not_started=()):
    """marks: [(label, uptime)] drawn as vertical lines (kernel runs /init, svinit, ready)."""
    end = max([b[2] for b in bars_] + [m[1] for m in marks] + [1.0]) * 1.05
    scale = (WIDTH - LEFT - 20) / end
    top = 36 + 14 * len(marks)
    height = top + ROW * len(bars_) + 60 + (16 if not_started else 0)
    x = lambda t: LEFT + t * scale  # noqa: E731
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" '
           'font-size="11">' % (WIDTH, height),
           '<defs><pattern id="h" width="4" height="4" patternUnits="userSpaceOnUse" '
           'patternTransform="rotate(45)"><rect width="2" height="4" fill="#6a9fd4"/></pattern></defs>',
           '<rect width="100%" height="100%" fill="white"/>',
           '<text x="10" y="18" font-size="13" font-weight="bold">%s</text>' % esc(title)]
    step = 0.5 if end < 8 else 1.0 if end < 20 else 5.0
    t = 0.0
    while t <= end:
        out.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#ddd"/>'
                   % (x(t), top - 4, x(t), top + ROW * len(bars_)))
        out.append('<text x="%.1f" y="%d" text-anchor="middle" fill="#666">%gs</text>'
                   % (x(t), top + ROW * len(bars_) + 14, t))
        t += step
    for i, (name, start, ready, inferred) in enumerate(bars_):
        y = top + i * ROW
        out.append('<text x="%d" y="%d" text-anchor="end">%s</text>' % (LEFT - 6, y + 12, esc(name)))
        w = max(2.0, (ready - start) * scale)
        out.append('<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="%s"><title>%s: %.3f s to %.3f s'
                   '</title></rect>' % (x(start), y + 2, w, ROW - 5, "url(#h)" if inferred else "#2b6cb0",
                                        esc(name), start, ready))
    for j, (label, t) in enumerate(marks):
        y = 36 + 14 * j
        out.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#c53030" stroke-dasharray="3,2"/>'
                   % (x(t), y - 10, x(t), top + ROW * len(bars_)))
        out.append('<text x="%.1f" y="%d" fill="#c53030">%s %.2f s</text>' % (x(t) + 3, y, esc(label), t))
    y = top + ROW * len(bars_) + 32
    out.append('<rect x="%d" y="%d" width="12" height="10" fill="#2b6cb0"/><text x="%d" y="%d">its own '
               'start (dependencies up) to started</text>' % (LEFT, y - 9, LEFT + 16, y))
    out.append('<rect x="%d" y="%d" width="12" height="10" fill="url(#h)"/><text x="%d" y="%d">no start '
               'time (re-adopted): from its last dependency ready to started</text>'
               % (LEFT + 230, y - 9, LEFT + 246, y))
    if not_started:
        out.append('<text x="%d" y="%d" fill="#666">not started when read, after the marker: %s</text>'
                   % (LEFT, y + 16, esc(", ".join(not_started))))
    out.append("</svg>")
    return "\n".join(out) + "\n"
