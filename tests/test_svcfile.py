"""Dinit-format service files -> Description: every key, its default, and every bad input."""
import os
import pwd
import subprocess
import sys

import pytest

from conftest import REPO
from toybox.svcfile import Description, LoadError, load_dir, load_file, valid_name


ENV = {"HOME": "/home/x", "EMPTY": "", "WORDS": "a  b c"}


def write(d, name, text):
    p = os.path.join(str(d), name)
    with open(p, "w") as f:
        f.write(text)
    return p


def load(tmp_path, text, name="svc"):
    return load_file(write(tmp_path, name, text), environ=ENV)


def err(tmp_path, text, name="svc"):
    with pytest.raises(LoadError) as e:
        load(tmp_path, text, name)
    return str(e.value).replace(str(tmp_path) + "/", "")


def loaddir(tmp_path, files):
    for name, text in files.items():
        write(tmp_path, name, text)
    descs, errors = load_dir(str(tmp_path), environ=ENV)
    return descs, {n: str(e).replace(str(tmp_path) + "/", "") for n, e in errors.items()}


P = "command = /bin/p\n"


# --- defaults: a one-line process service ------------------------------------------------

@pytest.mark.parametrize("attr, want", [
    ("name", "svc"), ("type", "process"), ("command", ["/bin/p"]), ("stop_command", None),
    ("run_as", None), ("uid", None), ("gid", None), ("groups", None), ("env", {}),
    ("depends_on", []), ("depends_ms", []), ("waits_for", []), ("before", []), ("after", []),
    ("chain_to", None), ("restart", "yes"), ("restart_delay", 0.2), ("restart_limit_count", 3),
    ("restart_limit_interval", 10.0), ("start_timeout", 60.0), ("stop_timeout", 10.0),
    ("term_signal", 15), ("smooth_recovery", False), ("pid_file", None), ("logfile", None),
    ("logfile_max_size", 1024 * 1024), ("logfile_permissions", 0o600),
    ("log_type", None), ("log_buffer_size", None),
    ("ready_notification", None), ("options", set()), ("tty", None), ("askfirst", False),
    ("inittab_action", None), ("exec_path", None), ("warnings", []),
])
def test_default(tmp_path, attr, want):
    assert getattr(load(tmp_path, P), attr) == want


def test_default_working_dir_is_the_service_files_dir(tmp_path):
    d = load(tmp_path, P)
    assert d.working_dir == str(tmp_path) and d.file == str(tmp_path / "svc")


# --- every key ---------------------------------------------------------------------------

