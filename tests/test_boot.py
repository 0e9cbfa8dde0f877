"""Boot tests: the demo image under QEMU, driven over its serial console.

One boot per scenario group (a software-emulated boot takes seconds): the demo, booted
by `./build.sh run` as a user does (services, ctl, httpd, svinit killed and frozen,
poweroff); `single` then reboot;
a broken service file then halt; a failing boot and the recovery shell; services
chosen on the kernel command line; a busybox inittab instead of service files; toybox's
own oneit as PID 1. Every VM is
killed by PID when its test or group ends; a failing test prints the console.
"""
import json
import os
import re
import time

import pytest

import qemu
from conftest import REPO
from qemu import BuildShRun, Qemu, build_image

why_not = qemu.available()
pytestmark = pytest.mark.skipif(why_not is not None, reason=str(why_not))

MOTD = "toybox-init demo: PID 1 is oneit"
BOOT_TIMEOUT = 300          # TCG: a boot is 4-20 s, but a burst of load on this shared 2-core host
                            # once held one for over 120 s with nothing on the console
HEARTBEAT = 30              # oneit's default -w period for svinit

# The demo's services and the state each settles in: (state, failed).
DEMO = {
    "boot": ("started", False),
    "mount-proc": ("started", False),
    "mount-sys": ("started", False),
    "mount-dev": ("started", False),
    "mount-run": ("started", False),
    "hostname": ("started", False),
    "loopback": ("started", False),
    "syslogd": ("started", False),
    "httpd": ("started", False),
    "shell": ("started", False),
    "crasher": ("stopped", True),
    "klogd": ("stopped", False),
}
# (dependent, dependency) pairs of the demo: at shutdown the first stops first.
DEMO_EDGES = [("httpd", "syslogd"), ("httpd", "loopback"), ("syslogd", "mount-dev"),
              ("boot", "httpd"), ("boot", "mount-proc")]

# PID of the running svinit, from /proc (busybox has no pgrep): our oneit runs it as
# /sbin/svinit, the toybox-oneit image as `toybox svinit`. PID 1 is left out: toybox's
# oneit carries `toybox svinit` in its own arguments.
SVINIT_PID = ("for p in /proc/[0-9]*; do [ $p = /proc/1 ] || case \"$(tr '\\0' ' ' <$p/cmdline 2>/dev/null)\" in "
              "*' /sbin/svinit '*|*'toybox svinit'*) echo ${p#/proc/};; esac; done")


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    """Images built on demand, once per name: images("demo"), images("broken", overlay)."""
    built = {}
    base = tmp_path_factory.mktemp("images")

    def get(name, overlay=None, binaries=(), remove=()):
        if name not in built:
            extra = []
            for host, path in binaries:
                extra += ["--binary", "%s=%s" % (host, path)]
            for path in remove:
                extra += ["--remove", path]
            built[name] = build_image(base / (name + ".cpio"), [overlay] if overlay else [],
                                      extra=extra)
        return built[name]

    return get


@pytest.fixture
def boot(images):
    """boot(image, append="") -> a started Qemu; killed and its console printed
    (shown by pytest when the test fails) at the end of the test."""
    vms = []

    def start(image, append=""):
        vm = Qemu(image, append, timeout=BOOT_TIMEOUT).start()
        vms.append(vm)
        return vm

    yield start
    for vm in vms:
        vm.kill()
        print("---- console of qemu %s (-append %r) ----\n%s" % (vm.pid, vm.append, vm.transcript()))


def write(root, path, text):
    full = os.path.join(str(root), path)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "w") as f:
        f.write(text)
    return full


def at_shell(vm, timeout=BOOT_TIMEOUT):
    """Wait for a console shell (its /etc/profile prints the motd) that answers."""
    vm.expect(MOTD, timeout)
    vm.run("true")


def services(vm):
    return {s["name"]: s for s in json.loads(vm.run("ctl --json list"))}


def wait_until(vm, what, check, timeout=60):
    """Poll check() (which runs commands on the console) until it returns a true value."""
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError("%s: not within %ss\n%s" % (what, timeout, vm.tail(15)))
        time.sleep(1)


