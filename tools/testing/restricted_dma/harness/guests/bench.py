# SPDX-License-Identifier: GPL-2.0
"""The benchmark's guest (`make bench`), never part of `make check`."""
from .model import Device, PciDevice
from .regions import GOOD, MAINLINE, NET_OURS, NET_MAINLINE, MAP_OURS, MAP_MAINLINE

# Only for `make bench`: our pool, mainline's restricted-dma-pool of the
# same size and direct DMA, each with an empty transport for
# dma_map_benchmark (on a region of its own) and a virtio-blk of 4 queues,
# in one guest; and a virtio-blk-pci behind the host bridge, which names our
# region too (the PCI path); and a pair of virtio-net NICs (mergeable
# receive buffers, QEMU's default) for each of the three paths, each pair
# alone on a QEMU hub of its own, ours and mainline's on regions of their
# own of one size.
BENCH = dict(
    regions=[GOOD, MAINLINE, NET_OURS, NET_MAINLINE, MAP_OURS, MAP_MAINLINE],
    devices=[Device("empty", MAP_OURS.name), Device("empty", MAP_MAINLINE.name), Device("empty"),
             Device("blk", GOOD.name, opts=",num-queues=4"), Device("blk", MAINLINE.name, opts=",num-queues=4"),
             Device("blk", opts=",num-queues=4"),
             Device("net", NET_OURS.name, hub=1), Device("net", NET_OURS.name, hub=1),
             Device("net", NET_MAINLINE.name, hub=2), Device("net", NET_MAINLINE.name, hub=2),
             Device("net", hub=3), Device("net", hub=3)],
    pci_region=GOOD.name,
    pci=[PciDevice("blk", 3)],
    # virtio-net frees what it sent as it sends (no tx NAPI): with tx NAPI,
    # under TCG on 2 vCPUs, most runs' sender waited a guest tick (4 ms) for
    # its completions, and runs of one path varied from 250 to 28,000
    # frames/s, swamping the paths' differences; without it, by about 15%.
    cmdline="virtio_net.napi_tx=0",
    tests=[],
)
