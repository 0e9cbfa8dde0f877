"""What oneit (PID 1) and its child (svinit, PID 2) exchange, declared once.

Exit reports (`oneit -3`): the child reads fd 3. Each record is one reaped
orphan: its PID as a native signed 32-bit integer (toybox's format), or with
`oneit -3 -S` the PID then the raw wait status, both 32-bit native (8 bytes).
oneit tells the child which format it writes in ONEIT_REPORT_FORMAT; a child of
toybox's own oneit finds the variable unset and must expect 4-byte records
(which, by an upstream bug, carry the child's own PID, not the orphan's).

Heartbeat (`oneit -w SECONDS`): oneit passes the write end of a pipe whose fd
number is in ONEIT_HEARTBEAT_FD and the period in ONEIT_HEARTBEAT_SECONDS; the
child writes any byte to it at least once per period or is killed (SIGKILL). A
child done with its shutdown writes HEARTBEAT_DONE there just before it signals
oneit to halt, power off or reboot: oneit acts on that signal at once, instead of
first asking the child to stop its services (as for a signal from elsewhere).

ONEIT_PID is oneit's PID, so the child can tell that its parent is oneit (and
not whatever adopted it) before asking it to halt, power off or reboot.
ONEIT_CONTAINER=1 says oneit is in container mode: it halts nothing, and passes the
halt, power-off and reboot signals on to the child; a child done with its shutdown
sends it SIGTERM instead, which oneit passes back, and then exits: oneit exits with
its status.
"""
import _signal

# The other inits' signals for halt, power off and reboot, which both take besides oneit's
# own (USR1, USR2, TERM): busybox's SIGPWR, and systemd's SIGRTMIN+3/4/5 (a container
# image's STOPSIGNAL, which a container-mode oneit passes on).
OTHER_INIT_SIGNALS = {_signal.SIGPWR: "halt", _signal.SIGRTMIN + 3: "halt",
                      _signal.SIGRTMIN + 4: "poweroff", _signal.SIGRTMIN + 5: "reboot"}

REPORT_FD = 3
ENV_FORMAT = "ONEIT_REPORT_FORMAT"
FORMAT_PID = "pid"               # 4-byte records (toybox compatible)
FORMAT_PID_STATUS = "pid-status"  # 8-byte records
ENV_HEARTBEAT_FD = "ONEIT_HEARTBEAT_FD"
ENV_HEARTBEAT_SECONDS = "ONEIT_HEARTBEAT_SECONDS"
HEARTBEAT_DONE = b"!"
ENV_PID = "ONEIT_PID"
ENV_CONTAINER = "ONEIT_CONTAINER"

_structs = {}


def _struct(fmt):
    # struct is imported on first use: `oneit --help` and `ctl` need none of it.
    if fmt not in _structs:
        import struct
        _structs[fmt] = struct.Struct("=ii" if fmt == FORMAT_PID_STATUS else "=i")
    return _structs[fmt]


def record_size(fmt):
    return 8 if fmt == FORMAT_PID_STATUS else 4


def pack(pid, status, fmt):
    if fmt == FORMAT_PID_STATUS:
        return _struct(fmt).pack(pid, status)
    return _struct(fmt).pack(pid)


def unpack(buf, fmt):
    """Complete records in `buf` as [(pid, status or None)], and the leftover bytes."""
    size = record_size(fmt)
    end = len(buf) - len(buf) % size
    if fmt == FORMAT_PID_STATUS:
        out = list(_struct(fmt).iter_unpack(buf[:end]))
    else:
        out = [(pid, None) for (pid,) in _struct(fmt).iter_unpack(buf[:end])]
    return out, buf[end:]
