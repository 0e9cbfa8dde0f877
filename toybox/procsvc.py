"""Services with a process: process, bgprocess, scripted (the state machine is engine.py).

What the host provides to these classes (applets/svinit.py implements it):
  log(msg)
  now()                            monotonic seconds
  timer(delay, fn) -> handle       handle.cancel()
  launch(svc, argv, ready=False, console=False) -> (pid, status_fd, ready_fd)
                                   raises spawn.SpawnError; output, fds and env are set up
  watch_exec(fd, fn)               fn() once the exec status pipe is readable
  watch_fd(fd, fn) / unwatch_fd(fd)
  watch_child(pid, fn)             fn(raw wait status) when the reaper reaps pid
  watch_pid(pid, fn)               a process that may not be our child (pidfd, oneit
                                   reports): fn(raw status, or None when unknown)
  unwatch(pid)
  kill_all_below(done)             kill-all-on-stop: TERM (then KILL) every process below
                                   svinit, then done()
  starttime(pid)                   /proc start time of a process (of one just launched: known)
  kill(pid, sig, group, then_cont=False, leader=False)
                                   signal the process or its process group (ESRCH ignored),
                                   with then_cont SIGCONT after it; leader: the group is -pid
  persist()                        write the state files of the services that changed
                                   (called right after a launch: the window in which a
                                   killed svinit leaves a process unrecorded stays tiny)
  adopt(svc, pid, start, fn, away) after a restart of svinit: watch a recorded process if it
                                   is still the same one (None; fn(status) at its exit), else
                                   ("exited", status or None) or ("waiting",): away(status)
                                   comes later
"""
from toybox import sysos as os     # posix, and os's helpers without its import

from toybox import fs, lib, proc
from toybox.engine import (Service, STOPPED, STARTING, STARTED, STOPPING, FAILED, EXECFAILED,
                           TIMEDOUT, TERMINATED)
from toybox.spawn import SpawnError, read_status

SIGKILL = 9
# Deaths by these signals are someone asking the service to stop: not a failure for
# restart = on-failure (Dinit's list).
STOP_SIGNALS = frozenset((1, 2, 10, 12, 15))

T_START, T_STOP, T_RESTART = "start", "stop", "restart"


def describe(status):
    return "exit status unknown" if status is None else lib.describe_status(status)


