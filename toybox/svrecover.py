"""A restarted svinit takes back what the one before it left (see svinitd's docstring):
imported only then, so that a boot does not pay for loading it. Each takes the Daemon first."""
from toybox import sysos as os     # posix, and os's helpers without its import
import time

from toybox import fs, logs, oneitwire, proc
from toybox.engine import AFTER, STARTED, STARTING, STOPPED, STOPPING
from toybox.svinitd import ENV_LAUNCH, ENV_SERVICE, HOWS


def find_unrecorded(daemon, records, broken, unreadable=()):
    """A killed svinit may have launched a process and died before its file said so
    (the file is written right after the launch). That process was svinit's child,
    so it is now a child of our parent (oneit, the subreaper that relaunched us), in a
    session of its own, with SVINIT_SERVICE=NAME in its environment. So is any process
    a service started in a session of its own and left behind (svinit, a subreaper,
    inherited it, and oneit after svinit): SVINIT_LAUNCH tells them apart, a
    descendant carrying the launch of the process it came from. A process is taken as
    the service's when its launch is later than the recorded one (the newest such
    launch; of its processes the first started, the others being its descendants), the
    service has no live recorded process, is one whose start command it can be (process,
    scripted not yet completed), is not in broken, and it was wanted (a file, or one that
    holds it, says so), or is a process service whose file is unreadable (its process is
    known this way, and taking it back keeps `ctl start` from running a second one).
    Anything else is left alone, with a message. Returns the names of the services that
    got their process this way."""
    ppid = os.getppid()
    kids = proc.children(ppid)
    adopted = []
    if not kids:
        return adopted
    known = {int(r["pid"]) for r in records.values() if r.get("pid", "").isdigit()}
    found = {}
    me = os.getpid()
    for pid in kids:
        if pid == me or pid in known:
            continue
        st = proc.stat(pid)
        if st is None or st.session != pid or st.state in ("Z", "X"):
            continue
        env = _environ(pid)
        name = env.get(ENV_SERVICE)
        if name is not None:
            launch = env.get(ENV_LAUNCH)
            found.setdefault(name, []).append((_launch_order(launch), st, launch))
    wanted = None
    for name, procs in sorted(found.items()):
        rec = records.get(name)
        svc = daemon.sset.get(name)
        usable = svc is not None and svc.desc.type in ("process", "scripted") \
            and name not in broken and (rec is None or rec.get("type") == svc.desc.type)
        if usable and rec is not None:
            pid, start = rec.get("pid"), rec.get("starttime")
            if pid and start and pid.isdigit() and start.isdigit() and proc.alive(int(pid), int(start)):
                usable = False      # it has its process: this one is something else
            elif rec.get("completed") == "1" or rec.get("state") == STOPPING:
                usable = False      # a stop command
        elif usable and name in unreadable:
            usable = svc.desc.type == "process"
        elif usable:
            if wanted is None:
                wanted = _wanted_unrecorded(daemon, records)
            usable = name in wanted
        # A file without a launch (a svinit before SVINIT_LAUNCH): any launch is later.
        recorded = _launch_order(rec.get("launch")) if rec is not None and rec.get("launch") else -1
        later = [p for p in procs if p[0] > recorded]
        take = None
        if usable and later:
            newest = max(p[0] for p in later)
            take = min((p for p in later if p[0] == newest), key=lambda p: p[1].starttime)
        for _, other, _ in procs:
            if take is None or other is not take[1]:
                daemon.log("%s: pid %d (%s=%s, not recorded) is not taken as its process: left alone"
                           % (name, other.pid, ENV_SERVICE, name))
        if take is None:
            continue
        _, st, launch = take
        rec = dict(rec or {"name": name, "type": svc.desc.type, "active": "0",
                           "target": STARTED})
        if rec.get("pid"):
            rec["restarts"] = str(int(rec.get("restarts") or 0) + 1)
        launched = time.time() - proc.uptime() + st.starttime / proc.clock_ticks()
        rec.update(state=STARTING, pid=str(st.pid), starttime=str(st.starttime),
                   started_at=repr(launched), since=repr(launched))
        rec.pop("output", None)
        rec.pop("launch", None)
        if launch is not None:
            rec["launch"] = launch
        pipe = logs.own_pipe(st.pid)
        if pipe is not None:
            rec["output"] = pipe    # read on from it, as from a recorded one (logs.py)
        records[name] = rec
        adopted.append(name)
        if name in unreadable:
            daemon.log("%s: pid %d (%s=%s) is its process, whose file is unreadable: adopted"
                       % (name, st.pid, ENV_SERVICE, name))
        else:
            daemon.log("%s: pid %d was started by the svinit before, which died before "
                       "recording it: adopted" % (name, st.pid))
    return adopted


def _environ(pid):
    """{name: value} of the SVINIT_ variables in process pid's environment."""
    out = {}
    data = fs.read_bytes("/proc/%d/environ" % pid)
    for item in (data or b"").split(b"\0"):
        if item.startswith(b"SVINIT_"):
            key, _, value = item.partition(b"=")
            out[key.decode("utf-8", "replace")] = value.decode("utf-8", "replace")
    return out


