"""Checks that keep the applets honest: help, option strings, names, house rules."""
import ast
import os
import re
import subprocess
import sys

import pytest

from conftest import REPO
from toybox import main as dispatcher
from toybox.options import Grammar

APPLET_NAMES = sorted(dispatcher.APPLETS)
MODULES = sorted(set(dispatcher.APPLETS.values()))


def option_column_flags(help_text):
    """Flags the help documents: the leading column of lines that start with '-'
    (toybox style, at the margin, or indented)."""
    flags = set()
    for line in help_text.splitlines()[1:]:
        m = re.match(r"\s*(-\S.*?)(?:\s{2,}|\t|$)", line)
        if m:
            flags.update(re.findall(r"(?<![\w-])(--?[A-Za-z0-9][\w-]*)", m.group(1)))
    return flags


def test_every_module_in_applets_is_in_the_table():
    on_disk = sorted(f[:-3] for f in os.listdir(os.path.join(REPO, "applets"))
                     if f.endswith(".py") and f != "__init__.py")
    assert on_disk == MODULES


@pytest.mark.parametrize("name", APPLET_NAMES)
def test_help_starts_with_usage_line(name, testcmd):
    r = testcmd([name, "--help"])
    assert r.code == 0 and r.err == ""
    assert r.out.startswith("usage: %s" % name)


@pytest.mark.parametrize("name", APPLET_NAMES)
def test_help_lists_exactly_the_options_accepted(name):
    module = dispatcher.load(name)
    documented = option_column_flags(dispatcher.help_text(module, name))
    accepted = Grammar(dispatcher.option_string(module, name)).flag_names()
    assert documented == accepted


@pytest.mark.parametrize("alias", sorted(dispatcher.ALIASES))
def test_every_alias_resolves(alias, testcmd):
    target = dispatcher.ALIASES[alias]
    assert target in dispatcher.APPLETS
    r = testcmd([alias, "--help"])
    assert r.code == 0 and r.out.startswith("usage: %s" % target)


@pytest.mark.parametrize("module", MODULES)
def test_no_applet_exits_or_forks_by_itself(module):
    path = os.path.join(REPO, "applets", module + ".py")
    tree = ast.parse(open(path).read(), path)
    banned = {("sys", "exit"), ("os", "fork"), ("os", "forkpty")}
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            assert (node.value.id, node.attr) not in banned, \
                "%s:%d calls %s.%s" % (path, node.lineno, node.value.id, node.attr)
        if isinstance(node, ast.Name):
            assert node.id not in ("exit", "quit"), "%s:%d calls %s()" % (path, node.lineno, node.id)


def test_version_matches_pyproject(testcmd):
    from toybox import __version__
    text = open(os.path.join(REPO, "pyproject.toml")).read()
    assert 'version = {attr = "toybox.__version__"}' in text
    r = testcmd("toybox --version")
    assert (r.code, r.out) == (0, "toybox %s\n" % __version__)


def test_a_hung_test_fails_with_its_traceback_and_the_run_goes_on(tmp_path):
    """The suite's watchdog (conftest.py): a test blocked for good fails once
    TOYBOX_TEST_TIMEOUT seconds have passed, the next test still runs."""
    tests = os.path.dirname(os.path.abspath(__file__))
    (tmp_path / "conftest.py").write_text(
        "import importlib.util, sys\n"
        "sys.path.insert(0, %r)\n"
        "spec = importlib.util.spec_from_file_location('suite_conftest', %r)\n"
        "suite = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(suite)\n"
        "_watchdog = suite._watchdog\n" % (tests, os.path.join(tests, "conftest.py")))
    (tmp_path / "test_hang.py").write_text(
        "import os\n"
        "def test_blocks():\n"
        "    r, w = os.pipe()\n"
        "    os.read(r, 1)\n"
        "def test_after():\n"
        "    pass\n")
    p = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
                       capture_output=True, text=True, timeout=120, cwd=str(tmp_path),
                       env=dict(os.environ, TOYBOX_TEST_TIMEOUT="2"))
    assert p.returncode == 1, p.stdout + p.stderr
    assert "Hung: the test ran for more than 2 s (TOYBOX_TEST_TIMEOUT)" in p.stdout
    assert "FAILED test_hang.py::test_blocks" in p.stdout
    assert "1 failed, 1 passed" in p.stdout
