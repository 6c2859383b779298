#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# initramfs.sh WORKDIR VARIANT: writes WORKDIR/initrd.gz, the guest's
# initramfs: a common part (busybox, /init, module, tests, helper programs)
# and the variant's expectations, as two concatenated cpio archives (the
# kernel unpacks them in turn).
set -euo pipefail
. "$(dirname "$0")/env.sh"
work=$1 variant=$2
root=$work/rootfs
bb=$RDMA_CACHE/busybox/bin/busybox
[ -x "$bb" ] || { echo "initramfs: busybox missing: run 'make deps'" >&2; exit 1; }

rm -rf "$root" && mkdir -p "$root"/{bin,dev,proc,sys,tmp,etc/restricted_dma,lib/modules,selftests/restricted_dma,selftests/kselftest}
cp "$bb" "$root/bin/busybox"
cp "$RDMA_TOOLS/guest/init" "$root/init"
chmod +x "$root/init"
# The modules: restricted_dma.ko (unless it is built in) and the test driver.
# (RDMA_KO: another build of restricted_dma.ko, to show what a test does on
# an older tree.)
ko=${RDMA_KO:-$("$RDMA_HARNESS/module.sh" --print-ko)}
tko=$("$RDMA_HARNESS/module.sh" --print-test-ko)
if [ "$RDMA_FLAVOUR" != builtin ]; then
  [ -f "$ko" ] || { echo "initramfs: $ko missing: run 'make module'" >&2; exit 1; }
  cp "$ko" "$root/lib/modules/"
fi
[ -f "$tko" ] || { echo "initramfs: $tko missing: run 'make module'" >&2; exit 1; }
cp "$tko" "$root/lib/modules/"
t=$root/selftests/restricted_dma
# Installed as kselftest installs a collection: kselftest's runner and
# helpers beside it, the tests executable, and the collection's settings.
cp "$RDMA_KSRC/tools/testing/selftests/kselftest/runner.sh" \
   "$RDMA_KSRC/tools/testing/selftests/kselftest/ktap_helpers.sh" "$root/selftests/kselftest/"
cp "$RDMA_KSRC/tools/testing/selftests/kselftest/ktap_helpers.sh" "$RDMA_SELFTESTS/settings" "$t/"
cp "$RDMA_SELFTESTS"/*.sh "$RDMA_TOOLS"/guest/*.sh "$t/"
chmod +x "$t"/*.sh
# Test programs in C, built static for the arm64 guest.
cc=(aarch64-linux-gnu-gcc -static -O2 -Wall)
for c in "$RDMA_SELFTESTS"/*.c; do
  "${cc[@]}" -o "$t/$(basename "$c" .c)" "$c"
done
# The kernel's own DMA benchmark, with its header where it expects it: in
# this guest's own directory, as check.sh builds two guests at a time (a
# shared copy was rewritten under the other's compiler).
inc=$work/include
mkdir -p "$inc/linux"
cp "$RDMA_KSRC/include/linux/map_benchmark.h" "$inc/linux/"
"${cc[@]}" -I"$inc" -o "$t/dma_map_benchmark" "$RDMA_KSRC/tools/testing/selftests/dma/dma_map_benchmark.c"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) > "$work/common.cpio.gz"

v=$work/variant-root
rm -rf "$v" && mkdir -p "$v/etc/restricted_dma"
cp "$work/expect" "$v/etc/restricted_dma/expect"
for f in "$work"/*.to-guest "$work"/*.to-host; do
  [ -e "$f" ] && cp "$f" "$v/etc/restricted_dma/"
done
(cd "$v" && find . | cpio -o -H newc --quiet | gzip -1) > "$work/variant.cpio.gz"
cat "$work/common.cpio.gz" "$work/variant.cpio.gz" > "$work/initrd.gz"
