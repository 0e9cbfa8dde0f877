"""The pid-file directory: svinit's state on disk, one plain-text file per service.

Layout (default /run/svinit):
  PIDDIR/svinit          svinit itself
  PIDDIR/services/NAME   one per service that is not at rest (see below)

Every file is text: the first line `svinit-state 1` (the format and its version), then
one `key value` line per field (the value is the rest of the line). Readers must ignore
keys they don't know; a change of meaning bumps the version.

svinit's file: pid, starttime (field 22 of /proc/PID/stat, to tell it from a reused
PID), boot_id (/proc/sys/kernel/random/boot_id: state of an earlier boot is never
trusted), socket, services_dir, since (time.time() it started), shutdown (halt,
poweroff, reboot, exit or restart (SIGQUIT), once a shutdown was asked for: a restarted
svinit goes on with it), requested (the services it was asked to start, space-separated: written once
their files are, before anything is launched), started (1 once the launches of its first
pass are recorded: from then on the services' files alone say what runs, and a service
without one is at rest).

A service's file:
  name        the service
  type        process | bgprocess | scripted | internal
  state       stopped | starting | started | stopping
  target      started | stopped: where it is going (stopped while started: being stopped)
  active      1 if explicitly activated (`ctl start`, or named at start-up), else 0
  holds       the dependencies it holds (space-separated; absent: none). A soft
              dependency that was stopped on purpose, or died and stays down, is not held.
  since       time.time() of the last state change
  pid         the process svinit watches (a bgprocess's daemon, or its launcher while
              starting; a scripted service's running command), absent when none
  starttime   that process's start time, field 22 of /proc/PID/stat
  started_at  time.time() the process was launched (absent when none)
  restarts    automatic restarts so far
  output      inode of the pipe the process writes its output to (logs.py)
  launch      the process's SVINIT_LAUNCH: its descendants carry the same, a later launch
              another (svrecover.find_unrecorded)
  completed   scripted only: 1 once its start command exited 0 (boot scripts run once per boot)
  skipped     scripted only: 1 when its unless-mounted path was mounted already, so that its
              command was not run (nor is its stop-command)
  boot_id     as above

A service has a file unless it is at rest (stopped, not active, holding and held by
nothing) or merely starting because what holds it wants it, with no process yet (the
holders' files say so). Internal services have files too: their explicit marks and the
dependencies they hold are state.

A file is written whenever one of these changes, and always before svinit acts on the
change (signals a process, answers a client; a launched process is recorded right
after the launch): written to a temporary file and renamed over the old one, so a reader
sees the old file or the new one, never a mix. Files are written in the order their
services changed. Nothing is fsynced: a restarted svinit reads what the dead one wrote
from the page cache, which a process's death does not touch, and after a crash of the
machine the state is of an earlier boot whatever the disk kept. So load() takes the
services' files only when svinit's own file is of this boot (or absent, or unreadable:
each service's file carries the boot id too); when it is of another boot, every service
file goes, readable or not. A file without its boot_id line was cut short by something
other than svinit: it counts as unreadable, not as an earlier boot's, unless the process it
records started later than now (_of_this_boot). (fsync cost a
millisecond a file where the pid dir is on a disk, a container's /run on overlayfs say.)
A clean exit of svinit leaves the directory empty. During a shutdown (in svinit's own file), a process
service's file is not rewritten for its stop, only removed once it has stopped: a restarted
svinit stops everything anyway.
"""
from toybox import sysos as os     # posix, and os's helpers without its import

from toybox import fs

MAGIC = "svinit-state"
VERSION = 1
SELF = "svinit"
SERVICES = "services"
_HEADER = "%s %d" % (MAGIC, VERSION)


def render(fields):
    """The text of a state file for an ordered list of (key, value); None values are left out."""
    out = [_HEADER]
    for key, value in fields:
        if value is None:
            continue
        kind = type(value)
        if kind is bool:
            value = "1" if value else "0"
        elif kind is float:
            value = repr(value)     # reads back as the same float: same uptimes after a restart
        elif kind is not str:
            value = str(value)
        if "\n" in value:
            raise ValueError("state value for %s has a newline" % key)
        out.append(key + " " + value)
    out.append("")
    return "\n".join(out)


def parse(text):
    """{key: value} of a state file's text; ValueError for a torn, empty or foreign file."""
    if not text or not text.endswith("\n"):
        raise ValueError("empty or torn state file")
    lines = text.split("\n")[:-1]
    magic, _, version = lines[0].partition(" ")
    if magic != MAGIC:
        raise ValueError("not an svinit state file")
    if version != str(VERSION):
        raise ValueError("state format version %s, expected %d" % (version, VERSION))
    out = {}
    for line in lines[1:]:
        key, _, value = line.partition(" ")
        if not key:
            raise ValueError("blank line in state file")
        out[key] = value
    return out


NO_BOOT_ID = "no boot_id line (cut short?)"


def _of_this_boot(fields, boot_id):
    """Whether a file's fields are of this boot: True, False, or None when that can't be told.

    svinit writes each file whole (fs.write_atomic) with its boot_id, so a file without one
    was cut short by something else (a copy, a tool writing on a full disk): it may well be
    of this boot, and taking it for an earlier boot's would start its service again beside
    the one running. Only a process that started later than now proves another boot."""
    if "boot_id" in fields:
        return fields["boot_id"] == boot_id
    from toybox import proc
    start, now = fields.get("starttime", ""), proc.boottime_ticks()
    if start.isdigit() and now is not None and int(start) > now:
        return False
    return None


