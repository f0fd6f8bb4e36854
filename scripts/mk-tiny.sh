#!/bin/sh
# Builds the "tiny" template bundle, a test guest for the QEMU backend (and
# usable by VMware Fusion / Workstation):
#   VM_LIB/tiny.vmwarevm/tiny.vmx        the template
#   VM_LIB/tiny.vmwarevm/tiny.iso        bootable isolinux CD: Debian kernel +
#                                        busybox initramfs (scripts/tiny/)
#   VM_LIB/tiny.vmwarevm/tiny.vmdk       empty 64 MB sparse disk (ignored by
#                                        the guest; there for linked clones)
#   VM_LIB/tiny.vmwarevm/tiny.buildinfo  what the ISO was built from
# The guest prints "instance-id: ID" from a NoCloud seed CD labelled cidata
# and runs its user-data script; see vmx/README.md.
#
# Usage: scripts/mk-tiny.sh [VM_LIB]        (default ./vmx)
# Env:   TINY_KERNEL_PKG  kernel package or meta-package
#                         (default linux-image-cloud-amd64)
#        TINY_CACHE       download/unpack cache (default REPO/.cache/tiny)
#        TINY_FORCE=1     rebuild even when up to date
# Needs (scripts/deps.sh run): apt-get, dpkg, xorriso, isolinux,
# syslinux-common, busybox-static, qemu-utils, cpio. No root.
set -eu

say() { echo "mk-tiny: $*"; }
die() {
    echo "mk-tiny: error: $*" >&2
    exit 1
}

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
self=$here/mk-tiny.sh
helpers=$here/tiny
vmlib=${1:-./vmx}
kmeta=${TINY_KERNEL_PKG:-linux-image-cloud-amd64}
cache=${TINY_CACHE:-$root/.cache/tiny}
out=$vmlib/tiny.vmwarevm
iso=$out/tiny.iso
vmx=$out/tiny.vmx
vmdk=$out/tiny.vmdk
info=$out/tiny.buildinfo
isolinux_bin=/usr/lib/ISOLINUX/isolinux.bin
ldlinux=/usr/lib/syslinux/modules/bios/ldlinux.c32

need() {
    command -v "$1" >/dev/null 2>&1 || die "$1 not found: $2"
}
need xorriso "install xorriso (scripts/deps.sh run)"
need qemu-img "install qemu-utils (scripts/deps.sh run)"
need dpkg "mk-tiny.sh needs a Debian-like host (dpkg, apt-get)"
need gzip "install gzip"
[ -f "$isolinux_bin" ] || die "$isolinux_bin missing: install isolinux (scripts/deps.sh run)"
[ -f "$ldlinux" ] || die "$ldlinux missing: install syslinux-common (scripts/deps.sh run)"
[ -d "$helpers" ] || die "$helpers missing (incomplete checkout?)"

mkdir -p "$cache" "$out" || die "cannot create $cache or $out"
cache=$(cd "$cache" && pwd)
out=$(cd "$out" && pwd)
iso=$out/tiny.iso
vmx=$out/tiny.vmx
vmdk=$out/tiny.vmdk
info=$out/tiny.buildinfo