@pytest.mark.parametrize("text, attr, want", [
    ("type = scripted\n" + P, "type", "scripted"),
    ("type = internal\n", "type", "internal"),
    ("type = bgprocess\npid-file = /run/p.pid\n" + P, "pid_file", "/run/p.pid"),
    ("type = bgprocess\npid-file = p.pid\n" + P, "type", "bgprocess"),
    ("command = /bin/echo a b\n", "command", ["/bin/echo", "a", "b"]),
    ("command: /bin/echo a\n", "command", ["/bin/echo", "a"]),
    ("command = /bin/a\ncommand += -x \"y z\"\n", "command", ["/bin/a", "-x", "y z"]),
    ("command = /bin/a\ncommand = /bin/b\n", "command", ["/bin/b"]),
    (P + "stop-command = /bin/stop now\n", "stop_command", ["/bin/stop", "now"]),
    (P + "stop-command = /bin/stop\nstop-command += x\n", "stop_command", ["/bin/stop", "x"]),
    (P + "working-dir = /tmp\n", "working_dir", "/tmp"),
    (P + "working-dir = $HOME/w\n", "working_dir", "/home/x/w"),
    (P + "run-as = root\n", "uid", 0),
    (P + "run-as = root\n", "gid", 0),
    (P + "run-as = root\n", "run_as", "root"),
    (P + "run-as = 0\n", "uid", 0),
    (P + "depends-on = a\ndepends-on: b\n", "depends_on", ["a", "b"]),
    (P + "depends-ms = a\n", "depends_ms", ["a"]),
    (P + "waits-for = a\nwaits-for = a\n", "waits_for", ["a"]),
    (P + "before = a\n", "before", ["a"]),
    (P + "after = a\nafter = b\n", "after", ["a", "b"]),
    (P + "chain-to = next\n", "chain_to", "next"),
    (P + "restart = no\n", "restart", "no"),
    (P + "restart = false\n", "restart", "no"),
    (P + "restart = true\n", "restart", "yes"),
    (P + "restart = on-failure\n", "restart", "on-failure"),
    ("type = scripted\nrestart = on-failure\n" + P, "restart", "no"),
    ("type = bgprocess\npid-file = p\nrestart = on-failure\n" + P, "restart", "on-failure"),
    (P + "restart-delay = 1.5\n", "restart_delay", 1.5),
    (P + "restart-limit-count = 0\n", "restart_limit_count", 0),
    (P + "restart-limit-interval = 30\n", "restart_limit_interval", 30.0),
    (P + "start-timeout = 0\n", "start_timeout", 0.0),
    (P + "stop-timeout = .5\n", "stop_timeout", 0.5),
    (P + "term-signal = HUP\n", "term_signal", 1),
    (P + "term-signal = SIGINT\n", "term_signal", 2),
    (P + "term-signal = none\n", "term_signal", 0),
    (P + "termsignal = USR1\n", "term_signal", 10),
    (P + "smooth-recovery = yes\n", "smooth_recovery", True),
    (P + "smooth-recovery = false\n", "smooth_recovery", False),
    (P + "logfile = /var/log/p.log\n", "logfile", "/var/log/p.log"),
    (P + "logfile = p.log\nlog-type = none\n", "logfile", None),
    (P + "log-type = none\nlogfile = p.log\n", "logfile", None),
    (P + "logfile = p.log\nlog-type = none\n", "log_type", "none"),
    (P + "logfile = /l\nlog-type = file\n", "logfile", "/l"),
    (P + "log-type = file\nlogfile = /l\n", "log_type", "file"),
    (P + "log-type = buffer\n", "log_type", "buffer"),
    (P + "log-type = buffer\nlogfile = /l\n", "logfile", None),
    (P + "logfile = /l\n", "log_type", None),
    (P + "log-buffer-size = 4096\n", "log_buffer_size", 4096),
    (P + "log-buffer-size = 8k\n", "log_buffer_size", 8192),
    (P + "logfile-max-size = 4096\n", "logfile_max_size", 4096),
    (P + "logfile-max-size = 64k\n", "logfile_max_size", 65536),
    (P + "logfile-max-size = 2M\n", "logfile_max_size", 2 * 1024 * 1024),
    (P + "logfile-max-size = 0\n", "logfile_max_size", 0),
    (P + "logfile-permissions = 640\n", "logfile_permissions", 0o640),
    (P + "logfile-permissions = 0644\n", "logfile_permissions", 0o644),
    (P + "ready-notification = pipefd:3\n", "ready_notification", ("pipefd", 3)),
    (P + "ready-notification = pipevar:READY_FD\n", "ready_notification", ("pipevar", "READY_FD")),
    (P + "options = runs-on-console\noptions: starts-rwfs signal-process-only\n", "options",
     {"runs-on-console", "starts-rwfs", "signal-process-only"}),
    ("type = scripted\n" + P + "options: starts-on-console shares-console always-chain kill-all-on-stop\n",
     "options", {"starts-on-console", "shares-console", "always-chain", "kill-all-on-stop"}),
    (P + "@meta enable-via boot\n", "command", ["/bin/p"]),
])
def test_key(tmp_path, text, attr, want):
    assert getattr(load(tmp_path, text), attr) == want


def test_relative_paths_resolve_against_the_services_dir(tmp_path):
    d = load(tmp_path, "type = bgprocess\n" + P + "pid-file = run/p.pid\nlogfile = log/p\nworking-dir = w\n")
    assert (d.pid_file, d.logfile, d.working_dir) == (
        str(tmp_path / "run/p.pid"), str(tmp_path / "log/p"), str(tmp_path / "w"))


def test_run_as_name_sets_primary_and_supplementary_groups(tmp_path):
    pw = pwd.getpwnam("daemon")
    d = load(tmp_path, P + "run-as = daemon\n")
    assert (d.uid, d.gid) == (pw.pw_uid, pw.pw_gid)
    assert sorted(set(os.getgrouplist("daemon", pw.pw_gid))) == d.groups


