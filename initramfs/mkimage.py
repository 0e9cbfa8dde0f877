"""usage: mkimage.py [-o OUT] [--python PATH] [--busybox PATH] [--overlay DIR]... [--remove PATH]... [--binary HOST=PATH]... [--sources] [--list]

Build the demo initramfs: a newc cpio archive holding the Python interpreter,
only the standard-library modules the applets import (found by scanning the
code), the shared libraries those need, the toybox package and its applet
links, busybox as the shell userland, and the files under initramfs/rootfs/.
No root needed: the archive, device nodes included, is written directly. Two
builds of the same inputs are byte-identical: entries are sorted, owned by 0:0,
and stamped with SOURCE_DATE_EPOCH (default: a fixed date); a gzip header
carries no time or name.

  -o, --output OUT   the archive (default build/initramfs.cpio): a name ending
                     in .gz is gzip'd (-9), any other is a plain cpio, which
                     boots faster under emulation (the kernel copies it
                     instead of inflating it)
  --python PATH      interpreter to pack (default /usr/bin/python3.11 when it
                     exists, else the one running this); the build re-runs
                     itself under it so modules are compiled for it
  --busybox PATH     busybox to pack (default: busybox on PATH, preferably static)
  --overlay DIR      files laid over the image after everything else (later
                     ones win); repeatable. A test adds a broken service file so.
  --remove PATH      leave PATH (and all under it) out of the image, after the
                     overlays: the demo without its `etc/svinit.d/boot`, so
                     that an /etc/inittab of an overlay is what boots; repeatable
  --binary HOST=PATH a host program packed at PATH in the image, with the shared
                     libraries it needs (e.g. strace); repeatable
  --sources          also pack the standard library's .py sources (tracebacks
                     then show source lines); the toybox code always has them
  --list             print the archive's entries instead of a summary

Layout: /usr/bin/python3.X, /usr/lib/python3.X/ (sourceless .pyc),
/usr/lib/toybox/{toybox,applets}/ (.py + __pycache__), /bin/toybox (launcher),
/sbin/{init,oneit,svinit,halt,poweroff,reboot,shutdown} and /bin/ctl -> toybox,
/init -> sbin/init, /bin/busybox and its applets but those toybox provides.
"""
import argparse
import gzip
import io
import os
import shutil
import stat
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, REPO)

from toybox.main import APPLETS, launcher, list_names  # noqa: E402

ROOTFS = os.path.join(HERE, "rootfs")
DEFAULT_OUTPUT = os.path.join(REPO, "build", "initramfs.cpio")
DEFAULT_EPOCH = 1700000000           # 2023-11-14: any fixed value keeps builds identical
LIBDIR = "/usr/lib/toybox"           # where the toybox and applets packages live
PACKAGES = ("toybox", "applets")
USER_APPLETS = ("ctl",)              # go to /bin; the rest are system programs in /sbin
CO_OPTIMIZED = 0x1                   # code-object flag of functions (not module/class bodies)

# Empty directories the running system needs (mount points, scratch space).
DIRS = {
    "dev": 0o755, "dev/pts": 0o755, "proc": 0o555, "sys": 0o555, "run": 0o755,
    "tmp": 0o1777, "root": 0o700, "var": 0o755, "var/log": 0o755, "etc": 0o755,
    "etc/svinit.d/boot.d": 0o755,
}
# The kernel does not mount devtmpfs on an initramfs root: without these nodes
# PID 1 has no console and Python no /dev/urandom (booting.md). Mounting
# devtmpfs over /dev later hides them.
DEVICES = {
    "dev/console": (stat.S_IFCHR | 0o600, 5, 1),
    "dev/tty": (stat.S_IFCHR | 0o666, 5, 0),
    "dev/ttyS0": (stat.S_IFCHR | 0o620, 4, 64),
    "dev/null": (stat.S_IFCHR | 0o666, 1, 3),
    "dev/zero": (stat.S_IFCHR | 0o666, 1, 5),
    "dev/random": (stat.S_IFCHR | 0o666, 1, 8),
    "dev/urandom": (stat.S_IFCHR | 0o666, 1, 9),
    "dev/kmsg": (stat.S_IFCHR | 0o644, 1, 11),
}


class BuildError(Exception):
    pass


# -- the archive ---------------------------------------------------------------

class Entry:
    __slots__ = ("mode", "data", "rdev")

    def __init__(self, mode, data=b"", rdev=(0, 0)):
        self.mode = mode
        self.data = data
        self.rdev = rdev


