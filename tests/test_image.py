"""The initramfs: reproducible, complete, and its interpreter finds every module (no QEMU)."""
import os
import stat
import subprocess
import sys

import pytest

from qemu import REPO, build_image

sys.path.insert(0, os.path.join(REPO, "initramfs"))
import mkimage  # noqa: E402

from toybox.main import list_names  # noqa: E402

EPOCH = 1234567890


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    return build_image(tmp_path_factory.mktemp("img") / "a.cpio", epoch=EPOCH)


@pytest.fixture(scope="module")
def entries(image):
    return {name: (mode, rdev, data, mtime, uid, gid)
            for name, mode, rdev, data, mtime, uid, gid in mkimage.read_cpio(image)}


def test_two_builds_are_byte_identical(image, tmp_path):
    again = build_image(tmp_path / "b.cpio", epoch=EPOCH)
    with open(image, "rb") as a, open(again, "rb") as b:
        assert a.read() == b.read()


def test_plain_by_default_gzip_for_a_gz_name_and_reproducible_too(image, tmp_path):
    with open(image, "rb") as f:
        plain = f.read()
    assert plain[:6] == b"070701"
    gz = build_image(tmp_path / "c.cpio.gz", epoch=EPOCH)
    with open(gz, "rb") as f:
        data = f.read()
    # No name, mtime 0 (bytes 4-7) in the header: the same archive, the same bytes.
    assert data[:4] == b"\x1f\x8b\x08\x00" and data[4:8] == b"\0\0\0\0"
    assert mkimage.compress(plain) == data


def test_entries_sorted_owned_by_root_stamped_with_source_date_epoch(image):
    names = [e[0] for e in mkimage.read_cpio(image)]
    assert names == sorted(names)
    seen = set()
    for name, mode, rdev, data, mtime, uid, gid in mkimage.read_cpio(image):
        assert (uid, gid, mtime) == (0, 0, EPOCH), name
        parent = os.path.dirname(name)
        assert not parent or parent in seen, "%s comes before its directory" % name
        seen.add(name)


def test_device_nodes(entries):
    for name, (major, minor) in {"dev/console": (5, 1), "dev/null": (1, 3), "dev/urandom": (1, 9),
                                 "dev/tty": (5, 0), "dev/ttyS0": (4, 64), "dev/kmsg": (1, 11)}.items():
        mode, rdev = entries[name][:2]
        assert stat.S_ISCHR(mode) and rdev == (major, minor), name


def link(entries, name):
    mode, _, data = entries[name][:3]
    assert stat.S_ISLNK(mode), "%s is not a symlink" % name
    return data.decode()


def test_init_and_applet_links_run_the_toybox_launcher(entries):
    assert link(entries, "init") == "sbin/init"
    for name in list_names():
        where = "bin/" if name == "ctl" else "sbin/"
        assert link(entries, where + name) == "/bin/toybox"
    mode, _, data = entries["bin/toybox"][:3]
    assert mode & 0o111
    first = data.decode().splitlines()[0]
    # -S only: -E or -I would make Python ignore PYTHONHASHSEED from the kernel command line.
    assert first.startswith("#!/usr/bin/python3") and first.endswith(" -S")
    assert "'/usr/lib/toybox'" in data.decode()


def test_python_its_libraries_and_only_compiled_stdlib(entries):
    pyver = next(n for n in entries if n.startswith("usr/bin/python3."))
    stdlib = "usr/lib/" + os.path.basename(pyver) + "/"
    for must in ("lib64/ld-linux-x86-64.so.2", stdlib + "os.pyc", stdlib + "encodings/__init__.pyc",
                 stdlib + "encodings/utf_8.pyc", "usr/lib/toybox/toybox/main.py",
                 "usr/lib/toybox/applets/oneit.py", "bin/busybox", "bin/sh"):
        assert must in entries, must
    assert any(n.startswith("lib/x86_64-linux-gnu/libc.so") for n in entries)
    mods = [n for n in entries if n.startswith(stdlib)]
    assert not [n for n in mods if n.endswith(".py")], "stdlib shipped as sources"
    # Computed from the code, not the whole library: nothing the applets never import.
    for heavy in ("asyncio/__init__.pyc", "subprocess.pyc", "argparse.pyc", "http/__init__.pyc"):
        assert stdlib + heavy not in entries
    assert len(mods) < 120