def _launch_order(launch_id):
    """A SVINIT_LAUNCH value as a number to compare (0: none, from a svinit before it)."""
    try:
        return int(launch_id, 16)
    except (TypeError, ValueError):
        return 0


def _wanted_unrecorded(daemon, records):
    """The services without a file that a recorded one holds, or would hold after the
    restart, and so on down: what engine.ServiceSet.restore derives as starting, by the
    same rule (held_after_restart). (The restore also lets go of a recorded service that
    nothing wants any more, a stop half written; this does not, so such a service's
    dependencies count as wanted here.)"""
    wanted = set()
    todo = []
    for name, rec in records.items():
        svc = daemon.sset.get(name)
        if svc is None or rec.get("target") != STARTED:
            continue
        holds = set(rec.get("holds", "").split())
        state = rec.get("state")
        for d in svc.deps:
            if d.kind != AFTER and (d.to.name in holds or daemon.sset.held_after_restart(d.kind, state)):
                todo.append(d.to)
    while todo:
        svc = todo.pop()
        if svc.name in records or svc.name in wanted:
            continue
        wanted.add(svc.name)
        todo.extend(d.to for d in svc.deps if d.kind != AFTER)
    return wanted


def drain_reports(daemon):
    """At a restart: the records oneit queued while no svinit ran ({pid: status})."""
    out = {}
    if daemon.report_fmt is None:
        return out
    while True:
        try:
            data = os.read(oneitwire.REPORT_FD, 65536)
        except OSError:
            break
        if not data:
            break
        records, daemon.report_buf = oneitwire.unpack(daemon.report_buf + data, daemon.report_fmt)
        if daemon.report_fmt == oneitwire.FORMAT_PID_STATUS:
            out.update(records)
    return out


def recover(daemon, found):
    """A svinit of this boot died: take its services back (see the module's docstring)."""
    was = " (pid %s)" % found.me["pid"] if found.me and "pid" in found.me else ""
    daemon.log("restarted: the svinit before%s died; taking its %d services back from %s"
             % (was, len(found.records) + len(found.broken), daemon.cfg.pid_dir))
    records, broken = {}, {}
    for name, rec in found.records.items():
        svc = daemon.sset.get(name)
        why = None
        if svc is None:
            why = "no such service now (removed, or its description has errors)"
        elif rec.get("type") != svc.desc.type:
            why = "its type was %s, now it is %s" % (rec.get("type"), svc.desc.type)
        if why is None:
            records[name] = rec
            continue
        what = " pid %s" % rec["pid"] if rec.get("pid") else ""
        daemon.log("%s: %s: its recorded process%s is left alone" % (name, why, what))
        daemon.piddir.remove(name)
        if svc is not None:
            broken[name] = "state not taken back after a restart of svinit: " + why
    unreadable = {name: why for name, why in found.broken.items() if name in daemon.sset}
    for name in found.broken:
        if name not in unreadable:
            daemon.piddir.remove(name)
    me = found.me if found.this_boot else {}
    if me.get("requested") is not None:
        daemon.requested = me["requested"].split()
    if me.get("requested") is not None and me.get("started") != "1":
        # Killed in its first pass: what it was asked to start and that has no file yet
        # was about to start (and maybe launched, unrecorded): it starts, as it would have.
        for name in daemon.requested:
            svc = daemon.sset.get(name)
            if svc is not None and name not in records and name not in broken \
                    and name not in unreadable:
                records[name] = {"name": name, "type": svc.desc.type, "state": STOPPED,
                                 "target": STARTED, "active": "1"}
    unrecorded = find_unrecorded(daemon, records, broken, unreadable)
    for name, why in sorted(unreadable.items()):
        path = os.path.join(daemon.piddir.services, name)
        if name in records:
            daemon.log("pid dir: %s: %s: its process taken back (above)" % (path, why))
            continue
        daemon.log("pid dir: %s: %s: not adopted nor signalled; taken as failed, not started "
                   "again automatically (ctl start %s)" % (path, why, name))
        broken[name] = "state file unreadable after a restart of svinit (%s)" % why
    for name in found.broken:
        if name not in daemon.sset:
            daemon.log("pid dir: %s: %s: no such service now: removed"
                       % (os.path.join(daemon.piddir.services, name), found.broken[name]))
    daemon.on_disk = set(records) | set(broken) | set(unreadable)
    daemon.away_reports = drain_reports(daemon)
    adopted, exited = daemon.sset.restore(records, broken)
    daemon.away_reports = {}
    for name in unrecorded:
        daemon.sset.changed(daemon.sset.get(name))
    daemon.log("restarted: %d processes re-adopted, %d exited while svinit was away"
             % (len(adopted), len(exited)))
    how = (found.me or {}).get("shutdown")
    if how in HOWS or how in ("exit", "restart"):
        daemon.log("the svinit before was shutting down (%s): going on with it" % how)
        daemon.request_shutdown(how)
