"""Shared helpers: atomic files, /proc parsing, signal names, wait statuses, guards."""
import os
import subprocess
import sys
import time

import pytest

from toybox import fs, lib, proc, syscalls


def test_write_atomic_replaces_whole_file(tmp_path):
    path = str(tmp_path / "pid")
    fs.write_atomic(path, "1\n")
    fs.write_atomic(path, b"22\n", mode=0o600)
    assert open(path).read() == "22\n"
    assert [p for p in os.listdir(str(tmp_path))] == ["pid"]


def test_write_atomic_leaves_no_temp_on_failure(tmp_path):
    with pytest.raises(TypeError):
        fs.write_atomic(str(tmp_path / "x"), 12345)
    assert os.listdir(str(tmp_path)) == []


def test_is_mount_point(tmp_path):
    (tmp_path / "f").write_text("")
    os.symlink("/", str(tmp_path / "root"))
    assert fs.is_mount_point("/") and fs.is_mount_point("/proc")
    assert fs.is_mount_point("/proc/")
    assert not fs.is_mount_point(str(tmp_path))
    assert not fs.is_mount_point(str(tmp_path / "f"))            # not a directory
    assert not fs.is_mount_point(str(tmp_path / "root"))         # a symlink, not followed
    assert not fs.is_mount_point(str(tmp_path / "missing"))


def test_parse_stat_with_hostile_comm():
    text = "1234 (a) b (c)) S 1 1234 1234 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 98765 0 0"
    st = proc.parse_stat(1234, text)
    assert (st.comm, st.state, st.ppid, st.pgrp, st.session, st.starttime) == \
        ("a) b (c)", "S", 1, 1234, 1234, 98765)
    assert proc.parse_stat(1, "garbage") is None
    assert proc.parse_stat(1, "1 (x) S 1 2") is None


def test_stat_of_live_and_dead_processes():
    p = subprocess.Popen(["sleep", "30"])
    try:
        st = proc.stat(p.pid)
        assert st.ppid == os.getpid() and st.comm == "sleep"
        assert proc.alive(p.pid, st.starttime)
        assert not proc.alive(p.pid, st.starttime + 1)
    finally:
        p.kill()
        p.wait()
    assert proc.stat(p.pid) is None or proc.stat(p.pid).state in "ZX"
    assert not proc.alive(p.pid)


def test_boot_id_is_this_boots():
    assert proc.boot_id() == open("/proc/sys/kernel/random/boot_id").read().strip()


def test_signal_names_and_numbers():
    assert lib.signal_name(15) == "SIGTERM"
    for text in ("HUP", "SIGHUP", "hup", "1"):
        assert lib.signal_number(text) == 1
    for bad in ("NOPE", "0", "999", "SIG_IGN"):
        with pytest.raises(ValueError):
            lib.signal_number(bad)


def test_wait_statuses():
    assert lib.exit_code_of(3 << 8) == 3 and lib.exit_code_of(9) == 137
    assert lib.describe_status(3 << 8) == "exited 3"
    assert lib.describe_status(15) == "killed by signal 15 (SIGTERM)"


def test_guards_refuse_on_a_host():
    """This test process is not PID 1: every dangerous call must refuse."""
    assert os.getpid() != 1
    for call in (lambda: syscalls.reboot("poweroff"), lambda: syscalls.kill_all(0),
                 lambda: syscalls.mount("none", "/mnt", "tmpfs"), lambda: syscalls.disable_cad(),
                 lambda: syscalls.kill(1, 0), lambda: syscalls.kill(-1, 0), lambda: syscalls.kill(0, 0),
                 lambda: syscalls.killpg(1, 0)):
        with pytest.raises(syscalls.Refused):
            call()


def test_pid1_is_not_ours_here():
    assert not syscalls.pid1_is_ours()
    with pytest.raises(syscalls.Refused):
        syscalls.signal_init(0)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root for a PID namespace")
def test_guards_let_pid1_of_a_namespace_reboot(tmp_path):
    """reboot(2) by PID 1 of a PID namespace ends that namespace's init (SIGINT for power off)."""
    log = tmp_path / "log"
    code = ("import sys; sys.path.insert(0, %r)\n"
            "from toybox import syscalls\n"
            "syscalls.reboot('poweroff')\n") % os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    p = subprocess.run(["unshare", "--pid", "--fork", "--mount-proc", sys.executable, "-S", "-c", code],
                       env={"TOYBOX_SYSCALL_LOG": str(log)}, capture_output=True, timeout=30)
    assert log.read_text() == "reboot poweroff\n"
    # unshare dies by the signal that killed its child (or reports it as 128+N)
    assert p.returncode in (-2, 130), p.stderr


