#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# build.sh FLAVOUR...: everything a flavour's guests boot, built or brought up
# to date one after another (never two kernel builds at once): the kernel,
# restricted_dma.ko (not for the built-in flavour, where it is in the kernel)
# and the test driver rdma_test.ko.
set -euo pipefail
here=$(dirname "$0")
for f in "$@"; do
  RDMA_FLAVOUR=$f "$here/kernel.sh"
  if [ "$f" != builtin ]; then
    RDMA_FLAVOUR=$f "$here/module.sh" -s modules
  fi
  RDMA_FLAVOUR=$f "$here/module.sh" --test -s modules
done
