#!/usr/bin/env bash
# Installs everything the build and the tests need, on a Debian 12 machine with
# nothing but the package registries. Idempotent: a second run checks and returns.
#   deps.sh        everything
#   deps.sh run    what `make run` needs: not the vsock guests' backend, nor
#                  the binding checks' and the plots' Python packages
#                  (`make check` and `make bench` install them)
# Traps it works around are explained in docs/testing.md ("What the harness works around").
set -euo pipefail
only_run=0; [ "${1:-}" = run ] && only_run=1

log() { printf 'deps: %s\n' "$*"; }
quiet() { "$@" >/tmp/restricted-dma-deps.log 2>&1 || { cat /tmp/restricted-dma-deps.log; return 1; }; }

export DEBIAN_FRONTEND=noninteractive

debs=(
  linux-source-6.12 rustc-web rust-web-src cargo-web rust-web-clippy rustfmt-web
  clang lld llvm libclang-dev
  bc bison flex libelf-dev libssl-dev cpio kmod device-tree-compiler xz-utils rsync
  gcc-aarch64-linux-gnu libc6-dev-arm64-cross
  qemu-system-arm python3-venv valgrind iproute2
)

missing=()
for p in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  dpkg --add-architecture arm64
  missing+=(update-only)
fi

if [ ${#missing[@]} -gt 0 ]; then
  log "installing Debian packages: ${missing[*]}"
  quiet apt-get update -q
  # The image ships qemu-utils from bookworm-backports, which Breaks bookworm's
  # qemu-system-arm: downgrade it to the bookworm version first.
  qver=$(apt-cache madison qemu-utils | awk -F'|' '$3 ~ /bookworm(-updates|-security)?\/main/ && $3 !~ /backports/ {gsub(/ /,"",$2); print $2; exit}')
  pins=()
  if [ -n "$qver" ] && dpkg-query -W -f='${Version}' qemu-utils 2>/dev/null | grep -q bpo; then
    pins=("qemu-utils=$qver")
  fi
  real=()
  for p in "${missing[@]}"; do [ "$p" = update-only ] || real+=("$p"); done
  [ ${#real[@]} -eq 0 ] || quiet apt-get install -y -q --no-install-recommends --allow-downgrades "${pins[@]}" "${real[@]}"
fi

# bindgen: Debian's 0.60 is below the kernel's minimum (0.65.1).
if ! command -v bindgen >/dev/null 2>&1 && ! [ -x "$HOME/.cargo/bin/bindgen" ]; then
  log "installing bindgen-cli from crates.io (about 3 minutes)"
  quiet /usr/bin/cargo install --locked bindgen-cli
fi

cache=${RDMA_CACHE:-/var/cache/restricted-dma}

# The window backend, the host program behind the guests' vhost-user-blk
# devices: built from its locked crates into the cache. cargo does nothing
# when it is up to date (under a second).
wb=$(cd "$(dirname "$0")/../../../window-backend" && pwd)
[ -x "$cache/window-backend-target/release/window-backend" ] ||
  log "building the window backend from crates.io (about a minute)"
quiet env CARGO_TARGET_DIR="$cache/window-backend-target" \
  /usr/bin/cargo build --quiet --release --locked --manifest-path "$wb/Cargo.toml"
# rust-vmm's vhost-device-vsock, the host side of the `vsock` guest's
# vhost-user-vsock device, pinned with its own lock file.
vsock_version=0.3.0
vsock_root=$cache/vhost-device-vsock-$vsock_version
if [ $only_run = 0 ] && ! [ -x "$vsock_root/bin/vhost-device-vsock" ]; then
  log "installing vhost-device-vsock $vsock_version from crates.io (about a minute)"
  quiet /usr/bin/cargo install --quiet --locked vhost-device-vsock --version "$vsock_version" \
    --root "$vsock_root"
fi
# Static arm64 busybox for the guest's initramfs.
bb=$cache/busybox/bin/busybox
if ! [ -x "$bb" ]; then
  log "fetching busybox-static:arm64"
  d=$(mktemp -d)
  (cd "$d" && quiet apt-get download busybox-static:arm64)
  mkdir -p "$cache/busybox"
  dpkg -x "$d"/busybox-static_*_arm64.deb "$cache/busybox"
  rm -rf "$d"
fi

# dtschema for the binding checks and matplotlib for the benchmark's plots,
# in a venv of their own so that whichever python3 is first on PATH does not
# matter.
if [ $only_run = 0 ] && { ! [ -x "$cache/venv/bin/dt-doc-validate" ] ||
   ! "$cache/venv/bin/python" -c 'import matplotlib' 2>/dev/null; }; then
  log "installing dtschema, yamllint and matplotlib (for make bench's plots) from PyPI"
  quiet /usr/bin/python3 -m venv "$cache/venv"
  quiet "$cache/venv/bin/pip" install -q dtschema yamllint matplotlib
fi
log "ok"
