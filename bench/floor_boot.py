#!/usr/bin/python3 -S
"""bench/: the boot case's work floor, the /init of an image that is the demo's but for it.

It starts the demo's services (the same programs, in the order their service files
ask for, the ones that may run side by side at once) as the least Python can: a table
instead of service files, posix_spawn, waitpid; no oneit, no state, no pid files, no
log, no control socket, no restarts. Then the marker, as the demo's `bench-ready`
prints it; then it reaps orphans for good. Beside busybox init doing the same work, it
is what the boot of any init in Python costs; the demo's figure above it is what oneit
and svinit add. tests/test_bench.py checks the table against the demo's service files.

It imports nothing the interpreter has not loaded anyway (posix): its own start-up is
the interpreter's, as in the first floor (busybox_image.FLOOR_INIT).
"""
import posix

MARKER = ("read up idle </proc/uptime; echo BENCH-READY $up >/dev/console; "
          "echo BENCH-READY >/dev/kmsg")       # busybox_image.MARKER_SH

# name: (argv, scripted (done when it exits 0) or a process (done once spawned),
#        what must be done before it starts, working directory on the console or None)
SERVICES = {
    "mount-proc": (["/bin/mount", "-t", "proc", "-o", "nosuid,nodev,noexec", "proc", "/proc"],
                   True, (), None),
    "mount-sys": (["/bin/mount", "-t", "sysfs", "-o", "nosuid,nodev,noexec", "sysfs", "/sys"],
                  True, (), None),
    "mount-dev": (["/bin/mount", "-t", "devtmpfs", "-o", "nosuid,mode=0755", "devtmpfs", "/dev"],
                  True, (), None),
    "mount-run": (["/bin/mount", "-t", "tmpfs", "-o", "nosuid,nodev,mode=0755", "tmpfs", "/run"],
                  True, ("mount-proc",), None),
    "hostname": (["/bin/hostname", "-F", "/etc/hostname"], True, (), None),
    "loopback": (["/sbin/ip", "link", "set", "lo", "up"], True, (), None),
    "syslogd": (["/sbin/syslogd", "-n", "-O", "/var/log/messages"], False, ("mount-dev",), None),
    "httpd": (["/bin/sh", "-c", "/usr/sbin/httpd -f -v -p 127.0.0.1:80 -h /var/www 2>&1 "
               "| /usr/bin/logger -t httpd"], False, ("syslogd", "loopback"), None),
    "crasher": (["/bin/sh", "-c", "echo crasher: exiting with status 1; exit 1"], False,
                ("mount-run",), None),
    "shell": (["/bin/sh", "-l"], False, ("mount-proc", "hostname"), "/root"),
}
BOOT = tuple(SERVICES)
SERVICES["bench-ready"] = (["/bin/sh", "-c", MARKER], True, BOOT, None)

# A console service's stdio: the console, opened after setsid, so it is its controlling
# terminal (job control for the shell). The others keep PID 1's: the console too.
CONSOLE = [(posix.POSIX_SPAWN_OPEN, 0, "/dev/console", posix.O_RDWR, 0),
           (posix.POSIX_SPAWN_DUP2, 0, 1), (posix.POSIX_SPAWN_DUP2, 0, 2)]


def main():
    env = posix.environ
    done, launched, running = set(), set(), {}
    idle, _ = posix.pipe()      # read when no child is left: PID 1 must not return
    while True:
        for name, (argv, scripted, needs, console) in SERVICES.items():
            if name in launched or not done.issuperset(needs):
                continue
            launched.add(name)
            if console:
                posix.chdir(console)
            pid = posix.posix_spawn(argv[0], argv, env, file_actions=CONSOLE if console else (),
                                    setsid=True)
            if console:
                posix.chdir("/")
            if scripted:
                running[pid] = name
            else:
                done.add(name)
                break       # what waited for it may start now: look again from the top
        else:
            try:
                pid, _ = posix.waitpid(-1, 0)
            except ChildProcessError:
                posix.read(idle, 1)     # blocks for good: its write end stays open
                continue
            name = running.pop(pid, None)
            if name is not None:
                done.add(name)


if __name__ == "__main__":
    main()
