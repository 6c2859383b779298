# SPDX-License-Identifier: GPL-2.0
"""The regions the guests name, each with what makes it what it is."""
from .model import MiB, Region

GOOD = Region("restricted@50000000", reg=(0x50000000, 4 * MiB))
# GOOD, whose node (the host's) asks for receive buffers to be copied in:
# no kernel of the tests lets it.
GOOD_ASKS_COPY = Region("restricted@50000000", reg=(0x50000000, 4 * MiB),
                        props=["copy-receive-buffers"])
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
OVER_IMAGE_HEAD = Region("restricted@40200000", reg=(0x40200000, 0x4000), reject="the kernel image")
# QEMU puts an AArch64 guest's DTB after the initrd (model.AT_DTB).
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
# A /chosen whose IMA kexec buffer is five cells, not one (address, size)
# pair, far from any window: the kernel would read its first pair; the
# module cannot tell what it names, so it refuses every region.
CHOSEN_UNREADABLE = ["linux,ima-kexec-buffer = <0x0 0x4e000000 0x0 0x1000 0x0>"]
GOOD_UNDER_BAD_CHOSEN = Region("restricted@50000000", reg=(0x50000000, 4 * MiB),
                               reject="/chosen linux,ima-kexec-buffer is not whole (address, size) pairs")
# GOOD beside a second root child of the name boot reads its reservations
# or /chosen from (fdt_path_offset() takes "name@unit" as "name"): boot,
# the kernel and the module may each read another node.
GOOD_BESIDE_TWIN_RESERVED = Region("restricted@50000000", reg=(0x50000000, 4 * MiB),
                                   reject="another child of the root is named reserved-memory")
GOOD_BESIDE_TWIN_CHOSEN = Region("restricted@50000000", reg=(0x50000000, 4 * MiB),
                                 reject="another child of the root is named chosen")
# Two /reserved-memory children of one name (the kernel finds what it
# reserved for a node by name), and one whose `reg` is not whole pairs (the
# boot code skips it and reserves nothing).
TWINS = [Region("restricted@4f000000", reg=(0x4F000000, 0x10000), props=["no-map"],
                reject="another /reserved-memory node has the same name"),
         Region("restricted@4f00000f", reg=(0x4F000000, 0x10000), twin_of="restricted@4f000000",
                reject="another /reserved-memory node has the same name")]
REG_NOT_PAIRS = Region("restricted@4f100000", props=["reg = <0x0 0x4f100000 0x0 0x10000 0x0>"],
                       reject="'reg' is not whole (address, size) pairs", schema_ok=False)
# A node under /reserved-memory cells that are not 1 or 2 (the `cells` guest).
# The binding cannot see the fault: it is the parent's, and dt-validate reads
# the node's `reg` with those cells.
CELLS = Region("restricted@52000000", reg=(0x52000000, 4 * MiB),
               reject="#address-cells or #size-cells is not 1 or 2")
# A node of a compatible nobody handles, whose second range a restricted
# region overlaps: boot reserved both ranges, and saved only the first.
TWO_RANGES = Region("other@4f200000", reg=[(0x4F200000, 0x10000), (0x4F300000, 0x10000)],
                    compatible="restricted-dma-test,other")
OVER_SECOND_RANGE = Region("restricted@4f300000", reg=(0x4F300000, 0x10000),
                           reject="overlaps region other@4f200000")
# A region whose one test device sees RAM 256 MiB below where it is
# (dma-ranges), and a second one of it that sees it where it is.
OFFSET_R = Region("restricted@52000000", reg=(0x52000000, 1 * MiB))
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
# A region node that also says shared-dma-pool: that pool's handler
# (kernel/dma/coherent.c) takes it at boot, before any of ours, so it is
# another handler's pool: never claimed, and a device that names it is
# held behind the wall, as one that names POOL is.
DUAL = Region("dual@4d200000", reg=(0x4D200000, 1 * MiB), props=["no-map"],
              compatible='restricted-dma-region", "shared-dma-pool',
              reject="another reserved-memory handler owns it", schema_ok=False)
