"""Shared test fixtures: a bin directory of applet links, and a testcmd-style runner."""
import os
import shlex
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from toybox.main import launcher, list_names  # noqa: E402


class Result:
    def __init__(self, out, err, code):
        self.out = out
        self.err = err
        self.code = code

    def __repr__(self):
        return "Result(code=%r, out=%r, err=%r)" % (self.code, self.out, self.err)


def make_bindir(path):
    """A directory holding the `toybox` launcher and a symlink per applet, as an image has."""
    os.makedirs(path, exist_ok=True)
    prog = os.path.join(path, "toybox")
    with open(prog, "w") as f:
        f.write(launcher(sys.executable, REPO))
    os.chmod(prog, 0o755)
    for name in list_names():
        link = os.path.join(path, name)
        if not os.path.lexists(link):
            os.symlink("toybox", link)
    return path


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
