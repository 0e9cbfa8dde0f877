"""usage: svinit [-3] [-d DIR] [-p DIR] [-s PATH] [--inittab PATH] [--no-kmsg] [SERVICE...]

Service manager (PID 2 under oneit, or any user's own): start SERVICE (default
`boot`, or the comma-separated $SVINIT_SERVICES) and everything it depends on, in
parallel; supervise, restart, log and stop them; answer `ctl` on the control socket.

-d, --services-dir DIR  service descriptions, one file per service (/etc/svinit.d)
-p, --pid-dir DIR       state files, one per service (/run/svinit)
-s, --socket PATH       control socket ($SVINIT_SOCKET, else /run/svinit.sock)
--inittab PATH          also run a busybox inittab's entries, converted to services
                        (default: /etc/inittab, when -d is not given, the file exists
                        and there is no `boot` service)
--no-kmsg               don't copy messages to /dev/kmsg
-3                      read toybox `oneit -3` exit reports (4-byte PIDs) on fd 3
                        even when $ONEIT_REPORT_FORMAT is not set

Messages: one line per state change on stderr (`svinit: sshd: started (pid 12)`),
and on /dev/kmsg when svinit is the child of oneit as the machine's PID 1.
If a requested service fails to start, or every service has stopped without a
shutdown being asked for, svinit starts the service `recovery` if there is one
(once). Without one it exits (1 if a requested service failed), except under
oneit, where it stays up and says so.

Restarts: the pid dir records every service's state (one text file each).
A svinit that finds state of this boot there (the one before was killed, or
crashed) takes it back instead of starting SERVICE: processes whose PID and
start time match are re-adopted with their output, exits that happened
meanwhile come from oneit's fd-3 reports, scripts that completed are not run
again, and services stopped on purpose stay stopped. Each process gets
SVINIT_SERVICE=NAME in its environment.

Signals: SIGTERM, SIGINT: stop every service in reverse dependency order and
exit 0 (SIGINT runs the inittab's ctrlaltdel entries instead, if there are
any); under oneit, SIGTERM is a reboot request (oneit passes PID 1's
signals on). SIGUSR1 / SIGUSR2: halt / power off, as a `shutdown` request;
SIGPWR halts, and systemd's SIGRTMIN+3 / +4 / +5 halt / power off / reboot. SIGHUP:
re-create the control socket and the pid dir (after a mount over /run;
svinit also does it by itself when a scripted command or an inittab once entry
has hidden them); it does not re-read the inittab. SIGQUIT (busybox's restart):
with a restart entry in the inittab, stop every service, run the shutdown
entries, then exec that entry in svinit's place; without one it is ignored
(logged); from a container-mode oneit, a stop as SIGTERM without oneit.

Shutdown (`ctl shutdown`, `halt`, `poweroff`, `reboot`): stop every service in
reverse dependency order, run the inittab's shutdown entries, then ask the
parent oneit to halt (SIGUSR1), power off (SIGUSR2) or reboot (SIGTERM); with
no oneit for a parent, exit 0.
"""
OPTIONS = "d(services-dir)/ p(pid-dir)/ s(socket)/ (inittab)/ (no-kmsg) 3"

DEFAULT_SERVICES_DIR = "/etc/svinit.d"
DEFAULT_PID_DIR = "/run/svinit"
SYSTEM_INITTAB = "/etc/inittab"
RECOVERY = "recovery"
FD_LIMIT = 65536


def main(ctx):
    # No garbage collection while starting: everything made until the services are loaded
    # lives as long as svinit. Daemon.run freezes it and turns collection back on.
    import gc
    gc.disable()
    # Imported here, not at the top: `svinit --help` needs none of it.
    from toybox import sysos as os
    from toybox import lib, protocol
    from toybox.svinitd import Daemon, Config
    from toybox.syscalls import drop_controlling_tty
    # oneit hands its child the console as controlling terminal (so a shell child has job
    # control); a service manager must not keep it: ^C would reach svinit, and the
    # console shell could not take it.
    drop_controlling_tty()
    opts = ctx.opts
    names = list(ctx.args)
    wanted = lib.environ().get("SVINIT_SERVICES")
    if not names and wanted:
        names = [n for n in wanted.split(",") if n.strip()]
    cfg = Config()
    cfg.services_dir = os.path.abspath(opts.services_dir or DEFAULT_SERVICES_DIR)
    cfg.pid_dir = os.path.abspath(opts.pid_dir or DEFAULT_PID_DIR)
    cfg.socket = os.path.abspath(protocol.socket_path(opts.socket))
    cfg.inittab = os.path.abspath(opts.inittab) if opts.inittab else None
    cfg.system_inittab = SYSTEM_INITTAB if opts.services_dir is None else None
    cfg.names = [n.strip() for n in names] or ["boot"]
    cfg.kmsg = not opts.no_kmsg
    cfg.toybox_reports = bool(opts["3"])
    cfg.recovery = RECOVERY
    cfg.fd_limit = FD_LIMIT
    return Daemon(cfg).run()
