"""oneit in container mode (not PID 1: it makes itself a subreaper), unprivileged.

PID-1 behaviour, in a PID namespace, is in test_oneit_pid1.py.
"""
import os
import signal
import struct
import subprocess
import sys
import time

import pytest

from conftest import REPO

# A test child for oneit. Modes:
#   orphans N [wait]  make N orphans (via an intermediate that exits) that all exit at
#                     once, exit code i % 200; with -3, read N records from fd 3 (after a
#                     second when `wait`) into OUT/records; wait for OUT/done; exit 0
#   gens N            generation 1 makes N orphans that exit when it dies, then exits;
#                     generation 2 reads N records into OUT/records; later ones sleep
#   beat | silent     append the PID to OUT/pids; beat on the heartbeat fd every 0.1 s
#                     (or never); sleep
#   signals           log HUP/USR1/WINCH to OUT/signals; exit 7 on TERM
#   tty               write `SID TTY_NR ISATTY` to OUT/tty
#   fg                append `PID PGID SID FOREGROUND-PGID` to OUT/fg; exec sleep
#   env               write ONEIT_* variables and the parent PID to OUT/env
KID = r'''
import os, sys, time, signal
out, mode = sys.argv[1], sys.argv[2]

def put(name, text):
    with open(os.path.join(out, name + ".tmp"), "w") as f:
        f.write(text)
    os.rename(os.path.join(out, name + ".tmp"), os.path.join(out, name))

def orphans(n):
    r, w = os.pipe()
    mid = os.fork()
    if mid == 0:
        pids = []
        for i in range(n):
            pid = os.fork()
            if pid == 0:
                os.close(w)
                os.read(r, 1)
                os._exit(i % 200)
            pids.append(pid)
        put("pids", "".join("%d\n" % p for p in pids))
        os._exit(0)
    os.close(r)
    os.waitpid(mid, 0)
    return w

def read_records(n):
    size = 8 if os.environ.get("ONEIT_REPORT_FORMAT") == "pid-status" else 4
    buf = b""
    end = time.time() + 90
    while len(buf) < n * size and time.time() < end:
        buf += os.read(3, 65536)
    put("records", buf.hex())

def wait_file(name):
    end = time.time() + 90
    while not os.path.exists(os.path.join(out, name)) and time.time() < end:
        time.sleep(0.05)

if mode == "orphans":
    n = int(sys.argv[3])
    os.close(orphans(n))
    if sys.argv[4:] == ["wait"]:
        time.sleep(1)
    if "ONEIT_REPORT_FORMAT" in os.environ:
        read_records(n)
    wait_file("done")
elif mode == "gens":
    n = int(sys.argv[3])
    with open(os.path.join(out, "gen"), "a") as f:
        f.write("x")
    gen = len(open(os.path.join(out, "gen")).read())
    if gen == 1:
        orphans(n)
        os._exit(0)
    if gen == 2:
        read_records(n)
        os._exit(0)
    time.sleep(1000)
elif mode in ("beat", "silent"):
    with open(os.path.join(out, "pids"), "a") as f:
        f.write("%d\n" % os.getpid())
    fd = int(os.environ["ONEIT_HEARTBEAT_FD"])
    while True:
        if mode == "beat":
            os.write(fd, b".")
        time.sleep(0.1)
elif mode == "signals":
    log = open(os.path.join(out, "signals"), "a", buffering=1)
    for s in (signal.SIGHUP, signal.SIGUSR1, signal.SIGWINCH, signal.SIGALRM, signal.SIGTSTP,
              signal.SIGPWR, signal.SIGCONT, signal.SIGURG, signal.SIGRTMIN + 3):
        signal.signal(s, lambda sig, frame: log.write(
            ("SIGRTMIN+%d" % (sig - signal.SIGRTMIN) if sig >= signal.SIGRTMIN
             else signal.Signals(sig).name) + "\n"))
    signal.signal(signal.SIGTERM, lambda sig, frame: os._exit(7))
    put("ready", "")
    while True:
        time.sleep(0.1)
elif mode == "tty":
    stat = open("/proc/self/stat").read().rsplit(")", 1)[1].split()
    put("tty", "%d %s %d" % (os.getsid(0) == os.getpid(), stat[4], os.isatty(0)))
elif mode == "fg":
    try:
        front = os.tcgetpgrp(0)
    except OSError:
        front = -1
    with open(os.path.join(out, "fg"), "a") as f:
        f.write("%d %d %d %d\n" % (os.getpid(), os.getpgrp(), os.getsid(0), front))
    with open(os.path.join(out, "pids"), "a") as f:
        f.write("%d\n" % os.getpid())
    os.execvp("sleep", ["sleep", "1000"])
elif mode == "env":
    put("env", "".join("%s=%s\n" % kv for kv in sorted(os.environ.items())
                       if kv[0].startswith("ONEIT_")) + "ppid=%d\n" % os.getppid())
'''


