#!/usr/bin/env bash
# Unpacks Debian's linux-source-6.12 and builds an arm64 Image + modules with
# Rust, configured from allnoconfig plus selftests/restricted_dma/config.
# The tree is not modified. A build whose key (see env.sh) is unchanged is reused.
set -euo pipefail
. "$(dirname "$0")/env.sh"

if [ "${1:-}" = --print-dir ]; then echo "$RDMA_KBUILD"; exit 0; fi

if [ -f "$RDMA_KBUILD/.rdma-built" ]; then
  echo "kernel: up to date in $RDMA_KBUILD"; exit 0
fi
[ -f "$RDMA_KSRC_TARBALL" ] || { echo "kernel: $RDMA_KSRC_TARBALL missing: run 'make deps'" >&2; exit 1; }

if ! [ -f "$RDMA_KSRC/.rdma-unpacked" ]; then
  echo "kernel: unpacking $RDMA_KSRC_TARBALL"
  rm -rf "$RDMA_KSRC" && mkdir -p "$RDMA_KSRC"
  tar -xf "$RDMA_KSRC_TARBALL" -C "$RDMA_KSRC" --strip-components=1
  touch "$RDMA_KSRC/.rdma-unpacked"
fi

start=$(date +%s)
mkdir -p "$RDMA_KBUILD"
export PATH=/usr/bin:/bin:$PATH
km=("${RDMA_KMAKE[@]}" -C "$RDMA_KSRC" O="$RDMA_KBUILD")
echo "kernel: configuring in $RDMA_KBUILD"
"${km[@]}" -s allnoconfig
"$RDMA_KSRC/scripts/kconfig/merge_config.sh" -m -O "$RDMA_KBUILD" \
  "$RDMA_KBUILD/.config" "$RDMA_SELFTESTS/config" >/dev/null
"${km[@]}" -s olddefconfig
# Every option we asked for must have survived olddefconfig (a missing dependency
# silently drops an option, and Rust in particular depends on the toolchain).
missing=0
while IFS= read -r line; do
  case "$line" in CONFIG_*=*) grep -qx "$line" "$RDMA_KBUILD/.config" || { echo "kernel: $line did not stick" >&2; missing=1; } ;; esac
done < "$RDMA_SELFTESTS/config"
[ $missing -eq 0 ] || { "${km[@]}" rustavailable >&2 || true; exit 1; }

echo "kernel: building Image and modules (about 8 minutes from scratch on 2 cores)"
"${km[@]}" -s -j"$(nproc)" Image modules >"$RDMA_KBUILD/build.log" 2>&1 || { tail -n 50 "$RDMA_KBUILD/build.log"; exit 1; }
touch "$RDMA_KBUILD/.rdma-built"
echo "kernel: built in $(( $(date +%s) - start )) s"
