"""Service managers driven alike: each gets the same N services s1..sN, service i
running `/bin/sleep BASE+i` (restarted when it dies, no delay configured), in its
own configuration format, and is started, queried and stopped the way its
documentation says.

A manager: .launch() starts it with all N services wanted (returns the Popen; its output
goes to .log);
.depth says where the services are in its tree (1: its children; 2: children of
one supervisor per service); .status_argv(i) is one status query; .stop() asks it
to stop everything and exit (then the case waits for the tree to be gone).
"""
import os
import signal
import subprocess

from bench.common import PYTHON, REPO, make_bindir
from bench.peers import Unavailable, ensure_dinit, ensure_program

BASE = 7300000      # service i runs `sleep BASE+i`: a command line nothing else on the machine has


def sleep_argv(i):
    return ["/bin/sleep", str(BASE + i)]


def popen(argv, log):
    """Start a manager, its output to the file log (its last line goes into an error row)."""
    with open(log, "wb") as f:
        return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=f, stderr=subprocess.STDOUT)


def last_line(log):
    try:
        with open(log, "rb") as f:
            lines = f.read()[-4096:].decode(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return lines[-1] if lines else ""


def write(path, text, mode=0o644):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


def dinit_services(directory, n, extra=""):
    """Dinit's format, read by both Dinit and svinit: `boot` waits for all N (a soft
    dependency, so one service's restart does not restart boot). extra: more settings
    for every service."""
    if os.path.isdir(directory):
        return directory
    os.makedirs(directory)
    for i in range(1, n + 1):
        write(os.path.join(directory, "s%d" % i),
              "type = process\ncommand = %s\nrestart = yes\nrestart-delay = 0\n%s"
              % (" ".join(sleep_argv(i)), extra))
    write(os.path.join(directory, "boot"),
          "type = internal\n" + "".join("waits-for: s%d\n" % i for i in range(1, n + 1)))
    return directory


def run_scripts(directory, n):
    """runit's and s6's format: a directory per service with a `run` script."""
    os.makedirs(directory)
    for i in range(1, n + 1):
        d = os.path.join(directory, "s%d" % i)
        os.mkdir(d)
        write(os.path.join(d, "run"), "#!/bin/sh\nexec %s\n" % " ".join(sleep_argv(i)), 0o755)
    return directory


def pid_root(tmp):
    """Where svinit's pid dir goes: a tmpfs, as /run/svinit is on a running system."""
    if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK):
        return "/dev/shm"
    return tmp


def pid_dir(tmp):
    """svinit's pid dir, in pid_root(tmp)."""
    root = pid_root(tmp)
    if root == tmp:
        return os.path.join(tmp, "svinit-pids")
    return temp_dir("svinit-bench-", root)


def temp_dir(prefix, root):
    """A new directory in root, removed when the bench exits (root outlives the run's own
    temporary directory: /dev/shm, the checkout's .cache/)."""
    import atexit
    import shutil
    import tempfile
    path = tempfile.mkdtemp(prefix=prefix, dir=root)
    atexit.register(shutil.rmtree, path, True)
    return path


class CtlManager:
    """A manager driven by its control program, `self.ctl` (ctl, dinitctl)."""

    def status_argv(self, i):
        return self.ctl + ["status", "s%d" % i]

    def stop(self, proc):
        subprocess.run(self.ctl + ["shutdown"], capture_output=True, timeout=60)

    def client_argv(self):
        """The stop request sent to a socket nobody listens on: the client's own start,
        connection attempt and exit, the part of the stop figure that is not the manager's."""
        return [self.sock + ".none" if a == self.sock else a for a in self.ctl] + ["shutdown"]


class Svinit(CtlManager):
    name = "svinit"
    depth = 1
    note = ""

    def __init__(self, tmp, n, piddir=None, tag="svinit", services="dinit.d", extra=""):
        bindir = make_bindir(os.path.join(tmp, "bin"))
        self.svc = dinit_services(os.path.join(tmp, services), n, extra)
        self.piddir = pid_dir(tmp) if piddir is None else piddir
        self.sock = os.path.join(tmp, tag + ".sock")
        self.svinit = os.path.join(bindir, "svinit")
        self.log = os.path.join(tmp, tag + ".log")
        self.ctl = [os.path.join(bindir, "ctl"), "-s", self.sock]

    def launch(self):
        return popen([self.svinit, "-d", self.svc, "-p", self.piddir, "-s", self.sock, "boot"], self.log)


