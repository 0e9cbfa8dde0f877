"""svinit's answers to the control requests about one service (start, stop, restart, wake,
release, signal, reload, log, status): imported at the first such request, so that a boot,
which makes none, does not pay for loading them. Each takes the Daemon first."""
import _signal

from toybox import engine, lib, protocol, syscalls
from toybox.engine import STOPPED, STARTING, STARTED, STOPPING, HARD, MILESTONE

MAX_LOG_LINES = 10000


def _busy(daemon, reply):
    if daemon.sset.shutting_down:
        reply(protocol.reply_error("shutdown in progress", protocol.E_BUSY))
        return True
    return False


def cmd_status(daemon, svc, req, reply):
    reply(protocol.reply_ok(service=svc.status()))


def cmd_start(daemon, svc, req, reply):
    if _busy(daemon, reply):
        return
    svc.start()
    daemon.sset.process_queues()
    _reply_when_started(svc, req, reply)


def cmd_wake(daemon, svc, req, reply):
    if _busy(daemon, reply):
        return
    if svc.state in (STOPPED, STOPPING):
        holders = [d for d in svc.dependents if d.kind != engine.AFTER
                   and d.frm.target == STARTED and d.frm.state in (STARTING, STARTED)]
        if not holders:
            reply(protocol.reply_error("%s: no active dependent needs it (use start)" % svc.name,
                                       protocol.E_REFUSED, service=svc.status()))
            return
        for d in holders:
            if not d.holding:
                d.holding = True
                svc.require()
    daemon.sset.process_queues()
    _reply_when_started(svc, req, reply)


def _reply_when_started(svc, req, reply, restarting=False):
    if not req.get("wait", True) or (svc.state == STARTED and not restarting):
        reply(protocol.reply_ok(service=svc.status()))
        return
    if svc.state == STOPPED and svc.start_failed:
        reply(_failed_reply(svc))
        return

    def event(s, ev):
        if ev == engine.EV_STARTED:
            reply(protocol.reply_ok(service=s.status()))
        elif ev in (engine.EV_FAILEDSTART, engine.EV_STOPPED) and s.start_failed:
            if s.state != STOPPED:
                return      # the reply shows it stopped
            reply(_failed_reply(s))
        elif ev == engine.EV_STOPPED and restarting and s.target == STARTED:
            return          # the stop half of a restart
        elif ev in (engine.EV_STARTCANCELLED, engine.EV_STOPPED):
            reply(protocol.reply_error("%s: start cancelled" % s.name, protocol.E_FAILED,
                                       service=s.status()))
        else:
            return
        s.unlisten(event)
    svc.listen(event)


def _failed_reply(svc):
    return protocol.reply_error("%s: failed to start: %s" % (svc.name, svc.reason or "failed"),
                                protocol.E_FAILED, service=svc.status())


def _needed(svc, req, reply, consequence):
    """Unless forced: refuse (True) when running services hard-depend on svc."""
    if req.get("force", False):
        return False
    need = sorted(d.frm.name for d in svc.dependents
                  if (d.kind == HARD or (d.kind == MILESTONE and d.waiting))
                  and d.frm.state != STOPPED)
    if need:
        reply(protocol.reply_error("%s: needed by %s (%s: use --force)"
                                   % (svc.name, ", ".join(need), consequence),
                                   protocol.E_REFUSED, service=svc.status()))
    return bool(need)


def cmd_stop(daemon, svc, req, reply):
    if _needed(svc, req, reply, "stopping it would stop them"):
        return
    svc.stop(True)
    daemon.sset.process_queues()
    _reply_when_stopped(svc, req, reply)


def _reply_when_stopped(svc, req, reply):
    if not req.get("wait", True) or svc.state == STOPPED:
        reply(protocol.reply_ok(service=svc.status()))
        return

    def event(s, ev):
        if ev == engine.EV_STOPPED:
            reply(protocol.reply_ok(service=s.status()))
        elif ev in (engine.EV_STOPCANCELLED, engine.EV_STARTED):
            reply(protocol.reply_error("%s: stop cancelled: it is starting again" % s.name,
                                       protocol.E_FAILED, service=s.status()))
        else:
            return
        s.unlisten(event)
    svc.listen(event)