def test_run_as_numeric_uid_without_passwd_entry_keeps_group_drops_supplementary(tmp_path):
    uid = 54321
    with pytest.raises(KeyError):
        pwd.getpwuid(uid)
    d = load(tmp_path, P + "run-as = %d\n" % uid)
    assert (d.run_as, d.uid, d.gid, d.groups) == (str(uid), uid, None, [])


def test_lines_point_at_each_setting(tmp_path):
    d = load(tmp_path, "# c\n" + P + "depends-on = a\n\nwaits-for = b\noptions: runs-on-console\n")
    assert d.lines[("command", None)] == 2
    assert d.lines[("depends-on", "a")] == 3
    assert d.lines[("waits-for", "b")] == 5
    assert d.lines[("options", "runs-on-console")] == 6
    assert str(d.error("waits-for", "b", "dependency b not found")) == str(tmp_path / "svc") + ":5: dependency b not found"


def test_description_defaults_without_a_file():
    d = Description("x", "/etc/svinit.d/x")
    assert (d.working_dir, d.services_dir, d.command) == ("/etc/svinit.d", "/etc/svinit.d", None)


# --- syntax: comments, quoting, escapes, continuation ------------------------------------

@pytest.mark.parametrize("line, argv", [
    ('command = /bin/e "a  b" c', ["/bin/e", "a  b", "c"]),
    ('command = /bin/e a"b c"d', ["/bin/e", "ab cd"]),
    ('command = /bin/e ""', ["/bin/e", ""]),
    ('command = /bin/e a\\ b', ["/bin/e", "a b"]),
    ('command = /bin/e \\"q\\" "x\\"y"', ["/bin/e", '"q"', 'x"y']),
    ('command = /bin/e a # comment', ["/bin/e", "a"]),
    ('command = /bin/e "a # not" \\#b', ["/bin/e", "a # not", "#b"]),
    ('command=/bin/e\tx', ["/bin/e", "x"]),
    ('   command   =    /bin/e    x   ', ["/bin/e", "x"]),
    ('command = /bin/e \\\\', ["/bin/e", "\\"]),
])
def test_quoting(tmp_path, line, argv):
    assert load(tmp_path, line + "\n").command == argv


def test_continuation_joins_lines_and_allows_comments(tmp_path):
    d = load(tmp_path, "command = /bin/e a \\\n   b # note \\\n\tc\ndepends-on = x\n")
    assert d.command == ["/bin/e", "a", "b", "c"]
    assert d.lines[("depends-on", "x")] == 4


def test_a_long_continuation_is_joined_whole_in_linear_time(tmp_path):
    # 60000 continuation lines (5 MB): a join that copies the value for each line takes
    # over a minute of CPU here, a linear one a tenth of a second. The CPU-time limit (not
    # a clock: a loaded machine slows neither side's count) sits a hundred times above
    # the linear cost and far below the quadratic one.
    n = 60000
    path = write(tmp_path, "svc", "command = /bin/e \\\n"
                 + "".join("    arg%06d_%s \\\n" % (i, "x" * 64) for i in range(n))
                 + "    end\ndepends-on = x\n")
    script = ("import resource, sys; resource.setrlimit(resource.RLIMIT_CPU, (10, 10)); "
              "sys.path.insert(0, %r); from toybox import svcfile; "
              "d = svcfile.load_file(%r, environ={}); "
              "print(len(d.command), d.command[1], d.command[-2], d.command[-1], "
              "d.line_of('command'), d.lines[('depends-on', 'x')])" % (REPO, path))
    p = subprocess.run([sys.executable, "-S", "-c", script], capture_output=True, text=True,
                       timeout=300)
    assert (p.returncode, p.stderr) == (0, "")
    assert p.stdout.split() == [str(n + 2), "arg000000_" + "x" * 64,
                                "arg%06d_%s" % (n - 1, "x" * 64), "end", "1", str(n + 3)]


def test_escaped_backslash_at_end_is_not_a_continuation(tmp_path):
    d = load(tmp_path, "command = /bin/e a\\\\\ndepends-on = x\n")
    assert (d.command, d.depends_on) == (["/bin/e", "a\\"], ["x"])


def test_hash_comment_lines_and_blank_lines(tmp_path):
    assert load(tmp_path, "\n# x = y\n   # indented\n\n" + P).command == ["/bin/p"]


