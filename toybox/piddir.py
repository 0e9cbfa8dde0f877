"""The pid-file directory: svinit's state on disk, one plain-text file per service.

Layout (default /run/svinit):
  PIDDIR/svinit          svinit itself
  PIDDIR/services/NAME   one per service that has, or had this boot, a process

Every file is text: the first line `svinit-state 1` (the format and its version), then
one `key value` line per field (the value is the rest of the line). Readers must ignore
keys they don't know; a change of meaning bumps the version.

svinit's file: pid, starttime (field 22 of /proc/PID/stat, to tell it from a reused
PID), boot_id (/proc/sys/kernel/random/boot_id: state of an earlier boot is never
trusted), socket, services_dir, since (time.time() it started).

A service's file:
  name        the service
  type        process | bgprocess | scripted
  state       starting | started | stopping
  pid         the process svinit watches (a bgprocess's daemon), absent when none
  starttime   that process's start time, field 22 of /proc/PID/stat
  boot_id     as above
  since       time.time() of the last state change
  started_at  time.time() the process was launched (absent when none)
  active      1 if explicitly activated, 0 if running only for its dependents
  restarts    automatic restarts so far
  completed   scripted only: 1 once its start command exited 0 (boot scripts run once per boot)

A file is written whenever one of these changes, and always before svinit acts on the
change (before it counts a start as done, marks dependents startable, or answers a
client): written to a temporary file, fsynced and renamed over the old one, so a reader
sees the old file or the new one, never a mix. The directory itself is fsynced once per
pass of the event loop rather than once per file. The file is removed when the service
has stopped.
"""
import os

from toybox import fs

MAGIC = "svinit-state"
VERSION = 1
SELF = "svinit"
SERVICES = "services"


def render(fields):
    """The text of a state file for an ordered list of (key, value); None values are left out."""
    out = ["%s %d" % (MAGIC, VERSION)]
    for key, value in fields:
        if value is None:
            continue
        if isinstance(value, bool):
            value = int(value)
        elif isinstance(value, float):
            value = "%.3f" % value
        value = str(value)
        if "\n" in value:
            raise ValueError("state value for %s has a newline" % key)
        out.append("%s %s" % (key, value))
    return "\n".join(out) + "\n"


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


def read(path):
    """parse() of the file at path; None if it does not exist."""
    text = fs.read_text(path)
    if text is None:
        return None
    return parse(text)


class PidDir:
    """Writes svinit's state files. Errors are reported through warn and never raised:
    svinit goes on supervising when /run is full or read-only."""

    def __init__(self, path, warn):
        self.path = path
        self.services = os.path.join(path, SERVICES)
        self.warn = warn
        self.dirty = False
        self.broken = None          # the error last warned about, so it is said once

    def prepare(self):
        """Create the directory; remove the files of services that no longer run.

        Reading them back after a restart of svinit is the job of recovery."""
        try:
            os.makedirs(self.services, 0o755, exist_ok=True)
            for name in os.listdir(self.services):
                fs.unlink_quiet(os.path.join(self.services, name))
            self.broken = None
            return True
        except OSError as e:
            self._failed("%s: %s" % (self.path, e.strerror))
            return False

    def write_self(self, fields):
        self._write(os.path.join(self.path, SELF), render(fields))

    def remove_self(self):
        self._remove(os.path.join(self.path, SELF))

    def write(self, name, fields):
        self._write(os.path.join(self.services, name), render(fields))

    def remove(self, name):
        self._remove(os.path.join(self.services, name))

    def _write(self, path, text):
        try:
            fs.write_atomic(path, text, sync_dir=False)
            self.dirty = True
        except OSError as e:
            self._failed("%s: %s" % (path, e.strerror))

    def _remove(self, path):
        try:
            if fs.unlink_quiet(path):
                self.dirty = True
        except OSError as e:
            self._failed("%s: %s" % (path, e.strerror))

    def flush(self):
        """fsync the directories once for every change since the last flush."""
        if not self.dirty:
            return
        self.dirty = False
        for d in (self.services, self.path):
            try:
                fs.fsync_dir(d)
            except OSError as e:
                self._failed("%s: %s" % (d, e.strerror))

    def _failed(self, msg):
        if msg != self.broken:
            self.broken = msg
            self.warn("pid dir: %s" % msg)