def wait_settled(vm, expected, timeout=60):
    """ctl's view once every service in expected is in its (state, failed); on
    timeout, an error naming each service that is not."""
    deadline = time.monotonic() + timeout
    while True:
        now = services(vm)
        wrong = {n: now[n] if n in now else "not loaded" for n, st in expected.items()
                 if n not in now or (now[n]["state"], now[n]["failed"]) != st}
        if not wrong:
            return now
        if time.monotonic() > deadline:
            raise AssertionError("services not settled within %ss:\n%s" % (timeout, "\n".join(
                "  %s: want %s, got %s" % (n, expected[n], s if isinstance(s, str) else
                                           (s["state"], s["failed"], s["reason"]))
                for n, s in sorted(wrong.items()))))
        time.sleep(1)


def svinit_pid(vm):
    pids = vm.run(SVINIT_PID).split()
    return int(pids[0]) if len(pids) == 1 else None


def stop_order(vm, since):
    """Names of services in the order the console reported them stopped, after offset since."""
    text = vm.transcript()[since:]
    return [m.group(1) for m in re.finditer(r"svinit: ([\w.-]+): stopped", text)]


def assert_reverse_order(order, edges):
    for dependent, dependency in edges:
        assert dependent in order and dependency in order, (dependent, dependency, order)
        assert order.index(dependent) < order.index(dependency), (dependent, dependency, order)


# -- the pipeline, before any of the suite ---------------------------------------

def test_python_runs_as_pid1_and_powers_off(images, boot, tmp_path):
    """A trivial Python /init: proves the kernel, the archive, the interpreter and
    its libraries (_ctypes needs libffi) before oneit and svinit are involved."""
    init = write(tmp_path, "init", "#!/usr/bin/python3 -S\n"
                 "import _ctypes, os\n"
                 "os.write(1, b'PYTHON-PID1 pid=%d seed=%s\\n' % (os.getpid(), os.environ['PYTHONHASHSEED'].encode()))\n"
                 "if os.fork() == 0:\n"
                 "    libc = _ctypes.dlopen(None, os.RTLD_NOW)\n"
                 "    _ctypes.call_function(_ctypes.dlsym(libc, 'reboot'), (0x4321FEDC,))\n"
                 "    os._exit(1)\n"
                 "os.wait()\n")
    os.chmod(init, 0o755)
    vm = boot(images("pid1", tmp_path))
    vm.expect("PYTHON-PID1 pid=1 seed=0")
    assert vm.wait_exit(60) == 0
    assert "Power down" in vm.transcript()


# -- the demo: one boot ------------------------------------------------------------

# A word for the kernel command line of the demo's boot (which the kernel passes on to init
# as an environment variable): `./build.sh run` adds its words to the command line.
RUN_WORD = "TOYBOX_TEST_RUN=1"


@pytest.fixture(scope="module")
def demo():
    """The demo as a user boots it: `./build.sh run` (the README's main command), which
    builds the image and boots it with its own QEMU options and kernel command line."""
    vm = BuildShRun([RUN_WORD], timeout=BOOT_TIMEOUT).start()
    try:
        at_shell(vm)
        yield vm
    finally:
        vm.kill()
        print("---- console of the demo ----\n" + vm.transcript())


def test_demo_boots_with_the_kernel_command_line_the_tests_use(demo):
    """build.sh's command line is the one the other boots here (and bench/) use, with the
    words given to `./build.sh run` after it."""
    assert demo.run("cat /proc/cmdline").strip() == qemu.BASE_APPEND + " " + RUN_WORD


def test_demo_first_prompt_shows_the_host_name(demo):
    # The shell starts after `hostname`: no "(none)" prompt before it has run.
    assert "demo:~# " in demo.transcript()
    assert "(none)" not in demo.transcript()


def test_demo_boot_messages_come_before_the_shells_banner(demo):
    """svinit's lines from before the console shell started are on the console above
    the shell's banner; nothing of svinit's lands below the first prompt."""
    text = demo.transcript()
    banner = text.index(MOTD)
    before = re.findall(r"svinit: ([\w-]+): started", text[:banner])
    assert "mount-proc" in before and "hostname" in before, text[:banner]
    # Each on a line of its own, the first too (after the firmware's "Booting from ROM..").
    assert text[:banner].count("svinit:") == len(re.findall(r"(?m)^svinit:", text[:banner])), text[:banner]
    first_command = text.index("@@", banner)
    assert "svinit:" not in text[banner:first_command], text[banner:first_command]


