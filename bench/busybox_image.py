"""The boot case's comparison images: busybox init doing the demo's work, and two
floors: the demo's archive with a Python /init that only prints the marker, and with
one that starts the demo's services as the least Python can (floor_boot.py).

Same kernel, same archive writer and format as initramfs/mkimage.py, the same
files from initramfs/rootfs/ (but the svinit service files), and an inittab that
does what the demo's services do: mount /proc, /sys, /dev (devtmpfs) and /run,
set the hostname, bring up loopback (sysinit entries, run one after the other,
like the demo's scripted services), then start syslogd, httpd piped to logger, a
failing `crasher` once and a console shell (respawn entries, started without
waiting, like its process services). The marker entry comes last: busybox init
starts respawn entries in file order, so it prints once all the others have been
started, which is when the demo's `bench-ready` prints too.
"""
import os
import subprocess
import sys

from bench.common import REPO

sys.path.insert(0, os.path.join(REPO, "initramfs"))

MARKER = "BENCH-READY"

# Prints the marker with the kernel's uptime, on the console (the service's own
# output would go to svinit's log pipe), once; and into the kernel log, whose
# timestamps have microseconds (at the default level, which `quiet` keeps off the console).
MARKER_SH = "read up idle </proc/uptime; echo %s $up >/dev/console; echo %s >/dev/kmsg" % (MARKER, MARKER)

INITTAB = """\
::sysinit:/bin/mount -t proc -o nosuid,nodev,noexec proc /proc
::sysinit:/bin/mount -t sysfs -o nosuid,nodev,noexec sysfs /sys
::sysinit:/bin/mount -t devtmpfs -o nosuid,mode=0755 devtmpfs /dev
::sysinit:/bin/mount -t tmpfs -o nosuid,nodev,mode=0755 tmpfs /run
::sysinit:/bin/hostname -F /etc/hostname
::sysinit:/sbin/ip link set lo up
::once:/bin/sh -c "echo crasher: exiting with status 1; exit 1"
::respawn:/sbin/syslogd -n -O /var/log/messages
::respawn:/bin/sh -c "exec 2>&1; /usr/sbin/httpd -f -v -p 127.0.0.1:80 -h /var/www | /usr/bin/logger -t httpd"
::respawn:-/bin/sh -l
::respawn:/bin/sh -c '%s; exec sleep 2147483647'
::ctrlaltdel:/sbin/reboot
::shutdown:/bin/umount -a -r
""" % MARKER_SH

# The demo's marker: a service started after `boot` (everything the demo runs).
READY_SERVICE = """\
# bench/: prints the boot benchmark's marker once everything `boot` needs has started.
type = scripted
command = /bin/sh -c "%s"
depends-on: boot
""" % MARKER_SH.replace("$", "$$")     # svinit, like Dinit, expands $NAME in commands; $$ is a $


def demo_overlay(directory):
    """An overlay for mkimage.py adding the `bench-ready` service (start it with
    SVINIT_SERVICES=bench-ready on the kernel command line)."""
    d = os.path.join(directory, "etc", "svinit.d")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "bench-ready"), "w") as f:
        f.write(READY_SERVICE)
    return directory


# The floor image's /init: the demo's archive, but the interpreter only starts, prints
# the marker (uptime from CLOCK_BOOTTIME: no /proc) and hands the console to a shell.
FLOOR_INIT = """\
#!/usr/bin/python3 -S
# bench/: the boot case's floor: what Python's own start costs as PID 1.
import posix
import time
up = time.clock_gettime(time.CLOCK_BOOTTIME)
fd = posix.open("/dev/console", posix.O_WRONLY)
posix.write(fd, b"%s %%.2f\\n" %% up)
fd = posix.open("/dev/kmsg", posix.O_WRONLY)
posix.write(fd, b"%s\\n")
posix.execv("/bin/sh", ["sh"])
""" % (MARKER, MARKER)


def init_overlay(directory, text):
    """An overlay for mkimage.py whose /init is the script `text` (the demo's /init is a
    link to oneit; a file laid over it takes its place)."""
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, "init")
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o755)
    return directory


def floor_overlay(directory):
    """The floor's overlay: /init is FLOOR_INIT."""
    return init_overlay(directory, FLOOR_INIT)


def work_floor_overlay(directory):
    """The work floor's overlay: /init is bench/floor_boot.py, the demo's services started
    by the least Python can do (see there)."""
    with open(os.path.join(REPO, "bench", "floor_boot.py")) as f:
        return init_overlay(directory, f.read())


def find_busybox():
    for path in ("/bin/busybox", "/usr/bin/busybox"):
        if os.access(path, os.X_OK):
            return path
    raise RuntimeError("no busybox (install busybox-static)")


def build(out):
    """Write the busybox-init image to out (gzip'd if it ends in .gz, as mkimage.py does);
    returns its path."""
    import mkimage
    busybox = find_busybox()
    if mkimage.shared_libraries(busybox):
        raise RuntimeError("%s is not static (install busybox-static)" % busybox)
    img = mkimage.Image()
    for d, mode in mkimage.DIRS.items():
        img.dir(d, mode)
    for path, (mode, major, minor) in mkimage.DEVICES.items():
        img.device(path, mode, major, minor)
    img.copy("bin/busybox", busybox)
    listing = subprocess.run([busybox, "--list-full"], check=True, capture_output=True, text=True).stdout
    for path in listing.split():
        if path != "bin/busybox":
            img.symlink(path, "/bin/busybox")
    img.symlink("init", "sbin/init")
    rootfs = mkimage.ROOTFS
    for root, dirs, files in os.walk(rootfs):
        dirs[:] = sorted(d for d in dirs if d != "svinit.d")
        for name in sorted(files):
            img.copy(os.path.relpath(os.path.join(root, name), rootfs), os.path.join(root, name))
    img.file("etc/inittab", INITTAB.encode())
    data = mkimage.packed(img.cpio(mkimage.DEFAULT_EPOCH), out)
    with open(out, "wb") as f:
        f.write(data)
    return out