def test_encoding_aliases_cut_to_the_packed_codecs(entries):
    import encodings.aliases
    import marshal
    pyver = next(n for n in entries if n.startswith("usr/bin/python3."))
    enc = "usr/lib/" + os.path.basename(pyver) + "/encodings/"
    ns = {}
    exec(marshal.loads(entries[enc + "aliases.pyc"][2][16:]), ns)
    packed = {n[len(enc):-len(".pyc")] for n in entries if n.startswith(enc) and n.endswith(".pyc")}
    whole = encodings.aliases.aliases
    # Every alias of a packed codec is kept, and nothing else.
    assert ns["aliases"] == {k: v for k, v in whole.items() if v in packed}
    assert ns["aliases"]["utf8"] == "utf_8" and "latin1" not in ns["aliases"]


def test_busybox_does_not_shadow_toybox_applets(entries):
    assert link(entries, "bin/sh") == "/bin/busybox"
    assert link(entries, "sbin/poweroff") == "/bin/toybox"
    assert "linuxrc" not in entries


def test_rootfs_and_overlay(tmp_path):
    overlay = tmp_path / "overlay"
    (overlay / "etc" / "svinit.d").mkdir(parents=True)
    (overlay / "etc" / "svinit.d" / "extra").write_text("type = internal\n")
    (overlay / "etc" / "hostname").write_text("other\n")
    img = build_image(tmp_path / "o.cpio", overlays=[overlay])
    got = {e[0]: e[3] for e in mkimage.read_cpio(img)}
    assert got["etc/svinit.d/extra"] == b"type = internal\n"
    assert got["etc/hostname"] == b"other\n"
    assert "etc/svinit.d/boot" in got


def test_build_sh_image_prints_the_path_last(tmp_path):
    p = subprocess.run([os.path.join(REPO, "build.sh"), "image"], capture_output=True,
                       text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    path = p.stdout.splitlines()[-1]
    assert path == os.path.join(REPO, "build", "initramfs.cpio") and os.path.isfile(path)


def test_build_sh_accel_gives_the_vm_two_vcpus_or_the_number_asked(tmp_path):
    def accel(**env):
        e = dict(os.environ, QEMU_ACCEL="tcg")     # no KVM probe: the words are the point
        e.pop("QEMU_SMP", None)
        e.update(env)
        return subprocess.run([os.path.join(REPO, "build.sh"), "accel"], capture_output=True,
                              text=True, timeout=60, env=e)
    p = accel()
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["-accel", "tcg", "-smp", str(min(2, os.cpu_count()))]
    p = accel(QEMU_SMP="1")
    assert p.stdout.split() == ["-accel", "tcg", "-smp", "1"], p.stderr
    p = accel(QEMU_SMP="two")
    assert p.returncode != 0 and p.stdout == ""
    assert "QEMU_SMP=two: expected a number of vCPUs" in p.stderr


def unpack(image, root):
    """Files, directories and links of the archive under root (device nodes left out)."""
    for name, mode, rdev, data, mtime, uid, gid in mkimage.read_cpio(image):
        path = os.path.join(root, name)
        if stat.S_ISDIR(mode):
            os.makedirs(path, exist_ok=True)
        elif stat.S_ISLNK(mode):
            os.symlink(data.decode(), path)
        elif stat.S_ISREG(mode):
            with open(path, "wb") as f:
                f.write(data)
            os.chmod(path, stat.S_IMODE(mode))


@pytest.mark.skipif(os.geteuid() != 0, reason="chroot needs root")
def test_every_module_imports_in_the_image(image, tmp_path):
    """In a chroot of the image, where only what was packed exists: every module
    of the toybox and applets packages imports, and every applet prints its help."""
    root = tmp_path / "root"
    unpack(image, str(root))
    mods = [m for m in mkimage.our_modules() if m != "toybox.__main__"]
    env = {"PATH": "/sbin:/usr/sbin:/bin:/usr/bin", "PYTHONHASHSEED": "0"}
    p = subprocess.run(["chroot", str(root), "/usr/bin/python3", "-S", "-c",
                        "import sys; sys.path.insert(0, '/usr/lib/toybox')\n"
                        "for m in sys.argv[1:]: __import__(m)\n"
                        "import codecs; assert codecs.lookup('U8').name == 'utf-8'\n"
                        "print(sys.prefix)"] + mods,
                       env=env, capture_output=True, text=True, timeout=60)
    assert (p.returncode, p.stderr, p.stdout) == (0, "", "/usr\n")
    for name in list_names():
        p = subprocess.run(["chroot", str(root), name, "--help"], env=env,
                           capture_output=True, text=True, timeout=60)
        assert p.returncode == 0 and p.stdout.startswith("usage: "), (name, p.stderr)
