#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The one description of every guest the tests boot.

Each variant lists its restricted regions (reserved-memory nodes) and its
virtio devices. From it this script derives, so that they cannot disagree:
  - the guest's DT source (QEMU's own DT plus our nodes),
  - QEMU's device arguments,
  - the guest-side expectations (/etc/restricted_dma/expect) the kselftests check.

It also gives the DT binding's checks (harness/dt-check.sh) their test DTs:
schema-cases writes one DT per region the binding must accept or reject.

Usage: variants.py list [FLAVOUR] | demo | machine NAME | cmdline NAME
       | write NAME WORKDIR BASE_DTS   all of a guest's files, in WORKDIR:
             guest.dts, qemu.args (one argument a line), expect, disks,
             consoles, shares, virtqueues, hotplug, backends, screens, vsocks,
             taps
       | smp NAME | taps NAME | expect NAME | dts NAME BASE_DTS | qemu NAME WORKDIR | disks NAME
       | consoles NAME | virtqueues NAME | backends NAME | schema-rejects NAME
       | schema-cases BASE_DTS OUTDIR
"""
import os
import sys

MiB = 1 << 20
PAGE = 4096

# QEMU virt gives the k-th "-device virtio-*-device" the transport at
# 0x0a003e00 - 0x200*k (the first device sits at the highest address).
def transport(k):
    return 0x0A003E00 - 0x200 * k


class Region:
    """A /reserved-memory child. `reject` names the reason the module must give
    (None for a good node); `schema_ok` says whether the binding accepts it.
    `reg` is one (base, size) pair, or a list of them for a multi-range node."""

    def __init__(self, name, reg=None, size=None, props=(), reject=None, schema_ok=True,
                 compatible="restricted-dma-region", at_dtb=False):
        self.name, self.reg, self.size_prop = name, reg, size
        self.props, self.reject, self.schema_ok = list(props), reject, schema_ok
        self.compatible = compatible
        # Placed where QEMU puts the DTB, which moves with the initrd's size:
        # guest.sh sets its base once the initrd is built (its `reg` line is
        # marked AT_DTB).
        self.at_dtb = at_dtb

    @property
    def label(self):
        return "rdma_" + self.name.replace("@", "_").replace("-", "_").replace(",", "_")

    def dts(self):
        lines = [f"\t\t{self.label}: {self.name} {{", f'\t\t\tcompatible = "{self.compatible}";']
        if self.reg is not None:
            ranges = self.reg if isinstance(self.reg, list) else [self.reg]
            cells = " ".join(f"0x{base >> 32:x} 0x{base & 0xffffffff:x} "
                             f"0x{size >> 32:x} 0x{size & 0xffffffff:x}" for base, size in ranges)
            lines.append(f"\t\t\treg = <{cells}>;" + (f" {AT_DTB}" if self.at_dtb else ""))
        if self.size_prop is not None:
            lines.append(f"\t\t\tsize = <0x0 0x{self.size_prop:x}>;")
        for p in self.props:
            lines.append(f"\t\t\t{p};")
        lines.append("\t\t};")
        return "\n".join(lines)


class Device:
    """A virtio-mmio transport; `region` is the name of the region its
    memory-region points to (None: no memory-region). `kind` is the QEMU
    device behind it: blk, rng, console, `vublk` (a vhost-user-blk served by
    our window backend, tools/window-backend, in a process
    of its own: it maps only the device's region of guest memory, or, for a
    device with no region, all of it in --audit mode, counting what falls
    outside the variant's first region), or `empty` (no device: a platform
    device free for tests to bind another driver to, like dma_map_benchmark),
    or `net` (a virtio-net NIC on QEMU's hub `hub`, 0 unless given, with
    every other NIC of the guest on that hub: nothing leaves QEMU; with
    `tap`, on a tap of its own joined to the others by a bridge, see
    taps()), or `input` (a virtio keyboard, which the
    host types into over QMP), or `9p` (a virtio-9p share of a host
    directory, WORK/shareK, mount tag shareK), or `scsi` (a virtio-scsi
    controller with one scsi-hd on WORK/diskK.img), or `crypto` (virtio-crypto
    on QEMU's built-in cryptodev backend), or `gpu` (a virtio-gpu of 320x200,
    whose screen the host dumps over QMP), or `balloon` (a virtio-balloon:
    QEMU takes one a guest), or `vsock` (a vhost-user-vsock served by rust-vmm's
    vhost-device-vsock, a host process that maps all of guest RAM: guest
    CID VSOCK_CID; host peers reach it through WORK/vsK.vsock). `opts` is
    appended to QEMU's -device."""

    def __init__(self, kind, region=None, iommu=True, coherent=True, held=False, opts="", hub=0, tap=False,
                 backend=()):
        self.kind, self.region, self.iommu, self.opts = kind, region, iommu, opts
        self.hub, self.tap = hub, tap
        # More arguments for a vublk's window backend (a hostile mode).
        self.backend = list(backend)
        # False: the DT drops QEMU's `dma-coherent` from the transport.
        self.coherent = coherent
        # True: the DT gives the transport a compatible no driver matches
        # (HELD), so that nothing probes it at boot; the tests bind it to
        # virtio-mmio by hand (driver_override) once restricted_dma is there.
        # With the loadable module, a device probed at boot runs once
        # without its pool (see README.md, "Which build"): its rings would
        # lie outside the window, where a window backend cannot serve them,
        # and the boot would wait for ever on its first I/O.
        self.held = held


HELD = "restricted-dma-test,held-virtio-mmio"

# The queue pairs of the multi-queue NICs (the netmq guest), and its vCPUs.
MQ_PAIRS = 4


class PciDevice:
    """A modern-only virtio PCI device (blk, rng, net, input, 9p, scsi with
    one disk, gpu, crypto or vsock) on QEMU's root complex, at
    slot `slot` (BDF 0000:00:SS.0). It is restricted when the variant's
    `pci_region` is set: that region is named by the host bridge's node.

    With `hotplug`, slot `slot` holds a PCIe root port instead, empty at boot:
    the guest asks the host (qmp-agent.py) to device_add the device behind it
    while the guest runs, as a VMM adds a device to a running VM.

    With `behind` = "port", slot `slot` holds a PCIe root port with the device
    behind it from boot; with "switch", a root port, behind it a PCIe switch
    (QEMU's TI X3130: an upstream port and one downstream port), and the
    device behind that. The kernel numbers the buses behind them: the guest
    finds the device below the port at 0000:00:SS.0.

    A `net` device with `queues` > 1 has that many queue pairs (mq=on): QEMU's
    hub has one queue a port, so it sits on a multi-queue tap (see taps()).
    The tests send from its first `senders` transmit queues (all by
    default), and the host holds exactly those to have descriptors."""

    def __init__(self, kind, slot, iommu=True, hotplug=False, behind=None, queues=1, senders=None):
        self.kind, self.slot, self.iommu, self.hotplug = kind, slot, iommu, hotplug
        self.behind, self.queues = behind, queues
        self.senders = queues if senders is None else senders

    @property
    def bdf(self):
        return f"0000:00:{self.slot:02x}.0"


class TestNode:
    """A DT node /rdma-test-N for the test driver rdma_test.ko, which makes the
    platform device rdma_test.N for it. It names `region` in memory-region,
    after an empty phandle when `empty_first` (`<0 &region>`), and before
    `pool` when it has one (`<&region &pool>`), and is dma-coherent like
    QEMU's transports."""

    def __init__(self, region, empty_first=False, pool=None):
        self.region, self.empty_first = region, empty_first
        # Another reserved-memory node (a shared-dma-pool) after the region.
        self.pool = pool