def test_demo_every_service_reaches_its_state(demo):
    now = wait_settled(demo, DEMO)
    for name in ("syslogd", "httpd", "shell"):
        assert now[name]["pid"], name
    assert now["crasher"]["restarts"] == 3
    # The console shell holds the console, so svinit keeps its own messages back
    # (as Dinit does); they are in the kernel log all the same.
    assert "svinit: crasher: failed: exited 1; restarted 3 times" in demo.run("dmesg")


def test_demo_pid_files_are_on_the_run_tmpfs_with_this_boots_id(demo):
    # The early services run beside mount-run: what svinit wrote before the tmpfs hid
    # the archive's /run is written again on it, with the boot id /proc gives.
    wait_settled(demo, DEMO)
    assert "tmpfs /run tmpfs" in demo.run("grep ' /run ' /proc/mounts")
    boot_id = demo.run("cat /proc/sys/kernel/random/boot_id").strip()
    ids = demo.run("cd /run/svinit && for f in svinit services/*; do echo \"$f $(grep '^boot_id ' $f)\"; done")
    lines = ids.strip().splitlines()
    names = [line.split()[0] for line in lines]
    for name in ("svinit", "services/mount-sys", "services/mount-dev", "services/hostname",
                 "services/loopback", "services/syslogd", "services/httpd"):
        assert name in names, ids
    for line in lines:
        assert line.split()[1:] == ["boot_id", boot_id], ids


def test_demo_has_the_vcpus_build_sh_gives_it(demo):
    words = qemu.accel()
    want = int(words[words.index("-smp") + 1])
    assert demo.run("grep -c ^processor /proc/cpuinfo").strip() == str(want)


def test_demo_pid1_is_oneit_and_svinit_its_child(demo):
    assert demo.run("tr '\\0' ' ' </proc/1/cmdline").split()[1:] == ["-S", "/init"]
    stat = demo.run("cat /proc/%d/stat" % svinit_pid(demo))
    assert stat.rsplit(")", 1)[1].split()[1] == "1"      # its parent


def fd_links(vm, pid):
    """{fd: link target} of a process in the guest."""
    out = vm.run("for f in /proc/%d/fd/*; do echo \"${f##*/} $(readlink $f)\"; done" % pid)
    return {int(fd): target for fd, target in (line.split(" ", 1) for line in out.splitlines())}


def test_demo_svinit_runs_in_oneits_child_as_if_execd(demo):
    """oneit runs its own svinit in the child it forked, without a second interpreter
    start (oneitd.run_here): ps and /proc show what the exec would have, and svinit
    holds none of oneit's files but the report and heartbeat pipes."""
    pid = svinit_pid(demo)
    interpreter = demo.run("tr '\\0' ' ' </proc/1/cmdline").split()[:2]
    assert demo.run("tr '\\0' ' ' </proc/%d/cmdline" % pid).split() == interpreter + ["/sbin/svinit"]
    assert demo.run("cat /proc/%d/comm" % pid).strip() == "svinit"
    assert demo.run("pidof svinit").split() == [str(pid)]
    env = demo.run("tr '\\0' '\\n' </proc/%d/environ" % pid).split()
    assert {"ONEIT_PID=1", "ONEIT_REPORT_FORMAT=pid-status", "ONEIT_HEARTBEAT_FD=4"} <= set(env), env
    oneit_pipes = {t for t in fd_links(demo, 1).values() if t.startswith("pipe:")}
    shared = {fd: t for fd, t in fd_links(demo, pid).items() if t in oneit_pipes}
    assert sorted(shared) == [3, 4], shared


def test_demo_console_shell_has_job_control(demo):
    # Its terminal is the console's (ttyS0), as its controlling terminal, even though it
    # starts before /sys is mounted (svinit finds the node behind /dev/console).
    assert "can't access tty" not in demo.transcript()
    tty_nr = int(demo.run("cut -d' ' -f7 /proc/$$/stat"))
    assert (tty_nr >> 8, tty_nr & 0xff) == (4, 64)


def test_demo_ctl_list_for_people(demo):
    out = demo.run("ctl list")
    for name in DEMO:
        assert re.search(r"\b%s\b" % re.escape(name), out), (name, out)


