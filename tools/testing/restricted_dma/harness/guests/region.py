# SPDX-License-Identifier: GPL-2.0
"""Which nodes are claimed and shared: malformed ones, a hostile device tree, a start
that fails, a share that fails."""
from .model import Device, MiB, PciDevice, Region, TestNode
from .regions import (
    GOOD, SECOND, SHARE_FAILS, SHARE_FAILS_AT, OVER_INITRD, OVER_INITRD_NOMAP, OVER_KERNEL, OVER_IMAGE_HEAD,
    OVER_DTB, MEMRESERVED, OVER_MEMRESERVE, OVER_IMA, OVER_ELFCOREHDR, OUTSIDE_USABLE,
    HOSTILE_CHOSEN, CMA, OVER_CMA, POOL, OVER_POOL, PVMFW, CHOSEN_UNREADABLE, GOOD_UNDER_BAD_CHOSEN,
    GOOD_BESIDE_TWIN_RESERVED, GOOD_BESIDE_TWIN_CHOSEN, RAMOOPS, OVER_RAMOOPS,
    TWINS, REG_NOT_PAIRS, TWO_RANGES, OVER_SECOND_RANGE, CELLS
)

# A guest whose command line skips the built-in start (the `blacklist*`
# guests): built in, the boot must stop at GOOD, saying why.
BLACKLISTED = dict(
    regions=[GOOD],
    devices=[Device("blk", GOOD.name)],
    panics=("builtin", "restricted_dma: initcall_blacklist names rsdma_builtin_init: "
                       f"the devices behind {GOOD.name} would run unrestricted"),
    tests=["region-checks.sh"],
)