class Image:
    """Paths (relative, no leading slash) to entries; parents are made as needed."""

    def __init__(self):
        self.entries = {}

    def _parents(self, path):
        parent = os.path.dirname(path)
        while parent and parent not in self.entries:
            self.entries[parent] = Entry(stat.S_IFDIR | 0o755)
            parent = os.path.dirname(parent)

    def _put(self, path, entry):
        path = path.strip("/")
        old = self.entries.get(path)
        if old is not None and stat.S_ISDIR(old.mode) and not stat.S_ISDIR(entry.mode):
            raise BuildError("%s: a directory in the image, can't replace it by a file" % path)
        self._parents(path)
        self.entries[path] = entry

    def dir(self, path, mode=0o755):
        self._put(path, Entry(stat.S_IFDIR | mode))

    def file(self, path, data, mode=0o644):
        self._put(path, Entry(stat.S_IFREG | mode, data))

    def copy(self, path, src):
        """A host file's contents (symlinks followed), executable or not as it is."""
        with open(src, "rb") as f:
            data = f.read()
        self.file(path, data, 0o755 if os.stat(src).st_mode & 0o111 else 0o644)

    def remove(self, path):
        path = path.strip("/")
        gone = [p for p in self.entries if p == path or p.startswith(path + "/")]
        if not gone:
            raise BuildError("--remove %s: not in the image" % path)
        for p in gone:
            del self.entries[p]

    def symlink(self, path, target):
        self._put(path, Entry(stat.S_IFLNK | 0o777, target.encode()))

    def device(self, path, mode, major, minor):
        self._put(path, Entry(mode, rdev=(major, minor)))

    def tree(self, src):
        """Lay a host directory over the image root (symlinks kept as links). Files
        are 0644 or 0755 by their executable bit and directories 0755, whatever
        the checkout's umask was; directories already in the image keep their mode."""
        for root, dirs, files in os.walk(src):
            dirs.sort()
            rel = os.path.relpath(root, src)
            base = "" if rel == "." else rel
            if base and base not in self.entries:
                self.dir(base)
            links = [d for d in dirs if os.path.islink(os.path.join(root, d))]
            for name in sorted(files + links):
                path = os.path.join(root, name)
                target = os.path.join(base, name)
                if os.path.islink(path):
                    self.symlink(target, os.readlink(path))
                else:
                    self.copy(target, path)

    def cpio(self, mtime):
        """The newc archive: sorted, inodes numbered in order, owners 0, one mtime."""
        out = io.BytesIO()
        for ino, path in enumerate(sorted(self.entries), 1):
            e = self.entries[path]
            _cpio_entry(out, path, e.mode, e.data, ino, mtime, e.rdev,
                        2 if stat.S_ISDIR(e.mode) else 1)
        _cpio_entry(out, "TRAILER!!!", 0, b"", 0, 0, (0, 0), 1)
        return out.getvalue()


def _cpio_entry(out, name, mode, data, ino, mtime, rdev, nlink):
    name = name.encode() + b"\0"
    fields = (ino, mode, 0, 0, nlink, mtime, len(data), 0, 0, rdev[0], rdev[1], len(name), 0)
    out.write(b"070701" + b"".join(b"%08X" % v for v in fields))
    out.write(name)
    out.write(b"\0" * (-(110 + len(name)) % 4))
    out.write(data)
    out.write(b"\0" * (-len(data) % 4))


def compress(data):
    """gzip -9 with no name and time 0 in the header: the same input, the same bytes."""
    out = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", compresslevel=9, fileobj=out, mtime=0) as g:
        g.write(data)
    return out.getvalue()


def packed(archive, path):
    """The bytes to write to path: gzip'd for a name ending in .gz, else the plain archive.

    Plain is the default: under QEMU's software emulation the kernel spends about 0.25 s
    inflating the gzip'd archive (docs/image.md), while QEMU loads the bigger file in no
    measurable time. gzip is for an image that travels."""
    return compress(archive) if path.endswith(".gz") else archive


