"""ctl enable / disable (as dinitctl's): a link in a service's waits-for.d, made or removed
on disk and acted on at once."""
import os

from test_recovery_lib import alive, supervised  # noqa: F401  (fixture)
from test_svinit_lib import svinit, pid_alive  # noqa: F401  (fixture)


def sleeper(name):
    return "command = /bin/sh -c \"echo $$ >> @ROOT@/%s.runs; exec /bin/sleep 1000\"\n" % name


SERVICES = {
    "boot": "type = internal\nwaits-for.d = boot.d\nwaits-for: base\n",
    "base": sleeper("base"),
    "web": sleeper("web") + "depends-on: base\n",
    "other": "type = internal\nwaits-for.d = other.d\n",
    "loop": sleeper("loop") + "depends-on: boot\n",
    "tpl@": "command = /bin/sleep 1000\n",
}


def runs(sv, name):
    return sv.read(name + ".runs").split()


def test_enable_starts_it_now_and_at_every_boot(svinit):
    sv = svinit(SERVICES)
    sv.wait_state("boot", "started")
    assert sv.status("web")["state"] == "stopped"
    reply = sv.call("enable", name="web")
    assert reply["ok"] and reply["service"]["state"] == "started", reply
    link = os.path.join(sv.dir, "boot.d", "web")
    assert os.readlink(link) == "../web"
    assert "svinit: web: enabled: boot waits for it (%s)\n" % link in sv.stderr()
    # Enabled, not active: it stops when boot lets go of it, and a second enable changes
    # nothing.
    assert sv.status("web")["active"] is False
    assert sv.call("enable", name="web")["ok"]
    assert os.listdir(os.path.join(sv.dir, "boot.d")) == ["web"]
    assert len(runs(sv, "web")) == 1
    assert sv.shutdown() == 0
    # The next boot starts it.
    again = svinit({}, args=["-d", sv.dir])
    again.wait_state("web", "started")
    assert len(runs(sv, "web")) == 2


def test_disable_stops_it_and_the_next_boot_leaves_it(svinit):
    sv = svinit(SERVICES)
    sv.wait_state("boot", "started")
    assert sv.call("enable", name="web")["ok"]
    pid = sv.status("web")["pid"]
    reply = sv.call("disable", name="web")
    assert reply["ok"] and reply["service"]["state"] == "stopped", reply
    assert not pid_alive(pid)
    assert os.listdir(os.path.join(sv.dir, "boot.d")) == []
    assert "svinit: web: disabled: boot waits for it no more (%s/boot.d/web removed)\n" \
        % sv.dir in sv.stderr()
    # What it depended on stays up: boot waits for base in its own file.
    assert sv.status("base")["state"] == "started"
    assert sv.shutdown() == 0
    again = svinit({}, args=["-d", sv.dir])
    again.wait_state("boot", "started")
    assert again.status("web")["state"] == "stopped" and len(runs(sv, "web")) == 1


def test_disable_leaves_a_service_started_on_its_own(svinit):
    sv = svinit(SERVICES)
    sv.wait_state("boot", "started")
    assert sv.call("enable", name="web")["ok"]
    assert sv.call("start", name="web")["ok"]
    reply = sv.call("disable", name="web")
    assert reply["ok"] and reply["service"]["state"] == "started"
    assert os.listdir(os.path.join(sv.dir, "boot.d")) == []


def test_enable_from_a_stopped_service_only_records_it(svinit):
    sv = svinit(SERVICES)
    sv.wait_state("boot", "started")
    reply = sv.call("enable", name="web", **{"from": "other"})
    assert reply["ok"] and reply["service"]["state"] == "stopped"
    assert os.readlink(os.path.join(sv.dir, "other.d", "web")) == "../web"
    assert sv.call("start", name="other")["ok"]
    sv.wait_state("web", "started")


def test_enable_refusals_change_nothing(svinit):
    sv = svinit(SERVICES)
    sv.wait_state("boot", "started")
    # A cycle: loop depends on boot.
    reply = sv.call("enable", name="loop")
    assert not reply["ok"] and reply["code"] == "refused"
    assert reply["error"] == "loop: can't be enabled from boot: %s/boot: dependency cycle: " \
        "boot -> loop -> boot" % sv.dir
    # A from-service without a waits-for.d setting.
    reply = sv.call("enable", name="web", **{"from": "base"})
    assert (reply["ok"], reply["code"], reply["error"]) == (
        False, "refused", "base: its file (%s/base) has no waits-for.d directory to record web in"
        % sv.dir)
    # Unknown names, either side; a template argument that no state file could hold.
    assert sv.call("enable", name="nope")["code"] == "unknown-service"
    assert sv.call("enable", name="tpl@ttyS0\nttyS1")["code"] == "unknown-service"
    assert sv.call("enable", name="tpl@a b")["code"] == "unknown-service"
    assert sv.call("enable", name="web", **{"from": "nope"})["code"] == "unknown-service"
    assert sv.call("enable", name="web", **{"from": 3})["code"] == "bad-request"
    assert not os.path.exists(os.path.join(sv.dir, "boot.d"))
    assert sv.status("web")["state"] == "stopped" and sv.status("loop")["state"] == "stopped"


