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


def legend(items, x, y):
    """SVG for [(fill, text)] side by side on one line whose baseline is y."""
    out = []
    for fill, text in items:
        out.append('<rect x="%d" y="%d" width="12" height="10" fill="%s"/><text x="%d" y="%d">%s</text>'
                   % (x, y - 9, fill, x + 16, y, esc(text)))
        x += 16 + int(6.2 * len(text)) + 18
    return out


def ticks(lo, hi, most=10):
    """Round tick positions covering [lo, hi], at most `most` + 1 of them."""
    for step in (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0):
        if (hi - lo) / step <= most:
            break
    first = int(lo / step + 1e-9) * step
    out = []
    t = first
    while t <= hi + 1e-9:
        if t >= lo - 1e-9:
            out.append(round(t, 6))
        t += step
    return out


PHASE_COLOURS = ("#cbd5e0", "#f6ad55", "#2b6cb0", "#68d391")


def svg(bars_, marks, title, not_started=(), phases=()):
    """marks: [(label, uptime)] drawn as vertical lines (kernel runs /init, svinit, ready).
    phases: [(label, start, end)] in uptime seconds, drawn as one strip over the whole boot
    from 0 (the kernel, Python and the two inits, the services); the chart below it shows
    only the window from the earliest mark or bar to the last one, so that bars of a few
    milliseconds stay visible after seconds of kernel start."""
    times = [b[1] for b in bars_] + [b[2] for b in bars_] + [m[1] for m in marks]
    lo, hi = (min(times), max(times)) if times else (0.0, 1.0)
    pad = max(hi - lo, 0.05) * 0.04
    lo, hi = max(0.0, lo - pad), hi + pad
    span = WIDTH - LEFT - 20
    x = lambda t: LEFT + (t - lo) * span / (hi - lo)  # noqa: E731
    strip = 62 if phases else 0
    top = 36 + strip + 14 * len(marks)
    bottom = top + ROW * len(bars_)
    height = bottom + 76 + (16 if not_started else 0)
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" '
           'font-size="11">' % (WIDTH, height),
           '<defs><pattern id="h" width="4" height="4" patternUnits="userSpaceOnUse" '
           'patternTransform="rotate(45)"><rect width="2" height="4" fill="#6a9fd4"/></pattern></defs>',
           '<rect width="100%" height="100%" fill="white"/>',
           '<text x="10" y="18" font-size="13" font-weight="bold">%s</text>' % esc(title)]
    if phases:
        end = max([p[2] for p in phases] + [hi])
        whole = lambda t: LEFT + t * span / end  # noqa: E731
        y = 30
        out.append('<text x="%d" y="%d" text-anchor="end">whole boot</text>' % (LEFT - 6, y + 11))
        for i, (label, a, b) in enumerate(phases):
            w = max(1.0, whole(b) - whole(a))
            out.append('<rect x="%.1f" y="%d" width="%.1f" height="14" fill="%s"><title>%s: %.3f s to '
                       '%.3f s</title></rect>' % (whole(a), y, w, PHASE_COLOURS[i % len(PHASE_COLOURS)],
                                                  esc(label), a, b))
        # Which part of the whole the chart below shows.
        out.append('<path d="M%.1f %d L%.1f %d L%.1f %d L%.1f %d" fill="none" stroke="#718096"/>'
                   % (whole(lo), y + 16, whole(lo), y + 20, whole(hi), y + 20, whole(hi), y + 16))
        out.append('<text x="%d" y="%d" fill="#666">0 s</text>' % (LEFT, y + 30))
        out.append('<text x="%.1f" y="%d" text-anchor="end" fill="#666">%.2f s; the chart below: '
                   '%.2f-%.2f s</text>' % (LEFT + span, y + 30, end, lo, hi))
        out += legend([(PHASE_COLOURS[i % len(PHASE_COLOURS)], "%s %.2f s" % (label, b - a))
                       for i, (label, a, b) in enumerate(phases)], LEFT, y + 46)
    for t in ticks(lo, hi):
        out.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#ddd"/>' % (x(t), top - 4, x(t), bottom))
        out.append('<text x="%.1f" y="%d" text-anchor="middle" fill="#666">%gs</text>' % (x(t), bottom + 14, t))
    for i, (name, start, ready, inferred) in enumerate(bars_):
        y = top + i * ROW
        out.append('<text x="%d" y="%d" text-anchor="end">%s</text>' % (LEFT - 6, y + 12, esc(name)))
        w = max(2.0, x(ready) - x(start))
        out.append('<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="%s"><title>%s: %.3f s to %.3f s'
                   '</title></rect>' % (x(start), y + 2, w, ROW - 5, "url(#h)" if inferred else "#2b6cb0",
                                        esc(name), start, ready))
    for j, (label, t) in enumerate(marks):
        y = 36 + strip + 14 * j
        out.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#c53030" stroke-dasharray="3,2"/>'
                   % (x(t), y - 10, x(t), bottom))
        anchor = "end" if x(t) > LEFT + span * 0.7 else "start"
        out.append('<text x="%.1f" y="%d" fill="#c53030" text-anchor="%s">%s %.2f s</text>'
                   % (x(t) + (-3 if anchor == "end" else 3), y, anchor, esc(label), t))
    y = bottom + 32
    out += legend([("#2b6cb0", "its own start (dependencies up) to started")], LEFT, y)
    out += legend([("url(#h)", "no start time (re-adopted): from its last dependency ready to started")],
                  LEFT, y + 16)
    if not_started:
        out.append('<text x="%d" y="%d" fill="#666">not started when read, after the marker: %s</text>'
                   % (LEFT, y + 32, esc(", ".join(not_started))))
    out.append("</svg>")
    return "\n".join(out) + "\n"