GUESTS = {
    # Every malformation the module must reject, beside a good node that it
    # must still claim. `reject` is the text of the module's message.
    "malformed": dict(
        about="every malformed node beside a good one; devices naming a rejected node are refused",
        regions=[
            GOOD,
            Region("restricted-noreg", size=1 * MiB, reject="no 'reg' property", schema_ok=False),
            Region("restricted@51000000", reg=(0x51000000, 0), reject="'reg' size is zero"),
            Region("restricted@51100000", reg=(0x51100000, 0x800), reject="smaller than 4 pages"),
            # Three pages: its largest mapping would be under a page (the
            # block layer warns and refuses such a limit).
            Region("restricted@51400000", reg=(0x51400000, 0x3000), reject="smaller than 4 pages"),
            Region("restricted@51200800", reg=(0x51200800, 0x4000), reject="not page aligned"),
            Region("restricted@51300000", reg=(0x51300000, 1 * MiB), props=["reusable"],
                   reject="'reusable' is not allowed", schema_ok=False),
            Region("restricted@50200000", reg=(0x50200000, 1 * MiB), reject="overlaps region restricted@50000000"),
            Region("restricted@fffffffffffff000", reg=(0xFFFFFFFFFFFFF000, 0x4000),
                   reject="runs past the address space"),
        ] + TWINS + [REG_NOT_PAIRS, TWO_RANGES, OVER_SECOND_RANGE],
        # The second blk names a rejected region, the third is not
        # dma-coherent: both must be refused, never run unrestricted.
        devices=[Device("blk", GOOD.name), Device("blk", "restricted@51300000"),
                 Device("blk", GOOD.name, coherent=False)],
        tests=["region-checks.sh", "lifecycle-reload.sh"],
    ),
    # A hostile device tree: windows over the initrd (mapped and no-map), the
    # kernel image (its text, and its head that no mapping shows), the DTB, a
    # /memreserve/ entry, what /chosen names (IMA's kexec buffer, kdump's ELF
    # core header) or leaves out (a window outside linux,usable-memory-range),
    # a CMA pool and another shared-dma-pool, memory a ramoops node at the
    # root describes, each with a blk behind it that must be refused; the
    # good region beside them is claimed. A blk behind it whose node says
    # device_type = "pci" (a host bridge's, which the module leaves to the
    # devices behind it) must be refused too.
    "hostile": dict(
        about="a hostile DT: windows over the kernel, the initrd, the DTB, /memreserve/, /chosen, CMA, ramoops",
        regions=[GOOD, OVER_INITRD, OVER_INITRD_NOMAP, OVER_KERNEL, OVER_IMAGE_HEAD, OVER_DTB,
                 OVER_MEMRESERVE, OVER_IMA, OVER_ELFCOREHDR, OUTSIDE_USABLE, CMA, OVER_CMA, POOL, OVER_POOL,
                 OVER_RAMOOPS],
        devices=[Device("blk", GOOD.name), Device("blk", GOOD.name, pci_type=True)] + [
            Device("blk", r.name) for r in (OVER_INITRD, OVER_INITRD_NOMAP, OVER_KERNEL, OVER_IMAGE_HEAD,
                                            OVER_DTB, OVER_MEMRESERVE, OVER_IMA, OVER_ELFCOREHDR,
                                            OUTSIDE_USABLE, OVER_CMA, OVER_POOL, OVER_RAMOOPS)],
        root_nodes=[RAMOOPS],
        memreserve=[MEMRESERVED],
        chosen=HOSTILE_CHOSEN,
        tests=["region-checks.sh"],
    ),
    # A second root child named reserved-memory (with a unit address, and
    # an IMA buffer's worth of reservation over GOOD in it), or chosen (with
    # an IMA buffer over GOOD, which the kernel's of_chosen would not read
    # but boot's flat reading might): every region refused, its blk with it.
    "twinreserved": dict(
        about="a reserved-memory@0 beside /reserved-memory: every region refused",
        regions=[GOOD_BESIDE_TWIN_RESERVED],
        devices=[Device("blk", GOOD_BESIDE_TWIN_RESERVED.name)],
        root_nodes=["reserved-memory@0 { #address-cells = <0x2>; #size-cells = <0x2>; ranges; "
                    "other@50000000 { reg = <0x0 0x50000000 0x0 0x1000>; no-map; }; };"],
        tests=["region-checks.sh"],
    ),
    "twinchosen": dict(
        about="a chosen@0 beside /chosen: every region refused",
        regions=[GOOD_BESIDE_TWIN_CHOSEN],
        devices=[Device("blk", GOOD_BESIDE_TWIN_CHOSEN.name)],
        root_nodes=["chosen@0 { linux,ima-kexec-buffer = <0x0 0x50000000 0x0 0x1000>; };"],
        tests=["region-checks.sh"],
    ),
    # A /chosen range property the module cannot read as the kernel may:
    # a good region is refused all the same, and its blk with it.
    "chosen": dict(
        about="a /chosen range property that is not whole pairs: every region refused",
        regions=[GOOD_UNDER_BAD_CHOSEN],
        devices=[Device("blk", GOOD_UNDER_BAD_CHOSEN.name)],
        chosen=CHOSEN_UNREADABLE,
        tests=["region-checks.sh"],
    ),
    # /reserved-memory's cells, which the host writes, such that a pair's
    # length in bytes wraps a C int to 8: boot reserves nothing under cells
    # other than the root's, and the module must not read a size of
    # 0x3fffffff cells past the property (it oopsed). Its region is rejected,
    # and the blk behind it refused.
    "cells": dict(
        about="/reserved-memory with #size-cells = <0x3fffffff>: its region rejected, nothing read past 'reg'",
        reserved_cells=(3, 0x3FFFFFFF),
        regions=[CELLS],
        devices=[Device("blk", CELLS.name)],
        tests=["region-checks.sh"],
    ),
    # Built in, a start that fails (the test switch on the command line makes
    # it fail as an allocation would): the blk behind GOOD must be refused,
    # never run on dma-direct, and so must the one behind it that did not
    # negotiate ACCESS_PLATFORM (it would bypass the DMA API, and with it the
    # refusing ops); the blk with no region works as usual. The test node
    # names POOL beside GOOD: it must still be held behind the wall, since
    # refusing ops would not stop its coherent allocations from POOL. On the
    # loadable flavours the switch means nothing, and region-failstart.sh
    # skips. Built in, it asks the host to look: no queue of a device behind
    # GOOD set up (start_fails), the free blk's outside every region.
    "failstart": dict(
        about="built in, a start that fails: every device behind the region is refused, or walled",
        regions=[GOOD, POOL],
        devices=[Device("blk", GOOD.name), Device("blk", iommu=False), Device("blk", GOOD.name, iommu=False)],
        testnodes=[TestNode(GOOD.name, pool=POOL.name), TestNode(GOOD.name)],
        cmdline="restricted_dma.test_fail_start",
        start_fails=True,
        host_looks=("builtin",),
        tests=["region-failstart.sh"],
    ),
    # The host's command line skips the built-in module's start by name
    # (initcall_blacklist=): every device behind GOOD would probe on
    # dma-direct. Built in, the boot must stop at the region instead, saying
    # why (early.c); `earlycon` shows it, as the console is not up yet. The
    # loadable module has no initcall of that name: it loads and runs
    # region-checks.sh as usual.
    "blacklist": dict(
        about="the host's command line skips the built-in start (initcall_blacklist=): the boot stops",
        cmdline="initcall_blacklist=rsdma_builtin_init earlycon",
        **BLACKLISTED,
    ),
    # The same under LTO, where the initcall table names a stub around our
    # function, and initcall_blacklist= that stub's name: the boot stops too
    # (this kernel has no such stub: the entry is what an LTO kernel's would
    # be).
    "blackliststub": dict(
        about="initcall_blacklist= names the LTO stub of the built-in start: the boot stops",
        cmdline="initcall_blacklist=__initstub__kmod_restricted_dma__0_0_rsdma_builtin_init3 earlycon",
        **BLACKLISTED,
    ),
    # What the module shares with the host, read from the test kernels'
    # sharing ledger: a mapped region, a no-map one, and one whose share
    # fails halfway (planted on the command line), each with a blk behind
    # it. region-checks.sh sees the third refused by name, and its device;
    # region-sharing.sh reads the ledger. The host leaves a page of its
    # marker at the mapped window's base before the guest runs: the ledger
    # must see zeros when that page is shared.
    "sharing": dict(
        about="what the module shares with the host, from a ledger of the sharing calls; a share that fails halfway",
        regions=[SHARE_FAILS, GOOD, SECOND],
        devices=[Device("blk", SHARE_FAILS.name), Device("blk", GOOD.name), Device("blk", SECOND.name)],
        cmdline=f"restricted_dma_ledger.fail_at={SHARE_FAILS_AT}",
        preload=[GOOD.reg[0]],
        tests=["region-checks.sh", "region-sharing.sh"],
    ),
    # The device tree crosvm gives a protected VM through pvmfw: a
    # restricted-dma-pool placed at boot, named by the PCI host bridge, with
    # a virtio-blk-pci and a virtio-net-pci behind it, whose rings and
    # descriptors the host finds in the window. Built in (no mainline
    # pool in that kernel), restricted_dma claims it as its own: the drop-in.
    # On the module kernel mainline's pool has it and the module leaves it
    # alone.
    "pvmfw": dict(
        about="crosvm's DT through pvmfw: a restricted-dma-pool placed at boot, behind the host bridge",
        regions=[PVMFW],
        # The controls: a blk and a NIC with no region, whose rings the host
        # must find outside the window; the NICs share a QEMU hub.
        devices=[Device("blk"), Device("net")],
        pci_region=PVMFW.name,
        pci=[PciDevice("blk", 3), PciDevice("net", 4)],
        tests=["region-dropin.sh"],
    ),
}
# The same DT where nothing could tell the host where the window is: the
# ledger told to register no hook. Built in, the drop-in refuses the node by
# name, and both devices behind it; on the module kernel mainline's pool has
# it, hook or not, as in pvmfw.
GUESTS["nohook"] = dict(
    GUESTS["pvmfw"],
    about="crosvm's DT with no sharing hook: built in, the window placed at boot is refused by name",
    cmdline="restricted_dma_ledger.absent=1",
    # Built in, the window is refused and the host never learns where it
    # would have been: only the loadable kernel's test asks the host.
    host_looks=("module",),
)
