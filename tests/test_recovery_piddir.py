"""svinit at start-up with a pid dir left behind (issue 7): PIDs reused by other processes,
unreadable files, state of an earlier boot. svinit runs on its own here (no oneit): the
recorded processes are the test's, started before svinit."""
import os
import signal
import subprocess
import sys
import time

import pytest

from test_recovery_lib import alive, stat_fields
from test_svinit_lib import svinit  # noqa: F401  (fixture)
from toybox import piddir

BOOT_ID = open("/proc/sys/kernel/random/boot_id").read().strip()
SLEEP = "command = /bin/sleep 1000\n"


@pytest.fixture
def sleeper():
    """sleeper() -> PID of a `sleep 1000` that is not svinit's; all killed after the test."""
    procs = []

    def start():
        p = subprocess.Popen(["/bin/sleep", "1000"], start_new_session=True)
        procs.append(p)
        return p.pid

    yield start
    for p in procs:
        p.kill()
        p.wait()


def starttime(pid):
    return int(stat_fields(pid)[19])


def record(name, pid=None, start=None, state="started", boot_id=BOOT_ID, **extra):
    fields = [("name", name), ("type", extra.pop("type", "process")), ("state", state),
              ("target", "started"), ("active", extra.pop("active", 0)), ("pid", pid),
              ("starttime", start), ("started_at", time.time() - 100 if pid else None),
              ("restarts", 0)] + sorted(extra.items()) + [("boot_id", boot_id)]
    return piddir.render(fields)


def with_piddir(tmp_path, files):
    """A wrapper that puts `files` ({relative path: text}) into svinit's pid dir first."""
    src = tmp_path / "piddir"
    for rel, text in files.items():
        path = src / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode() if isinstance(text, str) else text)
    # argv after the wrapper: svinit -d DIR -p PIDDIR ...: $5 is the pid dir.
    return ["/bin/sh", "-c", 'mkdir -p "$5" && cp -R %s/. "$5"/ && exec "$@"' % src, "sh"]


def self_record(boot_id=BOOT_ID):
    """The file of a svinit that is gone (no process has that PID and start time)."""
    return piddir.render([("pid", 4194304), ("starttime", 1), ("boot_id", boot_id)])


def test_a_reused_pid_is_neither_adopted_nor_signalled(svinit, sleeper, tmp_path):
    other = sleeper()
    files = {"svinit": self_record(),
             "services/boot": record("boot", type="internal", active=1, holds="a"),
             "services/a": record("a", other, starttime(other) - 7)}
    sv = svinit({"boot": "type = internal\ndepends-on: a\n", "a": SLEEP},
                wrapper=with_piddir(tmp_path, files))
    st = sv.wait_for(lambda: (lambda s: s["pid"] and s)(sv.status("a")), what="a started")
    assert st["pid"] != other and st["state"] == "started"
    err = sv.stderr()
    assert "svinit: a: pid %d is another process now (its start time differs): not adopted" % other in err
    assert "svinit: a: pid %d exit status unknown while svinit was away" % other in err
    assert sv.shutdown() == 0
    assert alive(other) and not alive(st["pid"])


def test_live_processes_are_adopted_and_garbage_files_are_reported(svinit, sleeper, tmp_path):
    good = sleeper()
    files = {"svinit": self_record(),
             "services/boot": record("boot", type="internal", active=1, holds="good e t g"),
             "services/good": record("good", good, starttime(good)),
             "services/e": "",
             "services/t": record("t", good, starttime(good))[:-1],
             "services/g": b"\x00\xffgarbage\n",
             "services/.g.123.tmp": "svinit-state 1\n"}
    services = {"boot": "type = internal\nwaits-for: good\nwaits-for: e\nwaits-for: t\nwaits-for: g\n",
                "good": SLEEP, "e": SLEEP, "t": SLEEP, "g": SLEEP}
    sv = svinit(services, wrapper=with_piddir(tmp_path, files))
    sv.wait_state("boot", "started")
    assert sv.status("good")["pid"] == good         # adopted: not our child, watched by pidfd
    for name in ("e", "t", "g"):
        st = sv.status(name)
        assert (st["state"], st["failed"], st["pid"]) == ("stopped", True, None), name
        assert "state file unreadable after a restart of svinit" in st["reason"]
    err = sv.stderr()
    for name, why in (("e", "empty or torn state file"), ("t", "empty or torn state file"),
                      ("g", "not an svinit state file")):
        assert ("svinit: pid dir: %s/services/%s: %s: not adopted nor signalled; taken as failed, "
                "not started again automatically (ctl start %s)" % (sv.piddir, name, why, name)) in err
    assert not os.path.exists(os.path.join(sv.piddir, "services", ".g.123.tmp"))
    assert alive(good)
    assert sv.call("start", name="e")["ok"] and sv.status("e")["state"] == "started"
    # The adopted process is stopped like any other; its exit is seen through the pidfd.
    assert sv.call("stop", name="good")["ok"]
    assert sv.status("good")["state"] == "stopped"
    assert not alive(good)


