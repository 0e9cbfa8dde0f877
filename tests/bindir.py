"""A directory with the toybox launcher and one symlink per applet, as an image has.

Shared by the tests and the benchmarks (no pytest import here)."""
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

from toybox.main import launcher, list_names  # noqa: E402


def make_bindir(path, python=None):
    os.makedirs(path, exist_ok=True)
    prog = os.path.join(path, "toybox")
    with open(prog, "w") as f:
        f.write(launcher(python or sys.executable, REPO))
    os.chmod(prog, 0o755)
    for name in list_names():
        link = os.path.join(path, name)
        if not os.path.lexists(link):
            os.symlink("toybox", link)
    return path