def read(path):
    """parse() of the file at path; None if it does not exist."""
    text = fs.read_text(path)
    if text is None:
        return None
    return parse(text)


class Found:
    """What load() found: the fields of the previous svinit's file (me; this_boot when it
    is of this boot), the PID of a svinit that still runs with this directory (other),
    the services' fields of this boot (records) and the unreadable files ({name: why}:
    broken)."""

    def __init__(self):
        self.me = None
        self.this_boot = False      # me is of this boot (a svinit of this boot ran before)
        self.other = None
        self.records = {}
        self.broken = {}


class PidDir:
    """Writes svinit's state files. Errors are reported through warn and never raised:
    svinit goes on supervising when /run is full or read-only."""

    def __init__(self, path, warn):
        self.path = path
        self.services = os.path.join(path, SERVICES)
        self.warn = warn
        self.broken = None          # the error last warned about: said once until a write works
        self.ident = None           # (st_dev, st_ino) of the directory prepare() made ready

    def load(self, boot_id):
        """Read back what a svinit of this boot left (a Found). State of an earlier boot is
        removed, and so are temporary files of interrupted writes."""
        from toybox import proc
        found = Found()
        earlier = False         # svinit's own file says: everything here is of another boot
        own = os.path.join(self.path, SELF)
        try:
            found.me = read(own)
        except ValueError as e:
            # Each service's file says which boot it is of: they are judged by that alone.
            self.warn("pid dir: %s: %s: ignored" % (own, e))
        if found.me is not None:
            this = _of_this_boot(found.me, boot_id)
            if this is None:
                self.warn("pid dir: %s: %s: ignored" % (own, NO_BOOT_ID))
                found.me = None
            earlier = this is False
        me = found.me
        if me is not None and not earlier:
            try:
                pid, start = int(me["pid"]), int(me["starttime"])
            except (KeyError, ValueError):
                pid = start = None
            if pid is not None and pid != os.getpid() and proc.alive(pid, start):
                found.other = pid
                return found
            found.this_boot = True
        try:
            names = sorted(os.listdir(self.services))
        except OSError:
            return found
        stale = 0
        for name in names:
            path = os.path.join(self.services, name)
            if name.startswith("."):
                self._remove(path)          # a write that svinit did not finish
                continue
            if earlier:
                stale += 1
                self._remove(path)
                continue
            try:
                rec = read(path)
            except ValueError as e:
                found.broken[name] = str(e)
                continue
            except OSError as e:
                found.broken[name] = e.strerror
                continue
            if rec is None:
                continue
            this = _of_this_boot(rec, boot_id)
            if this is None:
                found.broken[name] = NO_BOOT_ID
                continue
            if not this:
                stale += 1
                self._remove(path)
                continue
            if rec.get("name") != name:
                found.broken[name] = "the file names service %r" % rec.get("name")
                continue
            found.records[name] = rec
        if stale or earlier:
            self.warn("pid dir %s: state of an earlier boot (%d service files): discarded"
                      % (self.path, stale))
        return found

    def prepare(self):
        """Create the directory (after a restart its files are svinit's state: kept), and
        take it as the one hidden() compares with: its caller writes every file there."""
        if not self._make():
            return False
        try:
            st = os.lstat(self.path)
        except OSError as e:
            self._failed(self.path, e)
            return False
        self.ident = (st.st_dev, st.st_ino)
        return True

    def _make(self):
        try:
            os.makedirs(self.services, 0o755, exist_ok=True)
            return True
        except OSError as e:
            self._failed(self.path, e)
            return False

    def hidden(self):
        """True when the path no longer names the directory prepare() made ready: a file
        system mounted over it, or over a directory above it, hides it."""
        return fs.replaced(self.path, self.ident)

    def write_self(self, fields):
        self._write(os.path.join(self.path, SELF), render(fields))

    def remove_self(self):
        self._remove(os.path.join(self.path, SELF))

    def write(self, name, fields):
        self._write(os.path.join(self.services, name), render(fields))

    def remove(self, name):
        self._remove(os.path.join(self.services, name))

    def _write(self, path, text):
        for again in (True, False):
            try:
                fs.write_atomic(path, text)
                self.broken = None
                return
            except FileNotFoundError as e:
                # A file system mounted over the directory (a tmpfs on /run at boot)
                # hid it: make it again, once, for this file. Not prepare(): hidden()
                # still says so, and the daemon writes all the other files again.
                if not (again and self._make()):
                    self._failed(path, e)
                    return
            except OSError as e:
                self._failed(path, e)
                return

    def _remove(self, path):
        try:
            fs.unlink_quiet(path)
        except OSError as e:
            self._failed(path, e)

    def _failed(self, path, e):
        # A read-only /run (`umount -a -r` among the shutdown entries) fails every write:
        # one line, not one per file and pass.
        if e.errno != self.broken:
            self.broken = e.errno
            self.warn("pid dir: %s: %s (said once until a write works)" % (path, e.strerror))