def test_an_adopted_process_that_dies_is_restarted(svinit, sleeper, tmp_path):
    pid = sleeper()
    files = {"services/a": record("a", pid, starttime(pid), active=1)}
    sv = svinit({"a": SLEEP + "restart-delay = 0.05\n"}, args=["a"], wrapper=with_piddir(tmp_path, files))
    assert sv.status("a")["pid"] == pid
    os.kill(pid, signal.SIGKILL)
    st = sv.wait_for(lambda: (lambda s: s["pid"] not in (None, pid) and s)(sv.status("a")),
                     what="a restarted")
    assert st["restarts"] == 1
    assert "svinit: a: exit status unknown; restarting" in sv.stderr()


def test_state_of_an_earlier_boot_is_discarded(svinit, sleeper, tmp_path):
    other = sleeper()
    stale = "00000000-0000-0000-0000-000000000000"
    files = {"svinit": self_record(stale),
             "services/a": record("a", other, starttime(other), boot_id=stale, active=1),
             "services/gone": record("gone", other, starttime(other), boot_id=stale)}
    sv = svinit({"a": SLEEP}, args=["a"], wrapper=with_piddir(tmp_path, files))
    pid = sv.wait_for(lambda: sv.status("a")["pid"])
    assert pid != other and alive(other)
    err = sv.stderr()
    assert "svinit: pid dir %s: state of an earlier boot (2 service files): discarded" % sv.piddir in err
    assert "restarted" not in err
    assert sorted(os.listdir(os.path.join(sv.piddir, "services"))) == ["a"]
    assert sv.shutdown() == 0
    assert alive(other)


def test_everything_goes_when_svinits_own_file_is_of_another_boot(svinit, sleeper, tmp_path):
    # After a crash of the machine, a pid dir on a disk may hold anything (nothing is
    # fsynced): when svinit's own file is not of this boot, nor is the rest.
    other = sleeper()
    files = {"svinit": self_record("00000000-0000-0000-0000-000000000000"),
             "services/a": record("a", other, starttime(other), active=1),
             "services/t": record("t", other, starttime(other))[:-1],
             "services/g": b"\x00\xffgarbage\n"}
    sv = svinit({"a": SLEEP, "t": SLEEP, "g": SLEEP}, args=["a"], wrapper=with_piddir(tmp_path, files))
    pid = sv.wait_for(lambda: sv.status("a")["pid"])
    assert pid != other and alive(other)
    for name in ("t", "g"):
        assert (sv.status(name)["state"], sv.status(name)["failed"]) == ("stopped", False)
    err = sv.stderr()
    assert "svinit: pid dir %s: state of an earlier boot (3 service files): discarded" % sv.piddir in err
    assert "restarted" not in err and "taken as failed" not in err
    assert sorted(os.listdir(os.path.join(sv.piddir, "services"))) == ["a"]
    assert sv.shutdown() == 0
    assert alive(other)


def test_an_unreadable_own_file_leaves_each_service_file_to_its_own_boot_id(svinit, sleeper, tmp_path):
    # svinit's own file torn: the services' files still say which boot they are of, and
    # those of this one are taken back. Discarding them would start a second `a` beside
    # the one that runs.
    other = sleeper()
    files = {"svinit": self_record()[:-1],
             "services/a": record("a", other, starttime(other), active=1),
             "services/t": record("t", other, starttime(other))[:-1],
             "services/old": record("old", other, starttime(other),
                                    boot_id="00000000-0000-0000-0000-000000000000")}
    sv = svinit({"a": SLEEP, "t": SLEEP, "old": SLEEP}, args=["a"],
                wrapper=with_piddir(tmp_path, files))
    sv.wait_state("a", "started")
    assert sv.status("a")["pid"] == other
    st = sv.status("t")
    assert (st["state"], st["failed"], st["pid"]) == ("stopped", True, None)
    assert (sv.status("old")["state"], sv.status("old")["failed"]) == ("stopped", False)
    err = sv.stderr()
    assert "svinit: pid dir: %s/svinit: empty or torn state file: ignored" % sv.piddir in err
    assert "svinit: pid dir %s: state of an earlier boot (1 service files): discarded" % sv.piddir in err
    assert "svinit: restarted: 1 processes re-adopted" in err
    assert sv.shutdown() == 0
    assert not alive(other)