def cmd_restart(daemon, svc, req, reply):
    if _busy(daemon, reply) or _needed(svc, req, reply, "they would restart too"):
        return
    restarting = svc.restart()
    if not restarting:
        svc.start()
    daemon.sset.process_queues()
    _reply_when_started(svc, req, reply, restarting and svc.state != STARTED)


def cmd_release(daemon, svc, req, reply):
    if svc.explicit:
        svc.explicit = False
        svc.release()
    daemon.sset.process_queues()
    reply(protocol.reply_ok(service=svc.status()))


def cmd_signal(daemon, svc, req, reply):
    sig = req.get("signal")
    try:
        if isinstance(sig, str):
            sig = lib.signal_number(sig)
        elif not 0 < sig < _signal.NSIG:
            raise ValueError("bad signal %r" % (sig,))
    except ValueError as e:
        reply(protocol.reply_error("signal: %s" % e, protocol.E_BAD_REQUEST))
        return
    if svc.pid is None:
        reply(protocol.reply_error("%s: has no process to signal" % svc.name, protocol.E_FAILED,
                                   service=svc.status()))
        return
    try:
        syscalls.kill(svc.pid, sig)
    except OSError as e:
        reply(protocol.reply_error("%s: kill %d: %s" % (svc.name, svc.pid, lib.strerror(e)),
                                   protocol.E_FAILED, service=svc.status()))
        return
    reply(protocol.reply_ok(service=svc.status()))


def cmd_reload(daemon, svc, req, reply):
    from toybox import svcfile
    if svc.desc.inittab_line is not None:
        reply(protocol.reply_error("%s: made from %s: edit that file and restart svinit"
                                   % (svc.name, svc.desc.file), protocol.E_REFUSED))
        return
    try:
        new = svcfile.load_file(svc.desc.file, svc.name, daemon.cfg.services_dir, daemon.environ)
    except svcfile.LoadError as e:
        reply(protocol.reply_error(str(e), protocol.E_FAILED, service=svc.status()))
        return
    old = svc.desc
    same_deps = (old.dependencies() == new.dependencies() and old.before == new.before
                 and old.after == new.after)
    if new.type != old.type and svc.state != STOPPED:
        reply(protocol.reply_error("%s: can't change the type of a service that is not stopped"
                                   % svc.name, protocol.E_REFUSED, service=svc.status()))
        return
    if not same_deps and svc.state != STOPPED:
        reply(protocol.reply_error("%s: can't change the dependencies of a service that is not "
                                   "stopped" % svc.name, protocol.E_REFUSED, service=svc.status()))
        return
    missing = [n for _k, n in new.dependencies() if n not in daemon.sset and daemon.find(n) is None]
    if missing:
        reply(protocol.reply_error("%s: dependency %s not found" % (new.file, missing[0]),
                                   protocol.E_FAILED, service=svc.status()))
        return
    if not same_deps:
        # The set had no cycle when it loaded: one now goes through this service. It would
        # leave it and what it waits for starting (or stopping) for good.
        descs = {s.name: s.desc for s in daemon.sset.services.values()}
        descs[svc.name] = new
        cycles = {}
        svcfile.find_cycles(descs, cycles)
        if cycles:
            why = cycles.get(svc.name) or cycles[sorted(cycles)[0]]
            reply(protocol.reply_error(str(why), protocol.E_FAILED, service=svc.status()))
            return
    if new.type != old.type:
        daemon.sset.unlink(svc)
        fresh = daemon.sset.add(new)
        fresh.listeners = svc.listeners
        for d in svc.dependents:
            d.to = fresh
            fresh.dependents.append(d)
        svc = fresh
        daemon.sset.link(svc)
    else:
        if not same_deps:
            daemon.sset.unlink(svc)
        svc.desc = new
        if not same_deps:
            daemon.sset.link(svc)
    daemon.log("%s: reloaded %s" % (svc.name, new.file))
    reply(protocol.reply_ok(service=svc.status()))


def cmd_log(daemon, svc, req, reply):
    n = req.get("lines", 20)
    if n < 0:
        reply(protocol.reply_error("log: lines must be a number >= 0", protocol.E_BAD_REQUEST))
        return
    out = daemon.outputs.get(svc.name)
    if out is None:
        out = daemon.output(svc)
    # What a launch before a reload to log-type = none wrote is still there.
    reply(protocol.reply_ok(lines=out.lines(min(n, MAX_LOG_LINES)),
                            discarded=svc.desc.log_type == "none"))