def transports(v):
    """The transport address of each device of variant `v`. QEMU devices take
    transports 0, 1, ... in command-line order; empty ones take 31, 30, ...
    (from the lowest address up), which no QEMU device of ours reaches."""
    out, real, empty = [], 0, 31
    for d in v["devices"]:
        if d.kind == "empty":
            out.append(transport(empty))
            empty -= 1
        else:
            out.append(transport(real))
            real += 1
    return out


GOOD = Region("restricted@50000000", reg=(0x50000000, 4 * MiB))
# A region too small for the load the overload test puts on it (but, as any
# region behind a virtio-blk must, large enough for its largest request).
SMALL = Region("restricted@50000000", reg=(0x50000000, 2 * MiB))
# The soak's region: what its load keeps nearly full.
SOAK = Region("restricted@50000000", reg=(0x50000000, 4 * MiB))
# A second region, for devices that must be accounted apart from GOOD's;
# `no-map`, so that the module's path for regions outside the linear map runs.
SECOND = Region("restricted@51000000", reg=(0x51000000, 4 * MiB), props=["no-map"])
# virtio-console keeps two receive queues of 1024 page-sized buffers mapped
# at all times (8 MiB of slots): it needs a region of its own, this large.
CONSOLE = Region("restricted@52000000", reg=(0x52000000, 16 * MiB))
# A virtio-net without mergeable receive buffers ("big packets") keeps its
# whole receive ring filled with buffers of 17 pages and more (device-net.sh
# measures it): it needs a region of its own, this large.
NETBIG = Region("restricted@5c000000", reg=(0x5C000000, 32 * MiB))
# A region for the devices behind the PCI host bridge.
PCIR = Region("restricted@54000000", reg=(0x54000000, 8 * MiB))
# The host writes the DT and may place a "window" over memory the guest
# already uses. QEMU virt loads the initrd at RAM + 128 MiB (0x48000000 with
# 1 GiB) and the kernel image from 0x40200000. Each region below is over
# something else; the module must refuse each, by name, in both builds.
NOT_OURS = "memory that is not ours to share"
OVER_INITRD = Region("restricted@48000000", reg=(0x48000000, 256 * 1024), reject=NOT_OURS)
OVER_INITRD_NOMAP = Region("restricted@48040000", reg=(0x48040000, 256 * 1024), props=["no-map"],
                           reject=NOT_OURS)
OVER_KERNEL = Region("restricted@40400000", reg=(0x40400000, 1 * MiB), reject=NOT_OURS)
# The head of the kernel image, [_text, _stext): no mapping of the image
# shows it, and boot does not reserve it (arm64 reserves from _stext).
OVER_IMAGE_HEAD = Region("restricted@40200000", reg=(0x40200000, 0x1000), reject="the kernel image")
# QEMU (hw/arm/boot.c) puts an AArch64 guest's DTB after the initrd, at the
# next 2 MiB boundary (HMP "info roms" shows it): here, 0x48400000 for an
# initrd of 2 to 4 MiB. guest.sh moves the region's base to where it is.
AT_DTB = "/* at the DTB */"
OVER_DTB = Region("restricted@48400000", reg=(0x48400000, 0x10000), reject="the device tree blob", at_dtb=True)
# What the DT header and /chosen name (the `hostile` variant's memreserve and
# chosen): memory the kernel reads or frees later, and the only memory a
# crash kernel may use (all of RAM here: a window above it is outside).
MEMRESERVED = (0x4E200000, 0x1000)
OVER_MEMRESERVE = Region("restricted@4e200000", reg=(0x4E200000, 0x10000), reject="a /memreserve/ entry")
OVER_IMA = Region("restricted@4e000000", reg=(0x4E000000, 0x10000), reject="IMA's kexec buffer")
OVER_ELFCOREHDR = Region("restricted@4e100000", reg=(0x4E100000, 0x10000), reject="ELF core header")
OUTSIDE_USABLE = Region("restricted@c0000000", reg=(0xC0000000, 0x100000),
                        reject="outside /chosen linux,usable-memory-range")
HOSTILE_CHOSEN = [
    "linux,ima-kexec-buffer = <0x0 0x4e000000 0x0 0x1000>",
    "linux,elfcorehdr = <0x0 0x4e100000 0x0 0x1000>",
    "linux,usable-memory-range = <0x0 0x40000000 0x0 0x40000000>",
]
# A reusable CMA pool and a plain shared-dma-pool (nodes of other bindings),
# and a restricted region over each.
CMA = Region("linux,cma", reg=(0x4C000000, 4 * MiB), props=["reusable"], compatible="shared-dma-pool")
OVER_CMA = Region("restricted@4c100000", reg=(0x4C100000, 1 * MiB), reject="overlaps region linux,cma")
POOL = Region("dma-pool@4d000000", reg=(0x4D000000, 1 * MiB), props=["no-map"], compatible="shared-dma-pool")
OVER_POOL = Region("restricted@4d080000", reg=(0x4D080000, 1 * MiB), reject="overlaps region dma-pool@4d000000")
# Regions of their own for the devices of the `devices` guest, so that each
# one's slots are counted apart (README.md's sizing advice).
CRYPTOR = Region("restricted@55000000", reg=(0x55000000, 4 * MiB))
GPUR = Region("restricted@56000000", reg=(0x56000000, 8 * MiB))
# QEMU's vhost-user-vsock has 1024-entry queues, and the guest keeps its
# receive ring full of 3,776-byte buffers: 2,104 slots once up, more than
# GOOD has (there the ring took every slot and connect timed out). Sending,
# up to 512 packets of 16 KiB (vsock.c's writes) may be in flight beside
# them: 16 MiB of its own never fills (device-vsock.sh checks); 8 MiB was full at
# the peak of one run (README.md, "Sizing a region").
VSOCKR = Region("restricted@5e000000", reg=(0x5E000000, 16 * MiB))
# The hostile host's modes (window-backend --hostile) and a 2 MiB window for
# each: one device a mode, so that what one mode does to the pool is
# counted apart.
HOSTILE_MODES = ["used-len", "used-id", "used-head", "used-twice", "used-phantom", "desc-flags", "scribble",
                 "after"]
LIES = {m: Region(f"restricted@{0x50000000 + k * 0x200000:x}", reg=(0x50000000 + k * 0x200000, 2 * MiB))
        for k, m in enumerate(HOSTILE_MODES)}
# Mainline's built-in pool, for the benchmark's comparison.
MAINLINE = Region("restricted-pool@58000000", reg=(0x58000000, 4 * MiB), compatible="restricted-dma-pool")
# The benchmark's NIC pairs, ours and mainline's, on regions of their own of
# one size: two NICs with mergeable receive buffers keep about 4 MiB mapped
# once up (README.md, "Sizing a region"), and a flood keeps more in flight
# (7,481 slots, 14.6 MiB, at most in one boot with 4 vCPUs).
NET_OURS = Region("restricted@60000000", reg=(0x60000000, 32 * MiB))
NET_MAINLINE = Region("restricted-pool@64000000", reg=(0x64000000, 32 * MiB), compatible="restricted-dma-pool")
# The benchmark's empty transports, ours and mainline's, on regions of their
# own of one size, with nothing else in them: under -icount a pool's search
# then goes round the same slots every lap, from whichever slot it starts,
# and rdma_test's timed laps (`cost`) count the same on every run.
MAP_OURS = Region("restricted@5a000000", reg=(0x5A000000, 4 * MiB))
MAP_MAINLINE = Region("restricted-pool@5b000000", reg=(0x5B000000, 4 * MiB), compatible="restricted-dma-pool")

# The kselftests every variant runs unless it says otherwise.
ALL_TESTS = ["region-checks.sh", "lifecycle-firstprobe.sh", "pool-bounce.sh", "pool-benchmark.sh", "lifecycle-reload.sh", "lifecycle-unload.sh"]

