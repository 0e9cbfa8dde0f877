"""svinit's service state machine: Dinit's model, written down once.

States: stopped -> starting -> started -> stopping -> stopped. Each service also has a
target (started or stopped) and a count of what requires it: its explicit activation
(`start`, counted once) plus every dependent that holds it. A service's target is
started while anything requires it; when the count drops to 0 it stops, and releases its
own dependencies in turn (so `release`/`stop` of a service stops the dependencies that
nothing else needs).

Dependency edges (Dep), from the dependent to the dependency:
  depends-on (HARD)       started with the dependent; the dependent waits until it has
                          started; its failure fails the dependent; its stop stops it.
  depends-ms (MILESTONE)  like depends-on until the dependent has started; no link after.
  waits-for (SOFT)        started with the dependent, which waits until it started or
                          failed; no other effect.
  after (AFTER)           ordering only: among services both starting, wait for the other.
                          `before = X` in S is stored as the edge "X after S".

Transitions are not made inside whatever event caused them: requests go through two
queues (propagation: require/release/start/stop/failure; transition: "check whether I can
now start or stop"), drained by ServiceSet.process_queues(), so a change ripples through
the graph iteratively (no recursion depth, and each edge is looked at a bounded number
of times: the work for a boot is linear in the size of the graph).

A stopping service waits until its dependents are down: hard dependents (and milestone
dependents that are still waiting for it) always; any other dependent that is going down
too. So a shutdown stops services in reverse dependency order for every kind of edge.

Process-specific behaviour (spawning, exits, timers, restarts) is in toybox/procsvc.py;
everything with a side effect outside the state machine goes through `host` (see
ServiceSet), so this module never touches a process or a file itself.
"""
import time
from _collections import deque     # (collections itself costs an import)

from toybox import protocol

STOPPED, STARTING, STARTED, STOPPING = protocol.STATES
HARD, MILESTONE, SOFT, AFTER = "depends-on", "depends-ms", "waits-for", "after"

# Why a service stopped (Dinit's stop reasons).
NORMAL, DEPRESTART, DEPFAILED, FAILED, EXECFAILED, TIMEDOUT, TERMINATED = range(7)
FAILURE_REASONS = (DEPFAILED, FAILED, EXECFAILED, TIMEDOUT)

# What listeners (waiting control requests) hear.
EV_STARTED, EV_STOPPED, EV_FAILEDSTART, EV_STARTCANCELLED, EV_STOPCANCELLED = (
    "started", "stopped", "failed", "start-cancelled", "stop-cancelled")


class Dep:
    __slots__ = ("frm", "to", "kind", "_holding", "waiting")

    def __init__(self, frm, to, kind):
        self.frm = frm
        self.to = to
        self.kind = kind
        self._holding = False   # frm holds a requirement on to
        self.waiting = False    # frm is waiting for to to start

    @property
    def holding(self):
        return self._holding

    @holding.setter
    def holding(self, value):
        # Part of frm's state file (`holds`): a restarted svinit must not start again
        # what frm had let go of (a soft dependency stopped on purpose, or that died).
        if value != self._holding:
            self._holding = value
            self.frm.sset.changed(self.frm)

    def is_hard(self):
        return self.kind == HARD or (self.kind == MILESTONE and self.waiting)


