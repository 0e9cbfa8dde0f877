"""Peers to measure against: installed from the distribution, Dinit built from ../shared/peers.

Each ensure_* returns the path of the peer's main program, or raises Unavailable with
the reason (the table then says so; a case is never hidden)."""
import glob
import os
import shutil
import subprocess

from bench.common import REPO

CACHE = os.path.join(REPO, ".cache", "peers")

PACKAGES = {           # program -> Debian package
    "tini": "tini",
    "dumb-init": "dumb-init",
    "runsvdir": "runit",
    "sv": "runit",
    "s6-svscan": "s6",
    "s6-svstat": "s6",
    "supervisord": "supervisor",
    "supervisorctl": "supervisor",
    "busybox": "busybox-static",
}


class Unavailable(Exception):
    pass


_updated = False


def ensure_program(name):
    path = shutil.which(name) or shutil.which(name, path="/usr/bin:/usr/sbin:/bin:/sbin")
    if path:
        return path
    pkg = PACKAGES.get(name)
    if pkg is None or os.geteuid() != 0:
        raise Unavailable("%s not installed" % name)
    global _updated
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for attempt in range(2):
        r = subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", pkg],
                           capture_output=True, env=env, stdin=subprocess.DEVNULL, timeout=600)
        if r.returncode == 0:
            break
        if _updated:
            break
        subprocess.run(["apt-get", "update", "-qq"], capture_output=True, env=env, timeout=600)
        _updated = True
    path = shutil.which(name, path="/usr/bin:/usr/sbin:/bin:/sbin")
    if not path:
        raise Unavailable("could not install %s (package %s)" % (name, pkg))
    return path


def ensure_dinit():
    """(dinit, dinitctl) built from the source snapshot beside the project."""
    out = os.path.join(CACHE, "dinit")
    dinit, dinitctl = os.path.join(out, "src", "dinit"), os.path.join(out, "src", "dinitctl")
    if os.access(dinit, os.X_OK) and os.access(dinitctl, os.X_OK):
        return dinit, dinitctl
    tarballs = sorted(glob.glob(os.path.join(os.path.dirname(REPO), "shared", "peers", "dinit-*.tar.gz")))
    if not tarballs:
        raise Unavailable("no Dinit source snapshot in ../shared/peers")
    if not (shutil.which("g++") and shutil.which("make")):
        raise Unavailable("g++ and make are needed to build Dinit")
    os.makedirs(CACHE, exist_ok=True)
    shutil.rmtree(out, ignore_errors=True)
    tmp = out + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    subprocess.run(["tar", "xzf", tarballs[-1], "-C", tmp, "--strip-components=1"], check=True)
    # Not the top-level `make`: its man pages need m4, which a fresh machine lacks.
    for cmd in (["./configure"], ["make", "-C", "build", "all"], ["make", "-j2", "-C", "src", "all"]):
        r = subprocess.run(cmd, cwd=tmp, capture_output=True, timeout=900)
        if r.returncode != 0:
            raise Unavailable("building Dinit failed: %s" % r.stderr.decode(errors="replace")[-300:])
    os.rename(tmp, out)
    return dinit, dinitctl