VARIANTS = {
    # The demo and the basic tests: one region, a virtio-blk behind it, and an
    # empty transport behind it for the kernel's DMA benchmark.
    "basic": dict(regions=[GOOD], devices=[Device("blk", GOOD.name), Device("empty", GOOD.name)],
                  reload_rounds=100),
    # The stress soak: two blks, an rng and dma_map_benchmark on one region
    # that they keep nearly full.
    "soak": dict(
        regions=[SOAK],
        devices=[Device("blk", SOAK.name), Device("blk", SOAK.name), Device("rng", SOAK.name),
                 Device("empty", SOAK.name)],
        testnodes=[TestNode(SOAK.name)],
        tests=["pool-soak.sh"],
    ),
    # Every malformation the module must reject, beside a good node that it
    # must still claim. `reject` is the text of the module's message.
    "malformed": dict(
        regions=[
            GOOD,
            Region("restricted-noreg", size=1 * MiB, reject="no 'reg' property", schema_ok=False),
            Region("restricted@51000000", reg=(0x51000000, 0), reject="'reg' size is zero"),
            Region("restricted@51100000", reg=(0x51100000, 0x800), reject="smaller than one page"),
            Region("restricted@51200800", reg=(0x51200800, 0x2000), reject="not page aligned"),
            Region("restricted@51300000", reg=(0x51300000, 1 * MiB), props=["reusable"],
                   reject="'reusable' is not allowed", schema_ok=False),
            Region("restricted@50200000", reg=(0x50200000, 1 * MiB), reject="overlaps region restricted@50000000"),
            Region("restricted@fffffffffffff000", reg=(0xFFFFFFFFFFFFF000, 0x2000),
                   reject="runs past the address space"),
        ],
        # The second blk names a rejected region, the third is not
        # dma-coherent: both must be refused, never run unrestricted.
        devices=[Device("blk", GOOD.name), Device("blk", "restricted@51300000"),
                 Device("blk", GOOD.name, coherent=False)],
        tests=["region-checks.sh", "lifecycle-reload.sh"],
    ),
    # Virtio end to end: blk and rng sharing GOOD, a blk refused for not
    # negotiating ACCESS_PLATFORM, the same kind of blk with no region (which
    # works as usual), a blk alone on a second region, a console on a third,
    # and a virtio-blk-pci behind the PCI host bridge on a fourth.
    "virtio": dict(
        tests=["region-checks.sh", "lifecycle-firstprobe.sh", "device-virtio.sh", "lifecycle-reload.sh"],
        regions=[GOOD, SECOND, CONSOLE, PCIR],
        pci_region=PCIR.name,
        pci=[PciDevice("blk", 3)],
        devices=[
            Device("blk", GOOD.name),
            Device("rng", GOOD.name),
            Device("console", CONSOLE.name),
            Device("blk", GOOD.name, iommu=False),
            Device("blk", iommu=False),
            # No indirect descriptors: its data buffers sit in the descriptor
            # table itself, where the host's check of every descriptor sees
            # them (check.sh).
            Device("blk", SECOND.name, opts=",indirect_desc=off"),
        ],
    ),
    # Virtio over PCI: the host bridge names PCIR. A blk and an rng that
    # negotiate ACCESS_PLATFORM, a blk that does not (refused), a root port
    # into which the test hot-adds a blk, and a virtio-mmio blk on GOOD
    # beside them.
    "pci": dict(
        regions=[GOOD, PCIR],
        devices=[Device("blk", GOOD.name)],
        pci_region=PCIR.name,
        pci=[PciDevice("blk", 3), PciDevice("rng", 4), PciDevice("blk", 5, iommu=False),
             PciDevice("blk", 6, hotplug=True)],
        tests=["region-checks.sh", "lifecycle-firstprobe.sh", "device-pci.sh", "lifecycle-reload.sh"],
    ),
    # Virtio-net: a NIC with mergeable receive buffers (premapped page
    # fragments, synced a sub-range at a time) behind GOOD, one without (big
    # packets, and no indirect descriptors: every buffer sits in the
    # descriptor table the host checks) behind NETBIG, a virtio-net-pci behind the host bridge's
    # region, and a control NIC with no region, all on one QEMU hub.
    "net": dict(
        regions=[GOOD, NETBIG, PCIR],
        devices=[Device("net", GOOD.name), Device("net", NETBIG.name, opts=",mrg_rxbuf=off,host_mtu=9000,indirect_desc=off"),
                 Device("net")],
        pci_region=PCIR.name,
        pci=[PciDevice("net", 3)],
        tests=["device-net.sh"],
    ),
    # Virtio-net with several queue pairs: three virtio-net-pci NICs of 4
    # queue pairs each behind the host bridge's region, on 4 vCPUs (one queue
    # pair a vCPU), and a control mmio NIC with no region. The first two send
    # from every vCPU; the third, the control of the host's per-queue check,
    # from vCPU 0 only. They sit on taps joined by a bridge, in a network
    # namespace of QEMU's own (taps()): nothing reaches the host's network.
    "netmq": dict(
        regions=[PCIR],
        devices=[Device("net", tap=True)],
        pci_region=PCIR.name,
        pci=[PciDevice("net", 3, queues=MQ_PAIRS), PciDevice("net", 4, queues=MQ_PAIRS),
             PciDevice("net", 5, queues=MQ_PAIRS, senders=1)],
        tests=["device-netmq.sh"],
        smp=MQ_PAIRS,
    ),
    # Virtio-input: a keyboard behind GOOD, one without ACCESS_PLATFORM
    # behind it (refused), both held from probing at boot, and a control
    # keyboard with no region. The host types a word into each working one
    # over QMP (input-send-event); the guest reads it from evdev (device-input.sh).
    # No PCI keyboard at boot: the loadable module would rebind it at load,
    # and 6.12's virtio_input leaves its event buffers mapped when it is
    # removed (virtinput_remove never detaches them), a leak the DMA-API
    # debugging of the debug kernel rightly reports. A PCI keyboard the host
    # hot-adds once restricted_dma is there is bound once, from its first
    # probe.
    "input": dict(
        regions=[GOOD, PCIR],
        devices=[Device("input", GOOD.name, held=True), Device("input", GOOD.name, iommu=False, held=True),
                 Device("input")],
        pci_region=PCIR.name,
        pci=[PciDevice("input", 3, hotplug=True)],
        tests=["device-input.sh"],
    ),
    # Virtio-9p: a share behind GOOD, a virtio-9p-pci share behind the host
    # bridge's region, and a control share with no region. Files of 1 B to
    # 4 MiB go both ways: the host checks the guest's, the guest the host's
    # (device-9p.sh). Large transfers pin the user's pages (zero-copy requests).
    "9p": dict(
        regions=[GOOD, PCIR],
        # No indirect descriptors on the restricted share: the pages of its
        # zero-copy requests sit in the descriptor table the host checks.
        devices=[Device("9p", GOOD.name, opts=",indirect_desc=off"), Device("9p")],
        pci_region=PCIR.name,
        pci=[PciDevice("9p", 3)],
        tests=["device-9p.sh"],
    ),
    # The other device types, in one guest (one boot for four): a
    # virtio-scsi disk behind GOOD with O_DIRECT round trips and a control
    # one with no region (device-scsi.sh); virtio-crypto behind its own region,
    # behind mainline's pool and with no region, each alone in turn while
    # the kernel's self-tests run on virtio_crypto's algorithms, then
    # together under AF_ALG round trips (device-crypto.sh); a virtio-gpu behind its
    # own region and a control one, each drawn through fbdev, whose screens
    # the host compares (device-gpu.sh); and a balloon behind a region, refused
    # (device-balloon.sh). Every restricted device is held from probing at boot:
    # 6.12's virtio_scsi leaves its event buffers mapped when removed (as
    # virtio_input does), and the loadable module would rebind it at load;
    # the crypto devices must register their algorithms one at a time, in
    # device-crypto.sh's order. So no such PCI device at boot: none can be held.
    # But a virtio-scsi-pci (the controller and then its disk) and a
    # virtio-crypto-pci that the host hot-adds (device_add) once
    # restricted_dma is there are bound once, from their first probe, behind
    # the host bridge's region (device-scsi.sh, device-crypto.sh). QEMU 7.2 cannot hot-add
    # a virtio-gpu-pci: that one is there from boot (device-gpu.sh).
    "devices": dict(
        regions=[GOOD, CRYPTOR, GPUR, MAINLINE, PCIR],
        pci_region=PCIR.name,
        pci=[PciDevice("scsi", 3, hotplug=True), PciDevice("gpu", 4),
             PciDevice("crypto", 5, hotplug=True)],
        devices=[Device("scsi", GOOD.name, held=True, opts=",indirect_desc=off"), Device("scsi"),
                 Device("crypto", CRYPTOR.name, held=True), Device("crypto", MAINLINE.name, held=True),
                 Device("crypto", held=True), Device("gpu", GPUR.name, held=True), Device("gpu", held=True),
                 Device("balloon", CRYPTOR.name, held=True)],
        tests=["device-scsi.sh", "device-crypto.sh", "device-gpu.sh", "device-balloon.sh"],
        # The debug kernel's extra crypto self-tests, with 20 random cases
        # an algorithm instead of 100: device-crypto.sh registers the algorithms
        # four times, each under KASAN and TCG. No text cursor: the
        # framebuffer console takes the first framebuffer (fb0), and its
        # blinking cursor drew an 8x8 block at the top left of whichever gpu
        # that was, over the pattern device-gpu.sh draws.
        cmdline="cryptomgr.fuzz_iterations=20 vt.global_cursor_default=0",
    ),
    # Bridges do no DMA: behind a restricted host bridge, a blk behind a
    # root port and one behind a switch behind another are restricted, the
    # bridges are not, and unload and reload with I/O running on both end
    # cleanly.
    "bridges": dict(
        regions=[PCIR],
        devices=[],
        pci_region=PCIR.name,
        pci=[PciDevice("blk", 3, behind="port"), PciDevice("blk", 4, behind="switch")],
        tests=["device-bridges.sh"],
    ),
    # The same host bridge with an SMMUv3 in front of it: the DMA core would
    # send the device's DMA through the IOMMU, around the pool, so the device
    # is refused.
    "iommu": dict(
        machine="virt,iommu=smmuv3",
        regions=[PCIR],
        devices=[],
        pci_region=PCIR.name,
        pci=[PciDevice("blk", 3)],
        tests=["device-iommu.sh"],
    ),
    # A hostile device tree: windows over the initrd (mapped and no-map), the
    # kernel image (its text, and its head that no mapping shows), the DTB, a
    # /memreserve/ entry, what /chosen names (IMA's kexec buffer, kdump's ELF
    # core header) or leaves out (a window outside linux,usable-memory-range),
    # a CMA pool and another shared-dma-pool, each with a blk behind it that
    # must be refused; the good region beside them is claimed.
    "hostile": dict(
        regions=[GOOD, OVER_INITRD, OVER_INITRD_NOMAP, OVER_KERNEL, OVER_IMAGE_HEAD, OVER_DTB,
                 OVER_MEMRESERVE, OVER_IMA, OVER_ELFCOREHDR, OUTSIDE_USABLE, CMA, OVER_CMA, POOL, OVER_POOL],
        devices=[Device("blk", GOOD.name)] + [Device("blk", r.name) for r in
                                             (OVER_INITRD, OVER_INITRD_NOMAP, OVER_KERNEL, OVER_IMAGE_HEAD,
                                              OVER_DTB, OVER_MEMRESERVE, OVER_IMA, OVER_ELFCOREHDR,
                                              OUTSIDE_USABLE, OVER_CMA, OVER_POOL)],
        memreserve=[MEMRESERVED],
        chosen=HOSTILE_CHOSEN,
        tests=["region-checks.sh"],
    ),
    # Built in, a start that fails (the test switch on the command line makes
    # it fail as an allocation would): the blk behind GOOD must be refused,
    # never run on dma-direct, and so must the one behind it that did not
    # negotiate ACCESS_PLATFORM (it would bypass the DMA API, and with it the
    # refusing ops); the blk with no region works as usual. On the loadable
    # flavours the switch means nothing, and region-failstart.sh skips.
    "failstart": dict(
        regions=[GOOD],
        devices=[Device("blk", GOOD.name), Device("blk", iommu=False), Device("blk", GOOD.name, iommu=False)],
        cmdline="restricted_dma.test_fail_start",
        tests=["region-failstart.sh"],
    ),
    # A pool smaller than what several large O_DIRECT streams keep in flight.
    "small": dict(regions=[SMALL], devices=[Device("blk", SMALL.name)], tests=["region-checks.sh", "pool-overload.sh"]),
    # The host's view: a vhost-user-blk served by a backend that maps only
    # GOOD's window of guest memory (any access outside fails and is
    # counted), and a control vhost-user-blk with no region, whose backend
    # maps everything (--audit) and counts its accesses outside GOOD's
    # window, which must be many.
    # The same guest shows what the host sees of receive buffers: a page
    # full of a marker that rdma_test maps for the device to write must not
    # be found in the window (the host dumps it, qmp-agent.py), nor a read's
    # buffer full of it in what the backend is given to fill; the same
    # marker mapped for the device to read, and written to the disks, is
    # found (the controls).
    # Before the guest runs, the host writes a page of another marker at
    # the window's base (a QEMU loader, the guest paused): once the region
    # is claimed the host must find none of it (the window is zeroed before
    # it is shared).
    "window": dict(
        regions=[GOOD],
        devices=[Device("vublk", GOOD.name, held=True), Device("vublk")],
        testnodes=[TestNode(GOOD.name)],
        preload=[GOOD.reg[0]],
        # host-receive.sh first: the host looks for its marker before any device
        # has used the window.
        tests=["host-receive.sh", "host-window.sh"],
    ),
    # A host that lies (host-lies.sh): eight vhost-user-blks, each behind a window
    # of its own, each served by a window backend in one hostile mode from
    # its 32nd request on (window-backend --hostile). The guest must survive
    # each, its pools stay consistent, and the module unload.
    "lies": dict(
        regions=[LIES[m] for m in HOSTILE_MODES],
        devices=[Device("vublk", LIES[m].name, held=True, backend=["--hostile", m, "--hostile-from", "32"])
                 for m in HOSTILE_MODES],
        tests=["host-lies.sh"],
    ),
    # Virtio-vsock: a vhost-user-vsock behind a region of its own, held
    # from probing at boot (with the loadable module it must never run
    # without its pool), streams of 1 B to 4 MiB both ways between the guest
    # and a host peer (device-vsock.sh; the host checks what it received); and a
    # control rng with no region, whose rings the host must find outside.
    "vsock": dict(
        regions=[VSOCKR],
        devices=[Device("vsock", VSOCKR.name, held=True), Device("rng")],
        tests=["device-vsock.sh"],
    ),
    # The same over PCI (crosvm's transport): a vhost-user-vsock-pci behind
    # the host bridge, whose node names the vsock's region. A guest drives
    # one vsock device at a time, hence a guest of its own. It is there
    # from boot: the loadable module rebinds it at load.
    "vsockpci": dict(
        regions=[VSOCKR],
        devices=[Device("rng")],
        pci_region=VSOCKR.name,
        pci=[PciDevice("vsock", 3)],
        tests=["device-vsock.sh"],
    ),
    # What real drivers do, through the test driver rdma_test.ko: failed,
    # deferred and successful probes with devm allocations, removal, deletion
    # while bound, and the DMA API's contract, buffers freed after their
    # binding, another module's virtio callback, the fence while unloaded
    # (with a blk to race binds by hand). lifecycle-leak.sh comes last: its leaked
    # mapping keeps the module in for the rest of the boot.
    #
    # lifecycle-gate.sh comes first: the DT's decoy /restricted_dma_gate is bound to
    # another driver before the module first loads. lifecycle-wall.sh's device names a
    # shared-dma-pool beside GOOD.
    "lifecycle": dict(
        regions=[GOOD, POOL],
        devices=[Device("blk", GOOD.name)],
        testnodes=[TestNode(GOOD.name), TestNode(GOOD.name, empty_first=True), TestNode(GOOD.name),
                   TestNode(GOOD.name, pool=POOL.name)],
        decoys=[("restricted_dma_gate", "restricted-dma-test,decoy")],
        tests=["lifecycle-gate.sh", "lifecycle-probe.sh", "pool-dmaapi.sh", "lifecycle-late-free.sh", "lifecycle-hook.sh", "lifecycle-sticky.sh", "lifecycle-wall.sh",
               "lifecycle-fence.sh", "lifecycle-leak.sh"],
    ),
}

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