def test_value_whitespace_collapses_outside_quotes(tmp_path):
    assert load(tmp_path, P + 'working-dir = /a  b\n').working_dir == "/a b"
    assert load(tmp_path, P + 'working-dir = "/a  b"\n').working_dir == "/a  b"


# --- variable substitution -----------------------------------------------------------------

@pytest.mark.parametrize("value, argv", [
    ("$HOME", ["/home/x"]),
    ("${HOME}/bin", ["/home/x/bin"]),
    ("x$HOME", ["x/home/x"]),
    ("$UNSET", [""]),
    ("${UNSET:-dflt}", ["dflt"]),
    ("${EMPTY:-dflt}", ["dflt"]),
    ("${EMPTY-dflt}", [""]),
    ("${UNSET-dflt}", ["dflt"]),
    ("${HOME:+set}", ["set"]),
    ("${EMPTY:+set}", [""]),
    ("${EMPTY+set}", ["set"]),
    ("${UNSET+set}", [""]),
    ("$$HOME", ["$HOME"]),
    ("$WORDS", ["a  b c"]),
    ('"$WORDS"', ["a  b c"]),
    ("$/WORDS", ["a", "b", "c"]),
    ("x$/WORDS", ["xa", "b", "c"]),
    ("$/EMPTY", []),
    ("$/UNSET", []),
    ("${HOME}$$", ["/home/x$"]),
])
def test_substitution_in_command(tmp_path, value, argv):
    assert load(tmp_path, "command = /bin/e " + value + "\n").command == ["/bin/e"] + argv


def test_env_file_values_win_over_the_environment_and_are_substituted(tmp_path):
    write(tmp_path, "svc.env", "# comment\n\nHOME=/from/envfile\n  SPACED = v w\nEQ=a=b\n")
    d = load(tmp_path, "command = /bin/e $HOME ${SPACED} $EQ\nenv-file = svc.env\nlogfile = $HOME/log\n")
    assert d.env == {"HOME": "/from/envfile", "SPACED": " v w", "EQ": "a=b"}
    assert d.command == ["/bin/e", "/from/envfile", " v w", "a=b"]
    assert d.logfile == "/from/envfile/log"
    assert d.env_file == str(tmp_path / "svc.env")


def test_env_file_absolute_path(tmp_path):
    p = write(tmp_path, "e", "A=1\n")
    assert load(tmp_path, P + "env-file = %s\n" % p).env == {"A": "1"}


def test_substitution_in_paths_and_dependency_names(tmp_path):
    d = load(tmp_path, P + "pid-file = $HOME/p\nworking-dir=${HOME}\ndepends-on = dep-${UNSET:-x}\n")
    assert (d.pid_file, d.working_dir, d.depends_on) == ("/home/x/p", "/home/x", ["dep-x"])


# --- bad input: FILE:LINE: message -------------------------------------------------------

