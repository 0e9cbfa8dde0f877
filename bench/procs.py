"""Process trees under /proc, for the cases that start supervisors: find the service
processes, measure the tree's memory, and kill it all by PID afterwards.

The benchmark process makes itself a child subreaper (reaper()), so processes
orphaned by a killed supervisor come back to it and are reaped here by PID, not
left as zombies under the machine's PID 1 (which does not reap them on this host).
"""
import os
import signal
import time

from toybox import proc, syscalls


def cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read()
    except OSError:
        return b""


children = proc.children
descendants = proc.descendants


def gone(pid):
    return not proc.alive(pid)


def memory_kb(pids):
    """(PSS, RSS) in kB summed over pids, from /proc/PID/smaps_rollup. PSS shares
    each library page among the processes mapping it: the fair figure for a tree
    of a thousand small supervisors."""
    pss = rss = 0
    for pid in pids:
        try:
            with open("/proc/%d/smaps_rollup" % pid) as f:
                for line in f:
                    if line.startswith("Pss:"):
                        pss += int(line.split()[1])
                    elif line.startswith("Rss:"):
                        rss += int(line.split()[1])
        except OSError:
            pass
    return pss, rss


class Services:
    """Finds the processes of services s1..sN, each running `/bin/sleep BASE+i` (a
    command line no other process has), among the children (depth 1) or
    grandchildren (depth 2: runsvdir -> runsv -> sleep) of a supervisor.

    A process found stays found (exec is one-way), so a poll re-reads only what
    is new: cheap enough to poll every few milliseconds with a thousand services."""

    def __init__(self, root, depth, base):
        self.root = root
        self.depth = depth
        self.base = base
        self.pids = {}          # service number -> pid
        self.by_pid = {}        # pid -> service number
        self.parent = {}        # service number -> its supervisor (depth 2)
        self.covered = set()    # depth-2 supervisors whose service was found
        self.dead = set()       # killed: until it has exited its command line still matches

    def number(self, pid):
        words = cmdline(pid).split(b"\0")
        if len(words) == 3 and words[0] == b"/bin/sleep" and words[1].isdigit():
            n = int(words[1]) - self.base
            if n > 0:
                return n
        return None

    def poll(self):
        """Look for new service processes; returns how many services have one."""
        if self.depth == 1:
            parents = [self.root]
        else:
            parents = [p for p in children(self.root) if p not in self.covered]
        for parent in parents:
            for pid in children(parent):
                if pid in self.by_pid or pid in self.dead:
                    continue
                n = self.number(pid)
                if n is not None:
                    self.pids[n] = pid
                    self.by_pid[pid] = n
                    if self.depth == 2:
                        self.parent[n] = parent
                        self.covered.add(parent)
        return len(self.pids)

    def forget(self, n):
        """Service n's process is about to die: the next poll looks for its successor."""
        pid = self.pids.pop(n)
        del self.by_pid[pid]
        self.dead.add(pid)
        self.covered.discard(self.parent.pop(n, None))
        return pid

    def supervisors(self):
        """The supervision tree: the root and, at depth 2, the per-service supervisors."""
        return [self.root] + (children(self.root) if self.depth == 2 else [])


def wait_for(predicate, timeout, interval=0.002):
    """Poll predicate until true; returns the time it took, or None on timeout."""
    t0 = time.perf_counter()
    while True:
        if predicate():
            return time.perf_counter() - t0
        if time.perf_counter() - t0 > timeout:
            return None
        time.sleep(interval)


def reaper():
    """Make this process the subreaper of everything the benchmarks start."""
    syscalls.set_subreaper()


def reap_zombies(keep=(), among=None):
    """Reap our zombie children (orphans that came to us), by PID; `keep` are
    children a subprocess.Popen object will wait for itself. With `among`, only
    those PIDs: for a process whose other children are others' to wait for."""
    me = os.getpid()
    for pid in children(me):
        if among is not None and pid not in among:
            continue
        st = proc.stat(pid)
        if pid not in keep and st is not None and st.state == "Z":
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass


def kill_tree(root, timeout=10.0, keep=(), tree_only=False):
    """SIGKILL root and all its descendants, the supervisors before the services (so
    nothing is restarted in between), then wait until they are gone, reaping those
    that were orphaned to us (but `keep`, see reap_zombies; with tree_only, no zombie
    child of ours outside this tree). Returns the PIDs still there after timeout
    (none, normally)."""
    tree = [root] + descendants(root)
    among = set(tree) if tree_only else None
    for pid in tree:
        try:
            syscalls.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    deadline = time.monotonic() + timeout
    left = tree
    while left and time.monotonic() < deadline:
        reap_zombies(keep, among)
        left = [p for p in left if not gone(p)]
        if left:
            time.sleep(0.01)
    reap_zombies(keep, among)
    return left
