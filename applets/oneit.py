"""usage: oneit [-prn3SCg] [-c CONSOLE] [-w SECONDS] [COMMAND [ARG...]]

Simple init: run COMMAND as the one child of PID 1, reap every process that
is orphaned to oneit, and restart, watch and report to the child. Options end
at COMMAND. Without COMMAND oneit starts the service manager: `oneit` alone is
`oneit -r -3 -S -w 30 toybox svinit` (other options given still apply; svinit
runs through its own link when there is one, /sbin/svinit). Run as
`init` with PID 1, every argument is a kernel command-line word (`single`)
and is passed on as `svinit -- WORD...`; run as `init` with another PID it
refuses, as busybox's init does (a second service manager on the system's
own paths is never what was meant): `oneit` is the name to use elsewhere.

-c CONSOLE  the child's stdin, stdout, stderr and controlling terminal
            (default as PID 1: the last console in
            /sys/class/tty/console/active if its /dev node exists, else
            /dev/console; in container mode the child keeps oneit's own)
-p          power off instead of rebooting when the child exits (PID 1 only)
-r          relaunch the child whenever it exits, after a pause when it dies
            within 5 seconds of starting (0.25 s, doubling up to 5 s)
-n          the same as -r (toybox's name for it)
-3          report every reaped process that is not the child on the
            child's fd 3: 4-byte records, each the PID (native int32)
-S          with -3, 8-byte records: the PID, then the raw wait status
-w SECONDS  heartbeat: the child must write a byte to fd 4 at least once
            per SECONDS or it is killed (SIGKILL; 0 turns this off)
-C          container mode even as PID 1 (for a container's PID namespace)
-g          in container mode, forward signals to the child's process group

As PID 1: the child runs in a new session with CONSOLE as its controlling
terminal, so a shell child has job control; oneit's own messages go to the
console. SIGUSR1 halts, SIGUSR2 powers off, SIGTERM and SIGINT (ctrl-alt-del)
reboot; so do busybox's SIGPWR (halt) and systemd's SIGRTMIN+3, +4 and +5
(halt, power off, reboot). When the child exits and is not relaunched oneit reboots, or powers
off with -p. Either way it sends SIGTERM and SIGCONT to every process, waits
up to 2 seconds while reaping, sends SIGKILL, syncs and calls reboot(2). If
that fails (no CAP_SYS_BOOT, as in a container: use -C there), oneit exits
with the child's exit code. When the child is the service manager (svinit,
as with no COMMAND), such a signal goes to it first (USR1, USR2 or TERM): it stops the
services in order and signals back, and oneit then does the rest (also when
it exits, or after 90 seconds).

Container mode (PID not 1, or -C), as tini: the child keeps oneit's stdin,
stdout and stderr unless -c is given (then it gets a session of its own, as
above), and runs in a process group of its own, which becomes the foreground
of oneit's controlling terminal if oneit's group (or the last child's) was:
under `docker run -it` or from a shell, a shell child has job control and
the terminal's ^C and ^Z go to the child (not PID 1, oneit stops with a
child stopped by the terminal, so the shell gets its prompt back, and `fg`
gives the child the terminal again; as PID 1 it continues such a child).
When not PID 1, oneit makes itself
a child subreaper, so orphans come to it. It forwards every signal to the
child but SIGCHLD, the kernel's signals about oneit itself (SIGSEGV, SIGBUS,
SIGFPE, SIGILL, SIGABRT, SIGTRAP, SIGSYS, SIGPIPE, SIGXCPU, SIGXFSZ) and
SIGTTIN and SIGTTOU (ignored); when the child exits, oneit reaps the zombies
left and exits with the child's exit code (128+N if signal N killed it). -r
and -n relaunch, except after a forwarded SIGTERM, SIGINT or SIGQUIT; one of
those arriving while no child runs makes oneit exit at once with 128+N. -p
means nothing here.

The child's environment: ONEIT_PID (oneit's PID); with -3,
ONEIT_REPORT_FORMAT (`pid` or `pid-status`); with -w, ONEIT_HEARTBEAT_FD (4)
and ONEIT_HEARTBEAT_SECONDS. As PID 1, PATH defaults to
/sbin:/usr/sbin:/bin:/usr/bin.

Exit reports never stop reaping: oneit writes them without blocking and
queues what the pipe cannot take, in order, for this child or the next one
(the pipe outlives children, so reports made while no child runs reach the
next). Past 100000 queued records it drops new ones and says so once. Read fd
3 in multiples of the record size.

A command that can't be run prints `oneit: COMMAND: REASON` and counts as
an exit with 127 (not found) or 126 (not executable). An executable file
without #! is run by /bin/sh, as execvp(3) does. A regular file as CONSOLE
is appended to.

Differences from toybox's oneit: -r works (toybox documents it but rejects
it); -3 reports the reaped process's PID (toybox writes the child's PID);
COMMAND is optional; relaunch pauses after fast failures; every process gets
SIGTERM then SIGKILL before reboot(2); -S -w -C -g and container mode are new.
"""
import posix

OPTIONS = "^ c/ prn3SCg w% [!pn]"


def raw_args(invoked):
    """`init` as PID 1 gets the kernel's command-line words, which are not options."""
    return invoked == "init" and posix.getpid() == 1


def main(ctx):
    from toybox import main as dispatcher
    if dispatcher.INVOKED == "init" and posix.getpid() != 1:
        from toybox import lib
        raise lib.Fail("must be run as PID 1 (elsewhere, as a container's init or under a "
                       "shell, run it as oneit)")
    # The machinery is imported only to run: `oneit --help` needs none of it.
    from toybox import oneitd
    return oneitd.main(ctx)