DEMO = "virtio"

# Nodes only the binding's checks use (no guest boots them): what the schema
# must also refuse or accept beyond the "malformed" variant's regions. `reject`
# is the module's verdict (None: the module claims it).
SCHEMA_EXTRA = [
    Region("restricted@5a000000", reg=(0x5A000000, 1 * MiB), props=["no-map"]),
    Region("restricted@52100000", reg=[(0x52100000, 1 * MiB), (0x52300000, 1 * MiB)],
           reject="'reg' has more than one range", schema_ok=False),
    Region("restricted@52400000", reg=(0x52400000, 1 * MiB), props=["linux,cma-default"],
           reject="'linux,cma-default' is not allowed", schema_ok=False),
    Region("restricted@52500000", reg=(0x52500000, 1 * MiB), props=["linux,dma-default"],
           reject="'linux,dma-default' is not allowed", schema_ok=False),
    Region("restricted-allocranges", size=1 * MiB,
           props=["alloc-ranges = <0x0 0x53000000 0x0 0x1000000>"],
           reject="no 'reg' property", schema_ok=False),
    # 'size' beside 'reg' says the node might be placed dynamically: both the
    # binding and the module refuse it.
    Region("restricted@52600000", reg=(0x52600000, 1 * MiB), size=1 * MiB,
           reject="'size' is not allowed", schema_ok=False),
]