class Service:
    """The state machine of one service; the base behaviour is an internal service's."""

    has_process = False

    def __init__(self, sset, desc):
        self.sset = sset
        self.host = sset.host
        self.desc = desc
        self.name = desc.name
        self.deps = []
        self.dependents = []
        self.state = STOPPED
        self._target = STOPPED
        self.required = 0
        self._explicit = False
        self.waiting_for_deps = False
        self.waiting_for_console = False
        self.has_console = False
        self.force_stop = False
        self.start_failed = False
        self.stop_reason = NORMAL
        self.reason = None
        self.in_auto_restart = False
        self.in_user_restart = False
        self.prop_require = self.prop_release = self.prop_failure = False
        self.prop_start = self.prop_stop = False
        self.in_prop_queue = self.in_trans_queue = False
        self.failed_dep = None
        self.since = time.time()
        self.start_began = None     # when its own start last began (not kept across restarts)
        self.kill_all = None        # kill-all-on-stop in this stop: None, "running", "done"
        self.listeners = []
        self._pid = None

    def __repr__(self):
        return "<%s %s %s->%s>" % (type(self).__name__, self.name, self.state, self.target)

    # Every change of what the state file holds marks the service for writing (see
    # ServiceSet.changed): state, target, the explicit mark, the dependencies it holds.
    @property
    def target(self):
        return self._target

    @target.setter
    def target(self, value):
        if value != self._target:
            self._target = value
            self.sset.changed(self)

    @property
    def pid(self):
        return self._pid

    @pid.setter
    def pid(self, value):
        if value != self._pid:
            self._pid = value
            self.sset.changed(self)

    @property
    def explicit(self):
        return self._explicit

    @explicit.setter
    def explicit(self, value):
        if value != self._explicit:
            self._explicit = value
            self.sset.changed(self)

    # -- what the outside sees -------------------------------------------------

    @property
    def failed(self):
        return self.state == STOPPED and (self.start_failed or self.stop_reason in FAILURE_REASONS)

    def status(self):
        return {
            "name": self.name,
            "state": self.state,
            "target": self.target,
            "pid": self.pid,
            "failed": self.failed,
            "reason": self.reason,
            "active": self.explicit,
            "type": self.desc.type,
            "since": self.since,
            "start_began": self.start_began,
            "started_at": None,
            "restarts": 0,
            "exit_status": None,
            "exit_code": None,
            "console": "has" if self.has_console else "waiting" if self.waiting_for_console else None,
            "file": self.desc.file,
        }

    def has_running_hard_dependents(self):
        return any(d.kind == HARD and d.frm.state != STOPPED for d in self.dependents)

    def listen(self, fn):
        self.listeners.append(fn)

    def unlisten(self, fn):
        if fn in self.listeners:
            self.listeners.remove(fn)

    def notify(self, event):
        for fn in list(self.listeners):
            fn(self, event)

    def set_state(self, state):
        if state == self.state:
            return
        if self.state == STOPPED:
            self.sset.running += 1
        elif state == STOPPED:
            self.sset.running -= 1
        self.state = state
        self.since = time.time()
        self.sset.changed(self)

    # -- requirement counting (Dinit's require/release) ------------------------

    def require(self):
        self.required += 1
        if self.required == 1 and self.state not in (STARTING, STARTED):
            self.prop_start = True
            self.sset.queue_prop(self)

    def release(self, issue_stop=True):
        self.required -= 1
        if self.required > 0:
            return
        self.sset.changed(self)     # held no more: a stopped one is at rest now (no file)
        if self.state == STOPPING and self.target == STARTED:
            self.notify(EV_STARTCANCELLED)
        self.target = STOPPED
        self.prop_release = not self.prop_require
        self.prop_require = False
        if self.prop_release:
            self.sset.queue_prop(self)
        if issue_stop and self.state not in (STOPPED, STOPPING):
            self.stop_reason = NORMAL
            self.do_stop()

    def release_dependencies(self):
        for d in self.deps:
            if d.holding:
                # Cleared first: the dependency may look at this edge while it stops.
                d.holding = False
                d.to.release()

    # -- starting --------------------------------------------------------------

    def start(self):
        """Explicit activation (`ctl start`)."""
        if not self.explicit:
            self.required += 1
            self.explicit = True
        self.do_start()

    def do_start(self):
        was_active = self.state != STOPPED
        self.target = STARTED
        if not was_active:
            # Soft dependents that are up or coming up hold us again.
            for d in self.dependents:
                if d.kind != AFTER and not d.is_hard() and not d.holding \
                        and d.frm.state in (STARTED, STARTING):
                    d.holding = True
                    self.required += 1
            self.prop_require = not self.prop_release
            self.prop_release = False
            if self.prop_require:
                self.sset.queue_prop(self)
        else:
            if self.state != STOPPING or not self.can_interrupt_stop():
                return
            self.notify(EV_STOPCANCELLED)
        self.initiate_start()

    def initiate_start(self):
        self.kill_all = None        # the next stop kills all again
        self.force_stop = False     # a restart straight from stopping (see procsvc)
        self.start_failed = False
        self.failed_dep = None
        self.reason = None
        self.stop_reason = NORMAL
        self.set_state(STARTING)
        self.waiting_for_deps = True
        if self.start_check_dependencies():
            self.sset.queue_transition(self)

    def start_check_dependencies(self):
        ready = True
        for d in self.deps:
            if d.kind == AFTER:
                d.waiting = d.to.state == STARTING
            elif d.kind == SOFT:
                # Not one it let go of (failed, or stopped on purpose) and won't take again.
                d.waiting = d.to.state != STARTED and (d.holding or self.prop_require)
            else:
                d.waiting = d.to.state != STARTED
            if d.waiting:
                ready = False
        for d in self.dependents:
            if d.kind == AFTER and not d.waiting and d.frm.state == STARTING:
                d.waiting = True
        return ready

    def check_deps_started(self):
        for d in self.deps:
            if d.waiting:
                return False
        return True

    def dependency_started(self):
        if self.state in (STARTING, STARTED) and self.waiting_for_deps:
            self.sset.queue_transition(self)

    def all_deps_started(self):
        opts = self.desc.options
        if ("starts-on-console" in opts or "runs-on-console" in opts) and not self.has_console:
            self.waiting_for_console = True
            self.sset.queue_for_console(self)
            return
        self.waiting_for_deps = False
        self.start_began = time.time()
        if not self.bring_up():
            self.set_state(STOPPING)
            self.failed_to_start()

    def acquired_console(self):
        self.waiting_for_console = False
        self.has_console = True
        self.host.console_taken(self, "runs-on-console" in self.desc.options
                                or self.state == STARTING)
        if self.state != STARTING or not self.check_deps_started():
            self.release_console()
        else:
            self.all_deps_started()

    def release_console(self):
        if self.has_console:
            self.has_console = False
            self.sset.console_released(self)

    def started(self):
        if self.has_console and "runs-on-console" not in self.desc.options:
            self.release_console()
        self.set_state(STARTED)
        self.host.log(self.started_message())
        self.notify(EV_STARTED)
        if "starts-rwfs" in self.desc.options:
            self.host.rootfs_rw(self)
        if self.force_stop or self.target == STOPPED:
            self.do_stop()
            return
        for d in self.dependents:
            if d.waiting:
                d.waiting = False
                d.frm.dependency_started()

    def started_message(self):
        return "%s: started" % self.name

    def failed_to_start(self, depfailed=False, immediate_stop=True):
        self.target = STOPPED
        if self.waiting_for_console:
            self.sset.unqueue_console(self)
            self.waiting_for_console = False
        if self.explicit:
            self.explicit = False
            self.release(False)
        for d in self.dependents:
            s = d.frm
            if d.kind in (HARD, MILESTONE):
                if s.state == STARTING:
                    s.prop_failure = True
                    s.failed_dep = self.name
                    self.sset.queue_prop(s)
            elif d.waiting:
                d.waiting = False
                s.dependency_started()
            # Released now so that our target is stopped before stopped() runs.
            if d.holding:
                d.holding = False
                self.release(False)
        self.start_failed = True
        if depfailed:
            self.reason = "dependency %s failed" % self.failed_dep
        if self.reason is None:
            self.reason = "failed to start"
        self.host.log("%s: failed: %s" % (self.name, self.reason))
        self.notify(EV_FAILEDSTART)
        if immediate_stop:
            self.stopped()

    # -- stopping --------------------------------------------------------------

    def stop(self, bring_down=True):
        """`ctl stop` (bring_down) or a shutdown's release of the explicit mark."""
        if self.explicit:
            self.explicit = False
            self.required -= 1
        if bring_down or self.required == 0:
            self.target = STOPPED
        if self.required == 0:
            bring_down = True
            self.prop_release = not self.prop_require
            if self.prop_release:
                self.sset.queue_prop(self)
        if bring_down and self.state != STOPPED:
            self.stop_reason = NORMAL
            self.do_stop()

    def restart(self):
        """`ctl restart`: stop and start again, hard dependents with it; activation unchanged."""
        if self.state != STARTED:
            return False
        self.stop_reason = NORMAL
        self.force_stop = True
        self.do_stop(with_restart=True)
        return True

    def unrecoverable_stop(self):
        self.target = STOPPED
        self.forced_stop()

    def forced_stop(self):
        if self.state != STOPPED:
            self.force_stop = True
            self.prop_stop = True
            self.sset.queue_prop(self)

    def wants_auto_restart(self):
        return self.desc.restart == "yes"

    def check_restart(self):
        return True

    def do_stop(self, with_restart=False, unexpected=False):
        self.in_auto_restart = False
        self.in_user_restart = False
        for_restart = with_restart or (self.target == STARTED and self.wants_auto_restart()
                                       and not self.sset.shutting_down)
        if for_restart and not with_restart:
            for_restart = self.check_restart()
            self.in_auto_restart = for_restart
            if not for_restart:
                unexpected = True
        if not for_restart:
            if self.explicit:
                self.explicit = False
                self.release(False)
            if unexpected:
                # Died and won't come back: nothing may start it again behind our back
                # (a dependent holding it would otherwise restart it without limit).
                self.target = STOPPED
        elif self.in_auto_restart:
            self.host.log("%s: %s; restarting" % (self.name, self.reason or "stopped"))
        all_stopped = self.stop_dependents(for_restart, with_restart)
        if self.state != STARTED:
            if self.state != STARTING:
                return
            if not self.waiting_for_deps and not self.waiting_for_console:
                if not self.can_interrupt_start():
                    return      # it stops once it has started (started() checks the target)
                if not self.interrupt_start():
                    self.notify(EV_STARTCANCELLED)
                    return
            elif self.waiting_for_console:
                self.sset.unqueue_console(self)
                self.waiting_for_console = False
            self.notify(EV_STARTCANCELLED)
        self.set_state(STOPPING)
        self.waiting_for_deps = not all_stopped
        if all_stopped:
            self.sset.queue_transition(self)

    def stop_dependents(self, for_restart, restart_deps):
        for d in self.dependents:
            s = d.frm
            if d.is_hard():
                if self.force_stop:
                    if self.target == STOPPED:
                        s.stop_reason = DEPFAILED if self.failed_hard() else NORMAL
                        s.reason = "dependency %s %s" % (
                            self.name, "failed" if s.stop_reason == DEPFAILED else "stopped")
                        s.unrecoverable_stop()
                    else:
                        s.reason = "dependency %s restarting" % self.name
                        s.forced_stop()
                if s.state != STOPPED:
                    if self.target == STOPPED:
                        if s.target != STOPPED:
                            s.target = STOPPED
                            if s.reason is None:
                                s.reason = "dependency %s stopped" % self.name
                            if s.explicit:
                                s.explicit = False
                                s.release(True)
                            s.prop_stop = True
                            self.sset.queue_prop(s)
                    elif restart_deps and s.state != STOPPING:
                        s.stop_reason = DEPRESTART
                        s.in_user_restart = True
                        s.prop_stop = True
                        self.sset.queue_prop(s)
            elif not for_restart and d.kind != AFTER:
                if d.waiting:
                    d.waiting = False
                    s.dependency_started()
                if d.holding:
                    d.holding = False
                    self.release(False)
        return self.stop_check_dependents()

    def failed_hard(self):
        """Stopping because the service itself failed (not asked to stop)."""
        return self.stop_reason in FAILURE_REASONS or self.stop_reason == TERMINATED

    def stop_check_dependents(self):
        for d in self.dependents:
            if d.kind == AFTER:
                continue
            s = d.frm
            if s.state == STOPPED or (s.state == STARTING and s.waiting_for_deps):
                continue
            if d.is_hard() or s.target == STOPPED:
                return False
        return True

    def dependent_stopped(self):
        if self.state == STOPPING and self.waiting_for_deps:
            self.sset.queue_transition(self)

    def can_interrupt_start(self):
        return self.waiting_for_deps

    def interrupt_start(self):
        return True

    def can_interrupt_stop(self):
        return self.waiting_for_deps and not self.force_stop

    def bring_up(self):
        self.started()
        return True

    def bring_down(self):
        self.stopped()

    def becoming_inactive(self):
        """Hook: the service is stopped and will not restart."""

    def stopped(self):
        self.release_console()
        self.force_stop = False
        will_restart = self.target == STARTED
        if not will_restart:
            for d in self.dependents:
                if d.kind == AFTER or not d.is_hard():
                    if d.waiting:
                        d.waiting = False
                        d.frm.dependency_started()
                    if d.holding:
                        d.holding = False
                        self.release(False)
        for d in self.deps:
            d.to.dependent_stopped()
        self.set_state(STOPPED)
        if will_restart:
            self.initiate_start()
        else:
            self.becoming_inactive()
            if self.explicit:
                self.explicit = False
                self.release(False)
        if not self.start_failed:
            if not (will_restart and self.in_auto_restart):   # "...; restarting" said it
                self.host.log(self.stopped_message())
            self.maybe_chain(will_restart)
        self.notify(EV_STOPPED)

    def stopped_message(self):
        if self.reason:
            return "%s: %s: %s" % (self.name, "failed" if self.failed else "stopped", self.reason)
        return "%s: stopped" % self.name

    def maybe_chain(self, will_restart):
        chain = self.desc.chain_to
        if not chain or will_restart or self.sset.shutting_down:
            return
        if "always-chain" in self.desc.options or (
                self.stop_reason == TERMINATED and self.exited_cleanly()):
            self.host.chain(self, chain)

    def exited_cleanly(self):
        return False

    # -- the state file, and taking it back after a restart of svinit -------------

    def record(self):
        """The fields of this service's state file, or None when it needs none: at rest
        (stopped, not active, holding nothing, held by nothing), or starting only because
        the services that hold it want it and with nothing launched yet, which a
        restarted svinit derives from their files (so a boot writes each service's file
        once, when it has a process)."""
        if self.state == STOPPED and self.target == STOPPED and not self.explicit \
                and self.required == 0 and not any(d.holding for d in self.deps) \
                and not self.failed:
            return None
        if self.state in (STARTING, STOPPED) and self.target == STARTED and not self.explicit \
                and self.required > 0 and self.pid is None and not self.pinned() \
                and all(d.holding for d in self.deps if d.kind != AFTER):
            return None
        return self.state_fields()

    def pinned(self):
        """Hook: the file holds something that can't be derived (a restart count)."""
        return False

    def state_fields(self):
        holds = " ".join(d.to.name for d in self.deps if d.holding)
        failed = self.failed
        return [("name", self.name), ("type", self.desc.type), ("state", self.state),
                ("target", self.target), ("active", self.explicit), ("holds", holds or None),
                ("since", self.since), ("failed", 1 if failed else None),
                ("reason", self.reason if failed else None)]

    def restore(self, rec):
        """Take the recorded fields back (no transition, no side effect)."""
        state = rec.get("state")
        self.state = state if state in protocol.STATES else STOPPED
        target = rec.get("target")
        if target not in (STARTED, STOPPED):
            target = STARTED if self.state in (STARTING, STARTED) else STOPPED
        self._target = target
        self._explicit = rec.get("active") == "1"
        if self.state == STOPPED and rec.get("failed") == "1":
            # `ctl status` after a restart still says it failed, and why.
            self.stop_reason = FAILED
            self.reason = rec.get("reason")
        try:
            self.since = float(rec.get("since"))
        except (TypeError, ValueError):
            pass

    def reattach(self):
        """Recovery, first pass: watch the recorded process again. None, or ("exited",
        status) when it died while svinit was away and that exit is handled now."""
        return None

    def resume(self):
        """Recovery, second pass: go on from the recorded state, through the queues."""
        if self.state == STOPPED:
            if self.target == STARTED:
                self.initiate_start()
            elif self.required > 0:
                self.held_down()
            return
        if self.state == STARTING:
            self.waiting_for_deps = True
            if self.start_check_dependencies():
                self.sset.queue_transition(self)
        elif self.state == STOPPING:
            self.waiting_for_deps = True
            self.sset.queue_transition(self)
        if self.target == STOPPED and self.state != STOPPING:
            self.stop_reason = NORMAL
            self.do_stop()

    def held_down(self):
        """Recovery: stopped for good (it died or failed) while its dependents still held
        it: they react as they would have to its failure."""
        self.force_stop = True
        self.stop_reason = FAILED
        for d in self.dependents:
            s = d.frm
            if d.is_hard() and s.state == STARTING:
                s.prop_failure = True
                s.failed_dep = self.name
                self.sset.queue_prop(s)
        self.stop_dependents(False, False)
        self.force_stop = False

    # -- the queues --------------------------------------------------------------

    def do_propagation(self):
        if self.prop_require:
            self.prop_require = False
            for d in self.deps:
                if d.kind != AFTER and not d.holding:
                    d.holding = True
                    d.to.require()
        if self.prop_release:
            self.prop_release = False
            self.release_dependencies()
        if self.prop_failure:
            self.prop_failure = False
            self.stop_reason = DEPFAILED
            self.set_state(STOPPED)
            self.failed_to_start(depfailed=True)
        if self.prop_start:
            self.prop_start = False
            self.do_start()
        if self.prop_stop:
            self.prop_stop = False
            self.do_stop(self.in_user_restart)

    def execute_transition(self):
        if self.state == STARTING:
            if self.check_deps_started():
                self.all_deps_started()
        elif self.state == STOPPING:
            if self.stop_check_dependents():
                self.waiting_for_deps = False
                if "kill-all-on-stop" in self.desc.options and self.kill_all is None:
                    # As Dinit: TERM to every other process, KILL a second later, then stop.
                    self.kill_all = "running"
                    self.host.kill_all_below(self.killed_all)
                    return
                if self.kill_all != "running":
                    self.bring_down()

    def killed_all(self):
        self.kill_all = "done"
        if self.state == STOPPING and not self.waiting_for_deps:
            self.bring_down()


