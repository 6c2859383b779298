# SPDX-License-Identifier: GPL-2.0
"""The one description of every guest the tests boot.

Each guest (a variant) lists its restricted regions (reserved-memory nodes)
and its virtio devices (model.py), named from regions.py. They are grouped by
family, one module each, as the kselftests are named: pool, region, device,
host, lifecycle; bench.py is `make bench`'s guest. derive.py turns a guest
into its files; variants.py is the command line the harness calls.
"""
from . import device, host, lifecycle, pool, region
from .bench import BENCH

# The kselftests every variant runs unless it says otherwise.
ALL_TESTS = ["region-checks.sh", "lifecycle-firstprobe.sh", "pool-bounce.sh", "pool-benchmark.sh",
             "lifecycle-reload.sh", "lifecycle-unload.sh"]

# Every guest, in the order `make check` boots them, and its family.
FAMILIES = {"pool": pool, "region": region, "device": device, "host": host, "lifecycle": lifecycle}
FAMILY = {name: family for family, module in FAMILIES.items() for name in module.GUESTS}
VARIANTS = {name: guest for module in FAMILIES.values() for name, guest in module.GUESTS.items()}
ORDER = ["basic", "soak", "malformed", "virtio", "pci", "net", "netmq", "input", "9p", "devices", "bridges",
         "iommu", "hostile", "chosen", "twinreserved", "twinchosen", "cells", "failstart", "blacklist", "blackliststub", "sharing", "pvmfw", "nohook", "small", "window", "lies", "vsock", "vsockpci",
         "lifecycle"]
assert sorted(ORDER) == sorted(VARIANTS)
VARIANTS = {name: VARIANTS[name] for name in ORDER}

DEMO = "virtio"

# The guests the debug kernel runs: where its checkers (KASAN, lockdep,
# DEBUG_VM, DMA-API debugging, kmemleak, UBSAN, the lockup detectors) look
# at paths the others cannot judge: lifetimes and unload races, the pool
# under stress and full, what a hostile DT or host does to our C and Rust,
# and one guest of each transport. The others run on the module and
# built-in kernels; why each is left out here is `DEBUG_LEFT_OUT`.
DEBUG_GUESTS = {
    "basic": "the blk path, dma_map_benchmark, 100 unload and reload rounds under I/O",
    "soak": "the pool nearly full for a minute, from four kinds of user at once",
    "malformed": "every malformed node: the early and load-time checks",
    "virtio": "virtio-mmio on three regions, one no-map (memremap'd, not the linear map), refusals",
    "pci": "virtio-pci: the host bridge's region, a refused device (its hot-add is skipped there)",
    "hostile": "a hostile DT: /chosen, the DTB and /memreserve/ read through the fixmap, /proc/iomem",
    "small": "a pool too small for its load: failed maps, requests that wait",
    "window": "vhost-user: the host's view, receive buffers zeroed, unload while busy",
    "lies": "a host that lies in the used ring and writes the window: the guest survives each",
    "lifecycle": "what real drivers do: failed and deferred probes, late frees, deletion, the fence, the wall",
}
DEBUG_LEFT_OUT = {
    "net": "virtio-net maps and syncs as the guests above do; its NICs run on the other two kernels",
    "netmq": "the same, four queue pairs: per-CPU areas under contention, which soak covers",
    "input": "a few event buffers, mapped once",
    "9p": "zero-copy requests pin user pages: the same map and unmap as the blk paths",
    "devices": "scsi, crypto, gpu, balloon: their drivers' own leaks were found here and are fixed "
               "by the carried patches; their DMA paths are the ones above",
    "bridges": "PCI bridges: which device gets which ops, decided the same way on every kernel",
    "iommu": "a refusal decided at bind, the same on every kernel",
    "failstart": "built-in only: on a loadable kernel it only skips",
    "blacklist": "built-in only: the loadable module has no initcall to skip",
    "blackliststub": "built-in only, as blacklist",
    "chosen": "a refusal decided at claim, the same on every kernel (hostile reads /chosen there)",
    "twinreserved": "a refusal decided at claim, the same on every kernel",
    "twinchosen": "a refusal decided at claim, the same on every kernel",
    "cells": "a refusal decided at claim, the same on every kernel; what it guards oopsed on each",
    "sharing": "the ledger's view of the same claim and release the other guests make",
    "pvmfw": "the drop-in claims a node of another compatible by the same rules, in the same paths",
    "nohook": "a refusal decided at boot, before any device, the same on every kernel with the drop-in",
    "vsock": "virtio-vsock streams: the same map and unmap, and long under the checkers",
    "vsockpci": "the same over PCI",
}
assert set(DEBUG_GUESTS) | set(DEBUG_LEFT_OUT) == set(VARIANTS) and not set(DEBUG_GUESTS) & set(DEBUG_LEFT_OUT)


def guests(flavour=None):
    """The guests FLAVOUR runs (all of them for none)."""
    return [v for v in VARIANTS if flavour != "debug" or v in DEBUG_GUESTS]


def variant(name):
    """A guest's description (`bench`: make bench's guest)."""
    return BENCH if name == "bench" else VARIANTS[name]