class SvinitDiskPids(Svinit):
    """svinit with its pid dir on a disk filesystem (see disk_dir): what the pid files'
    writes cost where /run is not a tmpfs (a container's /run on overlayfs). Measured
    beside Svinit, not as a peer."""
    name = "svinit, pid dir on disk"

    def __init__(self, tmp, n):
        piddir = os.path.join(disk_dir(tmp, fs_type(pid_root(tmp))), "svinit-disk-pids-%d" % n)
        Svinit.__init__(self, tmp, n, piddir, "svinit-disk")
        self.row_note = "the pid dir on %s (no fsync), beside svinit's usual run, same round" \
            % fs_type(self.piddir)


def disk_dir(tmp, usual):
    """A directory on a disk filesystem: tmp, else one in the checkout's .cache/ (removed
    at exit); Unavailable if both are on the filesystem type of the usual pid dir."""
    memory = ("tmpfs", "ramfs", usual)
    if fs_type(tmp) not in memory:
        return tmp
    cache = os.path.join(REPO, ".cache")
    if fs_type(REPO) in memory:
        raise Unavailable("%s and %s are on %s, as the usual pid dir is" % (tmp, REPO, fs_type(tmp)))
    os.makedirs(cache, exist_ok=True)
    return temp_dir("bench-pids-", cache)


def fs_type(path):
    """The type of the filesystem path is on (from /proc/self/mountinfo), or "?"."""
    path = os.path.realpath(path)
    best, kind = "", "?"
    try:
        with open("/proc/self/mountinfo") as f:
            for line in f:
                fields = line.split()
                mount = fields[4].replace("\\040", " ")
                fstype = fields[fields.index("-") + 1]
                inside = path == mount or path.startswith(mount.rstrip("/") + "/")
                if inside and len(mount) >= len(best):
                    best, kind = mount, fstype
    except (OSError, ValueError, IndexError):
        pass
    return kind


class Dinit(CtlManager):
    name = "Dinit"
    depth = 1
    note = ""

    def __init__(self, tmp, n, tag="dinit", extra=""):
        self.dinit, dinitctl = ensure_dinit()
        self.svc = dinit_services(os.path.join(tmp, tag + ".d"), n, extra)
        self.sock = os.path.join(tmp, tag + ".sock")
        self.log = os.path.join(tmp, tag + ".log")
        self.ctl = [dinitctl, "-p", self.sock]

    def launch(self):
        return popen([self.dinit, "-u", "-q", "-d", self.svc, "-p", self.sock, "boot"], self.log)


class DinitBuffer(Dinit):
    """Dinit keeping each service's output in memory, as svinit does by default (Dinit's
    own default, log-type = none, gives the services /dev/null): the same work as svinit."""
    name = "Dinit, log-type = buffer"

    def __init__(self, tmp, n):
        Dinit.__init__(self, tmp, n, "dinit-buffer", "log-type = buffer\n")


class SvinitNoOutput(Svinit):
    """svinit giving each service /dev/null, as Dinit does by default: the same work as Dinit."""
    name = "svinit, log-type = none"

    def __init__(self, tmp, n):
        Svinit.__init__(self, tmp, n, tag="svinit-none", services="dinit-none.d",
                        extra="log-type = none\n")


class Runit:
    name = "runit"
    depth = 2
    note = "runsvdir rescans every 5 s"

    def __init__(self, tmp, n):
        self.runsvdir = ensure_program("runsvdir")
        self.sv = ensure_program("sv")
        self.dir = run_scripts(os.path.join(tmp, "runit"), n)
        self.log = os.path.join(tmp, "runit.log")

    def launch(self):
        return popen([self.runsvdir, "-P", self.dir], self.log)

    def status_argv(self, i):
        return [self.sv, "status", os.path.join(self.dir, "s%d" % i)]

    def stop(self, proc):
        # runsvdir(8): on SIGHUP it sends TERM to every runsv and exits; each runsv
        # then stops its service and exits.
        proc.send_signal(signal.SIGHUP)


