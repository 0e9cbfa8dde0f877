"""bench/: the least a supervisor written in Python does, the services case's floor.

    python3 -S floor_supervisor.py N BASE PROGRAM

Starts PROGRAM BASE+1 ... PROGRAM BASE+N, each in its own session with the supervisor's
environment (as svinit and Dinit give theirs), stdio on /dev/null; waits for SIGTERM;
then sends SIGTERM to every service's process group, reaps them all and exits. No
service files, no state, no pid files, no log, no control socket: what is left of the
start and stop figures is the interpreter's start and the kernel's work (spawning,
signalling and reaping), which every manager pays. It imports nothing but what the
interpreter has loaded anyway, so that its own start-up is the interpreter's.
"""
import os
import signal
import sys


def main():
    n, base, program = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    null = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
    actions = [(os.POSIX_SPAWN_DUP2, null, fd) for fd in (0, 1, 2)]
    env = dict(os.environ)
    pids = [os.posix_spawn(program, [program, str(base + i)], env, file_actions=actions,
                           setsid=True, setsigmask=(), setsigdef=(signal.SIGPIPE,))
            for i in range(1, n + 1)]
    signal.sigwait({signal.SIGTERM})
    for pid in pids:
        os.kill(-pid, signal.SIGTERM)
    for _ in pids:
        os.wait()
    os._exit(0)


main()
