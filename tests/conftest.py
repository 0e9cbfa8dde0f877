"""Shared test fixtures: a bin directory of applet links, a testcmd-style runner, and a
watchdog that fails a test that hangs."""
import os
import shlex
import signal
import subprocess

import pytest

from bindir import REPO, make_bindir  # noqa: F401  (tests import both from here)

# No test comes near this (a QEMU boot group's tests take a minute or two each). One that
# blocks for good (a read with no timeout) fails with its traceback, and the run goes on,
# instead of using up CI's 90 minutes in silence.
TEST_TIMEOUT = int(os.environ.get("TOYBOX_TEST_TIMEOUT", "900"))


class Hung(Exception):
    pass


def _hung(sig, frame):
    raise Hung("the test ran for more than %d s (TOYBOX_TEST_TIMEOUT)" % TEST_TIMEOUT)


@pytest.fixture(autouse=True)
def _watchdog():
    old = signal.signal(signal.SIGALRM, _hung)
    signal.alarm(TEST_TIMEOUT)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


class Result:
    def __init__(self, out, err, code):
        self.out = out
        self.err = err
        self.code = code

    def __repr__(self):
        return "Result(code=%r, out=%r, err=%r)" % (self.code, self.out, self.err)


@pytest.fixture(scope="session")
def bindir(tmp_path_factory):
    return make_bindir(str(tmp_path_factory.mktemp("bin")))


@pytest.fixture
def testcmd(bindir):
    """run("oneit -x") or run(["ctl", "list"], stdin=..., env=...) -> Result.

    The first word is an applet link name in the bin directory; it runs with a
    minimal environment, as it would on an image."""

    def run(cmd, stdin=None, env=None, timeout=30, **kw):
        argv = shlex.split(cmd) if isinstance(cmd, str) else list(cmd)
        if not os.path.isabs(argv[0]):
            argv[0] = os.path.join(bindir, argv[0])
        full_env = {"PATH": bindir + ":/usr/bin:/bin", "LC_ALL": "C.UTF-8"}
        full_env.update(env or {})
        p = subprocess.run(argv, input=stdin.encode() if isinstance(stdin, str) else stdin,
                           capture_output=True, env=full_env, timeout=timeout, **kw)
        return Result(p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace"),
                      p.returncode)

    return run