def test_disable_refuses_a_dependency_written_in_the_file(svinit):
    sv = svinit(SERVICES)
    sv.wait_state("boot", "started")
    reply = sv.call("disable", name="base")
    assert (reply["ok"], reply["code"], reply["error"]) == (
        False, "refused", "%s/boot:3 says waits-for: base: edit the file, then reload it" % sv.dir)
    assert sv.status("base")["state"] == "started"


def test_an_enabled_service_survives_a_restart_of_svinit(supervised):
    sv = supervised(SERVICES)
    sv.wait_state("boot", "started")
    assert sv.call("enable", name="web")["ok"]
    pid = sv.service_pid("web")
    sv.kill_svinit()
    # The next svinit reads boot's waits-for.d with the link in it: web is boot's again.
    assert sv.status("web")["pid"] == pid
    reply = sv.call("disable", name="web")
    assert reply["ok"] and reply["service"]["state"] == "stopped", reply
    assert not alive(pid) and len(runs(sv, "web")) == 1


def test_ctl_enable_and_disable(svinit, testcmd):
    sv = svinit(SERVICES)
    sv.wait_state("boot", "started")
    ctl = ["ctl", "-s", sv.sock]
    r = testcmd(ctl + ["enable", "web"])
    assert (r.code, r.out, r.err) == (0, "web: enabled (started)\n", "")
    r = testcmd(ctl + ["--from", "other", "enable", "web"])
    assert (r.code, r.out, r.err) == (0, "web: enabled (started)\n", "")
    assert os.readlink(os.path.join(sv.dir, "other.d", "web")) == "../web"
    r = testcmd(ctl + ["disable", "web"])
    assert (r.code, r.out, r.err) == (0, "web: disabled (stopped)\n", "")
    r = testcmd(ctl + ["enable", "loop"])
    assert (r.code, r.out) == (1, "")
    assert r.err == "ctl: loop: can't be enabled from boot: %s/boot: dependency cycle: " \
        "boot -> loop -> boot\n" % sv.dir
    r = testcmd(ctl + ["disable", "nope"])
    assert (r.code, r.err) == (2, "ctl: nope: no such service\n")
    r = testcmd(ctl + ["--from", "boot", "start", "web"])
    assert (r.code, r.err) == (1, 'ctl: --from applies to enable and disable (see "ctl --help")\n')


def test_reload_after_enables_and_with_a_dangling_link(svinit):
    sv = svinit(SERVICES)
    sv.wait_state("boot", "started")
    # Enabled in another order than the directory reads back: nothing changed for reload.
    assert sv.call("enable", name="web")["ok"] and sv.call("enable", name="tpl@1")["ok"]
    reply = sv.call("reload", name="boot")
    assert reply["ok"], reply
    # A link whose service has no file is skipped with a warning, as at boot.
    os.symlink("../gone", os.path.join(sv.dir, "boot.d", "gone"))
    reply = sv.call("reload", name="boot")
    assert reply["ok"], reply
    assert "%s/boot:2: waits-for.d: ignoring gone: no such service\n" % sv.dir in sv.stderr()
    # Its file made later, enable takes it (the link is there already).
    sv.write_service("gone", sleeper("gone"))
    reply = sv.call("enable", name="gone")
    assert reply["ok"] and reply["service"]["state"] == "started", reply


def test_enable_names_what_it_could_not_make(svinit):
    sv = svinit(dict(SERVICES, boot="type = internal\nwaits-for.d = f.d\n"))
    sv.wait_state("boot", "started")
    with open(os.path.join(sv.dir, "f.d"), "w"):
        pass
    reply = sv.call("enable", name="web")
    assert (reply["ok"], reply["error"]) == (False, "%s/f.d: File exists" % sv.dir)
    assert sv.status("web")["state"] == "stopped"


def test_disable_is_refused_during_a_shutdown(svinit):
    slow = ("command = /bin/sh -c \"trap 'sleep 1; exit 0' TERM; while :; do sleep 0.05; done\"\n")
    sv = svinit(dict(SERVICES, boot=SERVICES["boot"] + "waits-for: slow\n", slow=slow))
    sv.wait_state("slow", "started")
    assert sv.call("enable", name="web")["ok"]
    assert sv.call("shutdown", how="halt")["ok"]
    reply = sv.call("disable", name="web")
    assert (reply["ok"], reply["code"]) == (False, "busy")
    assert os.listdir(os.path.join(sv.dir, "boot.d")) == ["web"]
