"""The multicall dispatcher as a user meets it: names, listing, help, errors, --install."""
import os
import subprocess
import sys

import pytest

from conftest import REPO, make_bindir
from toybox.main import APPLETS, list_names


def test_toybox_alone_lists_every_applet(testcmd):
    r = testcmd("toybox")
    assert r.code == 0 and r.err == ""
    assert r.out.split() == list_names()


def test_list_one_per_line(testcmd):
    assert testcmd("toybox --list").out == "".join(n + "\n" for n in list_names())


def test_toybox_help(testcmd):
    r = testcmd("toybox --help")
    assert r.code == 0 and r.out.startswith("usage: toybox ")
    assert "oneit" in r.out and "--install" in r.out


def test_toybox_help_applet(testcmd):
    r = testcmd("toybox --help ctl")
    assert r.code == 0 and r.out.startswith("usage: ctl ")


def test_unknown_applet(testcmd):
    r = testcmd("toybox frobnicate")
    assert (r.code, r.out, r.err) == (127, "", 'toybox: unknown applet frobnicate (see "toybox --help")\n')


def test_unknown_toybox_option(testcmd):
    r = testcmd("toybox --frob")
    assert (r.code, r.err) == (1, 'toybox: unknown option \'--frob\' (see "toybox --help")\n')


def test_dispatch_by_first_argument(testcmd):
    r = testcmd("toybox oneit --help")
    assert r.code == 0 and r.out.startswith("usage: oneit ")


def test_dispatch_by_link_name_and_chained_links(testcmd, tmp_path, bindir):
    os.symlink(os.path.join(bindir, "ctl"), str(tmp_path / "myctl"))
    r = testcmd([str(tmp_path / "myctl"), "--help"])
    assert r.code == 0 and r.out.startswith("usage: ctl ")


def test_bad_option_message_and_exit_code(testcmd):
    r = testcmd("oneit -x")
    assert (r.code, r.out) == (1, "")
    assert r.err == 'oneit: unknown option \'x\' (see "oneit --help")\n'


def test_missing_argument_message(testcmd):
    r = testcmd("oneit -c")
    assert r.code == 1
    assert r.err == 'oneit: option \'c\' needs an argument (see "oneit --help")\n'


def test_applet_version(testcmd):
    from toybox import __version__
    assert testcmd("ctl --version").out == "toybox %s\n" % __version__


def test_runs_as_init_would(tmp_path):
    """No PATH, no HOME, -S -E, a read-only view of the code: dispatch still works."""
    prog = os.path.join(make_bindir(str(tmp_path / "bin")), "toybox")
    for argv in ([sys.executable, "-S", "-E", prog, "--list"],
                 [sys.executable, "-S", "-E", "-B", prog, "oneit", "--help"]):
        p = subprocess.run(argv, env={}, capture_output=True, timeout=30, cwd="/")
        assert p.returncode == 0, p.stderr
        assert p.stdout


@pytest.mark.parametrize("name", sorted(APPLETS))
def test_running_an_applet_imports_only_the_core_and_its_module(name):
    code = ("import sys; sys.path.insert(0, %r)\n"
            "from toybox import main\n"
            "before = set(sys.modules)\n"
            "main.load(%r)\n"
            "new = sorted(m for m in set(sys.modules) - before if m.startswith(('toybox', 'applets')))\n"
            "print(' '.join(new))\n") % (REPO, name)
    p = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    loaded = p.stdout.split()
    applet = "applets." + APPLETS[name]
    assert applet in loaded
    others = [m for m in loaded if m.startswith("applets.") and m not in ("applets", applet)]
    assert others == []


def test_install_symbolic_is_idempotent_and_refuses_strangers(tmp_path, bindir):
    prog = os.path.join(bindir, "toybox")
    dest = tmp_path / "sbin"
    dest.mkdir()
    (dest / "ctl").write_text("not ours\n")
    r = subprocess.run([prog, "--install", "-s", str(dest)], capture_output=True, text=True, timeout=30)
    assert r.returncode == 1
    assert r.stderr == "toybox: --install: %s exists and is not a link to %s: left alone\n" % (
        dest / "ctl", os.path.realpath(prog))
    assert (dest / "ctl").read_text() == "not ours\n"
    for name in list_names():
        if name != "ctl":
            assert os.readlink(str(dest / name)) == os.path.realpath(prog)
    (dest / "ctl").unlink()
    for _ in range(2):
        r = subprocess.run([prog, "--install", "-s", str(dest)], capture_output=True, text=True, timeout=30)
        assert (r.returncode, r.stderr) == (0, "")
    r = subprocess.run([str(dest / "oneit"), "--help"], capture_output=True, text=True, timeout=30)
    assert r.stdout.startswith("usage: oneit ")


def test_install_hard_links(tmp_path, bindir):
    src = tmp_path / "bin"
    prog = os.path.join(make_bindir(str(src)), "toybox")
    dest = tmp_path / "hard"
    dest.mkdir()
    for _ in range(2):
        r = subprocess.run([prog, "--install", str(dest)], capture_output=True, text=True, timeout=30)
        assert (r.returncode, r.stderr) == (0, "")
    assert os.stat(str(dest / "ctl")).st_ino == os.stat(prog).st_ino
    r = subprocess.run([str(dest / "ctl"), "--help"], capture_output=True, text=True, timeout=30)
    assert r.stdout.startswith("usage: ctl ")


def test_install_needs_a_directory(bindir, tmp_path):
    r = subprocess.run([os.path.join(bindir, "toybox"), "--install", str(tmp_path / "nope")],
                       capture_output=True, text=True, timeout=30)
    assert (r.returncode, r.stderr) == (1, "toybox: --install: %s/nope: no such directory\n" % tmp_path)
    (tmp_path / "file").write_text("")
    r = subprocess.run([os.path.join(bindir, "toybox"), "--install", str(tmp_path / "file")],
                       capture_output=True, text=True, timeout=30)
    assert (r.returncode, r.stderr) == (1, "toybox: --install: %s/file: not a directory\n" % tmp_path)


HEAVY = ("os", "posixpath", "stat", "ctypes", "resource")


def heavy_modules_after(steps):
    """Which of HEAVY a fresh `python -S` has imported after running steps."""
    code = ("import sys; sys.path.insert(0, %r)\n%s\n"
            "print(' '.join(m for m in %r if m in sys.modules))\n") % (REPO, steps, HEAVY)
    p = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    return p.stdout.split()


def test_oneits_machinery_does_not_import_os():
    # oneit is the first interpreter of a boot; under emulation `os` costs it ~0.03 s.
    assert heavy_modules_after("from toybox import main\n"
                               "main.load('oneit'); import toybox.oneitd, toybox.syscalls\n"
                               "toybox.oneitd.service_manager()") == []


def test_svinits_modules_do_not_import_os():
    # svinit runs in oneit's forked child at boot (toybox/sysos.py).
    assert heavy_modules_after(
        "from toybox import main\n"
        "main.load('svinit'); import toybox.svinitd, toybox.ctlserver, toybox.procsvc, toybox.svcfile\n"
        "import toybox.inittab, toybox.proc, toybox.fs, toybox.piddir, toybox.logs, toybox.spawn\n"
        "toybox.svinitd._raise_fd_limit(4096)") == []