class ServiceSet:
    """Every loaded service, the two queues, the console queue.

    host provides: log(msg), console_taken(svc, hold), console_free(),
    rootfs_rw(svc), check_hidden(svc), chain(svc, name), and what procsvc.py needs."""

    def __init__(self, host):
        self.host = host
        self.services = {}
        self.prop_queue = deque()
        self.trans_queue = deque()
        self.processing = False
        self.running = 0            # services not in state stopped
        self.shutting_down = False
        self.console_queue = deque()
        self.console_owner = None
        self.dirty = {}             # services whose state file is out of date, in order of change

    def changed(self, svc):
        # A dict keeps the order of first change: files are written in causal order, so a
        # svinit killed half-way through a write-out leaves a state it can make sense of.
        self.dirty[svc] = None

    def take_changed(self):
        dirty, self.dirty = self.dirty, {}
        return dirty

    def __contains__(self, name):
        return name in self.services

    def get(self, name):
        return self.services.get(name)

    def add(self, desc):
        from toybox import procsvc
        cls = procsvc.CLASSES.get(desc.type, Service)
        svc = cls(self, desc)
        self.services[desc.name] = svc
        return svc

    def link(self, svc):
        """Make svc's edges from its description (to services that are loaded). Edges that
        exist already are kept, not doubled (a reload links every service again)."""
        desc = svc.desc
        have = {(id(d.to), d.kind) for d in svc.deps}
        services = self.services
        for kind, names in ((HARD, desc.depends_on), (MILESTONE, desc.depends_ms),
                            (SOFT, desc.waits_for), (AFTER, desc.after)):
            for name in names:
                to = services.get(name)
                if to is not None and to is not svc and (id(to), kind) not in have:
                    have.add((id(to), kind))
                    self._edge(svc, to, kind)
        for name in desc.before:
            other = services.get(name)
            if other is not None and other is not svc \
                    and not any(d.to is svc and d.kind == AFTER for d in other.deps):
                self._edge(other, svc, AFTER)

    def unlink(self, svc):
        """Drop svc's own edges (before a reload); the service must be stopped."""
        for d in list(svc.deps):
            if d.kind == AFTER and svc.name in d.to.desc.before:
                continue        # made by the other service's `before`
            svc.deps.remove(d)
            d.to.dependents.remove(d)
        for d in list(svc.dependents):
            if d.kind == AFTER and d.frm.name in svc.desc.before:
                svc.dependents.remove(d)
                d.frm.deps.remove(d)

    @staticmethod
    def _edge(frm, to, kind):
        d = Dep(frm, to, kind)
        frm.deps.append(d)
        to.dependents.append(d)

    def queue_prop(self, svc):
        if not svc.in_prop_queue:
            svc.in_prop_queue = True
            self.prop_queue.append(svc)

    def queue_transition(self, svc):
        if not svc.in_trans_queue:
            svc.in_trans_queue = True
            self.trans_queue.append(svc)

    def process_queues(self):
        """Drain both queues; a nested call (from inside a transition) leaves it to the outer one."""
        if self.processing:
            return
        self.processing = True
        try:
            prop, trans = self.prop_queue, self.trans_queue
            while prop or trans:
                while prop:
                    svc = prop.popleft()
                    svc.in_prop_queue = False
                    svc.do_propagation()
                if trans:
                    svc = trans.popleft()
                    svc.in_trans_queue = False
                    svc.execute_transition()
        finally:
            self.processing = False

    # -- the console: one owner at a time, the others queue ----------------------

    def queue_for_console(self, svc):
        if self.console_owner is None:
            self.console_owner = svc
            svc.acquired_console()
        elif svc not in self.console_queue:
            self.console_queue.append(svc)

    def unqueue_console(self, svc):
        if svc in self.console_queue:
            self.console_queue.remove(svc)

    def console_released(self, svc):
        if self.console_owner is svc:
            self.console_owner = None
        while self.console_owner is None and self.console_queue:
            nxt = self.console_queue.popleft()
            self.console_owner = nxt
            nxt.acquired_console()
        if self.console_owner is None:
            self.host.console_free()

    # -- recovery after a restart of svinit --------------------------------------

    def restore(self, records, broken):
        """Take back what a killed svinit recorded, and go on from there.

        records: {name: fields} of loaded services; broken: {name: why} of services whose
        file could not be read. The explicit marks and the dependencies each service holds
        come from the files; a service without a file that is held by one that wants to
        run (target started) was starting for it, and starts. A broken service is taken as
        failed: never started again automatically (its old process, if there is one, is
        not known), its dependents react as to a failure. Then each process is re-adopted
        or found dead (exits while svinit was away are handled as they would have been),
        and the queues run. Returns (adopted, exited) service lists."""
        recorded = {}
        for name, rec in records.items():
            svc = self.services[name]
            svc.restore(rec)
            recorded[svc] = set(rec.get("holds", "").split())
        for name, why in broken.items():
            svc = self.services[name]
            svc.start_failed = True
            svc.reason = why
            recorded[svc] = set()
            self.changed(svc)       # its unreadable file is replaced
        for svc, holds in recorded.items():
            for d in svc.deps:
                if d.kind != AFTER and d.to.name in holds:
                    d._holding = True
        for svc in self.services.values():
            svc.required = int(svc.explicit) + sum(1 for d in svc.dependents if d._holding)
        self._want_held(recorded)
        for svc in recorded:
            if svc.target == STARTED and svc.required == 0:
                svc._target = STOPPED       # nothing wants it any more (a stop half written)
                self.changed(svc)
        self.running = sum(1 for svc in self.services.values() if svc.state != STOPPED)
        self.processing = True      # nothing happens until every service is back in place
        try:
            adopted, exited = [], []
            for svc in recorded:
                got = svc.reattach()
                if got is None:
                    if svc.pid is not None:
                        adopted.append(svc)
                elif got[0] == "exited":
                    exited.append((svc, got[1]))
            pending = {svc for svc, _ in exited}
            for svc in self.services.values():
                if svc in pending or (svc.pid is not None and svc not in adopted):
                    continue        # its exit decides (now, or when oneit's report comes)
                if svc in recorded or svc.state != STOPPED or svc.target == STARTED:
                    svc.resume()
            for svc, status in exited:
                svc.exited_while_away(status)
        finally:
            self.processing = False
        self.process_queues()
        return adopted, [svc for svc, _ in exited]

    @staticmethod
    def held_after_restart(kind, state):
        """Whether a service in `state` that wants to run holds a dependency of `kind` its
        file does not say it holds: every one when it has yet to start (a service it let
        go of while starting or started is not taken again), hard ones always, milestones
        until it has started."""
        return kind != AFTER and (state == STOPPED or kind == HARD
                                  or (kind == MILESTONE and state == STARTING))

    def _want_held(self, recorded):
        """Services that want to run hold their dependencies (hard ones at least); a held
        service with no file of its own was starting, and starts again."""
        todo = deque(svc for svc in self.services.values() if svc.target == STARTED)
        seen = set()
        while todo:
            svc = todo.popleft()
            if svc in seen:
                continue
            seen.add(svc)
            for d in svc.deps:
                if d.kind == AFTER:
                    continue
                if not d._holding and self.held_after_restart(d.kind, svc.state):
                    d._holding = True
                    d.to.required += 1
                    self.changed(svc)
                dep = d.to
                if d._holding and dep not in recorded and dep.target == STOPPED:
                    dep._target = STARTED
                    self.changed(dep)
                    todo.append(dep)

    # -- whole-set operations ----------------------------------------------------

    def stop_all(self):
        """Shutdown: drop every explicit activation; everything stops in reverse order."""
        self.shutting_down = True
        for svc in list(self.services.values()):
            svc.stop(False)
        self.process_queues()
