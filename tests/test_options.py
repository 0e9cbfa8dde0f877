"""The option-string grammar, as applets see it."""
import pytest

from toybox.options import Grammar, UsageError, parse

ONEIT_LIKE = "^<1 c:prn3S w% C [!pn]"


def test_grouped_flags_and_attached_argument():
    opts, args = parse(ONEIT_LIKE, ["-rn3", "-c/dev/ttyS0", "sh", "-x"])
    assert (opts.r, opts.n, opts["3"], opts.p, opts.c) == (1, 1, 1, 0, "/dev/ttyS0")
    assert args == ["sh", "-x"]


def test_separate_argument_and_seconds():
    opts, args = parse(ONEIT_LIKE, ["-c", "/dev/console", "-w", "2.5", "cmd"])
    assert opts.c == "/dev/console" and opts.w == 2.5 and args == ["cmd"]


def test_caret_stops_at_first_argument():
    _, args = parse(ONEIT_LIKE, ["cmd", "-p"])
    assert args == ["cmd", "-p"]


def test_without_caret_options_may_follow_arguments():
    opts, args = parse("(socket): (json) f(force) n#", ["status", "--json", "x", "--socket=/s", "-n", "5"])
    assert args == ["status", "x"]
    assert (opts.json, opts.socket, opts.force, opts.n) == (1, "/s", 0, 5)


def test_long_option_with_separate_value_and_alias():
    opts, _ = parse("s(socket):", ["--socket", "/a"])
    assert opts.s == "/a" and opts.socket == "/a"


def test_double_dash_ends_options():
    opts, args = parse("f", ["--", "-f"])
    assert opts.f == 0 and args == ["-f"]


def test_lone_dash_is_an_argument():
    assert parse("f", ["-"])[1] == ["-"]


def test_repeated_flag_counts_and_lists():
    opts, _ = parse("v e:*", ["-vv", "-ea", "-e", "b"])
    assert opts.v == 2 and opts.e == ["a", "b"]


def test_defaults():
    opts, _ = parse("f c: e:* (no-wait)", [])
    assert (opts.f, opts.c, opts.e, opts.no_wait) == (0, None, [], 0)


def test_unknown_attribute_is_an_error():
    opts, _ = parse("f", [])
    with pytest.raises(AttributeError):
        opts.g


@pytest.mark.parametrize("argv, message", [
    (["-x"], "unknown option 'x'"),
    (["--bogus"], "unknown option '--bogus'"),
    (["-c"], "option 'c' needs an argument"),
    (["-p", "-n", "a"], "options -p and -n can't be used together"),
    ([], "needs at least 1 argument"),
    (["-w", "soon", "a"], "option 'w' needs a number of seconds, not 'soon'"),
    (["-w", "-1", "a"], "option 'w' needs a number of seconds, not '-1'"),
])
def test_errors(argv, message):
    with pytest.raises(UsageError) as e:
        parse(ONEIT_LIKE, argv)
    assert str(e.value) == message


def test_integer_and_argument_count_errors():
    with pytest.raises(UsageError, match="option 'n' needs an integer, not 'x'"):
        parse("n#", ["-n", "x"])
    with pytest.raises(UsageError, match="too many arguments"):
        parse(">1", ["a", "b"])
    with pytest.raises(UsageError, match="option '--json' takes no argument"):
        parse("(json)", ["--json=1"])


def test_flag_names_lists_every_spelling():
    assert Grammar("^ s(socket): (json) 3").flag_names() == {"-s", "--socket", "--json", "-3"}


def test_bad_option_string_is_rejected():
    with pytest.raises(ValueError):
        Grammar("ff")


def test_a_space_ends_a_flags_long_names():
    opts, _ = parse("q(quiet) (no-wait) (force)", ["--no-wait"])
    assert (opts.q, opts.no_wait, opts.force) == (0, 1, 0)
    opts, _ = parse("q(quiet)(silent)", ["--silent"])
    assert opts.q == 1 and opts.quiet == 1


def test_a_path_may_not_be_empty():
    opts, _ = parse("s(socket)/ e/*", ["-s", "/a", "-e", "b", "-ec"])
    assert opts.socket == "/a" and opts.e == ["b", "c"]
    for argv, label in ((["-s", ""], "s"), (["--socket="], "s"), (["--socket", ""], "s"),
                        (["-e", ""], "e")):
        with pytest.raises(UsageError) as e:
            parse("s(socket)/ e/*", argv)
        assert str(e.value) == "option '%s' needs a path, not an empty string" % label


@pytest.mark.parametrize("applet, argv, label", [
    ("svinit", ["-s", ""], "s"), ("svinit", ["--pid-dir="], "p"), ("svinit", ["-d", "", "boot"], "d"),
    ("svinit", ["--inittab", ""], "--inittab"), ("ctl", ["-s", "", "list"], "s"),
    ("oneit", ["-c", "", "true"], "c"),
])
def test_an_empty_path_is_a_usage_error_not_the_default(applet, argv, label, monkeypatch, capsys):
    # In process, with the applet's main replaced: without the check, svinit would run
    # on the system's own /run/svinit.
    from toybox import lib, main as dispatcher
    module = dispatcher.load(applet)
    monkeypatch.setattr(module, "main", lambda ctx: pytest.fail("%s ran with %r" % (applet, ctx.opts)))
    monkeypatch.setattr(lib, "NAME", lib.NAME)
    monkeypatch.setattr(dispatcher, "INVOKED", dispatcher.INVOKED)
    assert dispatcher.run_applet(applet, argv) == 1
    assert capsys.readouterr().err == (
        "%s: option '%s' needs a path, not an empty string (see \"%s --help\")\n" % (applet, label, applet))