# --- one build at a time (tests may run this in parallel) -------------------
lock=$cache/lock
work=""
cleanup() {
    [ -n "$work" ] && rm -rf "$work"
    rm -rf "$out/.tiny.iso.$$" "$out/.tiny.vmx.$$" "$out/.tiny.buildinfo.$$" "$out/.vmdk.$$"
    [ "$(readlink "$lock" 2>/dev/null)" = "$$" ] && rm -f "$lock"
    return 0
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
waited=0
until ln -s "$$" "$lock" 2>/dev/null; do
    holder=$(readlink "$lock" 2>/dev/null) || {
        [ -L "$lock" ] || rm -f "$lock"
        continue
    }
    if ! kill -0 "$holder" 2>/dev/null; then
        # Remove it only if it is still that dead holder's lock.
        if [ "$(readlink "$lock" 2>/dev/null)" = "$holder" ]; then
            say "removing a stale lock of pid $holder"
            rm -f "$lock"
        fi
        continue
    fi
    [ "$waited" = 0 ] && say "waiting for another mk-tiny.sh (pid $holder)"
    waited=$((waited + 1))
    [ "$waited" -le 600 ] || die "still locked by pid $holder after 10 min ($lock)"
    sleep 1
done

# --- helpers ------------------------------------------------------------------
# The VMX: written every run, replaced only when its content changes.
write_vmx() {
    tmp=$out/.tiny.vmx.$$
    cat >"$tmp" <<'EOF'
.encoding = "UTF-8"
# tiny: a minimal test guest made by scripts/mk-tiny.sh (generated; edits are
# overwritten). It boots tiny.iso (Debian kernel + busybox), prints
# "instance-id: ID" from a NoCloud seed CD labelled cidata (e.g. on ide1:1 or
# sata0:1) and runs its user-data script; all output goes to the serial port.
# A template for the plugin's QEMU backend and for VMware Fusion / Workstation
# (to see the output there, add a serial port writing to a file). The disk is
# empty and ignored by the guest. Paths are relative to this file.
config.version = "8"
virtualHW.version = "18"
displayName = "tiny"
guestOS = "other5xlinux-64"
firmware = "bios"
memsize = "256"
numvcpus = "1"
bios.bootOrder = "cdrom"
ide1:0.present = "TRUE"
ide1:0.deviceType = "cdrom-image"
ide1:0.fileName = "tiny.iso"
ide1:0.startConnected = "TRUE"
scsi0.present = "TRUE"
scsi0.virtualDev = "lsilogic"
scsi0:0.present = "TRUE"
scsi0:0.fileName = "tiny.vmdk"
ethernet0.present = "TRUE"
ethernet0.connectionType = "nat"
ethernet0.virtualDev = "e1000"
ethernet0.addressType = "generated"
floppy0.present = "FALSE"
EOF
    if cmp -s "$tmp" "$vmx"; then
        rm -f "$tmp"
    else
        mv -f "$tmp" "$vmx"
        say "wrote $vmx"
    fi
}

# The disk is made once and never replaced: qcow2 overlays (linked clones)
# of it would break if its CID changed.
make_vmdk() {
    [ -f "$vmdk" ] && return 0
    # A monolithicSparse vmdk names itself in its descriptor: create it under
    # its final name (in a scratch directory), then move it in.
    mkdir -p "$out/.vmdk.$$"
    qemu-img create -q -f vmdk -o adapter_type=lsilogic "$out/.vmdk.$$/tiny.vmdk" 64M ||
        die "qemu-img could not create $vmdk"
    mv -f "$out/.vmdk.$$/tiny.vmdk" "$vmdk"
    rmdir "$out/.vmdk.$$"
    say "created $vmdk (64 MB sparse)"
}

finish() {
    write_vmx
    make_vmdk
}

apt_download() { # PACKAGE -> .deb in $cache
    need apt-get "mk-tiny.sh downloads with apt-get (Debian-like host)"
    set -- "$1"
    # As root, apt's _apt sandbox user cannot write to this cache: say so.
    if [ "$(id -u)" = 0 ]; then
        set -- "$1" -o APT::Sandbox::User=root
    fi
    (cd "$cache" && apt-get download -q "$@") >"$cache/apt.log" 2>&1
}

# Stale package lists name kernels the mirror no longer has (the ABI number
# moves with security updates). As root, refresh them once and retry.
refreshed=0
apt_refresh() {
    [ "$refreshed" = 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 || return 1
    refreshed=1
    say "refreshing the package lists (apt-get update)"
    apt-get update -q >"$cache/apt-update.log" 2>&1 || {
        sed 's/^/    /' "$cache/apt-update.log" >&2
        return 1
    }
}
resolve_kernel() {
    command -v apt-cache >/dev/null 2>&1 || return 0
    kpkg=$(apt-cache depends "$kmeta" 2>/dev/null |
        sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*\)$/\1/p' | head -n 1)
    if [ -z "$kpkg" ] && apt-cache show "$kmeta" >/dev/null 2>&1; then
        case $kmeta in linux-image-[0-9]*) kpkg=$kmeta ;; esac
    fi
}

# --- which kernel --------------------------------------------------------------
# Resolving the meta-package with apt-cache takes seconds: do it only when
# the package lists (or TINY_KERNEL_PKG) changed since the last build.
old_kpkg=$(sed -n 's/^kernel_package=//p' "$info" 2>/dev/null || true)
old_kmeta=$(sed -n 's/^kernel_meta=//p' "$info" 2>/dev/null || true)
kpkg=""
if [ -f "$iso" ] && [ -n "$old_kpkg" ] && [ "$old_kmeta" = "$kmeta" ] &&
    [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -newer "$iso" 2>/dev/null | head -n 1)" ]; then
    kpkg=$old_kpkg
else
    resolve_kernel
    if [ -z "$kpkg" ] && apt_refresh; then
        resolve_kernel
    fi
fi
if [ -z "$kpkg" ]; then
    if [ -n "$old_kpkg" ] && [ -f "$iso" ]; then
        say "cannot resolve $kmeta with apt-cache; keeping the ISO built from $old_kpkg"
        kpkg=$old_kpkg
    else
        die "cannot resolve $kmeta to a kernel package with apt-cache (run 'apt-get update', or set TINY_KERNEL_PKG)"
    fi
fi
say "kernel package $kpkg"

# --- up to date? ------------------------------------------------------------------
bb=""
for c in /bin/busybox /usr/bin/busybox "$(command -v busybox 2>/dev/null || true)"; do
    if [ -n "$c" ] && [ -x "$c" ] && ! LC_ALL=C ldd "$c" >/dev/null 2>&1; then
        bb=$c
        break
    fi
done
if [ "${TINY_FORCE:-0}" != 1 ] && [ -f "$iso" ] && [ "$old_kpkg" = "$kpkg" ] &&
    [ -z "$(find -H "$self" "$helpers" "${bb:-$self}" "$isolinux_bin" "$ldlinux" -newer "$iso" 2>/dev/null | head -n 1)" ]; then
    finish
    say "up to date: $iso"
    exit 0
fi

# --- kernel: download and unpack ------------------------------------------------------
ktree=$cache/$kpkg
if [ ! -f "$ktree/.unpacked" ]; then
    deb=$(ls "$cache/${kpkg}"_*.deb 2>/dev/null | head -n 1 || true)
    if [ -z "$deb" ]; then
        say "downloading $kpkg (apt-get download)"
        if ! apt_download "$kpkg" && apt_refresh; then
            resolve_kernel
            [ -n "$kpkg" ] || die "$kmeta no longer resolves after apt-get update"
            ktree=$cache/$kpkg
            say "downloading $kpkg (apt-get download)"
            apt_download "$kpkg" || dl_failed=1
        fi
        if [ "${dl_failed:-0}" = 1 ] || [ -z "$(ls "$cache/${kpkg}"_*.deb 2>/dev/null)" ]; then
            sed 's/^/    /' "$cache/apt.log" >&2
            if [ -f "$iso" ]; then
                say "warning: download of $kpkg failed; keeping the existing $iso"
                finish
                exit 0
            fi
            die "could not download $kpkg (no network, or stale package lists: run 'apt-get update')"
        fi
        deb=$(ls "$cache/${kpkg}"_*.deb 2>/dev/null | head -n 1 || true)
        [ -n "$deb" ] || die "apt-get download left no ${kpkg}_*.deb in $cache"
    fi
    say "unpacking $(basename "$deb")"
    rm -rf "$ktree" "$ktree.tmp"
    if ! dpkg -x "$deb" "$ktree.tmp"; then
        rm -rf "$deb" "$ktree.tmp"
        die "dpkg -x $(basename "$deb") failed (interrupted download?); deleted it, run again"
    fi
    touch "$ktree.tmp/.unpacked"
    mv "$ktree.tmp" "$ktree"
fi
kver=$(ls "$ktree/lib/modules" 2>/dev/null | head -n 1)
if [ -z "$kver" ] || [ ! -f "$ktree/boot/vmlinuz-$kver" ]; then
    die "$kpkg has no /boot/vmlinuz-* and /lib/modules/* (not a kernel image package?)"
fi
moddir=$ktree/lib/modules/$kver

# --- busybox ------------------------------------------------------------------------------
if [ -z "$bb" ]; then
    bbtree=$cache/busybox-static
    if [ ! -x "$bbtree/bin/busybox" ]; then
        say "no static busybox installed: downloading busybox-static"
        apt_download busybox-static || die "could not download busybox-static (install it: scripts/deps.sh run)"
        rm -rf "$bbtree"
        dpkg -x "$(ls "$cache"/busybox-static_*.deb | head -n 1)" "$bbtree"
    fi
    bb=$bbtree/bin/busybox
    [ -x "$bb" ] || bb=$bbtree/usr/bin/busybox
    [ -x "$bb" ] || die "busybox-static package has no busybox binary"
fi
say "busybox $("$bb" 2>&1 | head -n 1 | sed -n 's/^BusyBox \(v[^ ]*\).*/\1/p') from $bb"

# --- initramfs ---------------------------------------------------------------------------
work=$cache/work.$$
rm -rf "$work"
stage=$work/initramfs
mkdir -p "$stage" && cd "$stage"
mkdir -p bin sbin usr/bin usr/sbin dev proc sys run tmp root mnt var/log \
    etc/init.d etc/acpi/PWRF "lib/modules/$kver"
cp "$bb" bin/busybox
chmod 0755 bin/busybox
"$bb" --list-full | while read -r p; do
    [ -e "$p" ] || [ -L "$p" ] || ln -s /bin/busybox "$p"
done
cp "$helpers/init" init
cp "$helpers/inittab" etc/inittab
cp "$helpers/rcS" "$helpers/rcK" "$helpers/seed" etc/init.d/
cp "$helpers/power-button" etc/acpi/PWRF/00000080
chmod 0755 init etc/init.d/* etc/acpi/PWRF/00000080
printf 'root:x:0:0:root:/root:/bin/sh\n' >etc/passwd
printf 'root:x:0:\n' >etc/group
printf 'tiny\n' >etc/hostname
printf 'tiny guest built by mk-tiny.sh from %s (%s)\n' "$kpkg" "$kver" >etc/tiny-release

# Modules: the list in scripts/tiny/modules plus their dependencies, taken
# from each .ko's own "depends=" (dpkg -x builds no module index).
cat_ko() {
    case $1 in
    *.ko) cat "$1" ;;
    *.ko.xz) xz -dc "$1" 2>/dev/null || "$bb" xz -dc "$1" ;;
    *.ko.gz) gzip -dc "$1" ;;
    *.ko.zst) zstd -qdc "$1" ;;
    *) return 1 ;;
    esac
}
find "$moddir/kernel" -name '*.ko*' |
    awk '{ n = $0; sub(/.*\//, "", n); sub(/\.ko.*$/, "", n); gsub(/-/, "_", n); print n, $0 }' \
        >"$work/modindex"
sed 's|.*/||; s|\.ko.*$||; s|-|_|g' "$moddir/modules.builtin" 2>/dev/null >"$work/builtin" || :
have=" "
load=""
todo=$(sed 's/#.*//; s/-/_/g' "$helpers/modules" | awk '{ for (i = 1; i <= NF; i++) print $i }')
wanted=" $(printf '%s ' $todo)"
set -f
# shellcheck disable=SC2086
set -- $todo
set +f
while [ $# -gt 0 ]; do
    m=$1
    shift
    opt=0
    case $m in *\?) opt=1 m=${m%\?} ;; esac
    case $have in *" $m "*) continue ;; esac
    path=$(awk -v m="$m" '$1 == m { print $2; exit }' "$work/modindex")
    if [ -z "$path" ]; then
        if grep -qx "$m" "$work/builtin"; then
            continue
        elif [ "$opt" = 1 ]; then
            say "optional module $m not in $kpkg (skipped)"
            continue
        fi
        die "module $m is neither in $kpkg nor built in"
    fi
    have="$have$m "
    case $wanted in *" $m "* | *" $m? "*) load="$load $m" ;; esac
    rel=${path#"$moddir"/}
    dest=lib/modules/$kver/${rel%%.ko*}.ko
    mkdir -p "$(dirname "$dest")"
    cat_ko "$path" >"$dest" || die "cannot read $path"
    deps=$(tr '\0' '\n' <"$dest" | sed -n 's/^depends=//p' | head -n 1 | tr ',-' ' _')
    # shellcheck disable=SC2086
    set -- "$@" $deps
done
cp "$moddir/modules.builtin" "$moddir/modules.order" "lib/modules/$kver/" 2>/dev/null || :
"$bb" depmod -b "$stage" "$kver" || die "busybox depmod failed"
# shellcheck disable=SC2086
printf '%s\n' $load >etc/modules
say "modules:$have($(find lib/modules -name '*.ko' | wc -l | tr -d ' ') files, deps by depmod)"

if command -v cpio >/dev/null 2>&1 && cpio --version 2>/dev/null | grep -q GNU; then
    find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet >"$work/initrd.cpio"
else
    find . | LC_ALL=C sort | "$bb" cpio -o -H newc >"$work/initrd.cpio" 2>/dev/null
fi
gzip -9n <"$work/initrd.cpio" >"$work/initrd.gz"
say "initramfs $(($(wc -c <"$work/initrd.gz") / 1024)) KB"

# --- boot ISO ---------------------------------------------------------------------------
cd "$work"
mkdir -p iso/isolinux iso/boot
cp "$isolinux_bin" "$ldlinux" iso/isolinux/
cp "$helpers/isolinux.cfg" iso/isolinux/isolinux.cfg
cp "$ktree/boot/vmlinuz-$kver" iso/boot/vmlinuz
cp initrd.gz iso/boot/initrd.gz
if ! xorriso -as mkisofs -o "$out/.tiny.iso.$$" -V TINY \
    -b isolinux/isolinux.bin -c isolinux/boot.cat -no-emul-boot \
    -boot-load-size 4 -boot-info-table -J -r iso >xorriso.log 2>&1; then
    sed 's/^/    /' xorriso.log >&2
    die "xorriso failed"
fi
mv -f "$out/.tiny.iso.$$" "$iso"
say "iso $iso ($(($(wc -c <"$iso") / 1024)) KB)"

{
    echo "kernel_meta=$kmeta"
    echo "kernel_package=$kpkg"
    echo "kernel_version=$kver"
    echo "busybox=$bb"
    echo "modules=${load# }"
    echo "cmdline=$(sed -n 's/^ *APPEND //p' "$helpers/isolinux.cfg")"
} >"$out/.tiny.buildinfo.$$"
mv -f "$out/.tiny.buildinfo.$$" "$info"
finish

# Keep only the kernel in use in the cache.
for f in "$cache"/linux-image-*; do
    case $f in "$cache/$kpkg" | "$cache/${kpkg}_"*) ;; "$cache/linux-image-*") ;; *)
        say "pruning $(basename "$f") from the cache"
        rm -rf "$f"
        ;;
    esac
done
say "done: $out"
