# Sourced by the harness scripts: where things live and which tools to use.
# Build trees and downloads are cached outside the repository, in $RDMA_CACHE.
RDMA_CACHE=${RDMA_CACHE:-/var/cache/restricted-dma}
RDMA_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../../.." && pwd)
# The kselftests and the config fragments of their kernels.
RDMA_SELFTESTS=$RDMA_REPO/selftests/restricted_dma
# What runs them: this harness, the guest's init, the carried kernel patches.
RDMA_TOOLS=$RDMA_REPO/tools/testing/restricted_dma
RDMA_HARNESS=$RDMA_TOOLS/harness
RDMA_KSRC_TARBALL=/usr/src/linux-source-6.12.tar.xz

# Debian's rustc-web (with rust-src) must win over rustup's rustc, which has no
# rust-src; bindgen comes from `cargo install`.
RDMA_BINDGEN=$(command -v bindgen 2>/dev/null || echo "$HOME/.cargo/bin/bindgen")
# The same Debian toolchain for host tests and lints as for the kernel.
RDMA_CARGO=/usr/bin/cargo
RDMA_KMAKE=(make ARCH=arm64 LLVM=1 RUSTC=/usr/bin/rustc HOSTRUSTC=/usr/bin/rustc
            RUSTDOC=/usr/bin/rustdoc BINDGEN="$RDMA_BINDGEN")

# Which kernel: RDMA_FLAVOUR=module (the default: restricted_dma.ko loaded
# into a plain kernel), builtin (restricted_dma compiled into the kernel) or
# debug (the module, in a kernel with KASAN, lockdep, DMA-API debugging...).
RDMA_FLAVOUR=${RDMA_FLAVOUR:-module}
# rdma_fragments FLAVOUR: the config fragments a flavour's kernel is made of.
rdma_fragments() {
  case "$1" in
  module) echo "$RDMA_SELFTESTS/config" ;;
  builtin) echo "$RDMA_SELFTESTS/config" "$RDMA_SELFTESTS/config.builtin" ;;
  debug) echo "$RDMA_SELFTESTS/config" "$RDMA_SELFTESTS/config.debug" ;;
  *) echo "RDMA_FLAVOUR must be module, builtin or debug, not '$1'" >&2; return 2 ;;
  esac
}
read -ra RDMA_FRAGMENTS <<< "$(rdma_fragments "$RDMA_FLAVOUR")" || exit 2
[ ${#RDMA_FRAGMENTS[@]} -gt 0 ] || exit 2

# What the tree lacks, carried here and applied in name order when kernel.sh
# unpacks it (each patch says why): the unpacked tree is the package plus
# these.
RDMA_KPATCHES=("$RDMA_TOOLS"/kernel-patches/*.patch)
# rdma_dtb_renames DTS DTB: renames in DTB each node its source names in a
# "/* RENAME FROM TO */" line (guests/model.py's RENAME: siblings of one
# name, which dtc refuses to compile). FROM and TO have one length, so the
# blob's layout stays as dtc made it.
rdma_dtb_renames() {
  local from to
  while read -r from to; do
    [ "${#from}" = "${#to}" ] || { echo "rdma_dtb_renames: $from and $to differ in length" >&2; return 1; }
    LC_ALL=C sed -i "s/$from\x00/$to\x00/" "$2" || return 1
  done < <(sed -n 's|^/\* RENAME \([^ ]*\) \([^ ]*\) \*/$|\1 \2|p' "$1")
}

rdma_kpatches_key() { cat "${RDMA_KPATCHES[@]}" | sha256sum | cut -c1-16; }

# A kernel build tree is keyed by everything it is built from: the kernel
# package and the patches carried for it, the flavour and its config
# fragments, and the toolchain. The module's own sources are not part of
# the key: a change to them is an incremental build of the same tree (the
# built-in flavour) or of the module.
# rdma_kernel_key [FLAVOUR]: the key of FLAVOUR's tree (by default this one's).
rdma_kernel_key() {
  local flavour=${1:-$RDMA_FLAVOUR} fragments
  read -ra fragments <<< "$(rdma_fragments "$flavour")"
  {
    dpkg-query -W -f='${Version}\n' linux-source-6.12 2>/dev/null
    rdma_kpatches_key
    echo "$flavour"
    cat "${fragments[@]}"
    /usr/bin/rustc --version 2>/dev/null
    "$RDMA_BINDGEN" --version 2>/dev/null
    clang --version 2>/dev/null | head -n1
  } | sha256sum | cut -c1-16
}
# One source tree for every flavour: the package, the carried patches (among
# them a place for drivers/restricted_dma), and for the built-in flavour the
# module's sources copied there by kernel.sh.
RDMA_KSRC=$RDMA_CACHE/linux-src-$(dpkg-query -W -f='${Version}' linux-source-6.12 2>/dev/null || echo none)
RDMA_KBUILD=$RDMA_CACHE/kbuild-$RDMA_FLAVOUR-$(rdma_kernel_key)
# The built-in flavour's build directory starts as a copy of the module
# flavour's (kernel.sh): the two configs differ by CONFIG_RESTRICTED_DMA
# and CONFIG_DMA_RESTRICTED_POOL alone, so Kbuild rebuilds only what those
# options touch.
RDMA_KBUILD_BASE=$RDMA_CACHE/kbuild-module-$(rdma_kernel_key module)
# Out-of-tree modules build in a directory of their own per flavour (6.12's
# Kbuild writes an external module's objects beside its sources), never in
# the repository.
RDMA_MODBUILD=${RDMA_MODBUILD:-$RDMA_CACHE/modbuild-$RDMA_FLAVOUR}
# Where cargo builds the pool crate for the host tests, lints and benches.
# Cargo names what it builds by the crate, not by where its sources are, and
# goes by file times: a copy of the crate with other sources (`make
# bench-ablate`'s) must build elsewhere, or this tree's next build would look
# fresh and be the copy's.
RDMA_CARGO_TARGET=${RDMA_CARGO_TARGET:-$RDMA_CACHE/cargo-target}
# The host program that serves the guests' vhost-user-blk devices, mapping
# only their window of guest memory (tools/window-backend,
# built by `make deps`).
RDMA_WINDOW_BACKEND=$RDMA_CACHE/window-backend-target/release/window-backend
# rust-vmm's vhost-user-vsock backend for the `vsock` guest (`make deps`,
# pinned to the version deps.sh installs), unless the environment names
# another (a newer one, or a wrapper to trace it).
RDMA_VSOCK_BACKEND=${RDMA_VSOCK_BACKEND:-$RDMA_CACHE/vhost-device-vsock-0.3.0/bin/vhost-device-vsock}
# The kernel image the guests boot.
RDMA_IMAGE=$RDMA_KBUILD/arch/arm64/boot/Image
# How long a guest may run before it is killed and counted as failed: a TCG
# budget, not a test (tests never time themselves). The checkers of the
# debug kernel slow a guest down about eight times.
if [ "$RDMA_FLAVOUR" = debug ]; then
  RDMA_GUEST_TIMEOUT=${RDMA_GUEST_TIMEOUT:-1500}
else
  RDMA_GUEST_TIMEOUT=${RDMA_GUEST_TIMEOUT:-300}
fi
