# SPDX-License-Identifier: GPL-2.0
"""Every virtio device type and transport behind a region."""
from .model import Device, PciDevice
from .regions import GOOD, SECOND, CONSOLE, NETBIG, PCIR, POOL, CRYPTOR, GPUR, VSOCKR, MAINLINE

# The queue pairs of the multi-queue NICs (the netmq guest), and its vCPUs.
MQ_PAIRS = 4

GUESTS = {
    # Virtio end to end: blk and rng sharing GOOD, a blk refused for not
    # negotiating ACCESS_PLATFORM, the same kind of blk with no region (which
    # works as usual), a blk alone on a second region, a console on a third,
    # and a virtio-blk-pci behind the PCI host bridge on a fourth.
    "virtio": dict(
        about="virtio-mmio on three regions (one no-map), refusals, a virtio-blk-pci behind the host bridge",
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
    # into which the test hot-adds a blk, a blk whose own node names POOL
    # and no region (held behind the wall), and a virtio-mmio blk on GOOD
    # beside them.
    "pci": dict(
        about="virtio-pci behind the host bridge's region: a refused device, a hot-added one",
        regions=[GOOD, PCIR, POOL],
        devices=[Device("blk", GOOD.name)],
        pci_region=PCIR.name,
        pci=[PciDevice("blk", 3), PciDevice("rng", 4), PciDevice("blk", 5, iommu=False),
             PciDevice("blk", 6, hotplug=True), PciDevice("blk", 7, own=POOL.name)],
        tests=["region-checks.sh", "lifecycle-firstprobe.sh", "device-pci.sh", "lifecycle-reload.sh"],
    ),
    # Virtio-net: a NIC with mergeable receive buffers (premapped page
    # fragments, synced a sub-range at a time) behind GOOD, one without (big
    # packets, and no indirect descriptors: every buffer sits in the
    # descriptor table the host checks) behind NETBIG, a virtio-net-pci behind the host bridge's
    # region, and a control NIC with no region, all on one QEMU hub.
    "net": dict(
        about="virtio-net: mergeable and big-packet receive buffers, over mmio and PCI, and a control NIC",
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
        about="virtio-net-pci with four queue pairs on four vCPUs, on taps",
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
        about="virtio-input keyboards the host types into, and a refused one",
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
        about="virtio-9p shares, both ways, with zero-copy requests",
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
        about="virtio-scsi, virtio-crypto, virtio-gpu and a refused balloon; hot-added PCI ones",
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
        about="PCI devices behind a root port and a switch: bridges do no DMA",
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
        about="an SMMUv3 in front of the host bridge: the device is refused",
        machine="virt,iommu=smmuv3",
        regions=[PCIR],
        devices=[],
        pci_region=PCIR.name,
        pci=[PciDevice("blk", 3)],
        tests=["device-iommu.sh"],
    ),
    # Virtio-vsock: a vhost-user-vsock behind a region of its own, held
    # from probing at boot (with the loadable module it must never run
    # without its pool), streams of 1 B to 4 MiB both ways between the guest
    # and a host peer (device-vsock.sh; the host checks what it received); and a
    # control rng with no region, whose rings the host must find outside.
    "vsock": dict(
        about="vhost-user-vsock streams both ways, behind a region of its own",
        regions=[VSOCKR],
        devices=[Device("vsock", VSOCKR.name, held=True), Device("rng")],
        tests=["device-vsock.sh"],
    ),
    # The same over PCI (crosvm's transport): a vhost-user-vsock-pci behind
    # the host bridge, whose node names the vsock's region. A guest drives
    # one vsock device at a time, hence a guest of its own. It is there
    # from boot: the loadable module rebinds it at load.
    "vsockpci": dict(
        about="the same over vhost-user-vsock-pci behind the host bridge",
        regions=[VSOCKR],
        devices=[Device("rng")],
        pci_region=VSOCKR.name,
        pci=[PciDevice("vsock", 3)],
        tests=["device-vsock.sh"],
    ),
}
