#!/bin/bash
# usage: ./build.sh [run|image|test|bench] [ARG...]
#
#   run    (default) build the demo image and boot it under QEMU, serial console
#          on this terminal; quit with `poweroff` at its prompt, or Ctrl-A X
#          (`reboot` ends QEMU too: it runs with -no-reboot).
#          ARGs are added to the kernel command line (e.g. `single`,
#          `SVINIT_SERVICES=boot,sshd`).
#   image  build the image only; its path is the last line printed.
#          ARGs go to initramfs/mkimage.py (e.g. `--overlay DIR`).
#   test   install what the tests need, then `python3 -m pytest -q tests/ ARG...`
#   bench  run bench/run.py ARG...
#   kernel print the path of the kernel to boot (fetching it first)
#   accel  print the QEMU accelerator and vCPU options that work here
#
# Installs what it needs from Debian when missing (run as root on Debian 12):
# qemu-system-x86, busybox-static, python3, and the distribution's cloud kernel,
# which is extracted into .cache/kernel/, never installed into /boot.
# Environment: KERNEL=PATH boots that kernel instead; QEMU_ACCEL=tcg|kvm skips
# the probe; QEMU_SMP=N gives the VM N vCPUs (default: 2, or 1 on a one-CPU host);
# SOURCE_DATE_EPOCH fixes the image's timestamps (default fixed).
set -eu

cd "$(dirname "$0")"
REPO=$PWD
BUILD=$REPO/build
CACHE=$REPO/.cache
IMAGE=$BUILD/initramfs.cpio
KERNEL_CMDLINE="console=ttyS0 panic=-1 quiet printk.devkmsg=on no_timer_check PYTHONHASHSEED=0"
export DEBIAN_FRONTEND=noninteractive

say() { printf 'build.sh: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

APT_UPDATED=
apt_update_once() {
    [ -n "$APT_UPDATED" ] && return
    say "apt-get update"
    apt-get update -qq </dev/null >/dev/null
    APT_UPDATED=1
}

installed() {
    [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

# need_packages PKG...: install the ones that are missing, quietly.
need_packages() {
    local missing=() p
    for p in "$@"; do
        installed "$p" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return
    [ "$(id -u)" = 0 ] || die "missing packages: ${missing[*]} (run as root, or install them)"
    apt_update_once
    say "installing ${missing[*]}"
    apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null >/dev/null
}

# The versioned package linux-image-cloud-amd64 depends on right now.
kernel_package() {
    apt-cache depends linux-image-cloud-amd64 2>/dev/null |
        awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }'
}

# Prints the path of a kernel to boot, fetching it into .cache/kernel/ first.
kernel() {
    if [ -n "${KERNEL:-}" ]; then
        [ -r "$KERNEL" ] || die "KERNEL=$KERNEL: not readable"
        echo "$KERNEL"
        return
    fi
    local pkg dir tmp
    pkg=$(kernel_package)
    if [ -z "$pkg" ]; then
        apt_update_once
        pkg=$(kernel_package)
    fi
    if [ -z "$pkg" ]; then
        # Offline, or not Debian: use what an earlier run fetched.
        dir=$(ls -d "$CACHE"/kernel/linux-image-* 2>/dev/null | sort -V | tail -n 1)
        [ -n "$dir" ] || die "no kernel: apt-cache does not know linux-image-cloud-amd64; set KERNEL=PATH"
    else
        dir=$CACHE/kernel/$pkg
    fi
    if ! ls "$dir"/boot/vmlinuz-* >/dev/null 2>&1; then
        say "fetching kernel $pkg"
        mkdir -p "$CACHE/kernel"
        tmp=$(mktemp -d "$CACHE/kernel/.fetch.XXXXXX")
        (cd "$tmp" && apt-get download -qq -o APT::Sandbox::User=root "$pkg" </dev/null >/dev/null)
        dpkg-deb -x "$tmp"/"$pkg"_*.deb "$tmp/x"
        rm -rf "$dir"
        mv "$tmp/x" "$dir"
        rm -rf "$tmp"
    fi
    ls "$dir"/boot/vmlinuz-* | head -n 1
}

build_needs() {
    need_packages python3 busybox-static
}

build_image() {
    mkdir -p "$BUILD"
    python3 initramfs/mkimage.py -o "$IMAGE" "$@" >&2
}

# Which accelerator works: KVM only when a trial run really works (inside a VM
# it often aborts on `failed to set MSR` or hangs), else software emulation.
# The trial boots a 512-byte boot sector that writes to QEMU's isa-debug-exit
# port, which ends QEMU with status 1.
accel_args() {
    local smp
    smp=$(smp_args) || exit 1
    case ${QEMU_ACCEL:-} in
        kvm) echo "-accel kvm -cpu host $smp"; return ;;
        tcg) echo "-accel tcg $smp"; return ;;
        "") ;;
        *) die "QEMU_ACCEL=$QEMU_ACCEL: expected kvm or tcg" ;;
    esac
    local probe=$CACHE/kvm-probe.img rc=0
    if [ -w /dev/kvm ]; then
        mkdir -p "$CACHE"
        { printf '\xb0\x00\xe6\xf4\xf4\xeb\xfd'; head -c 503 /dev/zero; printf '\x55\xaa'; } >"$probe"
        # stderr goes to /dev/null before QEMU runs, so that bash's "Aborted" is silent too.
        rc=$(exec 2>/dev/null; timeout 10 qemu-system-x86_64 -accel kvm -cpu host -nodefaults \
            -display none -m 16 -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
            -drive file="$probe",format=raw,if=ide </dev/null >/dev/null; echo $?)
    fi
    if [ "$rc" = 1 ]; then
        echo "-accel kvm -cpu host $smp"
    else
        echo "-accel tcg $smp"
    fi
}