def cut_before_boot_id(text):
    """A state file cut at a line end before its boot_id line (a partial copy, a full disk)."""
    return text[:text.index("boot_id ")]


def test_a_service_file_cut_before_its_boot_id_is_unreadable_not_of_an_earlier_boot(
        svinit, sleeper, tmp_path):
    # a's file lost its last line. Taken for an earlier boot's, it was removed and a second
    # `a` started beside the one running. c's records a process that started after now:
    # that file can only be of another boot.
    other = sleeper()
    files = {"svinit": self_record(),
             "services/boot": record("boot", type="internal", active=1, holds="a"),
             "services/a": cut_before_boot_id(record("a", other, starttime(other), active=1)),
             "services/c": cut_before_boot_id(record("c", other, 10 ** 15))}
    sv = svinit({"boot": "type = internal\nwaits-for: a\n", "a": SLEEP, "c": SLEEP},
                wrapper=with_piddir(tmp_path, files))
    sv.wait_state("boot", "started")
    st = sv.status("a")
    assert (st["state"], st["failed"], st["pid"]) == ("stopped", True, None)
    assert st["reason"] == ("state file unreadable after a restart of svinit (%s)"
                            % piddir.NO_BOOT_ID)
    assert (sv.status("c")["state"], sv.status("c")["failed"]) == ("stopped", False)
    err = sv.stderr()
    assert ("svinit: pid dir: %s/services/a: no boot_id line (cut short?): not adopted nor "
            "signalled; taken as failed, not started again automatically (ctl start a)"
            % sv.piddir) in err
    assert "svinit: pid dir %s: state of an earlier boot (1 service files): discarded" % sv.piddir in err
    assert not os.path.exists(os.path.join(sv.piddir, "services", "c"))
    assert sv.shutdown() == 0
    assert alive(other)


def test_svinits_own_file_cut_before_its_boot_id_leaves_each_service_file_to_its_own(
        svinit, sleeper, tmp_path):
    # Taken for an earlier boot's, it took every service file with it: `a` started twice.
    other = sleeper()
    files = {"svinit": cut_before_boot_id(self_record()),
             "services/a": record("a", other, starttime(other), active=1)}
    sv = svinit({"a": SLEEP}, args=["a"], wrapper=with_piddir(tmp_path, files))
    sv.wait_state("a", "started")
    assert sv.status("a")["pid"] == other
    err = sv.stderr()
    assert "svinit: pid dir: %s/svinit: no boot_id line (cut short?): ignored" % sv.piddir in err
    assert "earlier boot" not in err
    assert "svinit: restarted: 1 processes re-adopted" in err
    assert sv.shutdown() == 0
    assert not alive(other)


def test_a_file_for_a_service_that_is_gone_is_left_alone(svinit, sleeper, tmp_path):
    other = sleeper()
    files = {"services/a": record("a", None, None, active=1, type="internal"),
             "services/old": record("old", other, starttime(other))}
    sv = svinit({"a": "type = internal\n"}, wrapper=with_piddir(tmp_path, files))
    sv.wait_state("a", "started")
    assert ("svinit: old: no such service now (removed, or its description has errors): its "
            "recorded process pid %d is left alone" % other) in sv.stderr()
    assert alive(other)
    assert sorted(os.listdir(os.path.join(sv.piddir, "services"))) == ["a"]