@pytest.mark.parametrize("text, msg", [
    ("foo = bar\n", "svc:1: unknown setting 'foo'"),
    (P + "socket-listen = /s\n", "svc:2: setting 'socket-listen' is not supported by svinit"),
    ("what is this\n", "svc:1: expected 'KEY = VALUE'"),
    ("= x\n", "svc:1: expected 'KEY = VALUE'"),
    ("command /bin/x\n", "svc:1: expected 'KEY = VALUE'"),
    ("type = daemon\n", "svc:1: type: unknown type 'daemon' (process, bgprocess, scripted, internal)"),
    ("type = triggered\n", "svc:1: type: 'triggered' is not supported by svinit"),
    ("type =\n", "svc:1: type: missing value"),
    (P + "restart = maybe\n", "svc:2: restart: must be yes, true, no, false or on-failure, not 'maybe'"),
    (P + "smooth-recovery = 1\n", "svc:2: smooth-recovery: must be yes, true, no or false, not '1'"),
    (P + "start-timeout = soon\n", "svc:2: start-timeout: expected a number of seconds, not 'soon'"),
    (P + "stop-timeout = -1\n", "svc:2: stop-timeout: expected a number of seconds, not '-1'"),
    (P + "restart-delay = 1e3\n", "svc:2: restart-delay: expected a number of seconds, not '1e3'"),
    (P + "restart-limit-interval = .\n", "svc:2: restart-limit-interval: expected a number of seconds, not '.'"),
    (P + "restart-limit-count = 2.5\n", "svc:2: restart-limit-count: expected a whole number, not '2.5'"),
    (P + "term-signal = BOGUS\n", "svc:2: term-signal: unknown signal 'BOGUS'"),
    (P + "logfile-max-size = lots\n",
     "svc:2: logfile-max-size: expected a size in bytes (k, M, G suffixes allowed), not 'lots'"),
    (P + "logfile-permissions = 999\n", "svc:2: logfile-permissions: expected octal permissions like 600, not '999'"),
    (P + "log-type = pipe\n",
     "svc:2: log-type: 'pipe' is not supported (it needs consumer-of) (file, buffer or none)"),
    (P + "log-type = syslog\n", "svc:2: log-type: 'syslog' is not supported (file, buffer or none)"),
    (P + "log-type = file\n", "svc:2: log-type: file needs a logfile"),
    (P + "log-buffer-size = 0\n",
     "svc:2: log-buffer-size: expected a size in bytes above 0 (k, M, G suffixes allowed), not '0'"),
    (P + "log-buffer-size = big\n",
     "svc:2: log-buffer-size: expected a size in bytes above 0 (k, M, G suffixes allowed), not 'big'"),
    (P + "ready-notification = pipefd:x\n", "svc:2: ready-notification: expected pipefd:N or pipevar:VAR, not 'pipefd:x'"),
    (P + "ready-notification = pipevar:\n", "svc:2: ready-notification: expected pipefd:N or pipevar:VAR, not 'pipevar:'"),
    (P + "ready-notification = socket\n", "svc:2: ready-notification: expected pipefd:N or pipevar:VAR, not 'socket'"),
    (P + "ready-notification = pipefd:1\n", "svc:2: ready-notification: pipefd must be 3 or more (0-2 are stdio)"),
    ("type = scripted\n" + P + "ready-notification = pipefd:3\n",
     "svc:3: ready-notification: only process services can signal readiness"),
    (P + "options = runs-on-console fast\n", "svc:2: options: unknown option 'fast'"),
    (P + "run-as = no-such-user-xyz\n", "svc:2: run-as: user 'no-such-user-xyz' does not exist"),
    ("type = process\n", "svc:1: type process needs a command"),
    ("type = scripted\nstop-command = /bin/x\n", "svc:1: type scripted needs a command"),
    ("depends-on = x\n", "svc: type process needs a command"),
    ("type = bgprocess\n" + P, "svc:1: type bgprocess needs a pid-file"),
    ("type = internal\ncommand = /bin/x\n", "svc:2: command: an internal service runs no commands"),
    (P + "depends-on = a b\n", "svc:2: depends-on: invalid service name 'a b'"),
    (P + "after = .hidden\n", "svc:2: after: invalid service name '.hidden'"),
    (P + "chain-to = a/b\n", "svc:2: chain-to: invalid service name 'a/b'"),
    (P + "type += process\n", "svc:2: '+=' is only valid for command and stop-command, not 'type'"),
    (P + "env-file += e\n", "svc:2: '+=' is only valid for command and stop-command, not 'env-file'"),
    (P + 'working-dir = "/x\n', "svc:2: unterminated quoted string"),
    (P + "working-dir = /x#y\n", "svc:2: '#' comment must be separated from the value by whitespace"),
    (P + "logfile = ${HOME\n", "svc:2: logfile: unmatched '{' in variable substitution"),
    (P + "logfile = ${HOME:x}\n", "svc:2: logfile: invalid syntax in variable substitution"),
    (P + "logfile = /a/$\n", "svc:2: logfile: invalid or missing variable name after '$'"),
    (P + "logfile = $/HOME\n", "svc:2: logfile: '$/' word splitting is only allowed in commands"),
    ("command = /bin/e \\\nx\n", "svc:2: line after continuation backslash must start with whitespace"),
    ("command = /bin/e \\\n", "svc:1: end of file after continuation backslash"),
    (P + "@include other\n", "svc:2: unsupported meta-command '@include'"),
    (P + "env-file = missing.env\n", "svc:2: env-file: missing.env: cannot read: No such file or directory"),
])
def test_bad_input(tmp_path, text, msg):
    assert err(tmp_path, text) == msg