def test_a_start_time_known_from_the_clock_around_a_launch_is_the_one_proc_shows():
    # svinit records a launched process's start time without reading /proc when the
    # launch did not straddle a clock tick: it must be exactly /proc's field 22.
    pids, known = [], []
    try:
        for _ in range(200):
            before = proc.boottime_ticks()
            pid = os.posix_spawn("/bin/sleep", ["/bin/sleep", "100"], {})
            pids.append(pid)
            if before == proc.boottime_ticks():
                known.append((pid, before))
        assert len(known) > 100
        assert [(pid, proc.starttime(pid)) for pid, _ in known] == known
    finally:
        for pid in pids:
            os.kill(pid, 9)
            os.waitpid(pid, 0)


def kill_all(pids, popen):
    """SIGKILL to each of pids (those gone already are skipped), then to popen's process,
    which is waited for."""
    for pid in pids:
        try:
            os.kill(pid, 9)
        except ProcessLookupError:
            pass
    popen.kill()
    popen.wait(10)


def test_descendants_from_children_files_and_from_parents_agree():
    # A tree: sh -> (sleep, sh -> sleep). Kernels without CONFIG_PROC_CHILDREN have no
    # children files; the fallback reads every process's parent instead.
    p = subprocess.Popen(["/bin/sh", "-c", "sleep 100 & /bin/sh -c 'sleep 101 & wait' & wait"])
    try:
        want = None
        deadline = time.monotonic() + 30       # a loaded machine starts the shells late
        while want is None and time.monotonic() < deadline:
            got = proc.descendants(p.pid)
            # Settled: both sleeps exec'd (a forked shell about to exec one counts too).
            stats = [proc.stat(d) for d in got]
            if None not in stats and sorted(st.comm for st in stats) == ["sh", "sleep", "sleep"]:
                want = got
            time.sleep(0.01)
        assert want is not None
        kids = proc._by_parent("/proc")
        by_parent, todo = [], [p.pid]
        while todo:
            for child in kids.get(todo.pop(), ()):
                by_parent.append(child)
                todo.append(child)
        assert sorted(by_parent) == sorted(want)
        assert sorted(kids[p.pid]) == sorted(proc.children(p.pid))
        assert all(proc.stat(d) is not None for d in want)
    finally:
        # Only the sleeps: each shell reaps its child and exits, so nothing is orphaned.
        for d in proc.descendants(p.pid):
            st = proc.stat(d)
            if st is not None and st.comm == "sleep":
                os.kill(d, 9)
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            # Caught half-built (a shell started its sleep after the kill): all of it, by PID.
            kill_all(proc.descendants(p.pid), p)


def test_raise_fd_limit_raises_the_soft_limit_up_to_the_hard_one():
    code = ("import sys, resource; sys.path.insert(0, %r)\n"
            "from toybox import syscalls\n"
            "resource.setrlimit(resource.RLIMIT_NOFILE, (64, 2048))\n"
            "syscalls.raise_fd_limit(1000); a = resource.getrlimit(resource.RLIMIT_NOFILE)\n"
            "syscalls.raise_fd_limit(65536); b = resource.getrlimit(resource.RLIMIT_NOFILE)\n"
            "syscalls.raise_fd_limit(10); c = resource.getrlimit(resource.RLIMIT_NOFILE)\n"
            "print(a, b, c)\n") % os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    p = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split("\n")[0] == "(1000, 2048) (2048, 2048) (2048, 2048)"


@pytest.mark.skipif(os.geteuid() != 0, reason="mknod needs root")
def test_tty_node_finds_the_node_of_the_terminal_behind_an_fd(tmp_path):
    # As svinit finds ttyS0 behind its /dev/console before /sys is mounted (TIOCGDEV).
    import pty
    master, slave = pty.openpty()
    try:
        os.mknod(str(tmp_path / "console"), 0o600 | 0o020000, os.makedev(5, 1))
        assert proc.tty_node(slave, str(tmp_path)) is None
        os.mknod(str(tmp_path / "hvc0"), 0o600 | 0o020000, os.fstat(slave).st_rdev)
        assert proc.tty_node(slave, str(tmp_path)) == str(tmp_path / "hvc0")
        r, w = os.pipe()
        assert proc.tty_node(r, str(tmp_path)) is None       # not a terminal
        os.close(r)
        os.close(w)
    finally:
        os.close(master)
        os.close(slave)


def test_children_of_a_process_with_a_thousand_children():
    # /proc gives a page per read: the children file of 1000 PIDs takes two reads or more.
    sh = subprocess.Popen(["/bin/sh", "-c", "i=0; while [ $i -lt 1000 ]; do sleep 60 & i=$((i+1)); done; "
                           "echo up; wait"], stdout=subprocess.PIPE)
    try:
        assert sh.stdout.readline() == b"up\n"
        kids = proc.children(sh.pid)
        assert len(kids) == len(set(kids)) == 1000
        assert set(proc.descendants(sh.pid)) == set(kids)
    finally:
        kill_all(proc.children(sh.pid), sh)