# The parent of svinit here: it first starts processes as a killed svinit would have left
# them (its children, each in a session of its own, SVINIT_SERVICE=NAME, and with
# NAME=LAUNCH in the list SVINIT_LAUNCH=LAUNCH), in the list's order, then runs svinit.
PARENT = """
import os, subprocess, sys
pids = []
for item in sys.argv[2].split(","):
    name, _, launch = item.partition("=")
    env = dict(os.environ, SVINIT_SERVICE=name)
    if launch:
        env["SVINIT_LAUNCH"] = launch
    pid = os.fork()
    if pid == 0:
        os.setsid()
        os.execve("/bin/sleep", ["/bin/sleep", "1000"], env)
    pids.append(str(pid))
with open(sys.argv[1], "w") as f:
    f.write(" ".join(pids))
sys.exit(subprocess.call(sys.argv[3:]))
"""


@pytest.fixture
def strays(tmp_path):
    """strays(SPEC) -> (wrapper, pids): a parent for svinit that first starts the strays
    SPEC names (PARENT's list; strays(script=PARENT_OUTPUT) for those of that script),
    and pids() giving their PIDs in its order. Every stray is killed by PID after the test."""
    made = []

    def make(spec=None, script=None):
        pids_file = str(tmp_path / ("strays%d" % len(made)))
        made.append(pids_file)
        wrapper = [sys.executable, "-c", script or PARENT, pids_file] + ([spec] if spec else [])
        return wrapper, lambda: [int(pid) for pid in open(pids_file).read().split()]

    yield make
    for pids_file in made:
        for pid in (open(pids_file).read().split() if os.path.exists(pids_file) else ()):
            try:
                os.kill(int(pid), signal.SIGKILL)
            except OSError:
                pass


def test_a_process_launched_but_not_recorded_is_adopted_not_started_twice(svinit, sleeper, tmp_path, strays):
    b = sleeper()
    dead = subprocess.Popen(["/bin/true"])
    dead.wait()
    files = {"services/boot": record("boot", type="internal", active=1, holds="a b c"),
             # a crashed and was relaunched; the svinit was killed before it recorded that
             "services/a": record("a", dead.pid, 12345),
             "services/b": record("b", b, starttime(b))}
    parent, pids = strays("a,b,c")
    sv = svinit({"boot": "type = internal\ndepends-on: a\ndepends-on: b\ndepends-on: c\n",
                 "a": SLEEP, "b": SLEEP, "c": SLEEP},
                wrapper=parent + with_piddir(tmp_path, files))
    sv.wait_state("boot", "started")
    sa, sb, sc = pids()
    assert (sv.status("a")["pid"], sv.status("a")["restarts"]) == (sa, 1)
    assert (sv.status("b")["pid"], sv.status("c")["pid"]) == (b, sc)
    err = sv.stderr()
    for name, pid in (("a", sa), ("c", sc)):
        assert ("svinit: %s: pid %d was started by the svinit before, which died before "
                "recording it: adopted" % (name, pid)) in err
    assert ("svinit: b: pid %d (SVINIT_SERVICE=b, not recorded) is not taken as its process: "
            "left alone" % sb) in err
    assert "svinit: a: started (pid %d)" % sa in err and "while svinit was away\n" not in err.replace(
        "0 exited while svinit was away\n", "")
    assert sv.shutdown() == 0
    assert not alive(sa) and not alive(sc) and not alive(b) and alive(sb)


def test_what_a_recorded_launch_left_behind_is_not_taken_for_a_later_launch(svinit, tmp_path, strays):
    # app's recorded process (launch 10) died while no svinit ran; a helper it had started
    # in a session of its own (launch 10 too) still runs: not the service's process, so
    # app starts again. web's recorded process (launch 10) died too, and was relaunched
    # (launch 20) by a svinit killed before it recorded that; that process and a child of
    # it (launch 20, started after it) run: the first is taken. idle has no file and
    # nothing holds it: it was at rest, and what carries its name is left alone.
    dead = subprocess.Popen(["/bin/true"])
    dead.wait()
    files = {"svinit": self_record(),
             "services/boot": record("boot", type="internal", active=1, holds="app web"),
             "services/app": record("app", dead.pid, 12345, launch="10"),
             "services/web": record("web", dead.pid, 12345, launch="10")}
    parent, pids = strays("app=10,web=20,web=20,idle=30")
    sv = svinit({"boot": "type = internal\ndepends-on: app\ndepends-on: web\n",
                 "app": SLEEP, "web": SLEEP, "idle": SLEEP},
                wrapper=parent + with_piddir(tmp_path, files))
    sv.wait_state("boot", "started")
    helper, web, web_child, idle = pids()
    app = sv.wait_for(lambda: sv.status("app")["pid"], what="app started")
    assert app != helper
    assert sv.status("web")["pid"] == web
    assert (sv.status("idle")["state"], sv.status("idle")["pid"]) == ("stopped", None)
    err = sv.stderr()
    assert "svinit: web: pid %d was started by the svinit before, which died before " \
           "recording it: adopted" % web in err
    for name, pid in (("app", helper), ("web", web_child), ("idle", idle)):
        assert ("svinit: %s: pid %d (SVINIT_SERVICE=%s, not recorded) is not taken as its "
                "process: left alone" % (name, pid, name)) in err
    assert sv.shutdown() == 0
    assert not alive(app) and not alive(web)
    assert alive(helper) and alive(web_child) and alive(idle)