class ProcessService(Service):
    """type = process: started when launched, or when it signals readiness."""

    has_process = True

    def __init__(self, sset, desc):
        super().__init__(sset, desc)
        self.proc_start = None      # /proc starttime of pid
        self.output_id = None       # inode of the output pipe of the process (see logs.py)
        self.launch_id = None       # its SVINIT_LAUNCH (svinitd.ENV_LAUNCH)
        self.started_at = None
        self.exit_status = None     # raw wait status of the last exit (None: unknown/none)
        self.exited = False         # there was an exit (exit_status may still be unknown)
        self.waiting_execstat = False
        self.status_fd = None
        self.ready_fd = None
        self.timer = None
        self.timer_kind = None
        self.last_start = None
        self.window_start = None
        self.window_count = 0
        self.restarts = 0
        self.stop_pid = None
        self.smooth = False         # in smooth recovery

    # -- status and state file ---------------------------------------------------

    def status(self):
        st = super().status()
        st["pid"] = self.pid
        st["started_at"] = self.started_at if self.pid is not None else None
        st["restarts"] = self.restarts
        if self.exited:
            st["exit_status"] = describe(self.exit_status)
            st["exit_code"] = None if self.exit_status is None else lib.exit_code_of(self.exit_status)
        return st

    def pinned(self):
        return self.restarts > 0

    def state_fields(self):
        has = self.pid is not None
        if has and self.proc_start is None:
            # Launched before /proc was mounted (early boot): read it now that it may be.
            self.proc_start = proc.starttime(self.pid)
        return super().state_fields() + [
            ("pid", self.pid), ("starttime", self.proc_start if has else None),
            ("started_at", self.started_at if has else None), ("restarts", self.restarts),
            ("output", self.output_id if has else None),
            ("launch", self.launch_id if has else None), ("exit_status", self.exit_status)]

    # -- after a restart of svinit ---------------------------------------------------

    def restore(self, rec):
        super().restore(rec)
        self.restarts = _number(rec.get("restarts"), int) or 0
        pid = _number(rec.get("pid"), int)
        self._pid = pid if pid is not None and pid > 0 else None
        self.proc_start = _number(rec.get("starttime"), int)
        self.started_at = _number(rec.get("started_at"), float)
        self.output_id = rec.get("output")
        self.launch_id = rec.get("launch")
        self.exit_status = _number(rec.get("exit_status"), int)
        self.exited = self.exit_status is not None

    def reattach(self):
        if self.pid is None:
            return None
        # Alive, its exit is news when it comes (a normal exit); dead already, it is told
        # as an exit from while svinit was away.
        return self.host.adopt(self, self.pid, self.proc_start, self.child_exited,
                               self.exited_while_away)

    def exited_while_away(self, status):
        self.host.log("%s: pid %d %s while svinit was away" % (self.name, self.pid, describe(status)))
        self.child_exited(status)

    def resume(self):
        if self.pid is not None and self.state == STARTING:
            # Its readiness pipe (or exec status) went with the old svinit: the process has
            # lived through it, so it is taken as started.
            if self.desc.ready_notification is not None:
                self.host.log("%s: re-adopted while starting (readiness not known): taken as started"
                              % self.name)
            self.started()     # (which stops it again if nothing wants it any more)
            return
        if self.pid is None and self.state == STARTED and self.target == STARTED \
                and self.desc.smooth_recovery:
            # Between two processes of a smooth recovery (its restart delay) when svinit
            # died: the restart it had planned, one delay from now.
            self.host.log("%s: was restarting (smooth recovery) when svinit died: restarting"
                          % self.name)
            self.smooth = True
            self.arm(T_RESTART, self.desc.restart_delay)
            return
        if self.pid is not None and self.state == STARTED and "runs-on-console" in self.desc.options \
                and self.sset.console_owner is None:
            self.has_console = True
            self.sset.console_owner = self
            self.host.console_taken(self, True)
        super().resume()

    def rearm_start(self):
        """Recovery: the start timeout of a process still starting, counted from its launch."""
        timeout = self.desc.start_timeout
        if not timeout:
            return
        ran = self.host.wall() - self.started_at if self.started_at is not None else 0.0
        self.arm(T_START, min(timeout, max(0.0, timeout - ran)))

    def started_message(self):
        if self.pid is not None:
            return "%s: started (pid %d)" % (self.name, self.pid)
        return "%s: started" % self.name

    # -- timers ------------------------------------------------------------------

    def arm(self, kind, delay=None):
        self.cancel_timer()
        if delay is None:
            delay = self.desc.start_timeout if kind == T_START else self.desc.stop_timeout
            if not delay:
                return
        self.timer_kind = kind
        self.timer = self.host.timer(delay, self.timer_expired)

    def cancel_timer(self):
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
            self.timer_kind = None

    def timer_expired(self):
        kind = self.timer_kind
        self.timer = None
        self.timer_kind = None
        if self.state == STOPPING:
            self.kill_with_fire()
        elif kind == T_START and self.pid is not None:
            self.start_timed_out()
        elif kind == T_RESTART:
            self.do_restart()
        self.sset.process_queues()

    def start_timed_out(self):
        self.host.log("%s: start timed out after %gs; stopping it"
                      % (self.name, self.desc.start_timeout))
        self.stop_reason = TIMEDOUT
        self.reason = "start timed out after %gs" % self.desc.start_timeout
        self.kill_pg(self.desc.term_signal)
        self.arm(T_STOP)
        self.set_state(STOPPING)
        self.failed_to_start(immediate_stop=False)

    def kill_with_fire(self):
        for pid in (self.pid, self.stop_pid):
            if pid is not None:
                self.host.log("%s: stop timed out after %gs; sending SIGKILL"
                              % (self.name, self.desc.stop_timeout))
                self.host.kill(pid, SIGKILL, "signal-process-only" not in self.desc.options)

    def kill_pg(self, sig):
        if self.pid is not None and sig:
            group = "signal-process-only" not in self.desc.options
            self.host.kill(self.pid, sig, group, then_cont=sig != SIGKILL, leader=self.pid_leads())

    def pid_leads(self):
        """self.pid is svinit's child, a session leader (spawn: setsid)."""
        return True

    # -- starting --------------------------------------------------------------

    def bring_up(self):
        if self.in_auto_restart:
            return self.restart_ps_process()
        self.window_start = None
        self.window_count = 0
        if not self.start_ps_process():
            return False
        self.arm(T_START)
        if not self.waiting_execstat:
            self.exec_succeeded()
        self.host.persist()
        return True

    def start_ps_process(self):
        """Launch the command; False (with reason set) if that failed at once."""
        self.last_start = self.host.now()
        self.exited = False
        self.exit_status = None
        try:
            pid, status_fd, ready_fd = self.host.launch(
                self, self.desc.command, ready=self.desc.ready_notification is not None,
                console=self.on_console())
        except SpawnError as e:
            self.stop_reason = EXECFAILED
            self.reason = str(e)
            return False
        self.set_pid(pid)
        self.host.watch_child(pid, self.child_exited)
        if ready_fd is not None:
            self.ready_fd = ready_fd
            self.host.watch_fd(ready_fd, self.ready_readable)
        if status_fd is not None:
            self.waiting_execstat = True
            self.status_fd = status_fd
            self.host.watch_exec(status_fd, self.exec_status_ready)
        return True

    def on_console(self):
        opts = self.desc.options
        return "runs-on-console" in opts or ("starts-on-console" in opts and self.state == STARTING) \
            or "shares-console" in opts

    def set_pid(self, pid):
        self.pid = pid
        self.sset.changed(self)
        self.proc_start = self.host.starttime(pid) if pid is not None else None
        self.started_at = self.host.wall() if pid is not None else None

    def exec_status_ready(self):
        fd, self.status_fd = self.status_fd, None
        self.waiting_execstat = False
        err = read_status(fd)
        if err is not None:
            if self.pid is not None:
                self.host.unwatch(self.pid)
            self.pid = None
            self.exec_failed(err)
        else:
            self.exec_succeeded()
            if self.pid is None:
                self.process_ended()
        self.sset.process_queues()

    def exec_failed(self, err):
        self.cancel_timer()
        self.close_ready()
        self.reason = str(err)
        if self.state == STARTING:
            self.stop_reason = EXECFAILED
            self.set_state(STOPPING)
            self.failed_to_start()
        else:
            self.host.log("%s: %s" % (self.name, self.reason))
            self.smooth = False
            self.stop_reason = TERMINATED
            self.unrecoverable_stop()

    def exec_succeeded(self):
        if self.state == STARTING:
            if self.ready_fd is None:
                self.cancel_timer()
                self.started()
        elif self.state == STARTED:
            # Smooth recovery: the new process is the service now.
            self.smooth = False
            self.cancel_timer()
            self.host.log("%s: restarted (pid %d)" % (self.name, self.pid))
        elif self.state == STOPPING:
            if self.stop_check_dependents():
                self.bring_down()

    def ready_readable(self):
        try:
            data = os.read(self.ready_fd, 128)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if self.state == STARTING and not self.waiting_execstat:
            self.cancel_timer()
            if data:
                self.started()
            else:
                self.close_ready()
                self.reason = "closed its readiness pipe without signalling readiness"
                self.stop_reason = FAILED
                self.set_state(STOPPING)
                self.failed_to_start(immediate_stop=False)
                self.bring_down()
            self.sset.process_queues()
        elif not data:
            self.close_ready()

    def close_ready(self):
        if self.ready_fd is not None:
            self.host.unwatch_fd(self.ready_fd)
            os.close(self.ready_fd)
            self.ready_fd = None

    # -- exits -------------------------------------------------------------------

    def child_exited(self, status):
        self.pid = None
        self.exited = True
        self.exit_status = status
        self.cancel_timer()
        if self.waiting_execstat:
            # The child is gone, so its status pipe holds all it will ever say. Read now,
            # the pipe's own readiness (in this pass, maybe) must not run too.
            self.host.unwatch_fd(self.status_fd)
            self.exec_status_ready()
            return
        self.process_ended()
        self.sset.process_queues()

    def process_ended(self):
        self.handle_exit_status()
        if self.desc.type == "scripted" or self.desc.inittab_action == "once":
            # Before the next entry starts: it may need the control socket or the pid dir.
            self.host.check_hidden(self)

    def exited_cleanly(self):
        return self.exited and self.exit_status is not None and os.WIFEXITED(self.exit_status) \
            and os.WEXITSTATUS(self.exit_status) == 0

    def wants_auto_restart(self):
        mode = self.desc.restart
        if mode == "yes":
            return True
        if mode != "on-failure":
            return False
        st = self.exit_status
        if st is None:
            return True     # unknown exit: assume the worst, keep the service up
        if os.WIFSIGNALED(st):
            return os.WTERMSIG(st) not in STOP_SIGNALS
        return not (os.WIFEXITED(st) and os.WEXITSTATUS(st) == 0)

    def handle_exit_status(self):
        self.close_ready()
        state = self.state
        if self.smooth:
            state = STARTING if state == STARTED else state
        if state == STARTING:
            self.stop_reason = FAILED
            self.reason = "%s before it was ready" % describe(self.exit_status) \
                if self.desc.ready_notification else describe(self.exit_status)
            if self.smooth:
                self.smooth = False
                self.unrecoverable_stop()
            else:
                self.failed_to_start()
        elif state == STOPPING:
            if not self.waiting_for_deps:
                if self.stop_pid is None and not self.waiting_execstat:
                    self.stopped()
            elif self.target == STARTED:
                self.initiate_start()
        elif self.desc.smooth_recovery and state == STARTED and self.target == STARTED \
                and not self.sset.shutting_down and self.check_restart():
            self.reason = describe(self.exit_status)
            self.host.log("%s: %s; restarting (smooth recovery)" % (self.name, self.reason))
            self.smooth = True
            self.restart_ps_process()
        else:
            self.handle_unexpected_termination()

    def handle_unexpected_termination(self):
        self.stop_reason = TERMINATED
        self.reason = describe(self.exit_status)
        self.force_stop = True
        self.do_stop(unexpected=True)
        self.sset.process_queues()
        if self.state == STOPPING and self.target == STARTED:
            self.initiate_start()
            self.sset.process_queues()

    def failed_hard(self):
        if self.stop_reason == TERMINATED:
            return not self.exited_cleanly()
        return super().failed_hard()

    @property
    def failed(self):
        if self.state == STOPPED and self.stop_reason == TERMINATED and self.reason \
                and not self.exited_cleanly():
            return True
        return super().failed

    # -- restarts ----------------------------------------------------------------

    def check_restart(self):
        """True if one more automatic restart is allowed: at most restart-limit-count
        restarts within restart-limit-interval seconds (0 = no limit)."""
        limit = self.desc.restart_limit_count
        if not limit:
            return True
        now = self.host.now()
        if self.window_start is None or now - self.window_start >= self.desc.restart_limit_interval:
            self.window_start = now
            self.window_count = 0
        if self.window_count >= limit:
            self.reason = "%s; restarted %d times within %gs: giving up" % (
                describe(self.exit_status), self.window_count, self.desc.restart_limit_interval)
            self.stop_reason = FAILED
            return False
        self.window_count += 1
        return True

    def restart_ps_process(self):
        delay = self.desc.restart_delay
        elapsed = self.host.now() - (self.last_start or 0)
        if elapsed >= delay:
            self.do_restart()
        else:
            self.arm(T_RESTART, delay - elapsed)
        return True

    def do_restart(self):
        self.restarts += 1
        if not self.start_ps_process():
            self.host.log("%s: %s" % (self.name, self.reason))
            if self.state == STARTING:
                self.failed_to_start()
            else:
                self.smooth = False
                self.unrecoverable_stop()
            self.sset.process_queues()
            return
        self.arm(T_START)
        if not self.waiting_execstat:
            self.exec_succeeded()
        self.host.persist()

    def can_interrupt_start(self):
        # A process that has not signalled readiness yet may be stopped at once.
        return True

    def interrupt_start(self):
        if self.timer_kind == T_RESTART or self.pid is None:
            self.cancel_timer()
            return True
        self.kill_pg(self.desc.term_signal)
        self.arm(T_STOP)
        self.set_state(STOPPING)
        return False

    # -- stopping ----------------------------------------------------------------

    def bring_down(self):
        if self.waiting_execstat:
            return      # exec_status_ready() goes on from here
        if self.pid is None:
            self.stopped()
            return
        if self.desc.stop_command and self.stop_pid is None:
            if self.run_stop_command():
                self.arm(T_STOP)
                return
        self.kill_pg(self.desc.term_signal)
        self.arm(T_STOP)

    def run_stop_command(self):
        try:
            pid, status_fd, _ = self.host.launch(self, self.desc.stop_command,
                                                 console=self.on_console())
        except SpawnError as e:
            self.host.log("%s: stop-command: %s" % (self.name, e))
            return False
        if status_fd is not None:
            self.host.watch_exec(status_fd, lambda: self.stop_exec_status(status_fd))
        self.stop_pid = pid
        self.host.watch_child(pid, self.stop_command_exited)
        return True

    def stop_exec_status(self, fd):
        err = read_status(fd)
        if err is not None:
            self.host.log("%s: stop-command: %s" % (self.name, err))

    def stop_command_exited(self, status):
        self.stop_pid = None
        if status is not None and status != 0:
            self.host.log("%s: stop-command %s" % (self.name, describe(status)))
            self.kill_pg(self.desc.term_signal)
        if self.state == STOPPING and self.pid is None and not self.waiting_for_deps:
            self.stopped()
        self.sset.process_queues()

    def stopped(self):
        self.cancel_timer()
        self.smooth = False
        super().stopped()

    def becoming_inactive(self):
        self.close_ready()


