"""busybox inittab -> service descriptions: order, dependencies, tty, askfirst, bad lines."""
import os

import pytest

from toybox.inittab import DEFAULT_INITTAB, argv_of, convert, convert_text, ordered
from toybox.svcfile import check_set, load_dir

REALISTIC = """\
# /etc/inittab for a small image
::sysinit:/bin/mount -t proc proc /proc
::sysinit:/bin/mount -o remount,rw /
::sysinit:/etc/init.d/rcS   # runs the S?? scripts

::wait:/sbin/hwclock -s
::wait:/usr/bin/logger "system up"
::once:/usr/sbin/crond -f
::once:/usr/sbin/syslogd -n
ttyS0::respawn:/sbin/getty -L ttyS0 115200 vt100
tty1::askfirst:-/bin/sh
/dev/tty2:2345:respawn:/sbin/getty 38400 tty2
::ctrlaltdel:/sbin/reboot
::shutdown:/bin/umount -a -r
::shutdown:/sbin/swapoff -a
"""


def conv(tmp_path, text, environ=None):
    p = tmp_path / "inittab"
    p.write_text(text)
    descs, errors = convert(str(p), environ={} if environ is None else environ)
    return descs, [str(e).replace(str(tmp_path) + "/", "") for e in errors]


@pytest.mark.parametrize("process, argv, exec_path", [
    ("/sbin/getty 38400 tty2", ["/sbin/getty", "38400", "tty2"], None),
    ("/sbin/getty\t 38400  tty2 ", ["/sbin/getty", "38400", "tty2"], None),
    ("-/bin/sh", ["-/bin/sh"], "/bin/sh"),
    ("-/bin/sh -l", ["-/bin/sh", "-l"], "/bin/sh"),
    ("echo hi > /dev/kmsg", ["/bin/sh", "-c", "exec echo hi > /dev/kmsg"], None),
    ("-echo $HOME", ["-/bin/sh", "-c", "exec echo $HOME"], "/bin/sh"),
    ('/usr/bin/logger "a b"', ["/bin/sh", "-c", 'exec /usr/bin/logger "a b"'], None),
    ("/sbin/x a=b", ["/bin/sh", "-c", "exec /sbin/x a=b"], None),
    ("/sbin/x ~", ["/bin/sh", "-c", "exec /sbin/x ~"], None),
    ("/sbin/x -a:b", ["/sbin/x", "-a:b"], None),
])
def test_argv_of(process, argv, exec_path):
    assert argv_of(process) == (argv, exec_path)


def test_realistic_inittab_order_and_dependencies(tmp_path):
    descs, errors = conv(tmp_path, REALISTIC)
    assert errors == []
    assert sorted(descs) == sorted([
        "inittab", "inittab.2.sysinit", "inittab.3.sysinit", "inittab.4.sysinit",
        "inittab.6.wait", "inittab.7.wait", "inittab.8.once", "inittab.9.once",
        "inittab.10.respawn.ttyS0", "inittab.11.askfirst.tty1", "inittab.12.respawn.tty2",
        "inittab.13.ctrlaltdel", "inittab.14.shutdown", "inittab.15.shutdown"])
    waits = {n: d.waits_for for n, d in descs.items()}
    assert waits["inittab.2.sysinit"] == []
    assert waits["inittab.3.sysinit"] == ["inittab.2.sysinit"]
    assert waits["inittab.4.sysinit"] == ["inittab.3.sysinit"]
    assert waits["inittab.6.wait"] == ["inittab.4.sysinit"]
    assert waits["inittab.7.wait"] == ["inittab.6.wait"]
    for n in ("inittab.8.once", "inittab.9.once", "inittab.10.respawn.ttyS0",
              "inittab.11.askfirst.tty1", "inittab.12.respawn.tty2"):
        assert waits[n] == ["inittab.7.wait"], n
        assert descs[n].depends_on == [] and descs[n].depends_ms == []
    for n in ("inittab.10.respawn.ttyS0", "inittab.11.askfirst.tty1", "inittab.12.respawn.tty2"):
        assert descs[n].after == ["inittab.8.once", "inittab.9.once"]
    assert waits["inittab"] == [
        "inittab.2.sysinit", "inittab.3.sysinit", "inittab.4.sysinit", "inittab.6.wait",
        "inittab.7.wait", "inittab.8.once", "inittab.9.once", "inittab.10.respawn.ttyS0",
        "inittab.11.askfirst.tty1", "inittab.12.respawn.tty2"]
    assert descs["inittab"].type == "internal"
    assert waits["inittab.15.shutdown"] == ["inittab.14.shutdown"]
    assert [d.name for d in ordered(descs, "shutdown")] == ["inittab.14.shutdown", "inittab.15.shutdown"]
    assert [d.name for d in ordered(descs, "ctrlaltdel")] == ["inittab.13.ctrlaltdel"]
    for n in ("inittab.13.ctrlaltdel", "inittab.14.shutdown", "inittab.15.shutdown"):
        assert n not in waits["inittab"]


