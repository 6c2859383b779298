# SPDX-License-Identifier: GPL-2.0
"""The pool under load: the basic paths, a soak, a region too small."""
from .model import Device, TestNode
from .regions import GOOD, SMALL, SOAK

GUESTS = {
    # The demo and the basic tests: one region, a virtio-blk behind it, and an
    # empty transport behind it for the kernel's DMA benchmark.
    "basic": dict(
        about="one region: a blk and the kernel's DMA benchmark; the demo's paths, 100 unload and reload rounds",
        regions=[GOOD],
        devices=[Device("blk", GOOD.name), Device("empty", GOOD.name)],
        reload_rounds=100,
    ),
    # The stress soak: two blks, an rng and dma_map_benchmark on one region
    # that they keep nearly full. Then what an operator sees of it (trace
    # events, sysfs, the sizing line), as the region fills again.
    "soak": dict(
        about="two blks, an rng and dma_map_benchmark keep one region nearly full for a minute, then full, and a blk binds into it; the trace events and sizing of it",
        regions=[SOAK],
        devices=[Device("blk", SOAK.name), Device("blk", SOAK.name), Device("rng", SOAK.name),
                 Device("empty", SOAK.name)],
        testnodes=[TestNode(SOAK.name)],
        tests=["pool-soak.sh", "pool-trace.sh"],
    ),
    # A pool smaller than what several large O_DIRECT streams keep in flight.
    "small": dict(
        about="a region too small for its load: maps fail, requests wait, nothing is lost",
        regions=[SMALL],
        devices=[Device("blk", SMALL.name)],
        tests=["region-checks.sh", "pool-overload.sh"],
    ),
}