def read_cpio(path):
    """Entries of a (gzip'd) newc archive, in order: [(name, mode, rdev, data, mtime, uid, gid)]."""
    with open(path, "rb") as f:
        blob = f.read()
    if blob[:2] == b"\x1f\x8b":
        blob = gzip.decompress(blob)
    out, pos = [], 0
    while True:
        if blob[pos:pos + 6] != b"070701":
            raise ValueError("%s: bad cpio header at offset %d" % (path, pos))
        v = [int(blob[pos + 6 + 8 * i: pos + 14 + 8 * i], 16) for i in range(13)]
        namesize, filesize = v[11], v[6]
        pos += 110
        name = blob[pos:pos + namesize - 1].decode()
        pos += namesize + (-(110 + namesize) % 4)
        data = blob[pos:pos + filesize]
        pos += filesize + (-filesize % 4)
        if name == "TRAILER!!!":
            return out
        out.append((name, v[1], (v[9], v[10]), data, v[5], v[2], v[3]))


# -- what the image holds --------------------------------------------------------

def our_modules():
    """Names of the modules of the toybox and applets packages, from the files."""
    names = []
    for pkg in PACKAGES:
        names.append(pkg)
        for f in sorted(os.listdir(os.path.join(REPO, pkg))):
            if f.endswith(".py") and f != "__init__.py":
                names.append(pkg + "." + f[:-3])
    return names


def is_ours(path):
    return bool(path) and any(path.startswith(os.path.join(REPO, p) + os.sep) for p in PACKAGES)


def startup_modules():
    """Modules the interpreter loads by itself, measured in the environment the
    kernel gives init (no locale, HOME=/, TERM=linux), with `-S` as the launcher."""
    env = {"HOME": "/", "TERM": "linux", "PYTHONHASHSEED": "0"}
    out = subprocess.run([sys.executable, "-S", "-c", "import sys; print(*sys.modules)"],
                         env=env, check=True, capture_output=True, text=True).stdout
    return sorted(set(out.split()) - {"__main__"})


def find_modules(stdlib, dynload):
    """Standard-library modules to pack: {name: file}.

    modulefinder over our packages, following every import in our code, but in
    the standard library only the imports that run when a module is imported
    (module and class bodies, not functions): a lazy import inside a stdlib
    function we never call would otherwise drag in asyncio, http and the rest.
    """
    import modulefinder

    class Finder(modulefinder.ModuleFinder):
        def scan_code(self, co, m):
            if not is_ours(m.__file__):
                if co.co_flags & CO_OPTIMIZED:
                    return
                if co.co_name == "<module>" and (m.__file__ or "").endswith(".py"):
                    co = without_main_block(m.__file__)
            super().scan_code(co, m)

    finder = Finder(path=[REPO, stdlib, dynload])
    for name in our_modules():
        finder.import_hook(name)
    for name in startup_modules():
        try:
            finder.import_hook(name)
        except ImportError:
            pass        # frozen into the interpreter (importlib's bootstrap): no file
    missing, _maybe = finder.any_missing_maybe()
    ours = set(our_modules())
    bad = sorted("%s (imported by %s)" % (name, ", ".join(sorted(set(finder.badmodules[name]) & ours)))
                 for name in missing if set(finder.badmodules[name]) & ours)
    if bad:
        raise BuildError("no such module, in the repo or in %s: %s" % (stdlib, "; ".join(bad)))
    found = {}
    for name, m in finder.modules.items():
        f = m.__file__
        if f and not is_ours(f):
            if not (f.startswith(stdlib + os.sep) or f.startswith(dynload + os.sep)):
                raise BuildError("module %s comes from %s, outside the standard library" % (name, f))
            found[name] = f
    return found


def without_main_block(path):
    """Module code of path minus its `if __name__ == "__main__":` blocks (heapq's
    self-test imports doctest, which imports half the library)."""
    import ast
    with open(path, "rb") as f:
        tree = ast.parse(f.read(), path)

    def is_main_guard(node):
        t = getattr(node, "test", None)
        return (isinstance(node, ast.If) and isinstance(t, ast.Compare)
                and isinstance(t.left, ast.Name) and t.left.id == "__name__"
                and len(t.comparators) == 1 and isinstance(t.comparators[0], ast.Constant)
                and t.comparators[0].value == "__main__")

    tree.body = [node for node in tree.body if not is_main_guard(node)]
    return compile(tree, path, "exec")


