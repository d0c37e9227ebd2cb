#!/bin/sh
# Lays out the root filesystem of fedns's runtime image in DEST: the fedns binary (stripped), every
# shared library it and iptables load (as `ldd` lists them, at the same paths), the dynamic loader,
# iptables and ip6tables (nft backend, with their xtables extension modules: node-local set-up runs
# them), the CA certificates, and /etc/passwd and /etc/group naming the non-root user 65532.
# Used by the Containerfile's build stage and, on a developer's machine or in the test suite, with
# a binary built on the host. Usage: rootfs.sh BINARY DEST
set -eu
[ $# -eq 2 ] || { echo "usage: rootfs.sh BINARY DEST" >&2; exit 2; }
binary=$1
dest=$2
[ -x "$binary" ] || { echo "rootfs.sh: $binary is not an executable" >&2; exit 1; }
command -v xtables-nft-multi >/dev/null || { echo "rootfs.sh: xtables-nft-multi missing: install Debian's iptables" >&2; exit 1; }

# Merged /usr as Debian 12 has it: /lib and /lib64 are links into /usr, so a library lands at one
# path whichever of the two a binary names, and iptables finds its modules where it was built to.
mkdir -p "$dest/usr/bin" "$dest/usr/sbin" "$dest/usr/lib" "$dest/usr/lib64" "$dest/etc/ssl/certs" "$dest/etc/fedns" \
    "$dest/run/fedns" "$dest/tmp" "$dest/proc" "$dest/sys" "$dest/dev"
chmod 1777 "$dest/tmp"
[ -e "$dest/lib" ] || ln -s usr/lib "$dest/lib"
[ -e "$dest/lib64" ] || ln -s usr/lib64 "$dest/lib64"

# The binary without its symbol tables and debug sections (Swift needs neither at run time).
objcopy --strip-all "$binary" "$dest/usr/bin/fedns"

# iptables and ip6tables as Debian ships them: one multi-call binary of the nft backend.
xtables=$(command -v xtables-nft-multi)
cp "$xtables" "$dest/usr/sbin/xtables-nft-multi"
for name in iptables ip6tables iptables-nft ip6tables-nft iptables-save ip6tables-save iptables-restore ip6tables-restore; do
    ln -sf xtables-nft-multi "$dest/usr/sbin/$name"
done
# Matches and targets (udp, tcp, NOTRACK, CT, comment...) are modules iptables loads at run time.
xtdir=$(dirname "$(readlink -f "$(ldd "$xtables" | awk '/libxtables/ {print $3}')")")/xtables
mkdir -p "$dest$xtdir"
cp "$xtdir"/*.so "$dest$xtdir/"

# Every library the binaries need, at the path the loader finds it, and the loader itself.
copy_libs() {
    ldd "$1" | awk '/=> \// {print $3} /^\t\/.*ld-linux/ {print $1}' | while read -r lib; do
        [ -e "$dest$lib" ] && continue
        mkdir -p "$dest$(dirname "$lib")"
        cp -L "$lib" "$dest$lib"
    done
}
copy_libs "$binary"
copy_libs "$xtables"
for module in "$xtdir"/*.so; do copy_libs "$module"; done

cp -L /etc/ssl/certs/ca-certificates.crt "$dest/etc/ssl/certs/ca-certificates.crt"
printf 'root:x:0:0:root:/root:/usr/sbin/nologin\nfedns:x:65532:65532:fedns:/nonexistent:/usr/sbin/nologin\n' > "$dest/etc/passwd"
printf 'root:x:0:\nfedns:x:65532:\n' > "$dest/etc/group"
# The container runtime mounts its own over these; a read-only root needs them to exist.
: > "$dest/etc/resolv.conf"
: > "$dest/etc/hosts"
# Protocol names for iptables's `-p udp`; glibc reads them from here.
[ -e /etc/protocols ] && cp /etc/protocols "$dest/etc/protocols"
exit 0
