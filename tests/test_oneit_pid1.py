"""oneit as PID 1 of a new PID namespace (`unshare --pid --fork --mount-proc`), as root.

reboot(2) in a PID namespace kills the namespace's init: unshare then dies of SIGHUP
(reboot) or SIGINT (halt, power off). TOYBOX_SYSCALL_LOG shows what oneit did first.
"""
import os
import select
import shutil
import signal
import sys

import pytest

from bindir import REPO
from test_oneit import Oneit, children_of, decode, kid, wait_for  # noqa: F401 (kid: a fixture)
from toybox.main import launcher

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("unshare"),
                                reason="needs root and unshare")

UNSHARE = ["unshare", "--pid", "--fork", "--mount-proc", "--kill-child"]


@pytest.fixture
def pid1(bindir, tmp_path):
    """start(args, bindir=...) runs `unshare ... oneit ARGS` with a syscall log; yields
    the Oneit (its .proc is unshare) and a reader of the log."""
    started = []
    log = str(tmp_path / "syscalls")

    def start(*args, bindir=bindir, prefix=(), name="oneit"):
        o = Oneit(bindir, tmp_path, [str(a) for a in args], env={"TOYBOX_SYSCALL_LOG": log},
                  prefix=UNSHARE + list(prefix), name=name)
        started.append(o)
        return o

    start.log = lambda: open(log).read().splitlines() if os.path.exists(log) else []
    yield start
    for o in started:
        if o.proc.poll() is None:
            for pid in children_of(o.pid):
                os.kill(pid, signal.SIGKILL)    # the namespace's init: all in it die too
            o.proc.kill()
            o.proc.wait()


def init_pid(o):
    """The host PID of the namespace's PID 1 (unshare's child)."""
    return wait_for(lambda: children_of(o.pid), what="the namespace's init")[0]


def test_container_mode_exits_with_the_childs_code(pid1):
    o = pid1("-C", "sh", "-c", "exit 3")
    assert o.wait() == 3
    assert pid1.log() == []


def test_container_mode_reaps_and_reports_as_pid1(pid1, kid):
    o = pid1("-C", "-3", "-S", *kid, "orphans", 50)
    wait_for(lambda: os.path.exists(os.path.join(o.out, "records")), what="reports")
    pids = o.pids()
    assert sorted(decode(o.file("records"), True)) == sorted(
        (p, (i % 200) << 8) for i, p in enumerate(pids))
    open(os.path.join(o.out, "done"), "w").close()
    assert o.wait() == 0


def test_child_exit_reboots(pid1):
    o = pid1("-c", "/dev/null", "sh", "-c", "exit 0")
    assert o.wait() == -signal.SIGHUP
    assert pid1.log() == ["reboot cad-off", "kill -1 15", "kill -1 18", "reboot reboot"]


def test_child_exit_powers_off_with_p(pid1):
    o = pid1("-p", "-c", "/dev/null", "sh", "-c", "exit 0")
    assert o.wait() == -signal.SIGINT
    assert pid1.log()[-1] == "reboot poweroff"


@pytest.mark.parametrize("sig, how, death", [
    (signal.SIGUSR1, "halt", signal.SIGINT), (signal.SIGPWR, "halt", signal.SIGINT),
    (signal.SIGRTMIN + 4, "poweroff", signal.SIGINT), (signal.SIGRTMIN + 5, "reboot", signal.SIGHUP)])
def test_child_asks_pid1_to_halt(pid1, sig, how, death):
    # busybox init's signals, and systemd's SIGRTMIN+3/4/5.
    o = pid1("-c", "/dev/null", "sh", "-c", "kill -%d 1; sleep 100" % sig)
    assert o.wait() == -death
    assert pid1.log() == ["reboot cad-off", "kill -1 15", "kill -1 18", "reboot " + how]


def test_sigusr2_terms_then_kills_everything_then_powers_off(pid1, tmp_path):
    # The child ignores SIGTERM (and so does its sleep), so only SIGKILL ends them.
    o = pid1("-c", "/dev/null", "sh", "-c",
             "trap '' TERM; echo $$ > %s/pids; while :; do sleep 1; done" % tmp_path)
    wait_for(lambda: o.pids(), what="the child")
    os.kill(init_pid(o), signal.SIGUSR2)
    assert o.wait() == -signal.SIGINT
    assert pid1.log() == ["reboot cad-off", "kill -1 15", "kill -1 18", "kill -1 9",
                          "reboot poweroff"]