class S6:
    name = "s6"
    depth = 2
    note = ""
    restart_note = "s6-supervise 2.11 waited ~1 s before respawning, even after seconds up"

    def __init__(self, tmp, n):
        self.svscan = ensure_program("s6-svscan")
        self.svstat = ensure_program("s6-svstat")
        self.svscanctl = ensure_program("s6-svscanctl")
        self.dir = run_scripts(os.path.join(tmp, "s6"), n)
        self.log = os.path.join(tmp, "s6.log")
        self.max = 2 * n       # s6-svscan supervises at most 500 services unless told

    def launch(self):
        return popen([self.svscan, "-c", str(self.max), self.dir], self.log)

    def status_argv(self, i):
        return [self.svstat, os.path.join(self.dir, "s%d" % i)]

    def stop(self, proc):
        # s6-svscanctl -t: TERM to every s6-supervise, which brings its service down,
        # then s6-svscan exits.
        subprocess.run([self.svscanctl, "-t", self.dir], capture_output=True, timeout=60)


class Supervisord:
    name = "supervisord"
    depth = 1
    note = ""

    def __init__(self, tmp, n):
        self.supervisord = ensure_program("supervisord")
        self.supervisorctl = ensure_program("supervisorctl")
        d = os.path.join(tmp, "supervisor")
        os.makedirs(d)
        self.conf = os.path.join(d, "supervisord.conf")
        self.log = os.path.join(d, "output.log")
        sock = os.path.join(d, "supervisor.sock")
        text = ["[unix_http_server]\nfile = %s\n" % sock,
                "[supervisord]\nnodaemon = true\nlogfile = %s\npidfile = %s\nchildlogdir = %s\n"
                "loglevel = warn\nminfds = %d\nminprocs = %d\n"
                % (os.path.join(d, "supervisord.log"), os.path.join(d, "supervisord.pid"), d,
                   4 * n + 1024, n + 200),
                "[rpcinterface:supervisor]\n"
                "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n",
                "[supervisorctl]\nserverurl = unix://%s\n" % sock]
        for i in range(1, n + 1):
            text.append("[program:s%d]\ncommand = %s\nautorestart = true\nstartsecs = 0\n"
                        "stdout_logfile = NONE\nstderr_logfile = NONE\n" % (i, " ".join(sleep_argv(i))))
        write(self.conf, "\n".join(text))

    def launch(self):
        return popen([self.supervisord, "-n", "-c", self.conf], self.log)

    def status_argv(self, i):
        return [self.supervisorctl, "-c", self.conf, "status", "s%d" % i]

    def stop(self, proc):
        # supervisord(1): SIGTERM stops every program, then supervisord exits.
        proc.send_signal(signal.SIGTERM)


class PythonFloor:
    """bench/floor_supervisor.py: a posix_spawn loop, then on SIGTERM a kill and reap
    loop. What any supervisor in Python pays at the least (its interpreter's start and
    the kernel's work): measured beside svinit, not as a peer."""
    name = "Python floor"
    depth = 1
    row_note = ("the least a supervisor in Python does: spawn N in a loop; on SIGTERM (sent "
                "directly, no client), signal and reap them (bench/floor_supervisor.py)")

    def __init__(self, tmp, n):
        self.argv = [PYTHON, "-S", os.path.join(REPO, "bench", "floor_supervisor.py"),
                     str(n), str(BASE), sleep_argv(0)[0]]
        self.log = os.path.join(tmp, "floor.log")

    def launch(self):
        return popen(self.argv, self.log)

    def stop(self, proc):
        proc.send_signal(signal.SIGTERM)


ALL = [Svinit, Dinit, Runit, S6, Supervisord]
VARIANTS = [SvinitDiskPids]     # svinit itself, set up otherwise: beside it, not peers
# svinit and Dinit doing the same work with their output: (this project's column, the
# peer, what the row says). Dinit discards it by default, svinit keeps the last lines.
SAME_WORK = [(Svinit, DinitBuffer, "output kept in memory by both"),
             (SvinitNoOutput, Dinit, "output discarded by both")]
FLOORS = [PythonFloor]          # what svinit's figures stand on: beside it, not peers
