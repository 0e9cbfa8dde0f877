"""tests/qemu.py's own behaviour where a real boot can't be made to show it: a kernel that
hangs before /init (about one boot in several hundred under QEMU 7.2's TCG here) is booted
once more, and what the guest prints first is left for the test's own expect. QEMU is
stood in for by a shell script that prints what SeaBIOS prints (or, for the monitor, a
Python script that switches between the guest and the monitor on Ctrl-A c as QEMU's
`-serial mon:stdio` does)."""
import os
import sys

import pytest

import qemu

pexpect = pytest.importorskip("pexpect")

FIRMWARE = r"printf '\033c\033[?7l\033[2J\033[0mSeaBIOS (version 1.16.2)\r\r\nBooting from ROM...\r\r\n\033c\033[?7l\033[2J'"


class FakeQemu(qemu.Qemu):
    """Runs `script` (sh) instead of QEMU; $1 is how many times it was started before."""

    def __init__(self, tmp_path, script):
        super().__init__("unused.cpio", timeout=20)
        self.count = str(tmp_path / "count")
        self.script = script

    def argv(self):
        return ["sh", "-c", "n=$(cat %s 2>/dev/null || echo 0); echo $((n + 1)) >%s; %s"
                % (self.count, self.count, self.script), "sh"]

    def where(self):
        return "(QEMU monitor: CPU#0 RIP=ffffffff81000000; CPU#1 RIP=ffffffff81000010)"


@pytest.fixture
def short_silence(monkeypatch):
    monkeypatch.setattr(qemu, "KERNEL_SILENCE", 2)


def test_a_kernel_silent_after_the_firmware_is_booted_once_more(tmp_path, short_silence, capfd):
    # The first boot says nothing after the firmware; the second one does.
    vm = FakeQemu(tmp_path, FIRMWARE + "; [ $n = 0 ] || printf 'hello from init\\r\\n'; sleep 30")
    try:
        vm.start()
        assert len(vm.hangs) == 1 and "CPU#1 RIP=ffffffff81000010" in vm.hangs[0]
        vm.expect("hello from init", timeout=10)        # its first character was not eaten
        assert "printed nothing for 2s after the firmware (boot 1)" in vm.transcript()
        assert "printed nothing" in capfd.readouterr().err
        with open(vm.count) as f:
            assert f.read().strip() == "2"
    finally:
        vm.kill()


def test_two_silent_boots_are_an_error(tmp_path, short_silence):
    vm = FakeQemu(tmp_path, FIRMWARE + "; sleep 30")
    try:
        with pytest.raises(qemu.BootError, match="hung before /init in two boots"):
            vm.start()
        assert len(vm.hangs) == 2
        assert not vm.alive()
    finally:
        vm.kill()


def test_a_boot_that_speaks_is_not_held_up(tmp_path, short_silence):
    # The firmware's own screen resets and blank lines are not the guest speaking; the
    # first character that is stays for the caller.
    vm = FakeQemu(tmp_path, FIRMWARE + "; sleep 0.5; printf '\\r\\r\\nsvinit: started\\r\\n'; sleep 30")
    try:
        vm.start()
        assert vm.hangs == []
        assert vm.child.buffer.startswith("s")
        vm.expect("svinit: started", timeout=10)
    finally:
        vm.kill()


def test_a_vm_without_the_firmware_banner_is_left_to_the_callers_expect(tmp_path, short_silence):
    vm = FakeQemu(tmp_path, "printf 'something else\\r\\n'; exit 0")
    try:
        vm.start()
        assert vm.hangs == []
        with pytest.raises(qemu.BootError, match="QEMU exited"):
            vm.expect("never printed", timeout=10)
    finally:
        vm.kill()


# QEMU's `-serial mon:stdio` in small: the console goes to the guest (which answers each
# line with "guest read: LINE") until Ctrl-A c gives it to the monitor, and back.
MUX = r"""
import os, tty
tty.setraw(0)
def out(text):
    os.write(1, text.encode())
out("SeaBIOS (version 1.16.2)\r\r\nBooting from ROM...\r\r\nguest up\r\n")
monitor = escape = False
line = ""
while True:
    c = os.read(0, 1).decode()
    if not c:
        break
    if escape:
        escape = False
        if c == "c":
            monitor = not monitor
            if monitor:
                out("QEMU 7.2.0 monitor - type 'help' for more information\r\n(qemu) ")
            continue
    if c == "\x01":
        escape = True
    elif c != "\r":
        line += c
    elif not monitor:
        out("guest read: %s\r\n" % line)
        line = ""
    else:
        if line == "info registers -a":
            out("\r\nCPU#0\r\nRIP=ffffffff81000000 RFL=00000246 HLT=1\r\n"
                "CPU#1\r\nRIP=ffffffff81000010 RFL=00000202 HLT=0\r\n(qemu) ")
        else:
            out("\r\nunknown command: '%s'\r\n(qemu) " % line)
        line = ""
"""


class MuxQemu(qemu.Qemu):
    def __init__(self, tmp_path):
        super().__init__("unused.cpio", timeout=20)
        self.script = tmp_path / "mux.py"
        self.script.write_text(MUX)

    def argv(self):
        return [sys.executable, str(self.script)]


def test_where_reads_the_vcpus_from_the_monitor_and_gives_the_console_back(tmp_path):
    # After a test of a group times out, the next tests of the group talk to the same VM:
    # their commands must reach the guest's shell, not QEMU's monitor.
    vm = MuxQemu(tmp_path)
    try:
        vm.start()
        vm.expect("guest up", timeout=10)
        assert vm.where() == ("\n(QEMU monitor: CPU#0 RIP=ffffffff81000000 (halted); "
                              "CPU#1 RIP=ffffffff81000010)")
        vm.sendline("echo hi")
        vm.expect("guest read: echo hi", timeout=10)
        assert "unknown command" not in vm.child.before
    finally:
        vm.kill()