def test_reports_orphans_as_pid1(pid1, kid):
    o = pid1("-3", "-c", "/dev/null", *kid, "orphans", 50)
    wait_for(lambda: os.path.exists(os.path.join(o.out, "records")), what="reports")
    pids = o.pids()
    assert sorted(decode(o.file("records"), False)) == sorted((p, None) for p in pids)
    open(os.path.join(o.out, "done"), "w").close()
    assert o.wait() == -signal.SIGHUP


def read_console(master):
    out = b""
    while select.select([master], [], [], 0.5)[0]:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    return out.decode().replace("\r\n", "\n")


def test_messages_go_to_the_console(pid1):
    master, slave = os.openpty()
    try:
        o = pid1("-c", os.ttyname(slave), "/no/such/init")
        assert o.wait() == -signal.SIGHUP
        # An empty line first: the firmware's last words may have ended mid-line.
        assert read_console(master) == ("\noneit: /no/such/init: No such file or directory\n"
                                        "oneit: reboot: sending SIGTERM to all processes\n")
    finally:
        os.close(master)
        os.close(slave)


FAKE_SVINIT = '''"""usage: svinit [ARG...]

Test stand-in: records how oneit started it, then asks PID 1 to power off.
"""
import os
import sys

OPTIONS = ""


def main(ctx):
    env = sorted("%s=%s" % kv for kv in os.environ.items() if kv[0].startswith("ONEIT_"))
    fds = [fd for fd in (3, 4) if os.path.exists("/proc/self/fd/%d" % fd)]
    with open(os.environ["FAKE_OUT"], "w") as f:
        f.write(repr((sys.argv[1:], ctx.args, env, fds)))
    os.kill(int(os.environ["ONEIT_PID"]), 12)
    return 0
'''


def test_init_as_pid1_runs_svinit_with_the_kernel_words(pid1, tmp_path):
    lib = tmp_path / "lib"
    shutil.copytree(os.path.join(REPO, "toybox"), lib / "toybox",
                    ignore=shutil.ignore_patterns("__pycache__"))
    (lib / "applets").mkdir()
    for name in ("__init__.py", "oneit.py"):
        shutil.copy(os.path.join(REPO, "applets", name), lib / "applets" / name)
    (lib / "applets" / "svinit.py").write_text(FAKE_SVINIT)
    bin_ = tmp_path / "bin"
    bin_.mkdir()
    (bin_ / "toybox").write_text(launcher(sys.executable, str(lib)))
    (bin_ / "toybox").chmod(0o755)
    os.symlink("toybox", bin_ / "init")
    out = tmp_path / "svinit.out"
    # No /sys and no /dev in the namespace: no console to find, so the kernel's fds stay.
    hide = "mount -t tmpfs none /sys && mount -t tmpfs none /dev && exec \"$0\" \"$@\""
    o = pid1("single", "-s", bindir=str(bin_), name="init",
             prefix=["env", "FAKE_OUT=%s" % out, "sh", "-c", hide])
    assert o.wait() == -signal.SIGINT
    argv, args, env, fds = eval(out.read_text())
    assert argv == ["svinit", "--", "single", "-s"] and args == ["single", "-s"]
    assert env == ["ONEIT_HEARTBEAT_FD=4", "ONEIT_HEARTBEAT_SECONDS=30", "ONEIT_PID=1",
                   "ONEIT_REPORT_FORMAT=pid-status"]
    assert fds == [3, 4]
    assert pid1.log()[-1] == "reboot poweroff"


def test_a_shutdown_signal_goes_through_svinit_first(pid1, bindir, tmp_path):
    """`kill -USR2 1` (or busybox's poweroff) with svinit as the child: svinit stops the
    services in order first, then signals back, and only then does oneit end it all."""
    svc = tmp_path / "svc"
    svc.mkdir()
    (svc / "boot").write_text("type = internal\ndepends-on: a\n")
    (svc / "a").write_text(
        "type = process\n"
        "command = /bin/sh -c \"trap 'echo stopped >> %s/a.log; exit 0' TERM; "
        "while :; do sleep 0.1; done\"\n" % tmp_path)
    o = pid1("-r", "-3", "-S", "-c", "/dev/null", os.path.join(bindir, "svinit"),
             "-d", svc, "-p", tmp_path / "pids", "-s", tmp_path / "sock")
    wait_for(lambda: os.path.exists(tmp_path / "pids" / "services" / "a"), what="a started")
    os.kill(init_pid(o), signal.SIGUSR2)
    assert o.wait() == -signal.SIGINT        # power off: the namespace's init died
    assert (tmp_path / "a.log").read_text() == "stopped\n"
    log = pid1.log()
    # svinit signalled back before oneit's last step began.
    assert log.index("signal_init %d" % signal.SIGUSR2) < log.index("kill -1 15")
    assert log[-1] == "reboot poweroff"


