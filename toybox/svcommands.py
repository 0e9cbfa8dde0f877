"""svinit's answers to the control requests about one service (start, stop, restart, wake,
release, signal, reload, log, status, enable, disable): imported at the first such request, so that a boot,
which makes none, does not pay for loading them. Each takes the Daemon first."""
import _signal
import os

from toybox import engine, lib, protocol, syscalls
from toybox.engine import STOPPED, STARTING, STARTED, STOPPING, HARD, MILESTONE, SOFT

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
    for key, dep in new.dependencies():
        if (key, dep) in new.from_dirs and dep not in daemon.sset and daemon.find(dep) is None:
            daemon.log(str(svcfile.drop_dir_entry(new, key, dep)))
    # Order does not matter: a .d dir is read sorted, `enable` appends.
    same_deps = (sorted(old.dependencies()) == sorted(new.dependencies())
                 and sorted(old.before) == sorted(new.before) and sorted(old.after) == sorted(new.after))
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
        why = _cycle_through(daemon, svc.name, new)
        if why is not None:
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


def _cycle_through(daemon, name, desc):
    """The dependency cycle (a LoadError) the loaded set would have with desc for service
    name's description, or None. The set had none when it loaded: one now goes through
    that service, and would leave it and what it waits for starting (or stopping) for good."""
    from toybox import svcfile
    descs = {s.name: s.desc for s in daemon.sset.services.values()}
    descs[name] = desc
    cycles = {}
    svcfile.find_cycles(descs, cycles)
    if not cycles:
        return None
    return cycles.get(name) or cycles[sorted(cycles)[0]]


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


# -- enable, disable: a waits-for.d entry, kept on disk and made at once -------------

def _enabling_service(daemon, svc, req, reply):
    """The service whose first waits-for.d directory records `svc` (request field
    "from", default boot), and that directory; None after replying an error."""
    name = req.get("from", "boot")
    if not name:
        reply(protocol.reply_error('%s: "from" must be a service name' % req["cmd"],
                                   protocol.E_BAD_REQUEST))
        return None
    frm, error = daemon.requested_service(name)
    if error is not None:
        reply(error)
        return None
    if frm is svc:
        reply(protocol.reply_error("%s: a service can't wait for itself" % name, protocol.E_REFUSED))
        return None
    dirs = frm.desc.dot_dirs.get("waits-for")
    if not dirs:
        reply(protocol.reply_error("%s: its file (%s) has no waits-for.d directory to record "
                                   "%s in" % (name, frm.desc.file, svc.name), protocol.E_REFUSED,
                                   service=svc.status()))
        return None
    return frm, dirs


def _soft_edge(frm, svc):
    for d in frm.deps:
        if d.to is svc and d.kind == SOFT:
            return d
    return None


def cmd_enable(daemon, svc, req, reply):
    """As `dinitctl enable`: FROM (boot) waits for NAME from now on, and at every boot
    after (a link in FROM's waits-for.d); NAME starts if FROM is up."""
    if _busy(daemon, reply):
        return
    got = _enabling_service(daemon, svc, req, reply)
    if got is None:
        return
    frm, dirs = got
    desc = frm.desc
    if svc.name not in desc.waits_for:
        desc.waits_for.append(svc.name)
        try:
            why = _cycle_through(daemon, frm.name, desc)
        finally:
            desc.waits_for.pop()
        if why is not None:
            reply(protocol.reply_error("%s: can't be enabled from %s: %s" % (svc.name, frm.name, why),
                                       protocol.E_REFUSED, service=svc.status()))
            return
        dirpath, line = dirs[0]
        path = os.path.join(dirpath, svc.name)
        try:
            where = dirpath
            if not os.path.isdir(dirpath):
                os.mkdir(dirpath)
            where = path
            if not os.path.lexists(path):
                # A link to the file, by convention (only the entry's name counts).
                os.symlink(os.path.relpath(svc.desc.file or svc.name, dirpath), path)
        except OSError as e:
            reply(protocol.reply_error("%s: %s" % (where, lib.strerror(e)), protocol.E_FAILED,
                                       service=svc.status()))
            return
        desc.waits_for.append(svc.name)
        desc.lines[("waits-for", svc.name)] = line
        desc.from_dirs.add(("waits-for", svc.name))
        daemon.sset.link(frm)
        daemon.log("%s: enabled: %s waits for it (%s)" % (svc.name, frm.name, path))
    d = _soft_edge(frm, svc)
    if d is not None and not d.holding and frm.target == STARTED and frm.state in (STARTING, STARTED):
        d.holding = True
        svc.require()
    daemon.sset.process_queues()
    if svc.target != STARTED:
        reply(protocol.reply_ok(service=svc.status()))     # FROM is not up: nothing to start
        return
    _reply_when_started(svc, req, reply)


def cmd_disable(daemon, svc, req, reply):
    """Undo `enable`: the link goes, FROM waits for NAME no more, and NAME stops unless
    something else needs it or it was started on its own (`ctl start`)."""
    if _busy(daemon, reply):
        return      # the next boot is not changed half-way through a shutdown
    got = _enabling_service(daemon, svc, req, reply)
    if got is None:
        return
    frm, dirs = got
    desc = frm.desc
    key = ("waits-for", svc.name)
    if key in desc.lines and key not in desc.from_dirs:
        reply(protocol.reply_error("%s:%s says waits-for: %s: edit the file, then reload it"
                                   % (desc.file, desc.line_of(*key), svc.name),
                                   protocol.E_REFUSED, service=svc.status()))
        return
    for dirpath, _line in dirs:
        path = os.path.join(dirpath, svc.name)
        try:
            os.unlink(path)
            daemon.log("%s: disabled: %s waits for it no more (%s removed)"
                       % (svc.name, frm.name, path))
        except FileNotFoundError:
            pass
        except OSError as e:
            reply(protocol.reply_error("%s: %s" % (path, lib.strerror(e)), protocol.E_FAILED,
                                       service=svc.status()))
            return
    if key in desc.lines:
        desc.waits_for.remove(svc.name)
        del desc.lines[key]
        desc.from_dirs.discard(key)
    d = _soft_edge(frm, svc)
    if d is not None:
        frm.deps.remove(d)
        svc.dependents.remove(d)
        if d.holding:
            d.holding = False
            svc.release()
        daemon.sset.changed(frm)
    daemon.sset.process_queues()
    if svc.target == STOPPED:
        _reply_when_stopped(svc, req, reply)
    else:
        reply(protocol.reply_ok(service=svc.status()))