def compile_pyc(src, dfile):
    """Bytecode of src for the running interpreter: hash-based and unchecked, so
    it does not depend on the source's mtime and is never recompiled."""
    import importlib.util
    import py_compile
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        cfile = os.path.join(tmp, "x.pyc")
        py_compile.compile(src, cfile, dfile=dfile, doraise=True,
                           invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
        with open(cfile, "rb") as f:
            data = f.read()
    assert data[:4] == importlib.util.MAGIC_NUMBER
    return data


def shared_libraries(elf):
    """Paths of the shared libraries `ldd` finds for elf (none for a static one)."""
    p = subprocess.run(["ldd", elf], capture_output=True, text=True)
    if p.returncode != 0:
        if "not a dynamic executable" in p.stdout + p.stderr:
            return []
        raise BuildError("ldd %s: %s" % (elf, (p.stderr or p.stdout).strip()))
    libs = []
    for line in p.stdout.splitlines():
        words = line.split()
        if "=>" in words:
            target = words[words.index("=>") + 1]
            if target == "not":
                raise BuildError("%s needs %s, which ldd can't find" % (elf, words[0]))
            libs.append(target)
        elif words and words[0].startswith("/"):
            libs.append(words[0])              # the dynamic loader itself
    return libs


def add_python(img, python, sources):
    """The interpreter, its stdlib subset (sourceless .pyc), extension modules; returns
    the list of ELF files packed, whose libraries must follow."""
    import sysconfig
    ver = "python%d.%d" % sys.version_info[:2]
    stdlib = os.path.realpath(sysconfig.get_path("stdlib"))
    dynload = os.path.realpath(sysconfig.get_config_var("DESTSHARED") or os.path.join(stdlib, "lib-dynload"))
    image_lib = "usr/lib/" + ver
    elves = [python]
    img.copy("usr/bin/" + ver, python)
    img.symlink("usr/bin/python3", ver)
    # getpath looks for these landmarks to find sys.prefix; without them the
    # interpreter warns on every start.
    img.dir(image_lib + "/lib-dynload")
    modules = find_modules(stdlib, dynload)
    for name, f in sorted(modules.items()):
        if f.startswith(dynload + os.sep):
            img.copy(image_lib + "/lib-dynload/" + os.path.basename(f), f)
            elves.append(f)
            continue
        rel = os.path.relpath(f, stdlib)
        dfile = "/%s/%s" % (image_lib, rel)
        if name == "encodings.aliases":
            text = packed_aliases(f, modules)
            img.file(image_lib + "/" + rel[:-3] + ".pyc", compile_text(text, dfile))
            if sources:
                img.file(image_lib + "/" + rel, text.encode())
            continue
        img.file(image_lib + "/" + rel[:-3] + ".pyc", compile_pyc(f, dfile))
        if sources:
            img.copy(image_lib + "/" + rel, f)
    return elves


def packed_aliases(path, modules):
    """encodings.aliases with only the aliases of the codecs packed (utf_8 and the few
    others something imports): its 300-odd entries name codecs that are not in the image,
    which no lookup could load anyway, and building that dict was 1.3M instructions of
    the interpreter's first start (7%, run as QEMU translates the code for the first time)."""
    namespace = {}
    with open(path, "rb") as f:
        exec(compile(f.read(), path, "exec"), namespace)
    kept = {k: v for k, v in sorted(namespace["aliases"].items()) if "encodings." + v in modules}
    return ('"""Encoding aliases: the standard library\'s table, cut by initramfs/mkimage.py\n'
            'to the codecs packed in this image."""\n\naliases = {\n%s}\n'
            % "".join("    %r: %r,\n" % kv for kv in kept.items()))


def compile_text(text, dfile):
    """compile_pyc of a module given as text."""
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "x.py")
        with open(src, "w") as f:
            f.write(text)
        return compile_pyc(src, dfile)


def add_toybox(img, python_in_image):
    tag = sys.implementation.cache_tag
    for pkg in PACKAGES:
        for f in sorted(os.listdir(os.path.join(REPO, pkg))):
            if not f.endswith(".py"):
                continue
            src = os.path.join(REPO, pkg, f)
            dest = "%s/%s/%s" % (LIBDIR, pkg, f)
            img.copy(dest, src)
            img.file("%s/%s/__pycache__/%s.%s.pyc" % (LIBDIR, pkg, f[:-3], tag), compile_pyc(src, dest))
    for name, module in sorted(APPLETS.items()):
        if not os.path.isfile(os.path.join(REPO, "applets", module + ".py")):
            sys.stderr.write("mkimage: warning: applet %s: applets/%s.py does not exist\n" % (name, module))
    img.file("bin/toybox", launcher(python_in_image, LIBDIR).encode(), 0o755)
    for name in list_names():
        img.symlink(("bin/" if name in USER_APPLETS else "sbin/") + name, "/bin/toybox")
    img.symlink("init", "sbin/init")