def machine(name):
    return variant(name).get("machine", "virt")


def cmdline(name):
    """What the variant adds to the kernel's command line."""
    return variant(name).get("cmdline", "")


def regions_by_name(v):
    return {r.name: r for r in v["regions"]}


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
    "pci": "virtio-pci: the host bridge's region, a refused device, a hot-added one",
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
    "vsock": "virtio-vsock streams: the same map and unmap, and long under the checkers",
    "vsockpci": "the same over PCI",
}
assert set(DEBUG_GUESTS) | set(DEBUG_LEFT_OUT) == set(VARIANTS) and not set(DEBUG_GUESTS) & set(DEBUG_LEFT_OUT)


def guests(flavour=None):
    """The guests FLAVOUR runs (all of them for none)."""
    return [v for v in VARIANTS if flavour != "debug" or v in DEBUG_GUESTS]


def variant(name):
    return BENCH if name == "bench" else VARIANTS[name]


def dts(name, base_dts):
    return dts_of(variant(name), base_dts)


def dts_of(v, base_dts):
    base = open(base_dts).read().rstrip()
    # /memreserve/ entries go between the header and the root node.
    rsv = "".join(f"/memreserve/ 0x{b:x} 0x{sz:x};\n" for b, sz in v.get("memreserve", []))
    base = base.replace("/dts-v1/;\n", "/dts-v1/;\n" + rsv, 1)
    out = [base, "", "/ {", "\treserved-memory {",
           "\t\t#address-cells = <0x2>;", "\t\t#size-cells = <0x2>;", "\t\tranges;", ""]
    out += [r.dts() for r in v["regions"]]
    out += ["\t};", ""]
    if v.get("chosen"):
        out += ["\tchosen {"] + [f"\t\t{p};" for p in v["chosen"]] + ["\t};", ""]
    for name, compatible in v.get("decoys", []):
        out += [f"\t{name} {{", f'\t\tcompatible = "{compatible}";', "\t};", ""]
    regions = regions_by_name(v)
    for n, t in enumerate(v.get("testnodes", [])):
        phandles = (("0 " if t.empty_first else "") + f"&{regions[t.region].label}"
                    + (f" &{regions[t.pool].label}" if t.pool else ""))
        out += [f"\trdma-test-{n} {{", f"\t\tmemory-region = <{phandles}>;", "\t\tdma-coherent;", "\t};"]
    out += ["};", ""]
    for d, t in zip(v["devices"], transports(v)):
        if d.region:
            out.append(f"&{{/virtio_mmio@{t:x}}} {{ memory-region = <&{regions[d.region].label}>; }};")
        if not d.coherent:
            out.append(f"&{{/virtio_mmio@{t:x}}} {{ /delete-property/ dma-coherent; }};")
        if d.held:
            out.append(f'&{{/virtio_mmio@{t:x}}} {{ compatible = "{HELD}"; }};')
    if v.get("pci_region"):
        out.append(f"&{{/pcie@10000000}} {{ memory-region = <&{regions[v['pci_region']].label}>; }};")
    return "\n".join(out) + "\n"


# vhost-user devices: their queues on a backend of their own; guest RAM
# must be a shared memfd that QEMU hands the backend in SET_MEM_TABLE.
VU_QUEUES = 2