def test_order_is_busybox_whatever_the_place_in_the_file(tmp_path):
    # busybox: every sysinit, then every wait (each waited for), then once, then respawn.
    descs, errors = conv(tmp_path, "::once:/bin/o\n::wait:/bin/w1\n::respawn:/bin/r\n"
                                   "::sysinit:/bin/s1\n::wait:/bin/w2\n::sysinit:/bin/s2\n"
                                   "::shutdown:/bin/d\n")
    assert errors == []
    waits = {n: d.waits_for for n, d in descs.items()}
    assert waits["inittab.4.sysinit"] == []
    assert waits["inittab.6.sysinit"] == ["inittab.4.sysinit"]
    assert waits["inittab.2.wait"] == ["inittab.6.sysinit"]
    assert waits["inittab.5.wait"] == ["inittab.2.wait"]
    assert waits["inittab.1.once"] == ["inittab.5.wait"]
    assert waits["inittab.3.respawn"] == ["inittab.5.wait"]
    assert descs["inittab.3.respawn"].after == ["inittab.1.once"]
    assert waits["inittab.7.shutdown"] == []


def test_without_sysinit_or_wait_entries_nothing_waits(tmp_path):
    descs, _ = conv(tmp_path, "::respawn:/bin/r\n::once:/bin/o\n")
    assert descs["inittab.1.respawn"].waits_for == [] and descs["inittab.2.once"].waits_for == []
    assert descs["inittab.1.respawn"].after == ["inittab.2.once"]


def test_every_entry_is_killed_one_second_after_sigterm_as_busybox_does(tmp_path):
    descs, _ = conv(tmp_path, REALISTIC)
    for name, d in descs.items():
        if name != "inittab":
            assert (d.term_signal, d.stop_timeout) == (15, 1.0), name


def test_realistic_inittab_service_settings(tmp_path):
    descs, _ = conv(tmp_path, REALISTIC)

    def row(n):
        d = descs[n]
        return (d.type, d.restart, d.command, d.exec_path, d.tty, d.askfirst, d.inittab_action)

    assert row("inittab.4.sysinit") == ("scripted", "no", ["/etc/init.d/rcS"], None, None, False, "sysinit")
    assert row("inittab.7.wait") == ("scripted", "no", ["/bin/sh", "-c", 'exec /usr/bin/logger "system up"'],
                                     None, None, False, "wait")
    assert row("inittab.8.once") == ("process", "no", ["/usr/sbin/crond", "-f"], None, None, False, "once")
    assert row("inittab.10.respawn.ttyS0") == (
        "process", "yes", ["/sbin/getty", "-L", "ttyS0", "115200", "vt100"], None, "/dev/ttyS0", False, "respawn")
    assert row("inittab.11.askfirst.tty1") == ("process", "yes", ["-/bin/sh"], "/bin/sh", "/dev/tty1", True, "askfirst")
    assert row("inittab.12.respawn.tty2")[4] == "/dev/tty2"
    assert row("inittab.14.shutdown") == ("scripted", "no", ["/bin/umount", "-a", "-r"], None, None, False, "shutdown")
    respawn = descs["inittab.10.respawn.ttyS0"]
    assert (respawn.restart_delay, respawn.restart_limit_count) == (1.0, 0)
    assert descs["inittab.2.sysinit"].start_timeout == 0
    # An askfirst prompt waits for Enter as long as it takes (busybox too); a getty's start
    # is its exec, which has the usual timeout.
    assert descs["inittab.11.askfirst.tty1"].start_timeout == 0
    assert respawn.start_timeout == 60
    assert descs["inittab.2.sysinit"].options == {"shares-console"}
    assert respawn.options == set()
    assert respawn.working_dir == "/"
    assert respawn.file == str(tmp_path / "inittab")
    assert respawn.lines[("command", None)] == 10


def test_environment_busybox_sets(tmp_path):
    descs, _ = conv(tmp_path, "::once:/bin/x\n")
    assert descs["inittab.1.once"].env == {
        "PATH": "/sbin:/usr/sbin:/bin:/usr/bin", "SHELL": "/bin/sh", "USER": "root", "TERM": "linux"}
    descs, _ = conv(tmp_path, "::once:/bin/x\n", environ={"TERM": "vt100"})
    assert descs["inittab.1.once"].env["TERM"] == "vt100"


def test_converted_set_passes_the_cross_service_checks(tmp_path):
    descs, _ = conv(tmp_path, REALISTIC)
    errors = {}
    check_set(descs, errors)
    assert errors == {} and len(descs) == 14


def test_merges_with_a_services_dir(tmp_path):
    sd = tmp_path / "svinit.d"
    sd.mkdir()
    (sd / "boot").write_text("type = internal\nwaits-for = inittab\n")
    it, it_errors = conv(tmp_path, REALISTIC)
    descs, errors = load_dir(str(sd), extra=it)
    assert errors == {} and it_errors == []
    assert len(descs) == 15 and descs["boot"].waits_for == ["inittab"]


