# SPDX-License-Identifier: GPL-2.0
"""What real drivers do to a device's binding, through the test driver."""
from .model import AmbaNode, Device, TestNode
from .regions import DUAL, GOOD, OFFSET_R, POOL

GUESTS = {
    # What real drivers do, through the test driver rdma_test.ko: failed,
    # deferred and successful probes with devm allocations, removal, deletion
    # while bound, and the DMA API's contract, buffers freed after their
    # binding, another module's virtio callback, the fence while unloaded
    # (with a blk to race binds by hand). lifecycle-leak.sh comes last: its leaked
    # mapping keeps the module in for the rest of the boot.
    #
    # lifecycle-gate.sh comes first: the DT's decoy /restricted_dma_gate is bound to
    # another driver before the module first loads. lifecycle-wall.sh's device names a
    # shared-dma-pool beside GOOD, and another names DUAL, a region node that
    # the shared-dma-pool handler took. lifecycle-amba.sh's devices are ARM PrimeCells
    # (the AMBA bus) whose nodes name GOOD: one works, one (not dma-coherent,
    # below a simple bus's platform device) is refused. lifecycle-fence.sh's
    # last test node says it is a PCI host bridge's (device_type = "pci"):
    # added after load, it must still be fenced at unload.
    "lifecycle": dict(
        about="what real drivers do, through rdma_test: probes, late frees, deletion, the fence, the wall",
        regions=[GOOD, POOL, OFFSET_R, DUAL],
        devices=[Device("blk", GOOD.name)],
        testnodes=[TestNode(GOOD.name), TestNode(GOOD.name, empty_first=True), TestNode(GOOD.name),
                   TestNode(GOOD.name, pool=POOL.name),
                   TestNode(OFFSET_R.name, dma_offset=-0x10000000), TestNode(OFFSET_R.name),
                   TestNode(GOOD.name, pci_type=True), TestNode(GOOD.name, pool=DUAL.name)],
        amba=[AmbaNode(GOOD.name), AmbaNode(GOOD.name, coherent=False, below_bus=True)],
        decoys=[("restricted_dma_gate", "restricted-dma-test,decoy")],
        tests=["lifecycle-gate.sh", "lifecycle-probe.sh", "pool-dmaapi.sh", "lifecycle-late-free.sh", "lifecycle-hook.sh", "lifecycle-sticky.sh", "lifecycle-wall.sh",
               "lifecycle-amba.sh", "lifecycle-fence.sh", "lifecycle-leak.sh"],
    ),
}