class Oneit:
    """A running oneit, its output in files, and everything it started, for cleanup."""

    def __init__(self, bindir, out, args, env=None, prefix=(), name="oneit"):
        self.out = str(out)
        self.err_path = os.path.join(self.out, "oneit.err")
        full_env = {"PATH": bindir + ":/usr/bin:/bin", "LC_ALL": "C.UTF-8"}
        full_env.update(env or {})
        with open(self.err_path, "wb") as err:
            self.proc = subprocess.Popen(list(prefix) + [os.path.join(bindir, name)] + args,
                                         stdin=subprocess.DEVNULL, stdout=err, stderr=err,
                                         env=full_env)
        self.pid = self.proc.pid

    def err(self):
        with open(self.err_path) as f:
            return f.read()

    def wait(self, timeout=60):
        return self.proc.wait(timeout)

    def signal(self, sig):
        self.proc.send_signal(sig)

    def file(self, name):
        with open(os.path.join(self.out, name)) as f:
            return f.read()

    def pids(self, name="pids"):
        try:
            return [int(x) for x in self.file(name).split()]
        except FileNotFoundError:
            return []

    def cleanup(self):
        victims = self.pids()
        if self.proc.poll() is None:
            victims += children_of(self.pid)
            self.proc.kill()
            self.proc.wait()
        for pid in victims:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


@pytest.fixture
def kid(tmp_path):
    path = tmp_path / "kid.py"
    path.write_text(KID)
    return [sys.executable, "-S", str(path), str(tmp_path)]


@pytest.fixture
def oneit(bindir, tmp_path):
    started = []

    def start(*args, **kw):
        o = Oneit(bindir, tmp_path, [str(a) for a in args], **kw)
        started.append(o)
        return o

    yield start
    for o in started:
        o.cleanup()


def wait_for(pred, timeout=30, what="condition"):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = pred()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