OVER_POOL = Region("restricted@4d080000", reg=(0x4D080000, 1 * MiB), reject="overlaps region dma-pool@4d000000")
# A region under memory that a node outside /reserved-memory describes:
# ramoops (which the test kernels do not have) would write the kernel's
# logs there, with no /proc/iomem request and no change to the pages. The
# node also says it is memory, as a /memory node does (boot adds RAM that
# is there already): ramoops takes it all the same.
RAMOOPS = ("ramoops@4d400000 { compatible = \"ramoops\"; device_type = \"memory\"; "
           "reg = <0x0 0x4d400000 0x0 0x100000>; record-size = <0x20000>; };")
OVER_RAMOOPS = Region("restricted@4d480000", reg=(0x4D480000, 1 * MiB), reject="node ramoops@4d400000 describes memory of it")
# Regions of their own for the devices of the `devices` guest, so that each
# one's slots are counted apart (docs/operating.md, "Sizing a region").
CRYPTOR = Region("restricted@55000000", reg=(0x55000000, 4 * MiB))
GPUR = Region("restricted@56000000", reg=(0x56000000, 8 * MiB))
# QEMU's vhost-user-vsock has 1024-entry queues, and the guest keeps its
# receive ring full of 3,776-byte buffers: 2,104 slots once up, more than
# GOOD has (there the ring took every slot and connect timed out). Sending,
# up to 512 packets of 16 KiB (vsock.c's writes) may be in flight beside
# them: 16 MiB of its own never fills (device-vsock.sh checks); 8 MiB was full at
# the peak of one run (docs/operating.md, "Sizing a region").
VSOCKR = Region("restricted@5e000000", reg=(0x5E000000, 16 * MiB))
# The hostile host's modes (window-backend --hostile) and a 2 MiB window for
# each: one device a mode, so that what one mode does to the pool is
# counted apart.
HOSTILE_MODES = ["used-len", "used-id", "used-head", "used-twice", "used-phantom", "desc-flags", "scribble",
                 "after"]
LIES = {m: Region(f"restricted@{0x50000000 + k * 0x200000:x}", reg=(0x50000000 + k * 0x200000, 2 * MiB))
        for k, m in enumerate(HOSTILE_MODES)}
# A region whose share with the host fails at its third page: the `sharing`
# guest plants that failure in the test kernels' ledger (SHARE_FAILS_AT), and
# this region comes first in its DT, so the module shares it first. The
# reason is the module's, for that command line.
# The ledger counts pages from the first that anything shares: the kernel
# shares its three atomic DMA pools at boot (kernel/dma/pool.c, before our
# arch_initcall built in; 128 KiB each with 1 GiB of RAM), then the module.
BOOT_SHARED_PAGES = 3 * 32
SHARE_FAILS_AT = BOOT_SHARED_PAGES + 3
SHARE_FAILS = Region("restricted@53000000", reg=(0x53000000, 2 * MiB),
                     reject="could not share page 2 of it with the host; the pages before it were made private again")
# Mainline's built-in pool, for the benchmark's comparison.
MAINLINE = Region("restricted-pool@58000000", reg=(0x58000000, 4 * MiB), compatible="restricted-dma-pool")
# What crosvm gives a protected VM through pvmfw: a restricted-dma-pool with
# no reg, which the guest's kernel places at boot (size, alignment) and
# shares with the host. The pvmfw guest's.
PVMFW = Region("restricted_dma_reserved", size=8 * MiB, props=["alignment = <0x0 0x1000>"],
               compatible="restricted-dma-pool")
# The benchmark's NIC pairs, ours and mainline's, on regions of their own of
# one size: two NICs with mergeable receive buffers keep about 4 MiB mapped
# once up (docs/operating.md, "Sizing a region"), and a flood keeps more in flight
# (7,481 slots, 14.6 MiB, at most in one boot with 4 vCPUs).
NET_OURS = Region("restricted@60000000", reg=(0x60000000, 32 * MiB))
NET_MAINLINE = Region("restricted-pool@64000000", reg=(0x64000000, 32 * MiB), compatible="restricted-dma-pool")
# The benchmark's empty transports, ours and mainline's, on regions of their
# own of one size, with nothing else in them: under -icount a pool's search
# then goes round the same slots every lap, from whichever slot it starts,
# and rdma_test's timed laps (`cost`) count the same on every run.
MAP_OURS = Region("restricted@5a000000", reg=(0x5A000000, 4 * MiB))
MAP_MAINLINE = Region("restricted-pool@5b000000", reg=(0x5B000000, 4 * MiB), compatible="restricted-dma-pool")

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