# Two vCPUs where the host has two CPUs or more: svinit starts services in parallel, and
# under TCG each vCPU is a host thread of its own (multi-threaded TCG), so the services'
# programs run beside svinit instead of taking turns with it on one emulated CPU.
smp_args() {
    local n=${QEMU_SMP:-}
    if [ -z "$n" ]; then
        n=$(nproc 2>/dev/null || echo 1)
        [ "$n" -gt 2 ] && n=2
    fi
    case $n in
        ''|*[!0-9]*|0) die "QEMU_SMP=$n: expected a number of vCPUs" ;;
    esac
    echo "-smp $n"
}

cmd_image() {
    build_needs
    build_image "$@"
    echo "$IMAGE"
}

usage() {
    sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'
}

cmd_run() {
    case "${1:-}" in
        -h|--help) usage; return ;;
        -*) die "run: '$1' is not a kernel command-line word (see \"./build.sh --help\")" ;;
    esac
    build_needs
    need_packages qemu-system-x86
    local k a
    k=$(kernel)
    build_image
    a=$(accel_args)
    say "booting $IMAGE with $(basename "$k") ($a); quit: poweroff, or Ctrl-A X"
    # shellcheck disable=SC2086 # $a is several words on purpose
    # -nodefaults: no VGA card, floppy, CD-ROM or parallel port to set up at every boot.
    exec qemu-system-x86_64 $a -m 256 -nodefaults -nographic -serial mon:stdio -no-reboot -nic none \
        -kernel "$k" -initrd "$IMAGE" -append "$KERNEL_CMDLINE $*"
}

cmd_test() {
    build_needs
    need_packages qemu-system-x86 toybox
    if ! python3 -c 'import pytest, pexpect' 2>/dev/null; then
        if [ "$(command -v python3)" = /usr/bin/python3 ]; then
            need_packages python3-pytest python3-pexpect
        else
            python3 -m pip install -q pytest pexpect
        fi
    fi
    KERNEL=$(kernel)
    export KERNEL
    exec python3 -m pytest -q tests/ "$@"
}

cmd_bench() {
    [ -f bench/run.py ] || die "bench/run.py does not exist yet"
    build_needs
    need_packages qemu-system-x86
    KERNEL=$(kernel)
    export KERNEL
    exec python3 bench/run.py "$@"
}

cmd=${1:-run}
[ $# -gt 0 ] && shift
case $cmd in
    run) cmd_run "$@" ;;
    image) cmd_image "$@" ;;
    test) cmd_test "$@" ;;
    bench) cmd_bench "$@" ;;
    kernel) kernel ;;
    accel) accel_args ;;
    -h|--help|help) usage ;;
    *) die "unknown command '$cmd' (see \"./build.sh --help\")" ;;
esac
