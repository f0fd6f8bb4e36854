#!/bin/sh
# Makes a template bundle VM_LIB/NAME.vmwarevm/NAME.vmx from
# vmx/templates/NAME.vmx.in: "@ISO@" becomes the absolute path of ISO, and
# every disk (*.fileName = "X.vmdk") the template names is created empty and
# sparse when missing (size: the template's "# mk-vmx disk-size: 8G" line).
# An existing disk is never replaced.
#
# Usage: scripts/mk-vmx.sh NAME [ISO] [VM_LIB]    (VM_LIB default ./vmx)
#   make vmx-alpine ISO=path/to/alpine-virt-3.4.4-x86_64.iso
#   make vmx-moby ISO=path/to/mobylinux.iso
# Without ISO, a matching file in REPO/iso/ is used; for alpine,
# DOWNLOAD=1 fetches it into REPO/iso/ with curl.
set -eu

say() { echo "mk-vmx: $*"; }
die() {
    echo "mk-vmx: error: $*" >&2
    exit 1
}

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
name=${1:-}
iso=${2:-}
vmlib=${3:-./vmx}
isodir=$root/iso

templates() {
    for t in "$root"/vmx/templates/*.vmx.in; do
        [ -f "$t" ] || continue
        t=${t##*/}
        printf '%s ' "${t%.vmx.in}"
    done
}
case $name in
'') die "usage: $0 NAME [ISO] [VM_LIB]; templates: $(templates)" ;;
.* | */* | *[!A-Za-z0-9._-]*) die "bad template name '$name' (letters, digits, '.', '_', '-'; no leading dot)" ;;
esac
template=$root/vmx/templates/$name.vmx.in
[ -f "$template" ] || die "no template $template; available: $(templates)"

# --- the ISO -------------------------------------------------------------------
alpine_url=https://dl-cdn.alpinelinux.org/alpine/v3.4/releases/x86_64
alpine_iso=alpine-virt-3.4.4-x86_64.iso

find_local_iso() { # first file in iso/ matching the patterns, in order
    for pat in "$@"; do
        for f in "$isodir"/$pat; do
            [ -f "$f" ] && { echo "$f"; return 0; }
        done
    done
    return 1
}

if [ -z "$iso" ]; then
    case $name in
    alpine-3.4.4)
        if iso=$(find_local_iso "$alpine_iso" "alpine-*3.4.4*x86_64.iso"); then
            say "using $iso (found in iso/)"
        elif [ "${DOWNLOAD:-0}" = 1 ]; then
            command -v curl >/dev/null 2>&1 || die "DOWNLOAD=1 needs curl; or fetch $alpine_url/$alpine_iso yourself and run: make vmx-alpine ISO=path/to/$alpine_iso"
            mkdir -p "$isodir"
            say "downloading $alpine_url/$alpine_iso into iso/"
            if ! curl -fL --retry 2 --connect-timeout 20 -o "$isodir/$alpine_iso.part" "$alpine_url/$alpine_iso"; then
                rm -f "$isodir/$alpine_iso.part"
                die "could not download $alpine_url/$alpine_iso (no network?). Fetch it another way and run: make vmx-alpine ISO=path/to/$alpine_iso"
            fi
            if command -v sha256sum >/dev/null 2>&1 &&
                sum=$(curl -fsL --connect-timeout 20 "$alpine_url/$alpine_iso.sha256" 2>/dev/null) &&
                [ -n "$sum" ]; then
                want=$(echo "$sum" | awk '{ print $1; exit }')
                got=$(sha256sum "$isodir/$alpine_iso.part" | awk '{ print $1 }')
                if [ "$want" != "$got" ]; then
                    rm -f "$isodir/$alpine_iso.part"
                    die "checksum mismatch for $alpine_iso (expected $want, got $got); download removed, try again"
                fi
                say "sha256 ok"
            fi
            mv -f "$isodir/$alpine_iso.part" "$isodir/$alpine_iso"
            iso=$isodir/$alpine_iso
        else
            die "no ISO given. Download $alpine_iso from $alpine_url/ (Alpine 3.4 releases) and run
    make vmx-alpine ISO=path/to/$alpine_iso
or put it in iso/ and run 'make vmx-alpine', or let this script fetch it with curl:
    DOWNLOAD=1 make vmx-alpine"
        fi
        ;;
    mobylinux)
        if iso=$(find_local_iso "mobylinux*.iso" "moby*.iso"); then
            say "using $iso (found in iso/)"
        else
            die "no ISO given, and Moby Linux has no public download. Build a bootable x86_64
ISO yourself (e.g. with LinuxKit: 'linuxkit build -format iso-bios moby.yml'
from a moby/linuxkit checkout), then either put it in iso/ as mobylinux.iso
and run 'make vmx-moby', or run: make vmx-moby ISO=path/to/mobylinux.iso"
        fi
        ;;
    *)
        die "no ISO given: run $0 $name path/to/image.iso"
        ;;
    esac
fi

[ -f "$iso" ] || die "ISO '$iso' does not exist (give an existing file: ISO=path/to/image.iso)"
[ -r "$iso" ] || die "ISO '$iso' is not readable"
case $iso in
*'
'*) die "the ISO path contains a newline; rename the file" ;;
esac
iso_abs=$(cd "$(dirname "$iso")" && pwd)/$(basename "$iso")
if [ "$(dd if="$iso_abs" bs=1 skip=32769 count=5 2>/dev/null)" != CD001 ]; then
    say "warning: $iso_abs has no ISO 9660 signature; is it really a CD image?"
fi

# --- the VMX --------------------------------------------------------------------
mkdir -p "$vmlib/$name.vmwarevm" || die "cannot create $vmlib/$name.vmwarevm"
out=$(cd "$vmlib/$name.vmwarevm" && pwd)
vmx=$out/$name.vmx
tmp=$out/.$name.vmx.$$
trap 'rm -rf "$tmp" "$out/.vmdk.$$"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
# VMX values escape '"' and '|' as |22 and |7C. awk substitutes literally.
val=$(printf '%s' "$iso_abs" | sed 's/|/|7C/g; s/"/|22/g')
awk -v val="$val" '{
    out = ""; line = $0
    while ((i = index(line, "@ISO@")) > 0) {
        out = out substr(line, 1, i - 1) val
        line = substr(line, i + 5)
    }
    print out line
}' "$template" >"$tmp"
if cmp -s "$tmp" "$vmx"; then
    rm -f "$tmp"
    say "$vmx is up to date"
else
    mv -f "$tmp" "$vmx"
    say "wrote $vmx (CD-ROM: $iso_abs)"
fi

# --- disks ------------------------------------------------------------------------
size=$(sed -n 's/^# *mk-vmx disk-size: *\([0-9][0-9]*[KMGT]\) *$/\1/p' "$template" | head -n 1)
size=${size:-8G}
sed -n 's/^\([A-Za-z]*\)[0-9]*:[0-9]*\.[Ff][Ii][Ll][Ee][Nn][Aa][Mm][Ee] *= *"\(.*\.vmdk\)" *$/\1 \2/p' "$vmx" |
    while read -r bus disk; do
        case $disk in /*) path=$disk ;; *) path=$out/$disk ;; esac
        if [ -f "$path" ]; then
            say "keeping existing disk $path"
            continue
        fi
        case $bus in scsi) adapter=lsilogic ;; *) adapter=ide ;; esac
        vdm=""
        for c in vmware-vdiskmanager "/Applications/VMware Fusion.app/Contents/Library/vmware-vdiskmanager"; do
            if command -v "$c" >/dev/null 2>&1 || [ -x "$c" ]; then
                vdm=$c
                break
            fi
        done
        if command -v qemu-img >/dev/null 2>&1; then
            # The descriptor names the file itself: create it under its final
            # name in a scratch directory, then move it in.
            scratch=$(dirname "$path")/.vmdk.$$
            mkdir -p "$scratch"
            qemu-img create -q -f vmdk -o adapter_type=$adapter "$scratch/$(basename "$path")" "$size" ||
                die "qemu-img could not create $path"
            mv -f "$scratch/$(basename "$path")" "$path"
            rmdir "$scratch"
        elif [ -n "$vdm" ]; then
            "$vdm" -c -s "${size}B" -a "$adapter" -t 0 "$path" >/dev/null ||
                die "vmware-vdiskmanager could not create $path"
        else
            die "cannot create the disk $path: install qemu-utils (qemu-img), or run
    vmware-vdiskmanager -c -s ${size}B -a $adapter -t 0 \"$path\""
        fi
        say "created $path ($size sparse, $adapter)"
    done
say "done: template '$name' is $vmx"