def qemu(name, work):
    args = []
    for k, addr in enumerate(variant(name).get("preload", [])):
        # Written at reset, before the guest runs; QEMU starts paused so
        # that the host looks first (qmp-agent.py, then `cont`).
        args += ["-device", f"loader,file={work}/preload.bin,addr=0x{addr:x},force-raw=on,id=preload{k}"]
    if variant(name).get("preload"):
        args += ["-S"]
    if (any(d.kind in ("vublk", "vsock") for d in variant(name)["devices"])
            or any(p.kind == "vsock" for p in variant(name).get("pci", []))):
        args += ["-object", "memory-backend-memfd,id=mem,size=1G,share=on", "-machine", "memory-backend=mem"]
    for k, d in enumerate(variant(name)["devices"]):
        iommu = "on" if d.iommu else "off"
        if d.kind == "empty":
            pass
        elif d.kind == "blk":
            args += ["-drive", f"if=none,id=d{k},file={work}/disk{k}.img,format=raw",
                     "-device", f"virtio-blk-device,drive=d{k},iommu_platform={iommu},id=vdev{k}{d.opts}"]
        elif d.kind == "rng":
            args += ["-device", f"virtio-rng-device,iommu_platform={iommu},id=vdev{k}{d.opts}"]
        elif d.kind == "net":
            args += ["-netdev", netdev(f"n{k}", d.hub, f"rdmat{k}" if d.tap else None),
                     "-device", f"virtio-net-device,netdev=n{k},iommu_platform={iommu},id=vdev{k}{d.opts}"]
        elif d.kind == "vublk":
            args += ["-chardev", f"socket,id=vu{k},path={work}/vu{k}.sock",
                     "-device", f"vhost-user-blk,chardev=vu{k},iommu_platform={iommu},"
                                f"num-queues={VU_QUEUES},id=vdev{k}"]
        elif d.kind == "vsock":
            # Its backend (guest.sh starts it) has the guest's CID.
            args += ["-chardev", f"socket,id=vs{k},path={work}/vs{k}.sock",
                     "-device", f"vhost-user-vsock-device,chardev=vs{k},iommu_platform={iommu},id=vdev{k}{d.opts}"]
        elif d.kind == "9p":
            # A 9p share of the host directory WORK/shareK (guest.sh fills it),
            # mount tag shareK.
            args += ["-fsdev", f"local,id=fs{k},path={work}/share{k},security_model=none",
                     "-device", f"virtio-9p-device,fsdev=fs{k},mount_tag=share{k},"
                                f"iommu_platform={iommu},id=vdev{k}{d.opts}"]
        elif d.kind == "input":
            # A keyboard: the host types into it over QMP (qmp-agent.py).
            args += ["-device", f"virtio-keyboard-device,iommu_platform={iommu},id=vdev{k}{d.opts}"]
        elif d.kind == "scsi":
            args += ["-drive", f"if=none,id=d{k},file={work}/disk{k}.img,format=raw",
                     "-device", f"virtio-scsi-device,iommu_platform={iommu},id=vdev{k}{d.opts}",
                     "-device", f"scsi-hd,drive=d{k},bus=vdev{k}.0"]
        elif d.kind == "crypto":
            args += ["-object", f"cryptodev-backend-builtin,id=cd{k}",
                     "-device", f"virtio-crypto-device,cryptodev=cd{k},iommu_platform={iommu},id=vdev{k}{d.opts}"]
        elif d.kind == "gpu":
            # Small: its framebuffer, mapped for as long as it exists, is
            # 250 KiB, under the largest mapping a pool makes (256 KiB).
            args += ["-device", f"virtio-gpu-device,xres=320,yres=200,iommu_platform={iommu},id=vdev{k}{d.opts}"]
        elif d.kind == "balloon":
            args += ["-device", f"virtio-balloon-device,iommu_platform={iommu},id=vdev{k}{d.opts}"]
        elif d.kind == "console":
            # A virtio-serial port on FIFOs WORK/conK.in (host to guest) and
            # WORK/conK.out (guest to host), which guest.sh feeds and drains.
            args += ["-device", f"virtio-serial-device,max_ports=2,iommu_platform={iommu},id=vdev{k}{d.opts}",
                     "-chardev", f"pipe,id=con{k},path={work}/con{k}",
                     "-device", f"virtserialport,chardev=con{k},name=rdma.{k}"]
        else:
            raise SystemExit(f"unknown device kind {d.kind}")
    for k, p in enumerate(variant(name).get("pci", [])):
        if p.kind in ("blk", "scsi"):
            args += ["-drive", f"if=none,id=p{k},file={work}/pcidisk{k}.img,format=raw"]
        if p.kind == "net":
            args += ["-netdev", netdev(f"pn{k}", 0, f"rdmap{k}" if p.queues > 1 else None, p.queues)]
        if p.kind == "9p":
            args += ["-fsdev", f"local,id=pfs{k},path={work}/pshare{k},security_model=none"]
        if p.kind == "crypto":
            args += ["-object", f"cryptodev-backend-builtin,id=pcd{k}"]
        if p.kind == "vsock":
            args += ["-chardev", f"socket,id=pvs{k},path={work}/pvs{k}.sock"]
        if p.hotplug:
            args += ["-device", f"pcie-root-port,id=hp{k},bus=pcie.0,chassis={k + 1},addr=0x{p.slot:x}"]
        elif p.behind:
            args += ["-device", f"pcie-root-port,id=rp{k},bus=pcie.0,chassis={k + 1},addr=0x{p.slot:x}"]
            if p.behind == "switch":
                args += ["-device", f"x3130-upstream,id=up{k},bus=rp{k}",
                         "-device", f"xio3130-downstream,id=dn{k},bus=up{k},chassis={k + 21},slot=0"]
            args += ["-device", pci_device(p, k)]
        else:
            args += ["-device", pci_device(p, k) + f",addr=0x{p.slot:x}"]
        if not p.hotplug:
            for extra in pci_children(p, k):
                args += ["-device", extra]
    return args


def taps_off():
    """Why the guests cannot have taps here (guest.sh found out and says so
    in RDMA_NO_TAPS), or None."""
    return os.environ.get("RDMA_NO_TAPS") or None


def netdev(nid, hub, tap, queues=1):
    """QEMU's -netdev for a NIC: port `nid` of hub `hub`, or with `tap` a
    tap of that name with `queues` queues, which QEMU makes and
    harness/tap-up.sh joins to the bridge (guest.sh). Without taps here
    (taps_off()), a tapped NIC falls back to the hub, with one queue."""
    if tap is None or taps_off():
        return f"hubport,id={nid},hubid={hub}"
    here = os.path.dirname(os.path.abspath(__file__))
    return (f"tap,id={nid},ifname={tap},script={here}/tap-up.sh,downscript=no,vhost=off"
            + (f",queues={queues}" if queues > 1 else ""))


def taps(name):
    """The taps a guest's NICs sit on, one name a line: a NIC of several
    queue pairs needs one (QEMU's hub has one queue a port), and the NICs it
    talks to share its bridge. guest.sh runs QEMU in a network namespace of
    its own with one bridge, rdmabr, which each tap joins as QEMU makes it."""
    v = variant(name)
    return ("".join(f"rdmat{k}\n" for k, d in enumerate(v["devices"]) if d.kind == "net" and d.tap)
            + "".join(f"rdmap{k}\n" for k, p in enumerate(v.get("pci", [])) if p.kind == "net" and p.queues > 1))


def pci_device(p, k):
    """QEMU's -device (or device_add) argument for PCI device `p`, the k-th."""
    mq = f",mq=on,vectors={2 * p.queues + 2}" if p.kind == "net" and p.queues > 1 and not taps_off() else ""
    driver = {"blk": f"virtio-blk-pci,drive=p{k}", "rng": "virtio-rng-pci", "scsi": "virtio-scsi-pci",
              "gpu": "virtio-gpu-pci,xres=320,yres=200", "crypto": f"virtio-crypto-pci,cryptodev=pcd{k}",
              "vsock": f"vhost-user-vsock-pci,chardev=pvs{k}",
              "net": f"virtio-net-pci,netdev=pn{k},romfile={mq}", "input": "virtio-keyboard-pci",
              "9p": f"virtio-9p-pci,fsdev=pfs{k},mount_tag=pshare{k}"}.get(p.kind)
    if driver is None:
        raise SystemExit(f"unknown PCI device kind {p.kind}")
    bus = (f",bus=hp{k}" if p.hotplug else f",bus=dn{k}" if p.behind == "switch"
           else f",bus=rp{k}" if p.behind else "")
    return f"{driver}{bus},iommu_platform={'on' if p.iommu else 'off'},disable-legacy=on,id=pdev{k}"


def pci_children(p, k):
    """The devices that sit on PCI device `p` (the k-th): a virtio-scsi
    controller's disk, on WORK/pcidiskK.img."""
    return [f"scsi-hd,bus=pdev{k}.0,drive=p{k}"] if p.kind == "scsi" else []


def hotplug(name):
    """What the host adds when the guest asks (qmp-agent.py): one line each,
    ID DEVICE_ADD_ARGUMENT; an ID of several lines is added in their order
    (a controller, then what sits on it)."""
    return "".join(f"pdev{k} {a}\n" for k, p in enumerate(variant(name).get("pci", [])) if p.hotplug
                   for a in [pci_device(p, k)] + pci_children(p, k))


# Device types the module refuses behind a region whatever they negotiate
# (rust/virtio.rs): they reach memory outside the DMA API.
REFUSED_KINDS = ("balloon",)


