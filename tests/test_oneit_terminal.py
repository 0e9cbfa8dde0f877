"""oneit (container mode, not PID 1) as a job of an interactive shell on a terminal: ^Z, fg,
bg, a script reading the terminal after it, a relaunch after a child died with a job in
the foreground. The shell is bash on a pseudo-terminal, driven with pexpect."""
import os
import shutil
import signal
import time

import pytest

from test_oneit import children_of

pexpect = pytest.importorskip("pexpect")
pytestmark = pytest.mark.skipif(not shutil.which("bash"), reason="needs bash")

PROMPT = "PROMPT> "


def descendants(pid):
    out = []
    for child in children_of(pid):
        out += [child] + descendants(child)
    return out


@pytest.fixture
def spawn(bindir):
    """spawn(argv) -> a pexpect child on a new pty; it and all it started are killed after."""
    started = []

    def start(argv):
        env = {"PATH": bindir + ":/usr/bin:/bin", "PS1": PROMPT, "TERM": "dumb", "LC_ALL": "C.UTF-8"}
        child = pexpect.spawn(argv[0], argv[1:], env=env, encoding="utf-8", timeout=15)
        started.append(child)
        return child

    yield start
    for child in started:
        victims = descendants(child.pid)
        child.close(force=True)
        for pid in victims:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


BASH = ["bash", "--norc", "--noprofile", "-i"]


def shell(spawn):
    sh = spawn(BASH)
    sh.expect_exact(PROMPT)
    return sh


def run(sh, line):
    sh.sendline(line)
    sh.expect_exact(PROMPT)
    return sh.before


def test_ctrl_z_stops_oneit_with_its_child_and_fg_gives_the_terminal_back(spawn):
    sh = shell(spawn)
    sh.sendline("oneit sleep 100")
    time.sleep(1)
    sh.sendcontrol("z")
    # As for `sleep 100` typed alone: the shell has its prompt back, the job stopped.
    sh.expect_exact(PROMPT)
    assert "Stopped" in sh.before
    assert "oneit sleep 100" in run(sh, "jobs")
    sh.sendline("fg")
    time.sleep(1)
    sh.sendcontrol("c")
    sh.expect_exact(PROMPT)
    assert "rc=130" in run(sh, "echo rc=$?")


def test_a_background_oneit_brought_to_the_foreground_gives_its_child_the_terminal(spawn):
    sh = shell(spawn)
    run(sh, "oneit cat &")
    time.sleep(1)   # cat reads the terminal from the background: stopped, and oneit with it
    assert "Stopped" in run(sh, "jobs")
    sh.sendline("fg")
    time.sleep(0.5)
    sh.sendline("hello")
    sh.expect(r"hello\r\n.*hello\r\n")     # the terminal's echo, then cat's
    sh.sendcontrol("d")
    sh.expect_exact(PROMPT)
    assert "rc=0" in run(sh, "echo rc=$?")


def test_the_terminal_comes_back_when_the_child_exits(spawn):
    sh = shell(spawn)
    sh.sendline("bash -c 'oneit true; read x; echo got=$x'")
    time.sleep(1)
    sh.sendline("word")
    sh.expect_exact(PROMPT)
    assert "got=word" in sh.before and "Stopped" not in sh.before


def test_relaunched_child_gets_the_terminal_after_one_died_with_a_job_in_front(spawn):
    sh = spawn(["oneit", "-r"] + BASH)
    sh.expect_exact(PROMPT)
    sh.sendline("echo pid=$$; sleep 200")
    sh.expect(r"pid=(\d+)")
    first = int(sh.match.group(1))
    time.sleep(0.5)
    os.kill(first, signal.SIGKILL)
    sh.expect(r"relaunching.*" + PROMPT)
    assert "rc=0" in run(sh, "true; echo rc=$?")
    assert "no job control" not in sh.before


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("unshare"), reason="needs root and unshare")
def test_as_pid1_a_stopped_child_is_continued(spawn):
    # `docker run -it IMAGE sleep 100` under oneit: no shell above to take the terminal
    # back, so ^Z must not leave it to a stopped child; ^C still ends it.
    sh = spawn(["unshare", "--pid", "--fork", "--mount-proc", "--kill-child",
                "oneit", "-C", "sleep", "100"])
    time.sleep(1)
    [init] = children_of(sh.pid)
    [sleeper] = children_of(init)
    sh.sendcontrol("z")
    time.sleep(1)
    with open("/proc/%d/stat" % sleeper) as f:
        assert f.read().rsplit(")", 1)[1].split()[0] == "S"
    sh.sendcontrol("c")
    sh.expect(pexpect.EOF)
    sh.close()
    assert sh.exitstatus == 130
