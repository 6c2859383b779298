# SPDX-License-Identifier: GPL-2.0
"""What a guest is made of: its regions, its devices, its test nodes.

A guest (a variant) is a dict: `regions`, `devices` and the optional keys
the derivations (derive.py) read. These classes are its parts."""
MiB = 1 << 20
PAGE = 4096

# QEMU virt gives the k-th "-device virtio-*-device" the transport at
# 0x0a003e00 - 0x200*k (the first device sits at the highest address).
def transport(k):
    return 0x0A003E00 - 0x200 * k


# QEMU (hw/arm/boot.c) puts an AArch64 guest's DTB after the initrd, at the
# next 2 MiB boundary (HMP "info roms" shows it): here, 0x48400000 for an
# initrd of 2 to 4 MiB. guest.sh moves the region's base to where it is.
AT_DTB = "/* at the DTB */"


# The comment a DT source carries for each node renamed once compiled
# (Region.twin_of): "/* RENAME FROM TO */". guest.sh and dt-check.sh rename
# FROM to TO in the DTB, bytes of one length.
RENAME = "/* RENAME {} {} */"


class Region:
    """A /reserved-memory child. `reject` names the reason the module must give
    (None for a good node); `schema_ok` says whether the binding accepts it.
    `reg` is one (base, size) pair, or a list of them for a multi-range node."""

    def __init__(self, name, reg=None, size=None, props=(), reject=None, schema_ok=True,
                 compatible="restricted-dma-region", at_dtb=False, twin_of=None):
        self.name, self.reg, self.size_prop = name, reg, size
        # A node that takes the name `twin_of` once compiled: dtc refuses
        # two siblings of one name, which a host may write all the same.
        # Its source name has the same length, so that guest.sh and
        # dt-check.sh can rename it in the DTB (see RENAME).
        self.twin_of = twin_of
        assert twin_of is None or len(twin_of) == len(name)
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
                 backend=(), pci_type=False):
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
        # without its pool (README.md, "Which build"): its rings would
        # lie outside the window, where a window backend cannot serve them,
        # and the boot would wait for ever on its first I/O.
        self.held = held
        # True: the DT dresses the transport as a PCI host bridge
        # (device_type = "pci"), which a host can write on any node: it
        # must be refused, never left unrestricted.
        self.pci_type = pci_type


HELD = "restricted-dma-test,held-virtio-mmio"

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
    default), and the host holds exactly those to have descriptors.

    With `own`, the device has a DT node of its own below the host bridge's
    whose memory-region names `own` (another memory pool, no restricted
    region): it must be held behind the wall, never left unrestricted."""

    def __init__(self, kind, slot, iommu=True, hotplug=False, behind=None, queues=1, senders=None, own=None):
        self.kind, self.slot, self.iommu, self.hotplug = kind, slot, iommu, hotplug
        self.behind, self.queues = behind, queues
        self.senders = queues if senders is None else senders
        self.own = own

    @property
    def bdf(self):
        return f"0000:00:{self.slot:02x}.0"


class TestNode:
    """A DT node /rdma-test-N for the test driver rdma_test.ko, which makes the
    platform device rdma_test.N for it. It names `region` in memory-region,
    after an empty phandle when `empty_first` (`<0 &region>`), and before
    `pool` when it has one (`<&region &pool>`), and is dma-coherent like
    QEMU's transports. With `dma_offset`, the node sits on a bus of its own
    whose dma-ranges put RAM that far from its physical addresses (DMA =
    physical + dma_offset): rdma_test does no DMA, so its device, unlike a
    QEMU transport, can have one. With `pci_type`, the node says it is a PCI
    host bridge's (device_type = "pci"), as a host can write on any node."""

    def __init__(self, region, empty_first=False, pool=None, dma_offset=0, pci_type=False):
        self.region, self.empty_first = region, empty_first
        # Another reserved-memory node (a shared-dma-pool) after the region.
        self.pool = pool
        self.dma_offset = dma_offset
        self.pci_type = pci_type


class AmbaNode:
    """A DT node /rdma-amba@ADDR: an ARM PrimeCell (compatible
    "arm,primecell", as a PL330 DMA controller's is), for which
    of_platform_populate() makes a device on the AMBA bus, not the platform
    bus. Its peripheral ID, given in the node so that nothing reads the
    (absent) registers, is the one rdma_test.c's AMBA driver
    (RDMA_TEST_AMBA_ID) matches. It names `region`, and is dma-coherent
    unless `coherent` is false (then it is refused); the k-th such node of a
    guest sits at amba_address(k), where QEMU virt maps nothing. With
    `below_bus`, the node sits on a simple bus of its own, whose platform
    device is then its parent."""

    PERIPHID = 0x00FFF0A7

    def __init__(self, region, coherent=True, below_bus=False):
        self.region, self.coherent, self.below_bus = region, coherent, below_bus


def amba_address(k):
    return 0x090C0000 + 0x1000 * k


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

