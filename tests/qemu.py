"""Boot an initramfs under QEMU and drive its serial console (for tests and bench/).

    with Qemu(image, append="single") as vm:
        vm.expect("login shell marker", timeout=60)
        out = vm.run("ctl list")          # a command at the shell on the console
        vm.poweroff_and_wait()

Software emulation (TCG) unless KVM really works; the kernel comes from $KERNEL or
`./build.sh kernel` (which fetches Debian's cloud kernel once). QEMU's stdout is the
guest's serial console; everything it printed is in `vm.log` (and in the failure
report of a test, through `vm.transcript()`). The VM is always killed by PID when
the `with` block ends, however it ends.
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import time

try:
    import pexpect
except ImportError:     # test_image.py builds images without it; available() says why
    pexpect = None

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BASE_APPEND = "console=ttyS0 panic=-1 quiet printk.devkmsg=on no_timer_check PYTHONHASHSEED=0"
QEMU = "qemu-system-x86_64"
# SeaBIOS's last words before the kernel; FIRST_OUTPUT: them, its screen reset, then the
# first character from the guest (a lookahead, so that it stays for the caller's expect).
FIRMWARE_BANNER = "Booting from ROM"
FIRST_OUTPUT = FIRMWARE_BANNER + r"\.+(?!\.)(?:\x1b(?:\[[0-9;?]*[A-Za-z]|c)|\s)*(?=[^\s\x1b])"
KERNEL_SILENCE = 120    # seconds: a good boot prints within 2-30 (a loaded host), from /init

_kernel = None
_accel = None


def kernel():
    """Path of the kernel to boot: $KERNEL, else the one build.sh keeps in .cache/."""
    global _kernel
    if _kernel is None:
        _kernel = os.environ.get("KERNEL") or subprocess.run(
            [os.path.join(REPO, "build.sh"), "kernel"], check=True, capture_output=True,
            text=True, timeout=600).stdout.strip().splitlines()[-1]
    return _kernel


def accel():
    """`-accel ... -smp N` words, as build.sh decides (a real trial of KVM, else TCG; two
    vCPUs where the host has two CPUs)."""
    global _accel
    if _accel is None:
        _accel = subprocess.run([os.path.join(REPO, "build.sh"), "accel"], check=True,
                                capture_output=True, text=True, timeout=60).stdout.split()
    return _accel


def available():
    """None when QEMU and a kernel are at hand, else why not (for pytest.skip)."""
    if pexpect is None:
        return "pexpect not installed (./build.sh test installs it)"
    if not shutil.which(QEMU):
        return "%s not installed (./build.sh test installs it)" % QEMU
    try:
        kernel()
    except (subprocess.SubprocessError, OSError, IndexError) as e:
        return "no kernel: %s" % e
    return None


class BootError(AssertionError):
    pass


class Qemu:
    """One VM. `append` is added to the base kernel command line, `qemu_args` to QEMU's."""

    def __init__(self, image, append="", memory=256, timeout=60, qemu_args=()):
        self.image = image
        self.qemu_args = list(qemu_args)
        self.append = (BASE_APPEND + " " + append).strip()
        self.memory = memory
        self.timeout = timeout
        self.child = None
        self.log = ""
        self.started = None
        self._seq = 0
        self.hangs = []         # where the vCPUs were in boots that hung before /init

    def argv(self):
        # -nodefaults: no VGA card, floppy, CD-ROM or parallel port for SeaBIOS and the
        # kernel to set up (0.3-0.5 s of every boot under emulation); the serial console
        # is the one device asked for, with QEMU's monitor behind Ctrl-A as usual.
        return ([QEMU] + accel() + ["-m", str(self.memory), "-nodefaults", "-nographic",
                                    "-serial", "mon:stdio", "-no-reboot", "-nic", "none"]
                + self.qemu_args + ["-kernel", kernel(), "-initrd", self.image,
                                    "-append", self.append])

    def start(self):
        """Start QEMU; returns once the guest has printed something after the firmware's
        banner (what it printed is left for the caller's expect). If it prints nothing for
        KERNEL_SILENCE seconds, the kernel hung before /init (with `quiet`, the kernel says
        nothing on a good boot either): that boot is reported on stderr and in the
        transcript, killed, and started once more; a second hang is a BootError.

        Such hangs come from QEMU 7.2's TCG with two vCPUs, not from what we boot: about
        one boot in several hundred here, both vCPUs busy in the kernel (once with one
        vCPU looping on the int3 entry of the kernel's live code patching)."""
        for attempt in (1, 2):
            argv = self.argv()
            self.started = time.monotonic()
            self.child = pexpect.spawn(argv[0], argv[1:], encoding="utf-8", codec_errors="replace",
                                       timeout=self.timeout, echo=False, dimensions=(50, 200))
            hung = self._silent_after_firmware()
            if hung is None:
                return self
            self.hangs.append(hung)
            note = ("\n---- the kernel printed nothing for %ds after the firmware (boot %d): %s; "
                    "killed ----\n" % (KERNEL_SILENCE, attempt, hung))
            sys.stderr.write(note)
            self.kill()
            self.log += note
        raise BootError("the kernel hung before /init in two boots running; console ends with:\n%s"
                        % self.tail())

    def _silent_after_firmware(self):
        """None once the guest prints after SeaBIOS's "Booting from ROM..." (or if that never
        shows, or QEMU exits: the caller's expect reports those); else, after KERNEL_SILENCE
        seconds of silence, where the vCPUs are. What the guest printed is not consumed:
        the match ends before its first character."""
        t0 = time.monotonic()
        seen = None     # when the banner was first seen
        while True:
            try:
                self.child.expect(FIRST_OUTPUT, timeout=2)
                self._collect()
                return None
            except pexpect.EOF:
                return None
            except pexpect.TIMEOUT:
                pass
            now = time.monotonic()
            if seen is None and FIRMWARE_BANNER in (self.child.buffer or ""):
                seen = now
            if seen is None and now - t0 > self.timeout:
                return None
            if seen is not None and now - seen > KERNEL_SILENCE:
                return self.where().strip() or "no answer from QEMU's monitor"

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.kill()

    @property
    def pid(self):
        return self.child.pid

    def _collect(self):
        # pexpect keeps what it consumed in .before/.after; keep the whole transcript.
        self.log += (self.child.before or "") + (self.child.after if isinstance(self.child.after, str) else "")

    def expect(self, patterns, timeout=None):
        """Wait for a regex (or one of a list); returns the index matched and keeps
        the match in `self.match`. On timeout or QEMU's exit: BootError with the tail
        of the console."""
        pats = patterns if isinstance(patterns, list) else [patterns]
        try:
            i = self.child.expect(pats, timeout=self.timeout if timeout is None else timeout)
        except pexpect.TIMEOUT:
            self._collect()
            raise BootError("timed out waiting for %r; console ends with:\n%s%s"
                            % (pats, self.tail(), self.where())) from None
        except pexpect.EOF:
            self._collect()
            raise BootError("QEMU exited while waiting for %r; console ends with:\n%s"
                            % (pats, self.tail())) from None
        self._collect()
        self.match = self.child.match
        return i

    def where(self):
        """Where the guest's vCPUs are, from QEMU's monitor (Ctrl-A c on the console, which
        is -serial mon:stdio): each one's RIP and whether it is halted (idle), so that a boot
        that shows nothing says whether the kernel, or a program, was running. Called when
        an expect times out. Ctrl-A c again then gives the console back to the guest: a
        test group that shares one VM goes on talking to the guest's shell after one of
        its tests timed out. "" if the monitor does not answer."""
        try:
            self.child.send("\x01c")
            self.child.expect(r"\(qemu\) ", timeout=5)
            self.child.send("info registers -a\r")
            self.child.expect(r"\(qemu\) ", timeout=10)
            dump = self.child.before or ""
            self.child.send("\x01c")
        except (pexpect.ExceptionPexpect, OSError):
            return ""
        cpus = []
        for block in re.split(r"\n(?=CPU#\d)", dump.replace("\r", "")):
            cpu = re.match(r"CPU#(\d+)", block.strip())
            rip = re.search(r"RIP=([0-9a-f]+)", block)
            hlt = re.search(r"HLT=(\d)", block)
            if cpu and rip:
                cpus.append("CPU#%s RIP=%s%s" % (cpu.group(1), rip.group(1),
                                                  " (halted)" if hlt and hlt.group(1) == "1" else ""))
        return "\n(QEMU monitor: %s)" % "; ".join(cpus) if cpus else ""

    def send(self, text):
        self.child.send(text)

    def sendline(self, text=""):
        self.child.send(text + "\r")

    def run(self, command, timeout=30, check=True):
        """Run a command at the console's shell; returns its output (CRs removed).

        The output is framed by markers the shell prints (quoted in the echoed
        command line, so the echo never matches them); with check, a non-zero
        exit status is a BootError.
        """
        self._seq += 1
        n = self._seq
        self.sendline("echo '@@'%dS; %s; echo '@@'%dE$?" % (n, command, n))
        self.expect(r"@@%dS\r*\n(.*?)@@%dE(\d+)" % (n, n), timeout)
        out = self.match.group(1).replace("\r", "")
        code = int(self.match.group(2))
        if check and code != 0:
            raise BootError("`%s` exited %d:\n%s" % (command, code, out))
        return out if check else (code, out)

    def wait_exit(self, timeout=60):
        """Wait until QEMU exits by itself (the guest powered off or rebooted);
        BootError if it does not within timeout."""
        try:
            self.child.expect(pexpect.EOF, timeout=timeout)
        except pexpect.TIMEOUT:
            self._collect()
            raise BootError("QEMU still running after %ss; console ends with:\n%s"
                            % (timeout, self.tail())) from None
        self._collect()
        self.child.wait()
        return self.child.exitstatus

    def alive(self):
        return self.child is not None and self.child.isalive()

    def uptime(self):
        """The guest kernel's uptime in seconds, read at the console shell."""
        return float(self.run("cat /proc/uptime").split()[0])

    def kill(self):
        """Kill our QEMU (by its PID) and reap it; safe to call more than once."""
        if self.child is None:
            return
        try:
            if self.child.isalive():
                os.kill(self.child.pid, signal.SIGKILL)
            self.child.wait()
        except (OSError, pexpect.ExceptionPexpect):
            pass
        try:
            rest = self.child.read_nonblocking(1 << 20, timeout=0)
            self.log += rest
        except (pexpect.ExceptionPexpect, OSError, ValueError):
            pass
        self.child.close(force=True)

    def tail(self, n=40):
        lines = self.transcript().splitlines()
        return "\n".join(lines[-n:])

    def transcript(self):
        """The console so far, minus terminal escape sequences."""
        return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]|\x1bc", "", self.log).replace("\r", "")


