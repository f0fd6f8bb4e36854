#!/bin/sh
# Builds the "tiny" template bundle, a test guest for the QEMU backend (and
# usable by VMware Fusion / Workstation):
#   VM_LIB/tiny.vmwarevm/tiny.vmx        the template
#   VM_LIB/tiny.vmwarevm/tiny.iso        bootable isolinux CD: Debian kernel +
#                                        busybox initramfs (scripts/tiny/)
#   VM_LIB/tiny.vmwarevm/tiny.vmdk       empty 64 MB sparse disk (ignored by
#                                        the guest; there for linked clones)
#   VM_LIB/tiny.vmwarevm/tiny.buildinfo  what the ISO was built from
# The guest reads a NoCloud seed CD labelled cidata (instance-id, hostname,
# SSH keys, user-data: a script, #cloud-config or MIME multipart), brings
# up every NIC with DHCP, serves SSH (dropbear) on port 22 and runs the
# user-data's scripts; see vmx/README.md.
#
# Usage: scripts/mk-tiny.sh [VM_LIB]        (default ./vmx)
# Env:   TINY_KERNEL_PKG  kernel package or meta-package
#                         (default linux-image-amd64: the cloud flavour
#                         has no e1000 driver)
#        TINY_CACHE       download/unpack cache (default REPO/.cache/tiny)
#        TINY_FORCE=1     rebuild even when up to date
# Downloads (apt-get download, once; kept in the cache): the kernel and the
# packages of scripts/tiny/packages (dropbear and its libraries).
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
kmeta=${TINY_KERNEL_PKG:-linux-image-amd64}
cache=${TINY_CACHE:-$root/.cache/tiny}
out=$vmlib/tiny.vmwarevm
iso=$out/tiny.iso
vmx=$out/tiny.vmx
vmdk=$out/tiny.vmdk
info=$out/tiny.buildinfo
pkglist=$helpers/packages
ssh_user=root
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
# The VMX: written every run, replaced only when its content changes. $nic
# is the NIC model the kernel has a driver for (e1000 unless the kernel
# flavour lacks it).
write_vmx() {
    tmp=$out/.tiny.vmx.$$
    cat >"$tmp" <<EOF
.encoding = "UTF-8"
# tiny: a minimal test guest made by scripts/mk-tiny.sh (generated; edits are
# overwritten). It boots tiny.iso (Debian kernel + busybox), reads a NoCloud
# seed CD labelled cidata (e.g. on ide1:1 or sata0:1): instance-id, hostname,
# SSH keys for root, user-data (script, #cloud-config or MIME multipart);
# brings up its NICs with DHCP, serves SSH on port 22 (user in
# guestinfo.infrakit.ssh-user) and runs the user-data's scripts. Its output
# goes to the serial port: add one writing to a file to see it under VMware
# Fusion / Workstation. The disk is empty and ignored by the guest. Paths are
# relative to this file.
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
ethernet0.virtualDev = "$nic"
ethernet0.addressType = "generated"
floppy0.present = "FALSE"
guestinfo.infrakit.ssh-user = "$ssh_user"
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

apt_download_in() { # DIR PACKAGE... -> .deb files in DIR
    need apt-get "mk-tiny.sh downloads with apt-get (Debian-like host)"
    dldir=$1
    shift
    # As root, apt's _apt sandbox user cannot write to this cache: say so.
    if [ "$(id -u)" = 0 ]; then
        set -- "$@" -o APT::Sandbox::User=root
    fi
    (cd "$dldir" && apt-get download -q "$@") >"$cache/apt.log" 2>&1
}
apt_download() { # PACKAGE -> .deb in $cache
    apt_download_in "$cache" "$1"
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

# --- packages of scripts/tiny/packages: which .deb files --------------------------
# As with the kernel, apt-cache is asked only when the package lists changed
# since the last build (or a .deb is missing); otherwise the cached .debs
# are used as they are. One .deb per package is kept in $debdir.
debdir=$cache/debs
mkdir -p "$debdir"
[ -f "$pkglist" ] || die "$pkglist missing (incomplete checkout?)"
pkgs=$(sed 's/#.*//' "$pkglist" | awk 'NF { print $1 }')
[ -n "$pkgs" ] || die "$pkglist names no package"
cached_deb() { # PACKAGE -> its cached .deb, if any
    ls "$debdir/$1"_*.deb 2>/dev/null | head -n 1
}
all_cached() {
    for p in $pkgs; do
        [ -n "$(cached_deb "$p")" ] || return 1
    done
}
# "PACKAGE DEB-NAME" for the candidate versions, as apt-get download names
# the files (NAME_VERSION_ARCH.deb, the epoch's ":" as "%3a").
candidates() {
    command -v apt-cache >/dev/null 2>&1 || return 1
    # shellcheck disable=SC2086
    apt-cache show --no-all-versions $pkgs 2>"$cache/apt-cache.log" | awk '
        /^Package: / { p = $2 }
        /^Version: / { v = $2; gsub(/:/, "%3a", v) }
        /^Architecture: / { a = $2 }
        /^$/ { if (p != "") print p, p "_" v "_" a ".deb"; p = "" }
        END { if (p != "") print p, p "_" v "_" a ".deb" }'
}
missing_from() { # FILE-of-candidates -> the packages it lacks
    for p in $pkgs; do
        awk -v p="$p" '$1 == p { f = 1 } END { exit !f }' "$1" || printf '%s ' "$p"
    done
}
if [ -f "$iso" ] && all_cached &&
    [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -newer "$iso" 2>/dev/null | head -n 1)" ]; then
    : # the cached .debs
else
    cands=$cache/candidates
    candidates >"$cands" || : >"$cands"
    lacking=$(missing_from "$cands")
    if [ -n "$lacking" ] && apt_refresh; then
        candidates >"$cands" || : >"$cands"
        lacking=$(missing_from "$cands")
    fi
    todo=""
    if [ -n "$lacking" ]; then
        if all_cached; then
            say "warning: apt-cache does not know $lacking; using the cached .debs"
        else
            sed 's/^/    /' "$cache/apt-cache.log" >&2
            die "apt-cache knows no package ${lacking}(named in $pkglist): run 'apt-get update', or fix the list"
        fi
    else
        while read -r p f; do
            [ -f "$debdir/$f" ] || todo="$todo $p"
        done <"$cands"
    fi
    if [ -n "$todo" ]; then
        say "downloading$todo (apt-get download)"
        # shellcheck disable=SC2086
        if apt_download_in "$debdir" $todo; then
            # Keep only the versions just resolved.
            while read -r p f; do
                for d in "$debdir/$p"_*.deb; do
                    [ -f "$d" ] && [ "$(basename "$d")" != "$f" ] && rm -f "$d"
                done
            done <"$cands"
        elif all_cached; then
            sed 's/^/    /' "$cache/apt.log" >&2
            say "warning: download of$todo failed; using the cached older .debs"
        else
            sed 's/^/    /' "$cache/apt.log" >&2
            die "could not download$todo (no network, or stale package lists: run 'apt-get update')"
        fi
    fi
fi
debs=""
for p in $pkgs; do
    d=$(cached_deb "$p")
    [ -n "$d" ] || die "no .deb of $p in $debdir after the download"
    debs="$debs $(basename "$d")"
done
debs=${debs# }
old_debs=$(sed -n 's/^debs=//p' "$info" 2>/dev/null || true)

# --- up to date? ------------------------------------------------------------------
bb=""
for c in /bin/busybox /usr/bin/busybox "$(command -v busybox 2>/dev/null || true)"; do
    if [ -n "$c" ] && [ -x "$c" ] && ! LC_ALL=C ldd "$c" >/dev/null 2>&1; then
        bb=$c
        break
    fi
done
old_nic=$(sed -n 's/^nic=//p' "$info" 2>/dev/null || true)
nic=${old_nic:-e1000}
if [ "${TINY_FORCE:-0}" != 1 ] && [ -f "$iso" ] && [ "$old_kpkg" = "$kpkg" ] &&
    [ "$old_debs" = "$debs" ] && [ -z "$(find -H "$self" "$helpers" "${bb:-$self}" "$isolinux_bin" "$ldlinux" -newer "$iso" 2>/dev/null | head -n 1)" ]; then
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
    etc/init.d etc/acpi/PWRF etc/dropbear lib/tiny usr/share/udhcpc "lib/modules/$kver"
cp "$bb" bin/busybox
chmod 0755 bin/busybox
"$bb" --list-full | while read -r p; do
    [ -e "$p" ] || [ -L "$p" ] || ln -s /bin/busybox "$p"
done
cp "$helpers/init" init
cp "$helpers/inittab" etc/inittab
cp "$helpers/rcS" "$helpers/rcK" "$helpers/seed" "$helpers/console" etc/init.d/
cp "$helpers/userdata" "$helpers/net" "$helpers/ssh" "$helpers/mime.awk" \
    "$helpers/keys.awk" lib/tiny/
cp "$helpers/udhcpc.script" usr/share/udhcpc/default.script
cp "$helpers/power-button" etc/acpi/PWRF/00000080
cp "$helpers/issue" etc/issue
chmod 0755 init etc/init.d/* etc/acpi/PWRF/00000080 lib/tiny/userdata lib/tiny/net \
    lib/tiny/ssh usr/share/udhcpc/default.script
chmod 0700 root
# root has an empty password (console login without one) until the seed
# gives SSH keys; /etc/init.d/seed then locks it.
printf 'root::0:0:root:/root:/bin/sh\n' >etc/passwd
printf 'root:x:0:\ntty:x:5:\n' >etc/group
printf '/bin/sh\n/bin/ash\n' >etc/shells
printf 'passwd: files\ngroup: files\nshadow: files\nhosts: files dns\n' >etc/nsswitch.conf
printf '127.0.0.1\tlocalhost\n127.0.1.1\ttiny\n' >etc/hosts
printf 'tiny\n' >etc/hostname
printf 'tiny guest built by mk-tiny.sh from %s (%s)\n' "$kpkg" "$kver" >etc/tiny-release
echo "$ssh_user" >etc/tiny-ssh-user

# Packages (scripts/tiny/packages): unpacked once into the cache, merged in
# $work/pkgroot; the listed files and the shared libraries they need (as
# the packages' own loader resolves them within pkgroot) are installed.
pkgroot=$work/pkgroot
mkdir -p "$pkgroot" "$cache/pkgs"
for d in $debs; do
    t=$cache/pkgs/${d%.deb}
    if [ ! -f "$t/.unpacked" ]; then
        rm -rf "$t" "$t.tmp"
        if ! dpkg -x "$debdir/$d" "$t.tmp"; then
            rm -rf "${debdir:?}/$d" "$t.tmp"
            die "dpkg -x $d failed (interrupted download?); deleted it, run again"
        fi
        touch "$t.tmp/.unpacked"
        mv "$t.tmp" "$t"
    fi
    cp -a "$t/." "$pkgroot/"
done
rm -f "$pkgroot/.unpacked"
ldso=$(find "$pkgroot" -type f -name 'ld-linux*.so*' | head -n 1)
[ -n "$ldso" ] || die "no dynamic loader (ld-linux*.so*) in the packages of $pkglist (libc6?)"
libpath=$(find "$pkgroot" \( -name '*.so' -o -name '*.so.*' \) \( -type f -o -type l \) |
    sed 's|/[^/]*$||' | LC_ALL=C sort -u | tr '\n' ':')
# A path in pkgroot with its symlinks followed inside pkgroot (a package's
# absolute symlink must not reach this host's files).
in_root() {
    r=$1
    i=0
    while [ -L "$r" ]; do
        t=$(readlink "$r")
        case $t in /*) r=$pkgroot$t ;; *) r=$(dirname "$r")/$t ;; esac
        i=$((i + 1))
        [ "$i" -lt 40 ] || die "symlink loop at $1"
    done
    [ -f "$r" ] || die "${1#"$pkgroot"/} leads to no file in the packages"
    echo "$r"
}
sed 's/#.*//' "$pkglist" | awk 'NF > 1 { for (i = 2; i <= NF; i++) print $1, $i }' >"$work/pkgfiles"
nlibs=0
libkb=0
while read -r p f; do
    f=${f#/}
    [ -f "$pkgroot/$f" ] || die "$f is not in package $p ($pkglist)"
    mkdir -p "$(dirname "$f")"
    rm -f "$f"
    cp "$(in_root "$pkgroot/$f")" "$f"
    chmod 0755 "$f"
    if ! "$ldso" --inhibit-cache --library-path "$libpath" --list "$pkgroot/$f" >"$work/ldd" 2>&1; then
        if ! grep -q '=>' "$work/ldd"; then
            sed 's/^/    /' "$work/ldd" >&2
            die "the loader $(basename "$ldso") cannot list the libraries of $f"
        fi
    fi
    # "NAME => PATH (0x...)" for a library, "INTERP => PATH (0x...)" for the
    # loader, "NAME (0x...)" for the vDSO.
    while read -r name arrow path _; do
        [ "$arrow" = "=>" ] || continue
        case $path in
        "$pkgroot"/*) ;;
        not)
            die "$f needs $name, which no package of $pkglist provides: add its package (apt-file search $name)"
            ;;
        *)
            die "$f needs $name, found only on this host ($path), in no package of $pkglist: add its package"
            ;;
        esac
        case $name in
        /*) dest=${name#/} ;;         # the loader, at its PT_INTERP path
        *) dest=${path#"$pkgroot"/} ;; # a library, where its package has it
        esac
        [ -f "$dest" ] && continue
        mkdir -p "$(dirname "$dest")"
        cp "$(in_root "$path")" "$dest"
        nlibs=$((nlibs + 1))
        libkb=$((libkb + ($(wc -c <"$dest") + 1023) / 1024))
    done <"$work/ldd"
done <"$work/pkgfiles"
say "packages: $(awk '{ print $2 }' "$work/pkgfiles" | tr '\n' ' ')+ $nlibs shared objects: libraries and the loader ($libkb KB)"

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
# The template's NIC: e1000 when this kernel has its driver, else vmxnet3.
case "$have" in
*" e1000 "*) nic=e1000 ;;
*) if grep -qx e1000 "$work/builtin"; then nic=e1000; else nic=vmxnet3; fi ;;
esac
say "template NIC: $nic"

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
    echo "debs=$debs"
    echo "nic=$nic"
    echo "ssh_user=$ssh_user"
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
# ... and only the unpacked packages in use.
for t in "$cache"/pkgs/*; do
    [ -d "$t" ] || continue
    case " $debs " in *" $(basename "$t").deb "*) ;; *)
        say "pruning $(basename "$t") from the cache"
        rm -rf "$t"
        ;;
    esac
done
say "done: $out"