def virtqueues(name):
    """The devices whose queues must lie in their region, as QEMU reports
    them (qmp-agent.py): one line each, QOM_PATH WHAT REGION BASE SIZE, and
    `hotplug` for a device the guest has the host add (if it did); and each
    device with no region, as QOM_PATH WHAT - BASE+SIZE,... - control, whose
    queues must lie outside every region; and each device of a type the
    module refuses behind a region, as QOM_PATH WHAT REGION BASE SIZE
    refused, which must have no queue set up.
    Those are the devices behind a claimed region that work through it:
    ACCESS_PLATFORM offered, dma-coherent, no IOMMU in front."""
    v = variant(name)
    good = {r.name: r for r in v["regions"] if r.compatible == "restricted-dma-region" and not r.reject}
    lines = []
    for k, (d, t) in enumerate(zip(v["devices"], transports(v))):
        # (Not vhost-user-blk devices: asking QEMU about their queues makes
        # it fetch the ring base from the backend, which stops the ring. A
        # vsock is listed: device-vsock.sh asks once, as its last word, with
        # "virtqueues-final", which qmp-agent.py lets stop it.)
        if d.kind in REFUSED_KINDS and d.region in good:
            # Refused before its driver ran: QEMU must find no queue set up.
            r = good[d.region]
            lines.append(f"/machine/peripheral/vdev{k} {t:x}.virtio_mmio {r.name} 0x{r.reg[0]:x} 0x{r.reg[1]:x} refused")
        elif d.kind not in ("empty", "vublk") and d.region in good and d.iommu and d.coherent:
            r = good[d.region]
            lines.append(f"/machine/peripheral/vdev{k} {t:x}.virtio_mmio {r.name} 0x{r.reg[0]:x} 0x{r.reg[1]:x}")
        elif d.kind not in ("empty", "vublk") and d.region is None and good:
            # The control: a device with no region, whose rings QEMU must find
            # outside every region (BASE+SIZE,...), so that the check can fail.
            spans = ",".join(f"0x{g.reg[0]:x}+0x{g.reg[1]:x}" for g in good.values())
            lines.append(f"/machine/peripheral/vdev{k} {t:x}.virtio_mmio - {spans} - control")
    r = good.get(v.get("pci_region"))
    if r and "iommu=" not in machine(name):
        for k, p in enumerate(v.get("pci", [])):
            # (device-pci.sh asks the host to look again once it has hot-added
            # its device: check.sh reads the last answer.)
            if p.iommu:
                # A virtio-pci device's virtio device is its "virtio-backend" child.
                what, plug = ((f"hot-added-behind-{p.bdf}", " hotplug") if p.hotplug
                              else (f"behind-{p.behind}-{p.bdf}", "") if p.behind else (p.bdf, ""))
                if p.kind == "net" and p.queues > 1:
                    # Its first SENDERS transmit queues must hold spans, the
                    # others none (check.sh).
                    plug = f" mq{p.queues}:{p.senders}"
                lines.append(f"/machine/peripheral/pdev{k}/virtio-backend {what} {r.name} 0x{r.reg[0]:x} 0x{r.reg[1]:x}{plug}")
    return "\n".join(lines) + ("\n" if lines else "")


def expect(name):
    """What the guest-side tests expect, one record a line:
         variant NAME
         tests TEST...                      the kselftests to run, in order
         good NAME BASE SIZE CONSUMER,... SHARED
                                            a region the module must claim, and
                                            whether it shares it (1; 0: no-map)
         bad NAME REASON...                 a node it must reject with REASON
         device KIND TRANSPORT REGION|- IOMMU COHERENT [held]
                                            a transport, what is behind it,
                                            whether it offers ACCESS_PLATFORM,
                                            whether it is dma-coherent, whether
                                            the DT holds it back from probing
                                            at boot (bind it by hand)
         hostile TRANSPORT MODE             a vublk whose backend lies (MODE)
         mainline NAME TRANSPORT            a restricted-dma-pool (not ours)
         other NAME                         a reserved-memory node of another binding
         testnode N REGION POOL|-           /rdma-test-N, for rdma_test.ko, and
                                            the pool it names beside REGION
         pcidevice KIND BDF REGION|- IOMMU  a virtio PCI device, the region its
                                            host bridge names, whether it offers
                                            ACCESS_PLATFORM
         pcibehind port|switch KIND PORT REGION|- IOMMU
                                            the same, behind a root port at BDF
                                            PORT, or behind a switch behind it
         pcihotplug KIND PORT REGION|- IOMMU ID
                                            the same, added while the guest runs
                                            behind the root port at BDF PORT when
                                            the guest prints "rdma-host: hotplug ID"
         vsock TRANSPORT CID PORT NAME      a vsock device: the guest's CID, the
                                            host port of the host's peer, the
                                            name of its files (NAME.sums.to-guest)
         machine MACHINE                    QEMU's -M
         reload-rounds N                    lifecycle-reload.sh's rounds (default 20)
         taps on|off [REASON]               whether the NICs of several queue
                                            pairs have their taps (off: they
                                            run on QEMU's hub with one, and why)
         pcinet BDF QUEUES SENDERS          a virtio-net-pci NIC's queue pairs,
                                            and how many of them send (from
                                            vCPU 0 on)
    """
    v = variant(name)
    # logcheck.sh comes last everywhere: the kernel's checkers on the whole boot.
    lines = [f"variant {name}", "tests " + " ".join(v.get("tests", ALL_TESTS) + ["logcheck.sh"])]
    addrs = transports(v)
    for r in v["regions"]:
        users = [f"virtio_mmio@{t:x}" for d, t in zip(v["devices"], addrs) if d.region == r.name]
        users += [f"rdma-test-{n}" for n, t in enumerate(v.get("testnodes", [])) if t.region == r.name]
        if v.get("pci_region") == r.name:
            users.append("pcie@10000000")
        if r.compatible == "restricted-dma-pool":
            lines.append(f"mainline {r.name} {','.join(users) or '-'}")
        elif r.compatible != "restricted-dma-region":
            lines.append(f"other {r.name}")
        elif r.reject:
            lines.append(f"bad {r.name} {r.reject}")
        else:
            shared = 0 if "no-map" in r.props else 1
            lines.append(f"good {r.name} 0x{r.reg[0]:x} 0x{r.reg[1]:x} {','.join(users) or '-'} {shared}")
    for d, t in zip(v["devices"], addrs):
        lines.append(f"device {d.kind} {t:x}.virtio_mmio {d.region or '-'} {'on' if d.iommu else 'off'}"
                     f" {'coherent' if d.coherent else 'noncoherent'}{' held' if d.held else ''}")
    for d, t in zip(v["devices"], addrs):
        if "--hostile" in d.backend:
            lines.append(f"hostile {t:x}.virtio_mmio {d.backend[d.backend.index('--hostile') + 1]}")
    for n, t in enumerate(v.get("testnodes", [])):
        lines.append(f"testnode {n} {t.region} {t.pool or '-'}")
    for k, p in enumerate(v.get("pci", [])):
        what = f"{p.kind} {p.bdf} {v.get('pci_region') or '-'} {'on' if p.iommu else 'off'}"
        if p.hotplug:
            lines.append(f"pcihotplug {what} pdev{k}")
        elif p.behind:
            lines.append(f"pcibehind {p.behind} {what}")
        else:
            lines.append(f"pcidevice {what}")
    for line in vsocks(name).splitlines():
        vs, cid, port, _region, t = line.split()
        lines.append(f"vsock {t} {cid} {port} {vs}")
    if taps(name):
        lines.append(f"taps off {taps_off()}" if taps_off() else "taps on")
    for p in v.get("pci", []):
        if p.kind == "net" and p.queues > 1:
            lines.append(f"pcinet {p.bdf} {p.queues} {p.senders}")
    lines.append(f"machine {machine(name)}")
    if v.get("preload"):
        lines.append(f"preload {PRELOAD_MARKER}")
    if v.get("reload_rounds"):
        lines.append(f"reload-rounds {v['reload_rounds']}")
    return "\n".join(lines) + "\n"


