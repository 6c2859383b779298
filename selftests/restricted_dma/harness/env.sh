# Sourced by the harness scripts: where things live and which tools to use.
# Build trees and downloads are cached outside the repository, in $RDMA_CACHE.
RDMA_CACHE=${RDMA_CACHE:-/var/cache/restricted-dma}
RDMA_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
RDMA_SELFTESTS=$RDMA_REPO/selftests/restricted_dma
RDMA_KSRC_TARBALL=/usr/src/linux-source-6.12.tar.xz

# Debian's rustc-web (with rust-src) must win over rustup's rustc, which has no
# rust-src; bindgen comes from `cargo install`.
RDMA_BINDGEN=$(command -v bindgen 2>/dev/null || echo "$HOME/.cargo/bin/bindgen")
# The same Debian toolchain for host tests and lints as for the kernel.
RDMA_CARGO=/usr/bin/cargo
RDMA_KMAKE=(make ARCH=arm64 LLVM=1 RUSTC=/usr/bin/rustc HOSTRUSTC=/usr/bin/rustc
            RUSTDOC=/usr/bin/rustdoc BINDGEN="$RDMA_BINDGEN")

# The kernel build tree is keyed by everything it is built from.
rdma_kernel_key() {
  {
    dpkg-query -W -f='${Version}\n' linux-source-6.12 2>/dev/null
    cat "$RDMA_SELFTESTS/config"
    /usr/bin/rustc --version 2>/dev/null
    "$RDMA_BINDGEN" --version 2>/dev/null
    clang --version 2>/dev/null | head -n1
  } | sha256sum | cut -c1-16
}
RDMA_KSRC=$RDMA_CACHE/linux-src-$(dpkg-query -W -f='${Version}' linux-source-6.12 2>/dev/null || echo none)
RDMA_KBUILD=$RDMA_CACHE/kbuild-$(rdma_kernel_key)