def test_a_svinit_killed_in_its_first_launches_is_taken_over(svinit, tmp_path, strays):
    # svinit's own file names what it was asked to start (boot) and does not say its
    # first pass was recorded; a was launched, b not yet, and no service has a file:
    # the next svinit takes a as launched and starts the rest, as a boot would have.
    files = {"svinit": piddir.render([("pid", 4194304), ("starttime", 1), ("boot_id", BOOT_ID),
                                      ("requested", "boot")])}
    parent, pids = strays("a=10")
    sv = svinit({"boot": "type = internal\ndepends-on: a\nwaits-for: b\n",
                 "a": SLEEP, "b": SLEEP},
                wrapper=parent + with_piddir(tmp_path, files))
    sv.wait_state("boot", "started")
    (a,) = pids()
    assert sv.status("a")["pid"] == a
    b = sv.wait_for(lambda: sv.status("b")["pid"], what="b started")
    err = sv.stderr()
    assert "svinit: a: pid %d was started by the svinit before, which died before " \
           "recording it: adopted" % a in err
    assert "svinit: restarted: the svinit before (pid 4194304) died" in err
    assert sv.call("info")["svinit"]["requested"] == [["boot", "started"]]
    assert sv.shutdown() == 0
    assert not alive(a) and not alive(b)


def test_what_a_svinit_finished_starting_is_not_started_again(svinit, tmp_path):
    # The same, but its first pass was recorded (`started`): no file means at rest, and
    # this svinit, on its own (no oneit), finds nothing running and exits.
    files = {"svinit": piddir.render([("pid", 4194304), ("starttime", 1), ("boot_id", BOOT_ID),
                                      ("requested", "boot"), ("started", 1)])}
    sv = svinit({"boot": "type = internal\ndepends-on: a\n", "a": "type = scripted\n"
                 "command = /bin/sh -c 'echo ran >> %s'\n" % (tmp_path / "a.runs")},
                wrapper=with_piddir(tmp_path, files), wait_socket=False)
    assert sv.proc.wait(10) == 0
    err = sv.stderr()
    assert "svinit: restarted: the svinit before (pid 4194304) died" in err
    assert "svinit: no service is running any more; exiting" in err
    assert not os.path.exists(tmp_path / "a.runs")


def test_a_process_whose_file_is_unreadable_is_found_by_its_name(svinit, tmp_path, strays):
    # p's file is garbage, but its process runs, with SVINIT_SERVICE=p: it is taken back
    # (so that a `ctl start p` does not run a second one). q's file is garbage and no
    # process carries its name: failed, as before.
    files = {"svinit": self_record(),
             "services/boot": record("boot", type="internal", active=1, holds="p q"),
             "services/p": b"\x00\xffgarbage\n", "services/q": b"\x00\xffgarbage\n"}
    parent, pids = strays("p=10")
    sv = svinit({"boot": "type = internal\nwaits-for: p\nwaits-for: q\n", "p": SLEEP, "q": SLEEP},
                wrapper=parent + with_piddir(tmp_path, files))
    sv.wait_state("boot", "started")
    (p,) = pids()
    assert (sv.status("p")["state"], sv.status("p")["pid"]) == ("started", p)
    st = sv.status("q")
    assert (st["state"], st["failed"], st["pid"]) == ("stopped", True, None)
    err = sv.stderr()
    assert "svinit: p: pid %d (SVINIT_SERVICE=p) is its process, whose file is unreadable: " \
           "adopted" % p in err
    assert "svinit: pid dir: %s/services/p: not an svinit state file: its process taken back " \
           "(above)" % sv.piddir in err
    assert "svinit: pid dir: %s/services/q: not an svinit state file: not adopted nor " \
           "signalled; taken as failed" % sv.piddir in err
    assert sv.shutdown() == 0
    assert not alive(p)


