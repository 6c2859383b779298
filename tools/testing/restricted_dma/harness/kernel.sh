#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Builds the arm64 kernel of a flavour (RDMA_FLAVOUR, see env.sh): unpacks
# Debian's linux-source-6.12 once, with the carried patches, configures it
# from allnoconfig plus the flavour's fragments, and builds Image and modules
# with Rust in its own cached directory. A tree whose key (env.sh) is
# unchanged is reused.
#
# module, debug: restricted_dma is built out of tree against them (module.sh).
# builtin: its sources are copied into drivers/restricted_dma (the place
# kernel-patches/0000 makes), and its build directory starts as a copy of the
# module kernel's with CONFIG_RESTRICTED_DMA=y and no mainline pool
# (config.builtin): Kbuild then rebuilds only what those options touch (the
# kernel crate, whose cfgs are the config, the DMA core's and OF's users of
# the pool, and our driver) instead of the whole kernel. Every run re-syncs
# the sources and rebuilds incrementally.
set -euo pipefail
. "$(dirname "$0")/env.sh"

if [ "${1:-}" = --print-dir ]; then echo "$RDMA_KBUILD"; exit 0; fi

if [ -f "$RDMA_KBUILD/.rdma-built" ] && [ "$RDMA_FLAVOUR" != builtin ]; then
  echo "kernel ($RDMA_FLAVOUR): up to date in $RDMA_KBUILD"; exit 0
fi
[ -f "$RDMA_KSRC_TARBALL" ] || { echo "kernel: $RDMA_KSRC_TARBALL missing: run 'make deps'" >&2; exit 1; }

# The unpacked tree records which patches it carries; other patches (a
# commit that changes them) unpack it afresh. Build trees of the old one
# have another key: they are left alone, never built again.
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

# The module's sources where an in-tree driver's would be (kernel-patches/0000
# points drivers/Kconfig and drivers/Makefile there): every flavour's Kconfig
# reads them, only the built-in one builds them. --checksum: only files whose
# content changed get a new mtime, so make rebuilds exactly what changed. The
# host crate's files and cargo's output (a `cargo test` in rust/pool leaves a
# target/) are left out, and deleted here if an earlier sync brought them.
mkdir -p "$RDMA_KSRC/drivers/restricted_dma"
rsync -r --checksum --delete --delete-excluded --exclude 'pool/tests*' --exclude 'pool/Cargo.*' \
  --exclude 'pool/lib.rs' --exclude 'ffi/bindings_generated.rs' --exclude target/ \
  "$RDMA_REPO/Kbuild" "$RDMA_REPO/Kconfig" "$RDMA_REPO/rust" "$RDMA_KSRC/drivers/restricted_dma/"

if [ "$RDMA_FLAVOUR" = builtin ]; then
  # The module kernel's build, copied once (its objects keep their times,
  # so make sees them up to date), then CONFIG_RESTRICTED_DMA=y on top.
  if ! [ -f "$RDMA_KBUILD/.rdma-configured" ]; then
    RDMA_FLAVOUR=module "$0"
    echo "kernel (builtin): starting from the module kernel's build, $RDMA_KBUILD_BASE"
    rm -rf "$RDMA_KBUILD" "$RDMA_KBUILD.tmp"
    cp -a "$RDMA_KBUILD_BASE" "$RDMA_KBUILD.tmp"
    rm -f "$RDMA_KBUILD.tmp/.rdma-built"
    "$RDMA_KSRC/scripts/kconfig/merge_config.sh" -m -O "$RDMA_KBUILD.tmp" \
      "$RDMA_KBUILD.tmp/.config" "$RDMA_SELFTESTS/config.builtin" >/dev/null
    mv "$RDMA_KBUILD.tmp" "$RDMA_KBUILD"
  fi
fi

start=$(date +%s)
mkdir -p "$RDMA_KBUILD"
export PATH=/usr/bin:/bin:$PATH
km=("${RDMA_KMAKE[@]}" -C "$RDMA_KSRC" O="$RDMA_KBUILD")
if ! [ -f "$RDMA_KBUILD/.rdma-configured" ]; then
  echo "kernel ($RDMA_FLAVOUR): configuring in $RDMA_KBUILD"
  "${km[@]}" -s allnoconfig
  "$RDMA_KSRC/scripts/kconfig/merge_config.sh" -m -O "$RDMA_KBUILD" \
    "$RDMA_KBUILD/.config" "${RDMA_FRAGMENTS[@]}" >/dev/null
fi
"${km[@]}" -s olddefconfig
# Every option we asked for must have survived olddefconfig (a missing dependency
# silently drops an option, and Rust in particular depends on the toolchain).
# A later fragment may set an option again: its word is the one that counts.
missing=0
while IFS= read -r line; do
  case "$line" in
  CONFIG_*=*) grep -qx "$line" "$RDMA_KBUILD/.config" || { echo "kernel: $line did not stick" >&2; missing=1; } ;;
  "# CONFIG_"*" is not set") ! grep -q "^${line:2:-11}=" "$RDMA_KBUILD/.config" || { echo "kernel: ${line:2} did not stick" >&2; missing=1; } ;;
  esac
done < <(cat "${RDMA_FRAGMENTS[@]}" | awk '{ o = $0 }
  /^CONFIG_[A-Z0-9_]+=/ { sub(/=.*/, "", o) } /^# CONFIG_[A-Z0-9_]+ is not set$/ { o = $2 }
  o ~ /^CONFIG_/ { if (!(o in last)) order[n++] = o; last[o] = $0 }
  END { for (i = 0; i < n; i++) print last[order[i]] }')
[ $missing -eq 0 ] || { "${km[@]}" rustavailable >&2 || true; exit 1; }
touch "$RDMA_KBUILD/.rdma-configured"

if [ -f "$RDMA_KBUILD/.rdma-built" ]; then
  echo "kernel ($RDMA_FLAVOUR): rebuilding what changed"
else
  echo "kernel ($RDMA_FLAVOUR): building Image and modules ($([ "$RDMA_FLAVOUR" = builtin ] &&
    echo "about a minute on the module kernel's objects" || echo "about 11 minutes from scratch on 2 cores"))"
fi
"${km[@]}" -s -j"$(nproc)" Image modules >"$RDMA_KBUILD/build.log" 2>&1 || { tail -n 50 "$RDMA_KBUILD/build.log"; exit 1; }
touch "$RDMA_KBUILD/.rdma-built"
echo "kernel ($RDMA_FLAVOUR): built in $(( $(date +%s) - start )) s"