def find_busybox():
    for path in ("/bin/busybox", "/usr/bin/busybox", shutil.which("busybox")):
        if path and os.access(path, os.X_OK):
            return path
    raise BuildError("no busybox: install busybox-static, or pass --busybox PATH")


def add_busybox(img, busybox):
    """busybox and one link per applet at the place busybox would install it,
    but for the names toybox provides (init, halt, poweroff, reboot...)."""
    img.copy("bin/busybox", busybox)
    listing = subprocess.run([busybox, "--list-full"], check=True, capture_output=True, text=True).stdout
    ours = set(list_names()) | {"linuxrc"}
    for path in listing.split():
        if os.path.basename(path) not in ours and path != "bin/busybox":
            img.symlink(path, "/bin/busybox")


def build(python, busybox, overlays, binaries=(), sources=False, remove=()):
    img = Image()
    for d, mode in DIRS.items():
        img.dir(d, mode)
    for path, (mode, major, minor) in DEVICES.items():
        img.device(path, mode, major, minor)
    elves = add_python(img, python, sources)
    add_busybox(img, busybox)
    elves.append(busybox)
    for host, path in binaries:
        img.copy(path, host)
        elves.append(host)
    add_toybox(img, "/usr/bin/python%d.%d" % sys.version_info[:2])
    libs = set()
    for elf in elves:
        libs.update(shared_libraries(elf))
    for lib in sorted(libs):
        img.copy(lib, lib)
    img.tree(ROOTFS)
    for d in overlays:
        if not os.path.isdir(d):
            raise BuildError("--overlay %s: not a directory" % d)
        img.tree(d)
    for path in remove:
        img.remove(path)
    return img


def summary(img, archive, written):
    files = [e for e in img.entries.values() if stat.S_ISREG(e.mode)]
    pycs = sum(1 for p in img.entries if p.endswith(".pyc") and p.startswith("usr/lib/python"))
    return ("%d entries (%d files, %d stdlib modules), %.2f MB unpacked%s"
            % (len(img.entries), len(files), pycs, len(archive) / 1e6,
               ", %.2f MB gzip'd" % (len(written) / 1e6) if written is not archive else ""))


def parse_args(argv):
    p = argparse.ArgumentParser(prog="mkimage.py", usage=__doc__.split("\n")[0][7:],
                                description="Build the demo initramfs (see the module docstring).")
    p.add_argument("-o", "--output", default=DEFAULT_OUTPUT)
    p.add_argument("--python")
    p.add_argument("--busybox")
    p.add_argument("--overlay", action="append", default=[])
    p.add_argument("--remove", action="append", default=[])
    p.add_argument("--binary", action="append", default=[], type=host_and_path)
    p.add_argument("--sources", action="store_true")
    p.add_argument("--list", action="store_true")
    return p.parse_args(argv)


def host_and_path(arg):
    host, sep, path = arg.partition("=")
    if not sep or not host or not path.startswith("/"):
        raise argparse.ArgumentTypeError("%r: expected HOST_FILE=/PATH/IN/IMAGE" % arg)
    if not os.access(host, os.X_OK):
        raise argparse.ArgumentTypeError("%s: not an executable file" % host)
    return os.path.abspath(host), path


def default_python():
    return "/usr/bin/python3.11" if os.access("/usr/bin/python3.11", os.X_OK) else sys.executable


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    python = os.path.realpath(args.python or default_python())
    if python != os.path.realpath(sys.executable):
        # Modules are found in, and compiled by, the interpreter that will run them.
        os.execv(python, [python, "-I", os.path.abspath(__file__)] + sys.argv[1:]
                 + ([] if args.python else ["--python", python]))
    epoch = int(os.environ.get("SOURCE_DATE_EPOCH", DEFAULT_EPOCH))
    try:
        img = build(python, args.busybox or find_busybox(),
                    [os.path.abspath(d) for d in args.overlay], args.binary, args.sources,
                    args.remove)
    except BuildError as e:
        sys.stderr.write("mkimage: %s\n" % e)
        return 1
    archive = img.cpio(epoch)
    out = os.path.abspath(args.output)
    data = packed(archive, out)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    tmp = out + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, out)
    if args.list:
        for path in sorted(img.entries):
            e = img.entries[path]
            print("%06o %8d %s" % (e.mode, len(e.data), path))
    sys.stderr.write("mkimage: %s: %s\n" % (out, summary(img, archive, data)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
