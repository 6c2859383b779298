#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Builds the arm64 kernel of a flavour (RDMA_FLAVOUR, see env.sh): unpacks
# Debian's linux-source-6.12 once, configures it from allnoconfig plus the
# flavour's fragments, and builds Image and modules with Rust in its own
# cached directory. A tree whose key (env.sh) is unchanged is reused.
#
# module, debug: the tree is not modified; restricted_dma is built out of tree
# against it (module.sh).
# builtin: a hard-linked copy of the tree gets the module's sources in
# drivers/restricted_dma and one line each in drivers/Kconfig and
# drivers/Makefile to reach them; nothing else changes. Every run re-syncs
# the sources and rebuilds incrementally.
set -euo pipefail
. "$(dirname "$0")/env.sh"

if [ "${1:-}" = --print-dir ]; then echo "$RDMA_KBUILD"; exit 0; fi

if [ -f "$RDMA_KBUILD/.rdma-built" ] && [ "$RDMA_FLAVOUR" != builtin ]; then
  echo "kernel ($RDMA_FLAVOUR): up to date in $RDMA_KBUILD"; exit 0
fi
[ -f "$RDMA_KSRC_TARBALL" ] || { echo "kernel: $RDMA_KSRC_TARBALL missing: run 'make deps'" >&2; exit 1; }

# The unpacked tree records which patches it carries; other patches (a
# commit that changes them) unpack it afresh. Trees built from the old one
# have another key and are left alone (the built-in flavour's copies are
# hard links, which a fresh unpack does not touch).
if [ "$(cat "$RDMA_KSRC/.rdma-unpacked" 2>/dev/null)" != "$(rdma_kpatches_key)" ]; then
  echo "kernel: unpacking $RDMA_KSRC_TARBALL"
  rm -rf "$RDMA_KSRC" && mkdir -p "$RDMA_KSRC"
  tar -xf "$RDMA_KSRC_TARBALL" -C "$RDMA_KSRC" --strip-components=1
  for p in "${RDMA_KPATCHES[@]}"; do
    echo "kernel: applying ${p#"$RDMA_REPO"/}"
    # git apply, as patch(1) may not be installed; the ceiling keeps it from
    # taking a repository above the cache for the tree.
    (cd "$RDMA_KSRC" && GIT_CEILING_DIRECTORIES=$(dirname "$RDMA_KSRC") git apply -p1 "$p") || { echo "kernel: ${p##*/} does not apply to $RDMA_KSRC_TARBALL" >&2; exit 1; }
  done
  rdma_kpatches_key > "$RDMA_KSRC/.rdma-unpacked"
fi

# The built-in tree: the module's sources where an in-tree driver's would be.
if [ "$RDMA_FLAVOUR" = builtin ]; then
  if ! [ -f "$RDMA_KTREE/.rdma-tree" ]; then
    rm -rf "$RDMA_KTREE" "$RDMA_KTREE.tmp"
    cp -al "$RDMA_KSRC" "$RDMA_KTREE.tmp"
    # Replace (not edit in place) the two files we extend: the others are
    # hard links into the pristine tree.
    for f in drivers/Kconfig drivers/Makefile; do
      cp "$RDMA_KTREE.tmp/$f" "$RDMA_KTREE.tmp/$f.new" && mv "$RDMA_KTREE.tmp/$f.new" "$RDMA_KTREE.tmp/$f"
    done
    sed -i 's|^endmenu$|source "drivers/restricted_dma/Kconfig"\n\nendmenu|' "$RDMA_KTREE.tmp/drivers/Kconfig"
    echo 'obj-$(CONFIG_RESTRICTED_DMA)	+= restricted_dma/' >> "$RDMA_KTREE.tmp/drivers/Makefile"
    grep -q restricted_dma/Kconfig "$RDMA_KTREE.tmp/drivers/Kconfig" || { echo "kernel: cannot extend drivers/Kconfig" >&2; exit 1; }
    touch "$RDMA_KTREE.tmp/.rdma-tree"
    mv "$RDMA_KTREE.tmp" "$RDMA_KTREE"
  fi
  mkdir -p "$RDMA_KTREE/drivers/restricted_dma"
  # --checksum: only files whose content changed get a new mtime, so make
  # rebuilds exactly what changed.
  rsync -r --checksum --delete --exclude 'pool/tests*' --exclude 'pool/Cargo.*' \
    --exclude 'pool/lib.rs' --exclude 'ffi/bindings_generated.rs' \
    "$RDMA_REPO/Kbuild" "$RDMA_REPO/Kconfig" "$RDMA_REPO/rust" "$RDMA_KTREE/drivers/restricted_dma/"
fi

start=$(date +%s)
mkdir -p "$RDMA_KBUILD"
export PATH=/usr/bin:/bin:$PATH
km=("${RDMA_KMAKE[@]}" -C "$RDMA_KTREE" O="$RDMA_KBUILD")
if ! [ -f "$RDMA_KBUILD/.rdma-configured" ]; then
  echo "kernel ($RDMA_FLAVOUR): configuring in $RDMA_KBUILD"
  "${km[@]}" -s allnoconfig
  "$RDMA_KSRC/scripts/kconfig/merge_config.sh" -m -O "$RDMA_KBUILD" \
    "$RDMA_KBUILD/.config" "${RDMA_FRAGMENTS[@]}" >/dev/null
fi
"${km[@]}" -s olddefconfig
# Every option we asked for must have survived olddefconfig (a missing dependency
# silently drops an option, and Rust in particular depends on the toolchain).
missing=0
while IFS= read -r line; do
  case "$line" in
  CONFIG_*=*) grep -qx "$line" "$RDMA_KBUILD/.config" || { echo "kernel: $line did not stick" >&2; missing=1; } ;;
  "# CONFIG_"*" is not set") ! grep -q "^${line:2:-11}=" "$RDMA_KBUILD/.config" || { echo "kernel: ${line:2} did not stick" >&2; missing=1; } ;;
  esac
done < <(cat "${RDMA_FRAGMENTS[@]}")
[ $missing -eq 0 ] || { "${km[@]}" rustavailable >&2 || true; exit 1; }
touch "$RDMA_KBUILD/.rdma-configured"

if [ -f "$RDMA_KBUILD/.rdma-built" ]; then
  echo "kernel ($RDMA_FLAVOUR): rebuilding what changed"
else
  echo "kernel ($RDMA_FLAVOUR): building Image and modules (8-10 minutes from scratch on 2 cores)"
fi
"${km[@]}" -s -j"$(nproc)" Image modules >"$RDMA_KBUILD/build.log" 2>&1 || { tail -n 50 "$RDMA_KBUILD/build.log"; exit 1; }
touch "$RDMA_KBUILD/.rdma-built"
echo "kernel ($RDMA_FLAVOUR): built in $(( $(date +%s) - start )) s"