def boot_only(tmp_path):
    """A services dir whose boot is an internal service: svinit with nothing to run."""
    svc = tmp_path / "svc"
    svc.mkdir()
    (svc / "boot").write_text("type = internal\n")
    return svc


def test_oneit_is_asked_even_after_a_shutdown_entry_unmounted_proc(pid1, bindir, tmp_path):
    # busybox's usual `::shutdown:umount -a -r`: /proc is gone by the time svinit asks
    # oneit to power off; what it learnt of PID 1 while /proc was there stands. (Here a
    # tmpfs hides it: unmounted, the host's /proc would show under it.)
    svc = boot_only(tmp_path)
    inittab = tmp_path / "inittab"
    inittab.write_text("::shutdown:/bin/mount -t tmpfs none /proc\n")
    o = pid1("-r", "-3", "-S", "-c", "/dev/null", os.path.join(bindir, "svinit"), "-d", svc,
             "-p", tmp_path / "piddir", "-s", tmp_path / "sock", "--inittab", inittab)
    wait_for(lambda: os.path.exists(tmp_path / "sock"), what="svinit's socket")
    os.kill(init_pid(o), signal.SIGUSR2)
    assert o.wait() == -signal.SIGINT        # powered off
    log = pid1.log()
    # svinit signalled back (after its shutdown entry) before oneit's last step began.
    assert log.index("signal_init %d" % signal.SIGUSR2) < log.index("kill -1 15"), log


@pytest.mark.parametrize("inherit", [True, False])
def test_a_svinit_orphaned_to_oneit_does_not_take_it_for_its_own(pid1, bindir, tmp_path, inherit):
    # A svinit a shell started and left (its parent is PID 1 now) is not oneit's child:
    # SIGTERM stops its services and it exits, without asking PID 1 to reboot.
    svc = boot_only(tmp_path)
    env = "" if inherit else "env -u ONEIT_PID -u ONEIT_CONTAINER "
    o = pid1("-C", "/bin/sh", "-c",
             "(%s%s -d %s -p %s -s %s --no-kmsg 2>%s/svinit.err &); exec sleep 1000"
             % (env, os.path.join(bindir, "svinit"), svc, tmp_path / "piddir", tmp_path / "sock",
                tmp_path))
    wait_for(lambda: os.path.exists(tmp_path / "sock"), what="svinit's socket")
    [svinit] = [p for p in children_of(init_pid(o))
                if b"svinit" in open("/proc/%d/cmdline" % p, "rb").read()]
    os.kill(svinit, signal.SIGTERM)
    wait_for(lambda: "all services stopped" in (tmp_path / "svinit.err").read_text(),
             what="svinit to stop")
    err = (tmp_path / "svinit.err").read_text()
    assert "svinit: exit: stopping all services" in err and "asking oneit" not in err, err


def test_svinits_own_shutdown_signal_is_acted_on_at_once(pid1, bindir, tmp_path):
    # `ctl poweroff`: svinit stops the services, says so on the heartbeat pipe and signals
    # oneit, which must not go and ask it to stop them first (it has).
    svc = boot_only(tmp_path)
    console = tmp_path / "console"
    console.write_text("")
    o = pid1("-r", "-3", "-S", "-w", "30", "-c", console, os.path.join(bindir, "svinit"),
             "-d", svc, "-p", tmp_path / "piddir", "-s", tmp_path / "sock")
    wait_for(lambda: os.path.exists(tmp_path / "sock"), what="svinit's socket")
    from toybox import protocol
    assert protocol.call(str(tmp_path / "sock"), protocol.request("shutdown", how="poweroff"))["ok"]
    assert o.wait() == -signal.SIGINT
    text = console.read_text()
    assert "svinit: asking oneit (pid 1) to poweroff\n" in text, text
    assert "to stop the services first" not in text, text
    assert "oneit: poweroff: sending SIGTERM to all processes\n" in text, text