def stat(pid):
    """(state, ppid) of a process, or None when it is gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return fields[0], int(fields[1])


def children_of(pid):
    out = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            st = stat(int(name))
            if st and st[1] == pid:
                out.append(int(name))
    return out


def zombies_of(pid):
    return [c for c in children_of(pid) if (stat(c) or ("",))[0] == "Z"]


def decode(hexdump, status):
    data = bytes.fromhex(hexdump)
    if status:
        return list(struct.iter_unpack("=ii", data))
    return [(p, None) for (p,) in struct.iter_unpack("=i", data)]


# -- command line ---------------------------------------------------------------

def test_help_documents_the_deviations_from_toybox(testcmd):
    r = testcmd("oneit --help")
    assert r.code == 0 and r.out.startswith("usage: oneit [-prn3SCg]")
    assert "toybox documents it but rejects" in r.out and "ONEIT_HEARTBEAT_FD" in r.out


@pytest.mark.parametrize("cmd, err", [
    ("oneit -p -n true", "oneit: options -p and -n can't be used together"),
    ("oneit -S true", "oneit: -S needs -3"),
    ("oneit -w soon true", "oneit: option 'w' needs a number of seconds, not 'soon'"),
    ("oneit -x true", "oneit: unknown option 'x'"),
])
def test_usage_errors(testcmd, cmd, err):
    r = testcmd(cmd)
    assert (r.code, r.err) == (1, err + ' (see "oneit --help")\n')


def test_init_refuses_to_run_as_anything_but_pid1(testcmd):
    # As busybox's init: by that name, not PID 1, it would start a second service
    # manager on the system's own paths.
    for cmd in ("init", "init true", "toybox init"):
        r = testcmd(cmd)
        assert (r.code, r.out, r.err) == (1, "", "oneit: must be run as PID 1 (elsewhere, as a "
                                          "container's init or under a shell, run it as oneit)\n")
    assert testcmd("init --help").code == 0


def test_options_end_at_the_command(testcmd):
    r = testcmd(["oneit", "sh", "-c", "echo $0 $1", "-p", "-x"])
    assert (r.code, r.out, r.err) == (0, "-p -x\n", "")


# -- exit codes and exec failures -------------------------------------------------

@pytest.mark.parametrize("script, code", [
    ("exit 3", 3), ("kill -TERM $$", 143), ("kill -KILL $$", 137), ("exit 0", 0)])
def test_exits_with_the_childs_code(testcmd, script, code):
    r = testcmd(["oneit", "sh", "-c", script])
    assert (r.code, r.err) == (code, "")


def test_command_not_found(testcmd):
    r = testcmd("oneit no-such-command-here arg")
    assert (r.code, r.err) == (127, "oneit: no-such-command-here: No such file or directory\n")


def test_command_not_executable(testcmd, tmp_path):
    script = tmp_path / "script"
    script.write_text("#!/bin/sh\nexit 0\n")
    r = testcmd(["oneit", str(script)])
    assert (r.code, r.err) == (126, "oneit: %s: Permission denied\n" % script)


def test_script_without_interpreter_line_runs_in_sh(testcmd, tmp_path):
    script = tmp_path / "script"
    script.write_text("echo \"ran $0 $1\"; exit 5\n")
    script.chmod(0o755)
    r = testcmd(["oneit", str(script), "arg"])
    assert (r.code, r.out, r.err) == (5, "ran %s arg\n" % script, "")


def test_regular_file_as_console_is_appended_to(testcmd, tmp_path):
    log = tmp_path / "log"
    log.write_text("kept\n")
    r = testcmd(["oneit", "-c", str(log), "sh", "-c", "echo out; echo err >&2"])
    assert (r.code, r.out, r.err) == (0, "", "")
    assert log.read_text() == "kept\nout\nerr\n"


def test_console_that_cannot_be_opened(testcmd, tmp_path):
    r = testcmd(["oneit", "-c", str(tmp_path / "nope"), "true"])
    assert (r.code, r.err) == (1, "oneit: %s/nope: No such file or directory\n" % tmp_path)


def test_exec_failure_is_retried_with_a_pause(oneit):
    o = oneit("-r", "/no/such/program")
    wait_for(lambda: o.err().count("No such file") >= 3, what="three attempts")
    time.sleep(1)
    o.signal(signal.SIGTERM)
    assert o.wait() in (143, 127)
    lines = o.err().splitlines()
    assert set(lines) == {"oneit: /no/such/program: No such file or directory"}
    # Pauses of 0.25, 0.5, 1, 2 s: a busy loop would have made thousands of attempts.
    assert len(lines) < 10


def test_relaunch_reports_each_exit(oneit, tmp_path):
    o = oneit("-n", "sh", "-c", "echo x >> %s/runs; exit 4" % tmp_path)
    wait_for(lambda: o.file("runs").count("x") >= 2 if os.path.exists(tmp_path / "runs") else 0)
    o.signal(signal.SIGTERM)
    assert o.wait() in (143, 4)
    assert "oneit: sh (pid " in o.err() and ") exited 4: relaunching in 0.25s\n" in o.err()


# -- the child's environment, session and terminal -------------------------------

def test_child_environment(oneit, kid):
    o = oneit("-3", "-S", "-w", "2.5", *kid, "env",
              env={"ONEIT_HEARTBEAT_FD": "9", "ONEIT_STALE": "1"})
    assert o.wait() == 0
    # Not PID 1: container mode, which the child is told too.
    assert o.file("env") == ("ONEIT_CONTAINER=1\nONEIT_HEARTBEAT_FD=4\nONEIT_HEARTBEAT_SECONDS=2.5\n"
                             "ONEIT_PID=%d\nONEIT_REPORT_FORMAT=pid-status\nppid=%d\n"
                             % (o.pid, o.pid))


def test_child_environment_toybox_format_and_no_heartbeat(oneit, kid):
    o = oneit("-3", "-w", "0", *kid, "env")
    assert o.wait() == 0
    assert o.file("env") == "ONEIT_CONTAINER=1\nONEIT_PID=%d\nONEIT_REPORT_FORMAT=pid\nppid=%d\n" \
        % (o.pid, o.pid)


def test_child_starts_with_default_signal_dispositions(oneit, tmp_path):
    # nohup: oneit itself inherits SIGHUP ignored, and the interpreter ignores SIGPIPE and
    # SIGXFSZ; none of it, nor oneit's blocked set, reaches the child.
    out = tmp_path / "sig"
    o = oneit("sh", "-c", "exec grep -E '^Sig(Blk|Ign)' /proc/self/status >%s" % out, prefix=("nohup",))
    assert o.wait() == 0, o.err()
    assert out.read_text() == "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n"


def test_console_becomes_the_controlling_terminal(oneit, kid):
    master, slave = os.openpty()
    try:
        o = oneit("-c", os.ttyname(slave), *kid, "tty")
        assert o.wait() == 0
        leader, tty_nr, isatty = o.file("tty").split()
        assert (leader, isatty) == ("1", "1")
        assert int(tty_nr) == os.fstat(slave).st_rdev
    finally:
        os.close(master)
        os.close(slave)


# Runs oneit with a pseudo-terminal as its controlling terminal and stdin: as session
# leader (`fg`), or as a background job of this session's leader (`bg`).
TERM = r'''
import os, sys
slave, mode, argv = sys.argv[1], sys.argv[2], sys.argv[3:]
os.setsid()
fd = os.open(slave, os.O_RDWR)      # a session leader's first terminal becomes its own
os.dup2(fd, 0)
if mode == "fg":
    os.execv(argv[0], argv)
pid = os.fork()
if pid == 0:
    os.setpgid(0, 0)
    os.execv(argv[0], argv)
os.waitpid(pid, 0)
'''


@pytest.fixture
def terminal(tmp_path):
    """(master fd, prefix) where prefix(mode) runs oneit on the pty's slave side.

    Ask for it before `oneit`: closing the master hangs the terminal up, and the oneit
    fixture must find its processes still there to clean them up."""
    master, slave = os.openpty()
    path = tmp_path / "term.py"
    path.write_text(TERM)
    yield master, lambda mode: (sys.executable, "-S", str(path), os.ttyname(slave), mode)
    os.close(master)
    os.close(slave)


def fg_lines(o):
    if not os.path.exists(os.path.join(o.out, "fg")):
        return []
    return [[int(w) for w in line.split()] for line in o.file("fg").splitlines()]


def test_child_owns_the_terminal_and_keyboard_signals(terminal, oneit, kid):
    master, prefix = terminal
    o = oneit("-r", *kid, "fg", prefix=prefix("fg"))
    [first] = wait_for(lambda: fg_lines(o), what="the child")
    pid, pgid, sid, front = first
    # A process group of its own in oneit's session, the terminal's foreground: a shell
    # there has job control.
    assert (pgid, sid, front) == (pid, o.pid, pid)
    os.write(master, b"\x03")
    # ^C went to the child's group alone: oneit, not told to stop, relaunches, and the
    # terminal goes to the new child.
    second = wait_for(lambda: fg_lines(o)[1:], what="the relaunched child")[0]
    assert second[0] != pid and second[1:] == [second[0], o.pid, second[0]]
    assert o.err() == "oneit: %s (pid %d) killed by signal 2 (SIGINT): relaunching in 0.25s\n" \
        % (sys.executable, pid)
    o.signal(signal.SIGTERM)
    assert o.wait() == 143


def test_background_oneit_leaves_the_terminal_alone(terminal, oneit, kid):
    master, prefix = terminal
    o = oneit(*kid, "fg", prefix=prefix("bg"))
    [(pid, pgid, sid, front)] = wait_for(lambda: fg_lines(o), what="the child")
    assert (pgid, sid, front) == (pid, o.pid, o.pid)
    [init] = children_of(o.pid)
    os.kill(init, signal.SIGTERM)
    assert o.wait() == 0
    assert stat(init) is None and stat(pid) is None


# -- signals ----------------------------------------------------------------------

def test_signals_are_forwarded_to_the_child(oneit, kid):
    o = oneit(*kid, "signals")
    wait_for(lambda: os.path.exists(os.path.join(o.out, "ready")), what="child ready")
    for sig in (signal.SIGHUP, signal.SIGUSR1, signal.SIGWINCH):
        o.signal(sig)
        name = sig.name
        wait_for(lambda: name in o.file("signals") if os.path.exists(
            os.path.join(o.out, "signals")) else False, what=name)
    o.signal(signal.SIGTERM)
    assert o.wait() == 7
    assert o.file("signals") == "SIGHUP\nSIGUSR1\nSIGWINCH\n"


@pytest.mark.parametrize("group", [True, False])
def test_forwarding_to_the_process_group(oneit, tmp_path, group):
    flags = ["-g"] if group else []
    o = oneit(*flags, "sh", "-c", "sleep 1000 & echo $! > %s/pids; wait" % tmp_path)
    wait_for(lambda: o.pids(), what="background sleep")
    sleeper = o.pids()[0]
    o.signal(signal.SIGTERM)
    assert o.wait() == 143
    if group:
        wait_for(lambda: stat(sleeper) is None, what="the group's sleep to die")
    else:
        assert stat(sleeper)[0] != "Z"


def test_every_other_signal_is_forwarded_too(oneit, kid):
    # A Dockerfile's STOPSIGNAL may be any signal; SIGTSTP, SIGALRM or a real-time signal
    # must neither stop nor kill a oneit that is not PID 1.
    o = oneit(*kid, "signals")
    wait_for(lambda: os.path.exists(os.path.join(o.out, "ready")), what="child ready")
    sent = [signal.SIGALRM, signal.SIGTSTP, signal.SIGPWR, signal.SIGCONT, signal.SIGURG,
            signal.SIGRTMIN + 3]
    names = ["SIGALRM", "SIGTSTP", "SIGPWR", "SIGCONT", "SIGURG", "SIGRTMIN+3"]
    for sig, name in zip(sent, names):
        o.signal(sig)
        wait_for(lambda: name in o.file("signals") if os.path.exists(
            os.path.join(o.out, "signals")) else False, what=name)
        assert stat(o.pid)[0] in "SR", name
    o.signal(signal.SIGTERM)
    assert o.wait() == 7
    assert o.file("signals").split() == names


def test_term_ends_relaunching(oneit, kid):
    o = oneit("-r", *kid, "signals")
    wait_for(lambda: os.path.exists(os.path.join(o.out, "ready")), what="child ready")
    o.signal(signal.SIGTERM)
    assert o.wait() == 7
    assert "relaunching" not in o.err()


# -- orphans and exit reports ---------------------------------------------------------

@pytest.mark.parametrize("flags", [["-3"], ["-3", "-S"]])
def test_orphans_are_reaped_and_reported(oneit, kid, flags):
    o = oneit(*flags, *kid, "orphans", 20)
    wait_for(lambda: os.path.exists(os.path.join(o.out, "records")), what="reports")
    pids = o.pids()
    assert len(pids) == 20
    records = decode(o.file("records"), "-S" in flags)
    if "-S" in flags:
        assert sorted(records) == sorted((p, (i % 200) << 8) for i, p in enumerate(pids))
    else:
        assert sorted(records) == sorted((p, None) for p in pids)
    assert [p for p in pids if stat(p)] == [] and zombies_of(o.pid) == []
    open(os.path.join(o.out, "done"), "w").close()
    assert o.wait() == 0


def test_orphans_are_reaped_without_reports(oneit, kid):
    o = oneit(*kid, "orphans", 20)
    pids = wait_for(lambda: o.pids(), what="orphans")
    wait_for(lambda: not any(stat(p) for p in pids), what="every orphan to be reaped")
    assert zombies_of(o.pid) == []
    open(os.path.join(o.out, "done"), "w").close()
    assert o.wait() == 0


def test_reports_queued_across_a_restart(oneit, kid):
    o = oneit("-r", "-3", "-S", *kid, "gens", 3000)
    wait_for(lambda: os.path.exists(os.path.join(o.out, "records")), timeout=60, what="reports")
    pids = o.pids()
    records = decode(o.file("records"), True)
    assert records == [r for r in records if r[0] in set(pids)]
    assert sorted(records) == sorted((p, (i % 200) << 8) for i, p in enumerate(pids))
    o.signal(signal.SIGTERM)
    assert o.wait() == 143


def test_ten_thousand_orphans_exiting_at_once(oneit, kid):
    n = 10000
    o = oneit("-3", "-S", *kid, "orphans", n, "wait")
    wait_for(lambda: os.path.exists(os.path.join(o.out, "records")), timeout=90, what="reports")
    pids = o.pids()
    assert len(pids) == n
    records = decode(o.file("records"), True)
    assert len(records) == n
    assert sorted(records) == sorted((p, (i % 200) << 8) for i, p in enumerate(pids))
    assert zombies_of(o.pid) == []
    open(os.path.join(o.out, "done"), "w").close()
    assert o.wait() == 0
    assert o.err() == ""


# -- heartbeat ----------------------------------------------------------------------

def test_silent_child_is_killed_and_relaunched(oneit, kid):
    o = oneit("-r", "-w", "0.5", *kid, "silent")
    pids = wait_for(lambda: len(o.pids()) >= 2 and o.pids(), what="a relaunch")
    wait_for(lambda: stat(pids[0]) is None, what="the first child to be gone")
    assert "oneit: %s (pid %d) missed its heartbeat (0.5s): killing it\n" % (
        sys.executable, pids[0]) in o.err()
    o.signal(signal.SIGTERM)
    assert o.wait() in (143, 137)


def test_silent_child_without_relaunch_ends_oneit(oneit, kid):
    o = oneit("-w", "0.3", *kid, "silent")
    assert o.wait() == 137
    assert "missed its heartbeat (0.3s): killing it" in o.err()


def test_beating_child_lives_and_a_stopped_one_is_replaced(oneit, kid):
    o = oneit("-r", "-w", "2", *kid, "beat")
    first = wait_for(lambda: o.pids(), what="the child")[0]
    time.sleep(3)
    assert o.pids() == [first] and "heartbeat" not in o.err()
    os.kill(first, signal.SIGSTOP)
    wait_for(lambda: len(o.pids()) >= 2, what="a relaunch")
    wait_for(lambda: stat(first) is None, what="the stopped child to be gone")
    assert "(pid %d) missed its heartbeat (2s): killing it" % first in o.err()
    o.signal(signal.SIGTERM)
    assert o.wait() == 143


def test_report_queue_is_bounded_and_keeps_order(capsys):
    from toybox import oneitd as applet
    from toybox import oneitwire
    init = applet.Oneit(["child"], None, False, oneitwire.FORMAT_PID, 0, 0, 0, True, 0, "child")
    init.rep_r, init.rep_w = os.pipe()
    os.set_blocking(init.rep_w, False)
    os.set_blocking(init.rep_r, False)
    try:
        for pid in range(2, applet.QUEUE_MAX + 12):
            init.report(pid, 0)
        got = b""
        while init.queue:
            init.flush()
            while True:
                try:
                    got += os.read(init.rep_r, 1 << 20)
                except BlockingIOError:
                    break
    finally:
        os.close(init.rep_r)
        os.close(init.rep_w)
    records, rest = oneitwire.unpack(got, oneitwire.FORMAT_PID)
    assert rest == b"" and [p for p, _ in records] == list(range(2, applet.QUEUE_MAX + 2))
    assert capsys.readouterr().err.count("dropping new ones until it does") == 1


def _service_manager(argv0):
    """oneitd.service_manager() in a fresh interpreter started as argv0 would be."""
    code = ("import sys; sys.argv[0] = %r; from toybox import oneitd; "
            "print(oneitd.service_manager())" % argv0)
    out = subprocess.run([sys.executable, "-S", "-c", code], cwd=REPO, env=dict(os.environ, PYTHONPATH=REPO),
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    return eval(out.stdout)


def test_default_child_is_svinit_through_its_own_link(tmp_path):
    """With no COMMAND, oneit runs svinit through this program's `svinit` link, so that
    the child is `svinit` to ps, pidof and top; without such a link, `toybox svinit`."""
    from bindir import make_bindir
    bindir = make_bindir(str(tmp_path / "bin"))
    assert _service_manager(os.path.join(bindir, "oneit")) == [os.path.join(bindir, "svinit")]
    alone = tmp_path / "alone"
    alone.mkdir()
    os.symlink(os.path.join(bindir, "toybox"), str(alone / "init"))
    # init's own program is bin/toybox, whose sibling link is found.
    assert _service_manager(str(alone / "init")) == [os.path.join(bindir, "svinit")]
    os.unlink(os.path.join(bindir, "svinit"))
    assert _service_manager(str(alone / "init")) == [os.path.join(bindir, "toybox"), "svinit"]


def test_a_heartbeat_period_beyond_polls_range_works(oneit):
    # -w above 2**31 ms once made every poll raise, and oneit spun in its error path.
    o = oneit("-w", "3000000", "sh", "-c", "sleep 0.3; exit 3")
    assert o.wait() == 3
    assert "internal error" not in o.err()