def test_bad_env_file_line_names_both_files(tmp_path):
    write(tmp_path, "e.env", "A=1\nnot an assignment\n")
    assert err(tmp_path, P + "env-file = e.env\n") == "svc:2: env-file: e.env:2: expected NAME=VALUE"


def test_env_file_commands_are_refused(tmp_path):
    write(tmp_path, "e.env", "!clear\n")
    assert err(tmp_path, "env-file = e.env\n" + P) == \
        "svc:1: env-file: e.env:1: env-file commands like !clear are not supported"


def test_bad_service_name(tmp_path):
    assert err(tmp_path, P, name="bad name") == "bad name: invalid service name 'bad name'"


@pytest.mark.parametrize("name, valid", [
    ("getty@ttyS0", True), ("net@eth0.100", True), ("a@b@c", True), ("x@é:1", True),
    ("getty@ttyS0\nttyS1", False), ("t@a b", False), ("t@a\tb", False), ("t@x/y", False),
    ("t@\x7f", False), ("t@\x85", False), ("bad name", False), ("@x", False), (".x", False),
    ("", False)])
def test_service_names(name, valid):
    # A template's argument holds no separator of the line-based state files.
    assert valid_name(name) is valid


def test_unreadable_file(tmp_path):
    with pytest.raises(LoadError) as e:
        load_file(str(tmp_path / "nope"))
    assert str(e.value) == str(tmp_path / "nope") + ": cannot read: No such file or directory"


def test_template_argument_without_an_argument_is_an_error(tmp_path):
    assert err(tmp_path, "command = /sbin/getty $1\n") == "svc:1: command: $1 used but the service has no argument"


# --- .d directories ----------------------------------------------------------------------

def test_dot_d_dirs_merge_in_file_order_and_skip_dot_entries(tmp_path):
    os.mkdir(tmp_path / "boot.d")
    for n in ("b", "a", ".hidden"):
        os.symlink("../" + n, tmp_path / "boot.d" / n)
    descs, errors = loaddir(tmp_path, {
        "boot": "type = internal\nwaits-for = c\nwaits-for.d = boot.d\ndepends-on.d = boot.d\n"
                "depends-ms.d: boot.d\n",
        "a": P, "b": P, "c": P})
    assert errors == {}
    d = descs["boot"]
    assert (d.waits_for, d.depends_on, d.depends_ms) == (["c", "a", "b"], ["a", "b"], ["a", "b"])
    assert d.lines[("waits-for", "a")] == 3 and d.lines[("depends-on", "b")] == 4


def test_dot_d_dangling_entry_and_missing_dir_are_warnings(tmp_path):
    os.mkdir(tmp_path / "x.d")
    os.symlink("../gone", tmp_path / "x.d" / "gone")
    open(tmp_path / "x.d" / "a", "w").close()
    descs, errors = loaddir(tmp_path, {
        "boot": "type = internal\nwaits-for.d = x.d\ndepends-on.d = nodir.d\n", "a": P})
    assert errors == {}
    assert descs["boot"].waits_for == ["a"]
    warnings = [str(w).replace(str(tmp_path) + "/", "") for w in descs["boot"].warnings]
    assert warnings == ["boot:3: depends-on.d: nodir.d: No such file or directory",
                        "boot:2: waits-for.d: ignoring gone: no such service"]


def test_a_logfile_beside_log_type_buffer_or_none_is_ignored_with_a_warning(tmp_path):
    for kind in ("buffer", "none"):
        d = load(tmp_path, P + "logfile = /var/log/p\nlog-type = %s\n" % kind)
        assert d.logfile is None
        assert [str(w).replace(str(tmp_path) + "/", "") for w in d.warnings] == [
            "svc:2: logfile: ignored, log-type is %s" % kind]


def test_dot_d_entry_that_is_also_listed_explicitly_must_exist(tmp_path):
    os.mkdir(tmp_path / "x.d")
    open(tmp_path / "x.d" / "gone", "w").close()
    _, errors = loaddir(tmp_path, {"boot": "type = internal\nwaits-for.d = x.d\nwaits-for = gone\n"})
    assert errors == {"boot": "boot:3: dependency gone not found"}


# --- the whole set: missing dependencies, cycles, transitive failure ---------------------

def test_load_dir_skips_hidden_backup_and_dot_d(tmp_path):
    os.mkdir(tmp_path / "sub")
    os.mkdir(tmp_path / "x.d")
    descs, errors = loaddir(tmp_path, {"a": P, ".a.swp": "junk", "a~": "junk", "y.d": "junk"})
    assert (sorted(descs), errors) == (["a"], {})