def test_a_service_file_wins_over_an_inittab_service_of_the_same_name(tmp_path):
    sd = tmp_path / "svinit.d"
    sd.mkdir()
    (sd / "inittab.1.once").write_text("command = /bin/mine\n")
    it, _ = conv(tmp_path, "::once:/bin/theirs\n")
    descs, errors = load_dir(str(sd), extra=it)
    assert errors == {} and descs["inittab.1.once"].command == ["/bin/mine"]
    assert [str(w) for w in descs["inittab.1.once"].warnings] == [
        "%s:1: ignored: service inittab.1.once is defined by %s" % (tmp_path / "inittab", sd / "inittab.1.once")]


FEWER = "fewer than four fields (id:runlevels:action:process)"


@pytest.mark.parametrize("line, why", [
    ("::sysinit", FEWER),
    ("tty1:respawn:/sbin/getty", FEWER),
    ("just words", FEWER),
    ("::boot:/etc/rc", "unknown action 'boot' (sysvinit's; busybox init has no such action)"),
    ("::Respawn:/bin/sh", "unknown action 'Respawn'"),
    ("::frob:/bin/sh", "unknown action 'frob'"),
    ("::respawn:", "empty process"),
    ("::respawn:   ", "empty process"),
    ("::respawn:-", "empty process"),
])
def test_bad_entries_are_reported_with_the_reason_and_skipped(tmp_path, line, why):
    descs, errors = conv(tmp_path, "::once:/bin/a\n" + line + "\n::once:/bin/b\n")
    assert errors == ["inittab:2: bad inittab entry: " + why]
    assert sorted(descs) == ["inittab", "inittab.1.once", "inittab.3.once"]


def test_comments_anywhere_and_colons_in_the_process(tmp_path):
    descs, errors = conv(tmp_path, "  # note\n::once:/bin/x a:b # trailing\n#::once:/bin/never\n")
    assert errors == []
    assert descs["inittab.2.once"].command == ["/bin/x", "a:b"]
    assert sorted(descs) == ["inittab", "inittab.2.once"]


def test_empty_inittab_gives_an_empty_inittab_service(tmp_path):
    descs, errors = conv(tmp_path, "# nothing\n")
    assert errors == [] and list(descs) == ["inittab"]
    assert descs["inittab"].waits_for == []


def test_id_with_odd_characters_makes_a_valid_name(tmp_path):
    descs, _ = conv(tmp_path, "pts/0::respawn:/sbin/getty pts/0\n")
    d = descs["inittab.1.respawn.pts_0"]
    assert d.tty == "/dev/pts/0"


def test_missing_inittab_uses_busybox_default(tmp_path):
    descs, errors = convert(str(tmp_path / "none"), environ={})
    assert errors == []
    names = sorted(descs)
    assert names == sorted(["inittab", "inittab.1.sysinit", "inittab.2.askfirst", "inittab.3.askfirst.tty2",
                            "inittab.4.askfirst.tty3", "inittab.5.askfirst.tty4", "inittab.6.ctrlaltdel",
                            "inittab.7.shutdown", "inittab.8.shutdown", "inittab.9.restart"])
    assert descs["inittab.1.sysinit"].command == ["/etc/init.d/rcS"]
    shell = descs["inittab.2.askfirst"]
    assert (shell.command, shell.exec_path, shell.tty, shell.askfirst) == (["-/bin/sh"], "/bin/sh", None, True)
    assert shell.options == {"shares-console"}
    assert descs["inittab.4.askfirst.tty3"].tty == "/dev/tty3"
    for n in ("inittab.2.askfirst", "inittab.3.askfirst.tty2", "inittab.4.askfirst.tty3", "inittab.5.askfirst.tty4"):
        assert descs[n].waits_for == ["inittab.1.sysinit"]
    assert descs["inittab"].waits_for == ["inittab.1.sysinit", "inittab.2.askfirst", "inittab.3.askfirst.tty2",
                                          "inittab.4.askfirst.tty3", "inittab.5.askfirst.tty4"]
    assert [d.command for d in ordered(descs, "shutdown")] == [["umount", "-a", "-r"], ["swapoff", "-a"]]
    assert [d.command for d in ordered(descs, "ctrlaltdel")] == [["reboot"]]
    assert descs["inittab.9.restart"].inittab_action == "restart"
    assert shell.file == str(tmp_path / "none") + " (busybox default)"


def test_default_text_converts_like_the_missing_file(tmp_path):
    a, _ = convert_text(DEFAULT_INITTAB, "x", environ={})
    b, _ = conv(tmp_path, DEFAULT_INITTAB)
    assert {n: (d.command, d.waits_for, d.tty) for n, d in a.items()} == \
           {n: (d.command, d.waits_for, d.tty) for n, d in b.items()}


def test_unreadable_inittab(tmp_path):
    os.mkdir(tmp_path / "dir")
    descs, errors = convert(str(tmp_path / "dir"))
    assert descs == {} and [str(e) for e in errors] == [str(tmp_path / "dir") + ": cannot read: Is a directory"]