# As PARENT, but the strays' output: c's stdout and stderr are a pipe open read-write, as
# svinit's logs.child_end() makes them (c writes a line into it before svinit runs); d's
# stdout is an ordinary pipe's write end, as a process of someone else's could have.
PARENT_OUTPUT = """
import os, subprocess, sys
r, w = os.pipe()
rw = os.open("/proc/self/fd/%d" % r, os.O_RDWR)
r2, w2 = os.pipe()
pids = []
for name, out, argv in (("c", rw, ["/bin/sh", "-c", "echo line-from-c; exec /bin/sleep 1000"]),
                        ("d", w2, ["/bin/sleep", "1000"])):
    pid = os.fork()
    if pid == 0:
        os.setsid()
        os.dup2(out, 1)
        os.dup2(out, 2)
        os.execve(argv[0], argv, dict(os.environ, SVINIT_SERVICE=name))
    pids.append(str(pid))
for fd in (r, w, rw, w2):
    os.close(fd)
with open(sys.argv[1], "w") as f:
    f.write(" ".join(pids))
sys.exit(subprocess.call(sys.argv[2:]))
"""


def test_an_unrecorded_process_gets_its_output_pipe_read_again(svinit, tmp_path, strays):
    """A process launched but not recorded (svinit killed between the launch and the
    file) is adopted with its output: the pipe svinit gave it (open read-write) is read
    on, and what it wrote before shows in `ctl log`; a process whose stdout is some other
    pipe is adopted without touching that pipe."""
    parent, pids = strays(script=PARENT_OUTPUT)
    sv = svinit({"boot": "type = internal\ndepends-on: c\ndepends-on: d\n", "c": SLEEP, "d": SLEEP},
                wrapper=parent + with_piddir(tmp_path, {
                    "services/boot": record("boot", type="internal", active=1, holds="c d")}))
    sv.wait_state("boot", "started")
    sc, sd = pids()
    assert (sv.status("c")["pid"], sv.status("d")["pid"]) == (sc, sd)
    sv.wait_for(lambda: "line-from-c" in sv.call("log", name="c", lines=5)["lines"],
                what="c's output read again")
    files = {n: piddir.read(os.path.join(sv.piddir, "services", n)) for n in ("c", "d")}
    assert files["c"]["output"] == str(os.stat("/proc/%d/fd/1" % sc).st_ino), files
    assert "output" not in files["d"], files
    assert sv.shutdown() == 0


READ_ONLY = r"""
set -e
mount -t tmpfs tmpfs "$R/pid"
mkdir "$R/pid/services"
printf 'svinit-state 1\nname a\ntype process\nstate started\npid 99999\nboot_id other\n' \
    > "$R/pid/services/a"
mount -o remount,ro "$R/pid"
"$B/svinit" -d "$R/svc" -p "$R/pid" -s "$R/sock" --no-kmsg 2> "$R/err" &
pid=$!
for i in $(seq 100); do [ -S "$R/sock" ] && break; sleep 0.1; done
"$B/ctl" -s "$R/sock" is-started boot
kill $pid
wait $pid
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root (a mount namespace)")
def test_a_read_only_pid_dir_is_said_once_and_svinit_runs_on(bindir, tmp_path):
    # /run remounted read-only (busybox's `::shutdown:umount -a -r`) under a svinit that
    # oneit then relaunches: it must run on (and stop in order), not die in a loop.
    (tmp_path / "svc").mkdir()
    (tmp_path / "pid").mkdir()
    (tmp_path / "svc" / "boot").write_text("type = internal\n")
    p = subprocess.run(["unshare", "--mount", "sh", "-c", READ_ONLY],
                       env=dict(os.environ, R=str(tmp_path), B=bindir),
                       capture_output=True, text=True, timeout=60)
    assert (p.returncode, p.stdout) == (0, "started\n"), p.stderr
    err = (tmp_path / "err").read_text()
    assert err.count("Read-only file system") == 1, err
    assert "svinit: pid dir: %s/pid/services/a: Read-only file system (said once until a " \
           "write works)\n" % tmp_path in err
    assert "svinit: all services stopped\n" in err