@pytest.mark.parametrize("key", ["depends-on", "depends-ms", "waits-for"])
def test_missing_dependency(tmp_path, key):
    descs, errors = loaddir(tmp_path, {"a": P + "\n%s = ghost\n" % key, "b": P})
    assert errors == {"a": "a:3: dependency ghost not found"}
    assert sorted(descs) == ["b"]


def test_missing_chain_to_target(tmp_path):
    _, errors = loaddir(tmp_path, {"a": P + "chain-to = ghost\n"})
    assert errors == {"a": "a:2: chain-to service ghost not found"}


def test_before_and_after_a_missing_service_is_fine(tmp_path):
    descs, errors = loaddir(tmp_path, {"a": P + "before = ghost\nafter = ghost2\n"})
    assert errors == {} and descs["a"].before == ["ghost"]


def test_cycle_names_every_service_in_it(tmp_path):
    descs, errors = loaddir(tmp_path, {
        "a": P + "depends-on = b\n", "b": P + "waits-for = c\n", "c": P + "# x\ndepends-ms = a\n",
        "d": P + "waits-for = a\n", "e": P})
    assert errors == {"a": "a:2: dependency cycle: a -> b -> c -> a",
                      "b": "b:2: dependency cycle: b -> c -> a -> b",
                      "c": "c:3: dependency cycle: c -> a -> b -> c"}
    assert sorted(descs) == ["d", "e"]


def test_self_dependency_is_a_cycle(tmp_path):
    _, errors = loaddir(tmp_path, {"a": P + "depends-on = a\n"})
    assert errors == {"a": "a:2: dependency cycle: a -> a"}


def test_before_after_cycle(tmp_path):
    _, errors = loaddir(tmp_path, {"a": P + "after = b\n", "b": P + "after = a\n"})
    assert errors == {"a": "a:2: dependency cycle: a -> b -> a", "b": "b:2: dependency cycle: b -> a -> b"}


def test_before_is_the_reverse_of_after(tmp_path):
    descs, errors = loaddir(tmp_path, {"a": P + "before = b\n", "b": P + "before = a\n"})
    assert errors == {"a": "b:2: dependency cycle: a -> b -> a", "b": "a:2: dependency cycle: b -> a -> b"}
    descs, errors = loaddir(tmp_path, {"a": P + "before = b\n", "b": P + "after = a\n"})
    assert errors == {}


def test_hard_dependents_of_a_failed_service_fail_transitively(tmp_path):
    descs, errors = loaddir(tmp_path, {
        "bad": "type = nonsense\n", "a": P + "depends-on = bad\n", "b": P + "\ndepends-ms = a\n",
        "soft": P + "waits-for = bad\n", "c": P + "waits-for = b\n"})
    assert errors == {"bad": "bad:1: type: unknown type 'nonsense' (process, bgprocess, scripted, internal)",
                      "a": "a:2: dependency bad failed to load",
                      "b": "b:3: dependency a failed to load"}
    assert sorted(descs) == ["c", "soft"]


def test_hard_dependents_of_a_cycle_fail(tmp_path):
    _, errors = loaddir(tmp_path, {"a": P + "depends-on = b\n", "b": P + "depends-on = a\n",
                                   "top": P + "depends-on = a\n"})
    assert errors["top"] == "top:2: dependency a failed to load"


def test_deep_chain_of_services_is_not_a_recursion_problem(tmp_path):
    files = {"s0": "type = internal\n"}
    files.update(("s%d" % i, "type = internal\ndepends-on = s%d\n" % (i - 1)) for i in range(1, 1500))
    descs, errors = loaddir(tmp_path, files)
    assert errors == {} and len(descs) == 1500


def test_thousand_files_load(tmp_path):
    files = {"s%d" % i: "# service %d\ncommand = /bin/sleep 100 # nap\ndepends-on = s%d\n"
                        "restart = on-failure\nstop-timeout = 5\noptions: signal-process-only\n"
             % (i, i - 1) for i in range(1, 1000)}
    files["s0"] = "type = internal\n"
    descs, errors = loaddir(tmp_path, files)
    assert errors == {} and len(descs) == 1000
    assert descs["s999"].depends_on == ["s998"] and descs["s999"].stop_timeout == 5.0