def schema_cases(base_dts, outdir):
    """Writes one DTS per case into OUTDIR: GOOD alone, then GOOD beside each
    other region of every variant and of SCHEMA_EXTRA, with one device behind
    GOOD. Prints one line per case, tab separated:
        FILE KIND NODE WHY
    KIND is `good` (schema and module accept it), `schema` (the schema must
    reject it) or `module` (the schema must accept it: only the module can
    tell it is wrong). WHY is the module's reason, or what is special about it.
    """
    others, seen = [], {GOOD.name}
    for v in VARIANTS.values():
        for r in v["regions"]:
            if r.name not in seen:
                seen.add(r.name)
                others.append(r)
    others += SCHEMA_EXTRA
    cases = [(GOOD.name, [GOOD], "good", "the good region alone")]
    for r in others:
        kind = "schema" if not r.schema_ok else "module" if r.reject else "good"
        why = r.reject or ("'size' beside 'reg', which the module ignores" if r.size_prop is not None else
                           "with " + ", ".join(r.props) if r.props else "a second good region")
        cases.append((r.name, [GOOD, r], kind, why))
    os.makedirs(outdir, exist_ok=True)
    for k, (node, regions, kind, why) in enumerate(cases):
        fname = os.path.join(outdir, f"{k:02d}-{node.replace('@', '-')}.dts")
        with open(fname, "w") as f:
            f.write(dts_of(dict(regions=regions, devices=[Device("blk", GOOD.name)]), base_dts))
        print(f"{fname}\t{kind}\t{node}\t{why}")


def disks(name):
    v = variant(name)
    return ([f"disk{k}.img" for k, d in enumerate(v["devices"]) if d.kind in ("blk", "vublk", "scsi")] +
            [f"pcidisk{k}.img" for k, p in enumerate(v.get("pci", [])) if p.kind in ("blk", "scsi")])


# What the host writes into a window before the guest boots (`preload`),
# one page of it at each address, which the guest must never share as it
# was (qmp-agent.py looks for it, check.sh holds it to none).
PRELOAD_MARKER = "HOSTLEFT"

# The marker the guest fills receive buffers with ("RECEIVE!", odirect.c and
# rdma_test.c): every window backend counts it in what it is given to fill,
# and in what it is given to read (window-backend --find).
MARKER_HEX = "5245434549564521"


def backends(name):
    """The window backends guest.sh starts before QEMU, one line each:
        NAME IMAGE MODE WINDOW QUEUES REGION TRANSPORT [OPTION...]
    MODE `window` maps only WINDOW (the device's region); `audit` maps all
    guest memory and counts accesses outside WINDOW (the variant's first
    region), for a device with no region (REGION `-`). The OPTIONs are
    more of window-backend's arguments: the marker to find, the device's
    `backend` options (a hostile mode)."""
    v = variant(name)
    lines = []
    for k, (d, t) in enumerate(zip(v["devices"], transports(v))):
        if d.kind != "vublk":
            continue
        r = regions_by_name(v)[d.region] if d.region else v["regions"][0]
        mode = "window" if d.region else "audit"
        opts = " ".join(["--find", MARKER_HEX] + d.backend)
        lines.append(f"vu{k} disk{k}.img {mode} 0x{r.reg[0]:x}+0x{r.reg[1]:x} {VU_QUEUES} "
                     f"{d.region or '-'} {t:x}.virtio_mmio {opts}\n")
    return "".join(lines)


def consoles(name):
    return [f"con{k}" for k, d in enumerate(variant(name)["devices"]) if d.kind == "console"]


def shares(name):
    """The 9p shares: host directories in the work dir, each the mount tag of
    its device (shareK for the k-th virtio-mmio device, pshareK for the k-th
    PCI device)."""
    v = variant(name)
    return ([f"share{k}" for k, d in enumerate(v["devices"]) if d.kind == "9p"] +
            [f"pshare{k}" for k, p in enumerate(v.get("pci", [])) if p.kind == "9p"])


# The guest's vsock context id (the backend's --guest-cid), and the host
# port where the host's peer (vsock-peer.py) takes the guest's streams.
VSOCK_CID = 3
VSOCK_PORT = 1234


def vsocks(name):
    """The vhost-user-vsock devices, whose backend (vhost-device-vsock) and
    host peer (vsock-peer.py) guest.sh starts before QEMU, one line each:
        NAME CID PORT REGION|- TRANSPORT
    The backend's vhost-user socket is WORK/NAME.sock, where host programs
    reach the guest WORK/NAME.vsock, the peer listens on host port PORT,
    and its files are in WORK/NAME/."""
    v = variant(name)
    return ("".join(f"vs{k} {VSOCK_CID} {VSOCK_PORT} {d.region or '-'} {t:x}.virtio_mmio\n"
                    for k, (d, t) in enumerate(zip(v["devices"], transports(v))) if d.kind == "vsock")
            + "".join(f"pvs{k} {VSOCK_CID} {VSOCK_PORT} {v.get('pci_region') or '-'} {p.bdf}\n"
                      for k, p in enumerate(v.get("pci", [])) if p.kind == "vsock"))


def screens(name):
    """The gpus whose screens the host dumps when the guest asks
    (qmp-agent.py) and compares (check.sh): one line each, QEMU_ID TRANSPORT
    REGION|-; a PCI gpu's TRANSPORT is its BDF."""
    v = variant(name)
    return ("".join(f"vdev{k} {t:x}.virtio_mmio {d.region or '-'}\n"
                    for k, (d, t) in enumerate(zip(v["devices"], transports(v))) if d.kind == "gpu")
            + "".join(f"pdev{k} {p.bdf} {v.get('pci_region') or '-'}\n"
                      for k, p in enumerate(v.get("pci", [])) if p.kind == "gpu"))


def schema_rejects(name):
    """The nodes of a guest's DT the binding must reject, one a line."""
    return "".join(f"/reserved-memory/{r.name}\n" for r in variant(name)["regions"] if not r.schema_ok)


def write(name, work, base_dts):
    """Everything a guest is made of, as guest.sh boots it."""
    files = {
        "guest.dts": dts(name, base_dts),
        "qemu.args": "".join(a + "\n" for a in qemu(name, work)),
        "expect": expect(name),
        "disks": "".join(d + "\n" for d in disks(name)),
        "consoles": "".join(c + "\n" for c in consoles(name)),
        "shares": "".join(c + "\n" for c in shares(name)),
        "virtqueues": virtqueues(name),
        "hotplug": hotplug(name),
        "backends": backends(name),
        "screens": screens(name),
        "vsocks": vsocks(name),
        "taps": taps(name),
        "preloads": "".join(f"0x{a:x} {PRELOAD_MARKER}\n" for a in variant(name).get("preload", [])),
    }
    for f, text in files.items():
        with open(os.path.join(work, f), "w") as out:
            out.write(text)


def main(argv):
    cmd = argv[1]
    if cmd == "list":
        print(" ".join(guests(argv[2] if len(argv) > 2 else None)))
    elif cmd == "demo":
        print(DEMO)
    elif cmd == "dts":
        sys.stdout.write(dts(argv[2], argv[3]))
    elif cmd == "qemu":
        print("\n".join(qemu(argv[2], argv[3])))
    elif cmd == "expect":
        sys.stdout.write(expect(argv[2]))
    elif cmd == "schema-cases":
        schema_cases(argv[2], argv[3])
    elif cmd == "consoles":
        print(" ".join(consoles(argv[2])))
    elif cmd == "disks":
        print(" ".join(disks(argv[2])))
    elif cmd == "write":
        write(argv[2], argv[3], argv[4])
    elif cmd == "schema-rejects":
        sys.stdout.write(schema_rejects(argv[2]))
    elif cmd == "machine":
        print(machine(argv[2]))
    elif cmd == "smp":
        print(variant(argv[2]).get("smp", ""))
    elif cmd == "taps":
        sys.stdout.write(taps(argv[2]))
    elif cmd == "cmdline":
        print(cmdline(argv[2]))
    elif cmd == "virtqueues":
        sys.stdout.write(virtqueues(argv[2]))
    elif cmd == "backends":
        sys.stdout.write(backends(argv[2]))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
