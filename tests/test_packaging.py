"""`pip install .` gives the `toybox` command, and it works from anywhere."""
import os
import shutil
import subprocess
import sys

import pytest

from conftest import REPO


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git to copy the tree")
def test_pip_install_gives_the_toybox_command(tmp_path):
    src = tmp_path / "src"
    # A copy without build leftovers, as a fresh clone would be.
    shutil.copytree(REPO, str(src), ignore=shutil.ignore_patterns(
        ".git", ".cache", "build", "__pycache__", "*.egg-info", "results"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)],
                   check=True, timeout=120)
    pip = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--no-deps", "-q", str(src)],
                         capture_output=True, text=True, timeout=300)
    assert pip.returncode == 0, pip.stderr
    toybox = str(venv / "bin" / "toybox")
    from toybox import __version__
    r = subprocess.run([toybox, "--version"], capture_output=True, text=True, timeout=30, cwd="/")
    assert (r.returncode, r.stdout) == (0, "toybox %s\n" % __version__)
    link = tmp_path / "ctl"
    os.symlink(toybox, str(link))
    r = subprocess.run([str(link), "--help"], capture_output=True, text=True, timeout=30, cwd="/")
    assert r.returncode == 0 and r.stdout.startswith("usage: ctl ")