class BgProcessService(ProcessService):
    """type = bgprocess: the command forks a daemon and exits 0; the daemon's PID is read
    from pid-file, and that process is the service from then on."""

    def __init__(self, sset, desc):
        super().__init__(sset, desc)
        self.launching = False      # self.pid is the launcher, not the daemon

    def start_ps_process(self):
        if not super().start_ps_process():
            return False
        self.launching = True
        return True

    def exec_succeeded(self):
        if self.state == STOPPING and not self.launching and self.stop_check_dependents():
            self.bring_down()

    def can_interrupt_start(self):
        return self.waiting_for_deps or self.timer_kind == T_RESTART

    def handle_exit_status(self):
        if not self.launching:
            return super().handle_exit_status()
        self.launching = False
        status = self.exit_status
        # An unknown status (a launcher re-adopted after a restart of svinit): the pid
        # file tells whether the daemon is there.
        ok = status is None or os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
        daemon, why = self.read_pid_file() if ok else (None, describe(status))
        if daemon is not None:
            self.exited = False
            self.set_pid(daemon)
            self.host.watch_pid(daemon, self.daemon_exited)
        state = self.state
        if state == STARTING or (state == STARTED and self.smooth):
            if daemon is None:
                self.stop_reason = FAILED
                self.reason = why
                if self.smooth:
                    self.smooth = False
                    self.unrecoverable_stop()
                else:
                    self.failed_to_start()
                return
            self.cancel_timer()
            if self.smooth:
                self.smooth = False
                self.host.log("%s: restarted (pid %d)" % (self.name, self.pid))
            else:
                self.started()
        elif state == STOPPING and not self.waiting_for_deps:
            if daemon is None:
                self.stopped()
            else:
                self.bring_down()

    def daemon_exited(self, status):
        self.child_exited(status)

    def pid_leads(self):
        return self.launching       # the daemon: whatever group it made or kept

    def restore(self, rec):
        super().restore(rec)
        # Starting, the recorded process is the launcher (the daemon is recorded once
        # it is the service: state started).
        self.launching = self.state == STARTING and self.pid is not None

    def resume(self):
        if self.launching:
            self.rearm_start()
            return      # the launcher's exit goes on from here
        super().resume()

    def read_pid_file(self):
        path = self.desc.pid_file
        text = None
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            try:
                text = os.read(fd, 32).decode("ascii", "replace").strip()
            finally:
                os.close(fd)
        except OSError as e:
            return None, "pid-file %s: %s" % (path, e.strerror)
        if not text.isdigit() or int(text) < 2:
            return None, "pid-file %s: no process ID in it" % path
        pid = int(text)
        if pid in (os.getpid(), os.getppid()):
            return None, "pid-file %s: process %d is svinit or its parent, not the daemon" % (path, pid)
        if not proc.alive(pid):
            return None, "pid-file %s: process %d is not running" % (path, pid)
        return pid, None


