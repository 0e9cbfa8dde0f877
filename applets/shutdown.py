"""usage: halt|poweroff|reboot [-fn] [-d SECONDS]

Stop every service in order, then halt, power off or reboot the machine.

It asks svinit (at $SVINIT_SOCKET, else /run/svinit.sock) for an ordered
shutdown and returns once svinit has accepted. If svinit can't be reached, it
asks PID 1 directly with the conventional signal: SIGUSR1 halt, SIGUSR2 power
off, SIGTERM reboot (only when PID 1 is this suite's oneit; run as PID 1
itself, it acts as with -f).

  -d SECONDS  wait this long first
  -f          force: don't ask anyone, sync and halt, power off or reboot now
              (reboot(2)); only on a machine whose PID 1 is this suite's oneit
  -n          with -f: don't sync first

Exit status: 0 when the shutdown was accepted, 1 when nobody could do it.

usage: shutdown [-h|-H|-P|-r] [TIME] [MESSAGE...]

Stop every service in order, then power off (the default), halt or reboot, as
`poweroff`, `halt` and `reboot` do.

  -h          power off (as most systems read `shutdown -h now`)
  -H          halt: stop the machine without powering it off
  -P          power off
  -r          reboot

TIME is `now` (the default), `+MINUTES` or `HH:MM` (the next time the clock
shows it). The announcement, with MESSAGE, goes to stderr; a later shutdown
waits in the foreground (interrupt it to cancel), then goes ahead as `poweroff`.
"""

from toybox import lib, protocol

OPTIONS = {
    "halt": ">0 fn d%",
    "poweroff": ">0 fn d%",
    "reboot": ">0 fn d%",
    "shutdown": "^ hHPr [!hHPr]",
}

SIGNALS = {"halt": "SIGUSR1", "poweroff": "SIGUSR2", "reboot": "SIGTERM"}
WORDS = {"halt": "halt", "poweroff": "power off", "reboot": "reboot"}


def main(ctx):
    if ctx.name == "shutdown":
        return shutdown(ctx)
    how = ctx.name
    if ctx.opts.d:
        sleep(ctx.opts.d)
    if ctx.opts.f:
        return force(how, sync=not ctx.opts.n)
    return request(how)


def shutdown(ctx):
    o = ctx.opts
    how = "halt" if o.H else "reboot" if o.r else "poweroff"
    args = ctx.args
    delay = parse_time(args[0]) if args else 0
    message = " ".join(args[1:])
    if delay:
        import time
        at = time.strftime("%H:%M", time.localtime(time.time() + delay))
        lib.warn("the system will %s at %s (in %s)%s"
                 % (WORDS[how], at, minutes(delay), ": " + message if message else ""))
        sleep(delay)
    lib.warn("the system is going down to %s NOW%s" % (WORDS[how], ": " + message if message else ""))
    return request(how)


def parse_time(text):
    """Seconds until TIME: `now`, `+MINUTES` or `HH:MM` (the next such time)."""
    if text == "now":
        return 0
    if text.startswith("+") and text[1:].isdigit():
        return int(text[1:]) * 60
    hh, colon, mm = text.partition(":")
    if colon and hh.isdigit() and mm.isdigit() and len(mm) == 2 and int(hh) < 24 and int(mm) < 60:
        import time
        now = time.localtime()
        target = int(hh) * 3600 + int(mm) * 60
        current = now.tm_hour * 3600 + now.tm_min * 60 + now.tm_sec
        return (target - current) % 86400
    raise lib.Usage("bad time '%s': use now, +MINUTES or HH:MM" % text)


def minutes(seconds):
    m = (int(seconds) + 59) // 60
    return "%d minute%s" % (m, "" if m == 1 else "s")


def sleep(seconds):
    import time
    time.sleep(seconds)


def request(how):
    """Ask svinit; failing that, PID 1; failing that, say why and exit 1."""
    path = protocol.socket_path()
    try:
        reply = protocol.call(path, protocol.request("shutdown", how=how))
    except (protocol.Unreachable, TimeoutError, protocol.ProtocolError, OSError) as e:
        why = str(e) if isinstance(e, (protocol.Unreachable, TimeoutError)) else \
              "svinit at %s: %s" % (path, e)
        return fallback(how, why)
    if reply.get("ok"):
        return 0
    raise lib.Fail("svinit refused: %s" % (reply.get("error") or reply.get("code")))


def fallback(how, why):
    from toybox import syscalls
    if syscalls.is_pid1():
        # Nobody above us to ask: as PID 1 this is the machine's last word.
        lib.warn("%s; as PID 1, doing it directly" % why)
        return force(how, sync=True)
    import _signal
    sig = getattr(_signal, SIGNALS[how])
    try:
        syscalls.check_init_signal()
    except syscalls.Refused as e:
        raise lib.Fail("%s; and %s" % (why, e.strerror)) from None
    # Said before it is done: the signal may end this process's whole world (a container's
    # oneit exits, and the kernel kills what is left) before a line written after it.
    lib.warn("%s; sending %s to PID 1 (oneit) to %s" % (why, SIGNALS[how], WORDS[how]))
    try:
        syscalls.signal_init(sig)
    except OSError as e:
        raise lib.Fail("signalling PID 1: %s" % lib.strerror(e)) from None
    return 0


def force(how, sync):
    from toybox import syscalls
    if sync:
        syscalls.sync()
    try:
        syscalls.reboot_now(how)
    except syscalls.Refused as e:
        raise lib.Fail(e.strerror) from None
    except OSError as e:
        raise lib.Fail("reboot(2) %s: %s" % (how, lib.strerror(e))) from None
    raise lib.Fail("reboot(2) %s returned: the machine is still up" % how)