def test_load_dir_of_missing_dir_raises(tmp_path):
    with pytest.raises(LoadError) as e:
        load_dir(str(tmp_path / "none"))
    assert str(e.value) == str(tmp_path / "none") + ": cannot read services dir: No such file or directory"


# --- templates: base@ files, base@arg instances ------------------------------------------

def test_template_instances_are_made_for_named_dependencies(tmp_path):
    descs, errors = loaddir(tmp_path, {
        "getty@": "command = /sbin/getty 38400 $1\ndepends-on = dev@$1\n",
        "dev@": "type = scripted\ncommand = /bin/wait-for /dev/${1}\n",
        "getty@tty3": "command = /bin/special\n",
        "boot": "type = internal\nwaits-for = getty@tty1\nwaits-for = getty@tty3\n"})
    assert errors == {}
    assert sorted(descs) == ["boot", "dev@tty1", "getty@tty1", "getty@tty3"]
    assert descs["getty@tty1"].command == ["/sbin/getty", "38400", "tty1"]
    assert descs["getty@tty1"].file == str(tmp_path / "getty@")
    assert descs["dev@tty1"].command == ["/bin/wait-for", "/dev/tty1"]
    assert descs["getty@tty3"].command == ["/bin/special"]


def test_instance_of_a_missing_template(tmp_path):
    _, errors = loaddir(tmp_path, {"boot": "type = internal\ndepends-on = getty@tty1\n"})
    assert errors == {"boot": "boot:2: dependency getty@tty1 not found"}


def test_bad_template_fails_the_instance_and_its_hard_dependents(tmp_path):
    _, errors = loaddir(tmp_path, {"t@": "command = /bin/x $1\nrestart = maybe\n",
                                   "boot": "type = internal\ndepends-on = t@a\n"})
    assert errors == {"t@a": "t@:2: restart: must be yes, true, no, false or on-failure, not 'maybe'",
                      "boot": "boot:2: dependency t@a failed to load"}


def test_env_files_in_the_services_dir_are_not_services(tmp_path):
    descs, errors = loaddir(tmp_path, {
        "web": P + "env-file = web.env\n",
        "web.env": "PORT=80\n",
        "db": P + "env-file = ./shared\n",
        "cache": P + "env-file = %s/shared\n" % tmp_path,     # absolute, into the dir
        "shared": "A=1\n# a comment\n",
        # Named by a service whose file fails after its env-file line: still an env-file.
        "broken": P + "env-file = broken.env\nrestart = maybe\n",
        "broken.env": "B=2\n",
        "stray": "C=3\n",          # named by nobody: a (bad) service file, said so
    })
    assert sorted(descs) == ["cache", "db", "web"]
    assert descs["web"].env == {"PORT": "80"} and descs["db"].env == {"A": "1"}
    assert sorted(errors) == ["broken", "stray"]
    assert errors["stray"] == "stray:1: unknown setting 'C'"


def test_an_env_file_elsewhere_leaves_a_same_named_service_alone(tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    write(other, "x", "A=1\n")
    sdir = tmp_path / "sv"
    sdir.mkdir()
    descs, errors = loaddir(sdir, {"a": P + "env-file = %s/x\n" % other, "x": P})
    assert sorted(descs) == ["a", "x"] and errors == {}


def test_find_file(tmp_path):
    from toybox.svcfile import find_file
    write(tmp_path, "a", P)
    write(tmp_path, "t@", P)
    write(tmp_path, "t@x", P)
    assert find_file(str(tmp_path), "a") == str(tmp_path / "a")
    assert find_file(str(tmp_path), "t@y") == str(tmp_path / "t@")
    assert find_file(str(tmp_path), "t@x") == str(tmp_path / "t@x")
    assert find_file(str(tmp_path), "nope") is None
    assert find_file(str(tmp_path), "../a") is None


def test_relative_services_dir_gives_absolute_paths(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    os.mkdir("sd")
    write(tmp_path / "sd", "a", P + "logfile = a.log\n")
    descs, errors = load_dir("sd")
    d = descs["a"]
    assert (d.file, d.working_dir, d.logfile) == ("sd/a", str(tmp_path / "sd"), str(tmp_path / "sd/a.log"))
