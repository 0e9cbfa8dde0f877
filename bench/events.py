"""The kernel's process events (the proc connector, netlink): when each exec and exit
happened, stamped by the kernel (CLOCK_MONOTONIC, ns), without polling /proc.

Why: the start and stop figures were taken by polling /proc every few milliseconds
while the managers worked; on a kernel without /proc/PID/task/TID/children (this one)
each poll reads every process's stat, so the observer used a good part of a CPU beside
what it measured (svinit's start of 1000 read ~50 ms less with a 10 ms poll than with
a 2 ms one, Dinit's ~20 ms) and its figures came in steps of one poll. With events the
observer reads its queue now and then, and the times are the kernel's.

Root only (CAP_NET_ADMIN), and a kernel with CONFIG_PROC_EVENTS: Events() raises
OSError without them, and the cases fall back to polling.
"""
import errno
import os
import socket
import struct
import time

NETLINK_CONNECTOR = 11
CN_IDX_PROC = 1
CN_VAL_PROC = 1
PROC_CN_MCAST_LISTEN = 1
NLMSG_DONE = 3
PROC_EVENT_EXEC = 0x00000002
PROC_EVENT_EXIT = 0x80000000
NLMSG_HDR = struct.Struct("=IHHII")          # len, type, flags, seq, pid
CN_MSG = struct.Struct("=IIIIHH")            # idx, val, seq, ack, len, flags
EVENT = struct.Struct("=IIQ")                # what, cpu, timestamp_ns
EVENT_AT = NLMSG_HDR.size + CN_MSG.size
PIDS_AT = EVENT_AT + EVENT.size
RCVBUF = 64 << 20   # every fork, exec and exit of the machine queues here between reads


class Lost(RuntimeError):
    """The kernel dropped events (the queue was full): a figure from them can't be trusted."""


class Events:
    """Exec and exit events since the subscription: take() gives those queued."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM | socket.SOCK_NONBLOCK
                                  | socket.SOCK_CLOEXEC, NETLINK_CONNECTOR)
        try:
            try:
                self.sock.setsockopt(socket.SOL_SOCKET, 33, RCVBUF)     # SO_RCVBUFFORCE
            except OSError:
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
            self.sock.bind((0, CN_IDX_PROC))
            op = struct.pack("=I", PROC_CN_MCAST_LISTEN)
            msg = CN_MSG.pack(CN_IDX_PROC, CN_VAL_PROC, 0, 0, len(op), 0) + op
            self.sock.send(NLMSG_HDR.pack(NLMSG_HDR.size + len(msg), NLMSG_DONE, 0, 0, 0) + msg)
        except OSError:
            self.sock.close()
            raise
        self.lost = False

    def take(self):
        """[(what, pid, timestamp_ns)] of the exec and exit events queued (what is "exec"
        or "exit"; pid the process's, its thread group id). Sets .lost if the kernel
        dropped some (a full queue): wait_execs() and wait_exits() raise Lost then."""
        out = []
        while True:
            try:
                data = self.sock.recv(65536)
            except BlockingIOError:
                return out
            except OSError as e:
                if e.errno != errno.ENOBUFS:
                    raise
                self.lost = True    # the queue overflowed: events were dropped
                continue
            at = 0
            while at + PIDS_AT + 8 <= len(data):
                size = NLMSG_HDR.unpack_from(data, at)[0]
                what, _, stamp = EVENT.unpack_from(data, at + EVENT_AT)
                if what == PROC_EVENT_EXEC:
                    out.append(("exec", struct.unpack_from("=i", data, at + PIDS_AT + 4)[0], stamp))
                elif what == PROC_EVENT_EXIT:
                    pid, tgid = struct.unpack_from("=ii", data, at + PIDS_AT)
                    if pid == tgid:     # the process, not one of its threads
                        out.append(("exit", tgid, stamp))
                if size < NLMSG_HDR.size:
                    break
                at += (size + 3) & ~3

    def close(self):
        self.sock.close()


def open_events():
    """Events(), or None where the kernel's proc connector can't be had (not root, no
    CONFIG_PROC_EVENTS)."""
    if os.geteuid() != 0:
        return None
    try:
        return Events()
    except OSError:
        return None


def _checked(events):
    """events.take(), or Lost if any event of the measurement was dropped."""
    got = events.take()
    if events.lost:
        raise Lost("the kernel dropped process events (its queue was full)")
    return got


def wait_execs(events, number, wanted, timeout, alive=lambda: True, interval=0.005):
    """Wait for the execs that make the processes of services `wanted` (numbers; number(pid)
    tells a process's service number, None for other processes). Returns {n: timestamp_ns
    of the last exec of n's process}, complete, or what it had when alive() turned false
    or timeout seconds went by; Lost if the kernel dropped events. A process may exec more
    than once on its way (a run script's shell execs the service): its last exec is the
    one that counts, so once all are seen the queue is read once more after a short while."""
    got = {}
    wanted = set(wanted)
    end = time.monotonic() + timeout

    def read():
        for what, pid, stamp in _checked(events):
            if what == "exec":
                n = number(pid)
                if n in wanted and stamp > got.get(n, 0):
                    got[n] = stamp

    while True:
        read()
        if len(got) == len(wanted):
            time.sleep(0.02)
            read()
            return got
        if not alive() or time.monotonic() > end:
            return got
        time.sleep(interval)


def wait_exits(events, pids, timeout, interval=0.002):
    """Wait for the exits of `pids`: {pid: timestamp_ns} for all of them, or those seen by
    timeout seconds; Lost if the kernel dropped events."""
    got = {}
    pids = set(pids)
    end = time.monotonic() + timeout
    while True:
        for what, pid, stamp in _checked(events):
            if what == "exit" and pid in pids:
                got[pid] = stamp
        if len(got) == len(pids) or time.monotonic() > end:
            return got
        time.sleep(interval)
