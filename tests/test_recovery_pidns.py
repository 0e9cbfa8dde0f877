"""Recovery with oneit as PID 1 of a PID namespace (root): `unshare --pid --fork
--mount-proc oneit -C -r -3 -S svinit ...`. oneit there is the namespace's init, so the
killed svinit's services are re-parented to it as they would be to PID 1 of a machine
(no subreaper involved); svinit reports the namespace's PIDs."""
import os
import shutil

import pytest

from test_recovery_lib import supervised, read_file  # noqa: F401  (fixture)
from test_recovery_stress import kill_and_check, services

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("unshare"),
                                reason="needs root and unshare(1)")

UNSHARE = ("unshare", "--pid", "--fork", "--mount-proc", "--kill-child")


def inner(pid):
    """The PID a process of ours has in the namespace it lives in (NSpid's last)."""
    for line in read_file("/proc/%d/status" % pid).decode().splitlines():
        if line.startswith("NSpid:"):
            return int(line.split()[-1])
    return None


def test_kills_with_oneit_as_pid_1_of_a_namespace(supervised):
    sv = supervised(services(), prefix=UNSHARE, oneit_args=("-C", "-r", "-3", "-S"), fast=True)
    oneit = [p for p in sv.pids_by_name(b"/oneit")]
    assert [inner(p) for p in oneit] == [1]
    assert inner(sv.svinit_pid()) > 1
    kill_and_check(sv, 20, inner)