class ScriptedService(ProcessService):
    """type = scripted: started when command exits 0; stop-command (if any) stops it."""

    def __init__(self, sset, desc):
        super().__init__(sset, desc)
        self.completed = False
        self.running_stop = False
        self.skipped = False

    def state_fields(self):
        return super().state_fields() + [("completed", self.completed),
                                         ("skipped", True if self.skipped else None)]

    def restore(self, rec):
        super().restore(rec)
        self.completed = rec.get("completed") == "1"
        self.skipped = rec.get("skipped") == "1"
        # Stopping with a process after its command completed: that is the stop command.
        self.running_stop = self.state == STOPPING and self.completed and self.pid is not None

    def resume(self):
        if self.pid is not None and self.state == STARTING:
            self.rearm_start()
            return      # the start command is still running: its exit decides
        if self.running_stop:
            self.arm(T_STOP)
            return
        Service.resume(self)

    def bring_up(self):
        self.completed = False
        self.skipped = False
        if not self.desc.command:
            self.completed = True
            self.started()
            return True
        where = self.desc.unless_mounted
        if where is not None and fs.is_mount_point(where):
            # Done already (by this service before `single` handed over to boot, or by
            # whoever built the system): started, with nothing run, so nothing for a
            # stop-command to undo either.
            self.completed = self.skipped = True
            self.started()
            return True
        if not self.start_ps_process():
            return False
        self.host.persist()
        self.arm(T_START)
        return True

    def exec_succeeded(self):
        """Nothing to do: the command's exit decides."""

    def can_interrupt_start(self):
        return self.waiting_for_deps

    def wants_auto_restart(self):
        return self.desc.restart == "yes"

    def handle_exit_status(self):
        status = self.exit_status
        if self.running_stop:
            self.running_stop = False
            if not (status is not None and os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0):
                self.host.log("%s: stop command %s" % (self.name, describe(status)))
            if self.state == STOPPING:
                self.stopped()
            return
        if self.state == STARTING:
            if status is not None and os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0:
                self.completed = True
                self.started()
            else:
                self.stop_reason = FAILED
                self.reason = "command %s" % describe(status)
                self.failed_to_start()
        elif self.state == STOPPING and not self.waiting_for_deps:
            self.stopped()

    def exited_cleanly(self):
        return True

    @property
    def failed(self):
        return Service.failed.fget(self)

    def skipped_why(self):
        return "%s is mounted already: command not run" % self.desc.unless_mounted

    def status(self):
        st = super().status()
        if self.skipped:
            st["skipped"] = self.skipped_why()
        return st

    def started_message(self):
        if self.skipped:
            return "%s: started (%s)" % (self.name, self.skipped_why())
        return "%s: started" % self.name

    def bring_down(self):
        if self.waiting_execstat:
            return
        if self.pid is not None:
            # Its start command is still running (a start timeout or an interrupted start).
            self.kill_pg(self.desc.term_signal)
            self.arm(T_STOP)
            return
        if not self.desc.stop_command or not self.completed or self.skipped:
            self.stopped()
            return
        try:
            pid, status_fd, _ = self.host.launch(self, self.desc.stop_command,
                                                 console=self.on_console())
        except SpawnError as e:
            self.host.log("%s: stop command: %s" % (self.name, e))
            self.stopped()
            return
        self.running_stop = True
        self.set_pid(pid)
        self.host.persist()
        self.host.watch_child(pid, self.child_exited)
        if status_fd is not None:
            self.waiting_execstat = True
            self.status_fd = status_fd
            self.host.watch_exec(status_fd, self.exec_status_ready)
        self.arm(T_STOP)

    def exec_failed(self, err):
        self.cancel_timer()
        self.reason = str(err)
        if self.running_stop:
            self.running_stop = False
            self.host.log("%s: stop command: %s" % (self.name, err))
            self.stopped()
            return
        self.stop_reason = EXECFAILED
        self.set_state(STOPPING)
        self.failed_to_start()

    def stopped(self):
        self.completed = self.skipped = False
        super().stopped()


def _number(text, kind):
    try:
        return kind(text)
    except (TypeError, ValueError):
        return None


CLASSES = {
    "process": ProcessService,
    "bgprocess": BgProcessService,
    "scripted": ScriptedService,
}
