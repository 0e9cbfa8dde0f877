"""Workload run as the child of a container init: N orphans exit at once; how long until
the init has reaped them all, and the init's RSS.

usage: orphans_workload.py N RESULT_FILE

An intermediate process forks N sleepers and exits, so they are reparented to the init;
closing a pipe then makes them all exit together. We then look every 0.5 ms for the
/proc entries of those still there (a zombie keeps its entry until it is reaped) until
none is left, and write "seconds rss_kb" to RESULT_FILE. (A scan of all of /proc took
~25 ms with the 1000 orphans there, against ~3 ms for this first look: the figure came
in steps of a scan, and the scans kept a CPU busy beside the init and the exiting
processes.)
"""
import os
import posix
import sys
import time


def children_of(ppid, me):
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == me:
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                text = f.read()
        except OSError:
            continue
        fields = text[text.rfind(")") + 2:].split()
        if int(fields[1]) == ppid:
            out.append(int(entry))
    return out


def still_there(pids):
    """Those of `pids` the kernel still has (a zombie has its /proc entry until reaped)."""
    out = []
    for pid in pids:
        try:
            posix.stat("/proc/%d" % pid)
        except FileNotFoundError:
            continue
        out.append(pid)
    return out


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def main():
    n, result = int(sys.argv[1]), sys.argv[2]
    init, me = os.getppid(), os.getpid()
    r, w = os.pipe()
    ready_r, ready_w = os.pipe()
    mid = os.fork()
    if mid == 0:
        os.close(w)
        os.close(ready_r)
        for _ in range(n):
            if os.fork() == 0:
                os.close(ready_w)
                os.read(r, 1)
                os._exit(0)
        os.close(ready_w)
        os._exit(0)
    os.close(r)
    os.close(ready_w)
    os.read(ready_r, 1)           # EOF once the intermediate and all sleepers closed it
    os.waitpid(mid, 0)
    while len(children_of(init, me)) < n:
        time.sleep(0.001)
    left = children_of(init, me)
    t0 = time.perf_counter()
    os.close(w)
    while left:
        time.sleep(0.0005)
        left = still_there(left)
    elapsed = time.perf_counter() - t0
    with open(result, "w") as f:
        f.write("%f %d\n" % (elapsed, rss_kb(init)))


main()
