"""Workload run as the child of a container init: N orphans exit at once; how long until
the init has reaped them all, and the init's RSS.

usage: orphans_workload.py N RESULT_FILE

An intermediate process forks N sleepers and exits, so they are reparented to the init;
closing a pipe then makes them all exit together. We poll /proc until no process whose
parent is the init remains but us, and write "seconds rss_kb" to RESULT_FILE.
"""
import os
import sys
import time


def children_of(ppid, me):
    n = 0
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
            n += 1
    return n


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
    while children_of(init, me) < n:
        time.sleep(0.001)
    t0 = time.perf_counter()
    os.close(w)
    while children_of(init, me):
        time.sleep(0.0005)
    elapsed = time.perf_counter() - t0
    with open(result, "w") as f:
        f.write("%f %d\n" % (elapsed, rss_kb(init)))


main()