def test_demo_ctl_status_alone_shows_svinit_at_a_glance(demo):
    # Once the crash-looping service has given up: it is the one named as failed.
    wait_settled(demo, DEMO)
    out = re.sub(r"\x1b\[[0-9;]*m", "", demo.run("ctl status"))    # colour: a terminal
    assert out.startswith("svinit:     pid %d, up " % svinit_pid(demo)), out
    assert "Parent:     oneit (pid 1)\n" in out, out
    assert "Requested:  boot: started\n" in out, out
    # When boot had started, in the guest's own clock: after the kernel's part of the boot,
    # before now.
    ready = float(re.search(r"^Ready:      ([0-9.]+)s after boot \([0-9.]+s after svinit", out, re.M).group(1))
    assert 0.3 < ready < float(demo.run("cut -d' ' -f1 /proc/uptime")), out
    files = os.listdir(os.path.join(REPO, "initramfs", "rootfs", "etc", "svinit.d"))
    assert "Services:   %d (" % len(files) in out, out
    assert re.search(r"^Failed:     crasher \(exited 1; restarted 3 times within 30s: giving up\)$",
                     out, re.M), out


def test_demo_server_logs_to_the_logger(demo):
    assert "Served by busybox httpd" in demo.run("wget -qO- http://127.0.0.1/")
    wait_until(demo, "httpd's request in the system log",
               lambda: "httpd" in demo.run("cat /var/log/messages"))
    assert demo.run("hostname").strip() == "demo"


def test_demo_ctl_enable_starts_a_service_now_and_disable_stops_it(demo):
    wait_settled(demo, DEMO)
    assert demo.run("ctl enable klogd").strip() == "klogd: enabled (started)"
    assert demo.run("ls -l /etc/svinit.d/boot.d").split()[-3:] == ["klogd", "->", "../klogd"]
    # klogd passes the kernel's lines to syslogd: svinit's own, through /dev/kmsg, among them.
    wait_until(demo, "kernel lines in the system log",
               lambda: re.search(r"kernel: \[ *[0-9.]+\] svinit: klogd: enabled: boot waits for it",
                                 demo.run("cat /var/log/messages")))
    assert demo.run("ctl disable klogd").strip() == "klogd: disabled (stopped)"
    assert demo.run("ls /etc/svinit.d/boot.d").strip() == ""
    assert demo.run("pidof klogd", check=False)[0] == 1


def restarted_svinit(vm, old, timeout=60):
    """Wait for an svinit other than PID old to answer ctl; returns its PID."""
    def other():
        pid = svinit_pid(vm)
        return pid if pid not in (None, old) else None

    new = wait_until(vm, "a new svinit", other, timeout)
    wait_until(vm, "the new svinit answers", lambda: vm.run("ctl list", check=False)[0] == 0)
    return new


def test_demo_killed_svinit_is_restarted_by_oneit(demo):
    wait_settled(demo, DEMO)
    old = svinit_pid(demo)
    demo.run("kill -9 %d" % old)
    restarted_svinit(demo, old)
    # What it supervised still runs, once: the web server answers, one of each daemon.
    assert "Served by busybox httpd" in demo.run("wget -qO- http://127.0.0.1/")
    assert len(demo.run("pidof syslogd").split()) == 1


def test_demo_restarted_svinit_recovers_the_same_pids(demo):
    before = {n: (s["pid"], s["started_at"]) for n, s in services(demo).items() if s["pid"]}
    assert set(before) >= {"syslogd", "httpd", "shell"}
    mounts = demo.run("cat /proc/mounts")
    old = svinit_pid(demo)
    demo.run("kill -9 %d" % old)
    restarted_svinit(demo, old)
    now = wait_settled(demo, DEMO)
    assert {n: (s["pid"], s["started_at"]) for n, s in now.items() if s["pid"]} == before
    # The boot scripts did not run again (each mount would be there twice).
    assert demo.run("cat /proc/mounts") == mounts
    assert "restarted: the svinit before (pid %d) died" % old in demo.run("dmesg")
    assert "Recovered:  the svinit before (pid %d) died" % old in demo.run("ctl status")


def test_demo_frozen_svinit_is_killed_by_heartbeat_and_restarted(demo):
    old = svinit_pid(demo)
    demo.run("kill -STOP %d" % old)
    restarted_svinit(demo, old, timeout=3 * HEARTBEAT)
    assert "Served by busybox httpd" in demo.run("wget -qO- http://127.0.0.1/")


