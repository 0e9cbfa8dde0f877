"""A restarted svinit takes back what the one before it left (see svinitd's docstring):
imported only then, so that a boot does not pay for loading it. Each takes the Daemon first."""
from toybox import sysos as os     # posix, and os's helpers without its import
import time

from toybox import fs, logs, oneitwire, proc
from toybox.engine import STARTED, STARTING, STOPPING
from toybox.svinitd import ENV_SERVICE, HOWS


def find_unrecorded(daemon, records):
    """A killed svinit may have launched a process and died before its file said so
    (the file is written right after the launch). That process was svinit's child,
    so it is now a child of our parent (oneit, the subreaper that relaunched us), in a
    session of its own, with SVINIT_SERVICE=NAME in its environment: it is taken as
    the service's process, as if the file had been written, when the service has no
    live recorded process and is one whose start command it can be (process,
    scripted not yet completed). Anything else is left alone, with a message.
    Returns the names of the services that got their process this way."""
    ppid = os.getppid()
    kids = proc.children(ppid)
    adopted = []
    if not kids:
        return adopted
    known = {int(r["pid"]) for r in records.values() if r.get("pid", "").isdigit()}
    found = {}
    me = os.getpid()
    mark = ("\0%s=" % ENV_SERVICE).encode()
    for pid in kids:
        if pid == me or pid in known:
            continue
        st = proc.stat(pid)
        env = fs.read_bytes("/proc/%d/environ" % pid)
        at = ((b"\0" + env) if env else b"").find(mark)
        if st is None or st.session != pid or at < 0 or st.state in ("Z", "X"):
            continue
        name = env[at - 1 + len(mark):].split(b"\0", 1)[0].decode("utf-8", "replace")
        found.setdefault(name, []).append(st)
    for name, procs in sorted(found.items()):
        procs.sort(key=lambda st: st.starttime)
        st = procs[-1]
        rec = records.get(name)
        svc = daemon.sset.get(name)
        usable = svc is not None and svc.desc.type in ("process", "scripted") and (
            rec is None or rec.get("type") == svc.desc.type)
        if usable and rec is not None:
            pid, start = rec.get("pid"), rec.get("starttime")
            if pid and start and pid.isdigit() and start.isdigit() and proc.alive(int(pid), int(start)):
                usable = False      # it has its process: this one is something else
            elif rec.get("completed") == "1" or rec.get("state") == STOPPING:
                usable = False      # a stop command
        for other in procs[:-1] + ([] if usable else [st]):
            daemon.log("%s: pid %d (%s=%s, not recorded) is not taken as its process: left alone"
                     % (name, other.pid, ENV_SERVICE, name))
        if not usable:
            continue
        rec = dict(rec or {"name": name, "type": svc.desc.type, "active": "0",
                           "target": STARTED})
        if rec.get("pid"):
            rec["restarts"] = str(int(rec.get("restarts") or 0) + 1)
        launched = time.time() - proc.uptime() + st.starttime / proc.clock_ticks()
        rec.update(state=STARTING, pid=str(st.pid), starttime=str(st.starttime),
                   started_at=repr(launched), since=repr(launched))
        rec.pop("output", None)
        pipe = logs.own_pipe(st.pid)
        if pipe is not None:
            rec["output"] = pipe    # read on from it, as from a recorded one (logs.py)
        records[name] = rec
        adopted.append(name)
        daemon.log("%s: pid %d was started by the svinit before, which died before recording it: "
                 "adopted" % (name, st.pid))
    return adopted


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
    for name, why in found.broken.items():
        daemon.log("pid dir: %s: %s: not adopted nor signalled; taken as failed, not started "
                 "again automatically (ctl start %s)" % (os.path.join(daemon.piddir.services, name),
                                                         why, name))
        if name in daemon.sset:
            broken[name] = "state file unreadable after a restart of svinit (%s)" % why
        else:
            daemon.piddir.remove(name)
    daemon.on_disk = set(records) | set(broken)
    unrecorded = find_unrecorded(daemon, records)
    daemon.away_reports = drain_reports(daemon)
    adopted, exited = daemon.sset.restore(records, broken)
    daemon.away_reports = {}
    for name in unrecorded:
        daemon.sset.changed(daemon.sset.get(name))
    daemon.log("restarted: %d processes re-adopted, %d exited while svinit was away"
             % (len(adopted), len(exited)))
    how = (found.me or {}).get("shutdown")
    if how in HOWS or how == "exit":
        daemon.log("the svinit before was shutting down (%s): going on with it" % how)
        daemon.request_shutdown(how)