class BuildShRun(Qemu):
    """`./build.sh run WORD...`, the README's main command, driven like any Qemu: it builds
    build/initramfs.cpio, then execs QEMU with its own options, the same PID. kill() also
    kills what build.sh may still be running before that exec (the image's build), by PID."""

    def __init__(self, words=(), timeout=60):
        super().__init__(os.path.join(REPO, "build", "initramfs.cpio"), " ".join(words),
                         timeout=timeout)
        self.words = list(words)

    def argv(self):
        return [os.path.join(REPO, "build.sh"), "run"] + self.words

    def kill(self):
        if self.child is not None and self.child.isalive():
            kill_tree(self.child.pid)    # the image's build, if build.sh is still at it
        super().kill()


def kill_tree(pid, timeout=10.0):
    """SIGKILL pid and every process below it, by PID, and reap those below
    (bench/procs.kill_tree): this process is their subreaper meanwhile, so the ones
    orphaned on the way come here rather than to a PID 1 that may not reap them. pid
    itself is left for its owner (a Popen or pexpect object) to wait for, and no other
    child of this process is reaped."""
    if REPO not in sys.path:
        sys.path.insert(0, REPO)
    from bench import procs
    from toybox import syscalls
    syscalls.prctl(syscalls.PR_SET_CHILD_SUBREAPER, 1)
    try:
        procs.kill_tree(pid, timeout, keep=(pid,), tree_only=True)
    finally:
        syscalls.prctl(syscalls.PR_SET_CHILD_SUBREAPER, 0)


def run_tree(argv, timeout):
    """subprocess.run(argv) with its output captured and no stdin; if it is not done within
    timeout seconds (or the caller is interrupted), its whole tree is killed (kill_tree)."""
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        out, err = p.communicate(timeout=timeout)
    except BaseException:
        kill_tree(p.pid)
        p.wait()
        raise
    return subprocess.CompletedProcess(argv, p.returncode, out, err)


def build_image(out, overlays=(), epoch=None, extra=()):
    """Build an image with initramfs/mkimage.py into `out`; returns out.

    overlays: directories laid over the image (a test's extra or broken files)."""
    argv = [sys.executable, os.path.join(REPO, "initramfs", "mkimage.py"), "-o", str(out)]
    for d in overlays:
        argv += ["--overlay", str(d)]
    env = dict(os.environ)
    if epoch is not None:
        env["SOURCE_DATE_EPOCH"] = str(epoch)
    p = subprocess.run(argv + list(extra), env=env, capture_output=True, text=True, timeout=300)
    if p.returncode != 0:
        raise AssertionError("mkimage failed (%d):\n%s%s" % (p.returncode, p.stdout, p.stderr))
    return str(out)