def test_demo_shutdown_commands_are_the_suites(demo):
    # Not busybox's applets, which its shell would run ahead of PATH.
    for name in ("halt", "poweroff", "reboot", "shutdown"):
        assert "/sbin/%s" % name in demo.run("type %s" % name)
    assert "usage: poweroff" in demo.run("poweroff --help")


def test_demo_poweroff_stops_services_in_reverse_order(demo):
    since = len(demo.transcript())
    demo.sendline("poweroff")
    assert demo.wait_exit(120) == 0
    out = demo.transcript()[since:]
    assert "reboot: Power down" in out
    assert_reverse_order(stop_order(demo, since), DEMO_EDGES)
    # What svinit held back while the shell had the console (since its restart by the
    # tests above: it re-adopted the shell) comes first, said to be so.
    held = out.find("svinit: held while shell had the console:\nsvinit: restarted: ")
    assert -1 < held < out.find("svinit: shutdown (poweroff): stopping all services"), out
    # On a line of its own, not after the prompt the shell printed once `poweroff` returned.
    assert out[held - 1] == "\n", out


# -- other boots ---------------------------------------------------------------------

def test_single_gives_a_shell_then_boot_then_reboot(images, boot):
    vm = boot(images("demo"), "single")
    at_shell(vm)
    now = services(vm)
    assert now["single"]["state"] == "started"
    assert "boot" not in now or now["boot"]["state"] == "stopped"
    assert "httpd" not in now or now["httpd"]["state"] == "stopped"
    # Leaving the single-user shell goes on to the normal boot (chain-to = boot).
    vm.sendline("exit")
    at_shell(vm)
    wait_settled(vm, DEMO)
    # The mounts single's shell had were not made twice: svinit saw them mounted.
    mounts = [line.split()[1] for line in vm.run("cat /proc/mounts").splitlines()]
    for where in ("/proc", "/sys", "/dev", "/run"):
        assert mounts.count(where) == 1, mounts
    assert "mount-proc: started (/proc is mounted already: command not run)" in vm.run("dmesg")
    since = len(vm.transcript())
    vm.sendline("reboot")
    assert vm.wait_exit(120) == 0
    assert "reboot: Restarting system" in vm.transcript()[since:]
    assert_reverse_order(stop_order(vm, since), DEMO_EDGES)


def test_services_chosen_on_the_kernel_command_line(images, boot):
    vm = boot(images("demo"), "SVINIT_SERVICES=httpd,shell")
    at_shell(vm)
    now = wait_settled(vm, {"httpd": ("started", False)})
    assert "boot" not in now or now["boot"]["state"] == "stopped"
    assert "crasher" not in now or now["crasher"]["state"] == "stopped"
    assert now["syslogd"]["state"] == "started"      # a dependency of httpd
    assert "Served by busybox httpd" in vm.run("wget -qO- http://127.0.0.1/")


def test_broken_service_file_is_named_and_the_rest_boots_then_halt(images, boot, tmp_path):
    overlay = tmp_path / "overlay"
    write(overlay, "etc/svinit.d/broken", "# a typo on line 3\ntype = process\ncomand = /bin/true\n")
    with open(os.path.join(qemu.REPO, "initramfs/rootfs/etc/svinit.d/boot")) as f:
        write(overlay, "etc/svinit.d/boot", f.read() + "waits-for: broken\n")
    vm = boot(images("broken", overlay))
    vm.expect(r"/etc/svinit\.d/broken:3: [^\r\n]*comand")
    at_shell(vm)
    wait_settled(vm, DEMO)
    since = len(vm.transcript())
    vm.sendline("halt")
    # A halted machine stays on: QEMU keeps running, and is killed by the fixture.
    vm.expect("reboot: System halted", timeout=120)
    assert vm.alive()
    assert_reverse_order(stop_order(vm, since), DEMO_EDGES)


# A Buildroot-style /etc/inittab, with no /etc/svinit.d: switching from busybox init is
# changing /sbin/init. sysinit mounts a tmpfs on /run (over svinit's socket and pid dir),
# and the usual shutdown entry unmounts everything, /proc included.
BUSYBOX_INITTAB = """\
::sysinit:/bin/mount -t proc proc /proc
::sysinit:/bin/mount -t sysfs sysfs /sys
::sysinit:/bin/mount -t devtmpfs devtmpfs /dev
::sysinit:/bin/mount -t tmpfs -o mode=0755 tmpfs /run
::sysinit:/bin/hostname -F /etc/hostname
::respawn:/sbin/syslogd -n
::askfirst:-/bin/sh
::ctrlaltdel:/sbin/reboot
::shutdown:/bin/umount -a -r
"""


def test_busybox_inittab_boots_and_powers_off(images, boot, tmp_path):
    overlay = tmp_path / "overlay"
    write(overlay, "etc/inittab", BUSYBOX_INITTAB)
    vm = boot(images("inittab", overlay, remove=["etc/svinit.d"]))
    vm.expect("Please press Enter to activate this console.")
    vm.sendline("")
    at_shell(vm)
    # The control socket was made again once the tmpfs hid it; the entries ran in order.
    out = vm.run("NO_COLOR=1 ctl status")
    assert "Requested:  inittab: started" in out, out
    assert vm.run("pidof syslogd").split(), vm.tail(20)
    assert vm.run("hostname").strip() == "demo"
    assert "cannot read services dir" not in vm.transcript()
    since = len(vm.transcript())
    vm.sendline("poweroff")
    assert vm.wait_exit(120) == 0
    out = vm.transcript()[since:]
    assert "reboot: Power down" in out, out
    assert "svinit: running the inittab's shutdown entries" in out, out
    assert "can't ask oneit" not in out and "Traceback" not in out, out
    # The console shell ignores SIGTERM: busybox's 1 s, not a 10 s stop timeout.
    assert "stop timed out after 10s" not in out, out


def test_failing_boot_drops_to_the_recovery_shell(images, boot, tmp_path):
    overlay = tmp_path / "overlay"
    write(overlay, "etc/svinit.d/fails", "type = scripted\ncommand = /bin/false\n")
    with open(os.path.join(qemu.REPO, "initramfs/rootfs/etc/svinit.d/boot")) as f:
        write(overlay, "etc/svinit.d/boot", f.read() + "depends-on: fails\n")
    vm = boot(images("failing", overlay))
    at_shell(vm)
    now = services(vm)
    assert now["recovery"]["state"] == "started"
    assert (now["boot"]["state"], now["boot"]["failed"]) == ("stopped", True)
    assert now["fails"]["failed"]


TOYBOX_INIT = """#!/bin/sh
# Interop: Debian's toybox oneit as PID 1, running svinit (-3: toybox's 4-byte reports).
export PATH=/sbin:/usr/sbin:/bin:/usr/bin
exec /usr/lib/upstream/toybox oneit -n -3 -c /dev/ttyS0 /bin/toybox svinit -3 -- "$@"
"""


@pytest.mark.skipif(not os.access("/usr/bin/toybox", os.X_OK),
                    reason="Debian's toybox package is not installed (./build.sh test installs it)")
def test_toybox_oneit_as_pid1_runs_svinit_and_relaunches_it(images, boot, tmp_path):
    overlay = tmp_path / "overlay"
    os.chmod(write(overlay, "init", TOYBOX_INIT), 0o755)
    vm = boot(images("toybox-oneit", overlay, [("/usr/bin/toybox", "/usr/lib/upstream/toybox")]))
    at_shell(vm)
    assert "/usr/lib/upstream/toybox" in vm.run("tr '\\0' ' ' </proc/1/cmdline")
    before = {n: s["pid"] for n, s in wait_settled(vm, DEMO).items() if s["pid"]}
    old = svinit_pid(vm)
    vm.run("kill -9 %d" % old)
    restarted_svinit(vm, old)
    # Its records carry no exit status (and name svinit itself): svinit watches the
    # services it takes back with pidfds, and takes back the same processes.
    assert {n: s["pid"] for n, s in wait_settled(vm, DEMO).items() if s["pid"]} == before
    assert "Served by busybox httpd" in vm.run("wget -qO- http://127.0.0.1/")
    assert len(vm.run("pidof syslogd").split()) == 1
    # svinit stops the services, then asks toybox's oneit to power off (SIGUSR2).
    vm.sendline("poweroff")
    assert vm.wait_exit(120) == 0
