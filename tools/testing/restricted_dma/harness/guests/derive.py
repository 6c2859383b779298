# SPDX-License-Identifier: GPL-2.0
"""What a guest description gives each part of the harness, so that they
cannot disagree: the DT source, QEMU's arguments, the expectations the
kselftests read, and the host's checks' inputs (see variants.py's usage)."""
import os

from . import ALL_TESTS, DEBUG_GUESTS, DEBUG_LEFT_OUT, FAMILY, VARIANTS, guests, variant
from .model import RENAME, AmbaNode, Device, HELD, amba_address, transports
from .regions import GOOD, SCHEMA_EXTRA


def machine(name):
    return variant(name).get("machine", "virt")


def panics(name, flavour):
    """The panic the guest's kernel of FLAVOUR must stop with, if any."""
    expected = variant(name).get("panics")
    return expected[1] if expected and expected[0] == flavour else ""


def must_ask(name, flavour):
    """Whether the guest's tests must ask the host to look at its queues on
    FLAVOUR's kernel (check.sh fails a guest that never did): it lists
    devices for the host to look at, runs its tests there (no panic), and
    its `host_looks` (the kernels where its tests can ask; all by default)
    has FLAVOUR."""
    v = variant(name)
    return bool(virtqueues(name)) and not panics(name, flavour) and flavour in v.get("host_looks", (flavour,))


def cmdline(name):
    """What the variant adds to the kernel's command line."""
    return variant(name).get("cmdline", "")


def regions_by_name(v):
    return {r.name: r for r in v["regions"]}



# QEMU virt's RAM, as the guests have it (guest.sh: -m 1G).
RAM_BASE, RAM_SIZE = 0x40000000, 0x40000000

def dts(name, base_dts):
    return dts_of(variant(name), base_dts)


def dts_of(v, base_dts):
    base = open(base_dts).read().rstrip()
    # /memreserve/ entries go between the header and the root node.
    rsv = "".join(f"/memreserve/ 0x{b:x} 0x{sz:x};\n" for b, sz in v.get("memreserve", []))
    base = base.replace("/dts-v1/;\n", "/dts-v1/;\n" + rsv, 1)
    renames = "".join(RENAME.format(r.name, r.twin_of) + "\n" for r in v["regions"] if r.twin_of)
    base = base.replace("/dts-v1/;\n", "/dts-v1/;\n" + renames, 1)
    ac, sc = v.get("reserved_cells", (2, 2))
    out = [base, "", "/ {", "\treserved-memory {",
           f"\t\t#address-cells = <0x{ac:x}>;", f"\t\t#size-cells = <0x{sc:x}>;", "\t\tranges;", ""]
    out += [r.dts() for r in v["regions"]]
    out += ["\t};", ""]
    if v.get("chosen"):
        out += ["\tchosen {"] + [f"\t\t{p};" for p in v["chosen"]] + ["\t};", ""]
    # Root children written as they are (a second reserved-memory or chosen).
    out += [f"\t{n}" for n in v.get("root_nodes", [])]
    for name, compatible in v.get("decoys", []):
        out += [f"\t{name} {{", f'\t\tcompatible = "{compatible}";', "\t};", ""]
    regions = regions_by_name(v)
    for n, t in enumerate(v.get("testnodes", [])):
        phandles = (("0 " if t.empty_first else "") + f"&{regions[t.region].label}"
                    + (f" &{regions[t.pool].label}" if t.pool else ""))
        node = ([f"\trdma-test-{n} {{", f"\t\tmemory-region = <{phandles}>;", "\t\tdma-coherent;"]
                + (['\t\tdevice_type = "pci";'] if t.pci_type else []) + ["\t};"])
        if t.dma_offset:
            # All of RAM (QEMU virt's 1 GiB at 1 GiB), seen dma_offset away.
            dma = RAM_BASE + t.dma_offset
            node = ([f"\trdma-bus-{n} {{", "\t\t#address-cells = <0x2>;", "\t\t#size-cells = <0x2>;", "\t\tranges;",
                     f"\t\tdma-ranges = <0x0 0x{dma:x} 0x0 0x{RAM_BASE:x} 0x0 0x{RAM_SIZE:x}>;"]
                    + ["\t" + line for line in node] + ["\t};"])
        out += node
    for k, a in enumerate(v.get("amba", [])):
        node = ([f"\trdma-amba@{amba_address(k):x} {{", '\t\tcompatible = "arm,primecell";',
                 f"\t\tarm,primecell-periphid = <0x{AmbaNode.PERIPHID:x}>;",
                 f"\t\treg = <0x0 0x{amba_address(k):x} 0x0 0x1000>;",
                 "\t\tclocks = <&{/apb-pclk}>;", '\t\tclock-names = "apb_pclk";',
                 f"\t\tmemory-region = <&{regions[a.region].label}>;"]
                + (["\t\tdma-coherent;"] if a.coherent else []) + ["\t};"])
        if a.below_bus:
            node = ([f"\trdma-amba-bus-{k} {{", '\t\tcompatible = "simple-bus";', "\t\t#address-cells = <0x2>;",
                     "\t\t#size-cells = <0x2>;", "\t\tranges;"] + ["\t" + line for line in node] + ["\t};"])
        out += node
    out += ["};", ""]
    for d, t in zip(v["devices"], transports(v)):
        if d.region:
            out.append(f"&{{/virtio_mmio@{t:x}}} {{ memory-region = <&{regions[d.region].label}>; }};")
        if not d.coherent:
            out.append(f"&{{/virtio_mmio@{t:x}}} {{ /delete-property/ dma-coherent; }};")
        if d.held:
            out.append(f'&{{/virtio_mmio@{t:x}}} {{ compatible = "{HELD}"; }};')
        if d.pci_type:
            out.append(f'&{{/virtio_mmio@{t:x}}} {{ device_type = "pci"; }};')
    if v.get("pci_region"):
        out.append(f"&{{/pcie@10000000}} {{ memory-region = <&{regions[v['pci_region']].label}>; }};")
    for p in v.get("pci", []):
        if p.own:
            # A function's node: its reg's first cell is its devfn << 8.
            out.append(f"&{{/pcie@10000000}} {{ dev@{p.slot:x},0 {{ reg = <0x{p.slot << 11:x} 0x0 0x0 0x0 0x0>; "
                       f"memory-region = <&{regions[p.own].label}>; }}; }};")
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
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
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


def host_window(r):
    """Region r's window as the host checks it, "BASE SIZE": its `reg`, or for
    one the guest's kernel places at boot (`size`, no `reg`) "@NAME @NAME",
    which check.sh reads from the guest's word on its console ("rdma-host:
    window NAME BASE SIZE"), as a real host learns it from the share calls."""
    if r.reg is None:
        return f"@{r.name} @{r.name}"
    return f"0x{r.reg[0]:x} 0x{r.reg[1]:x}"


def virtqueues(name):
    """The devices whose queues must lie in their region, as QEMU reports
    them (qmp-agent.py): one line each, QOM_PATH WHAT REGION BASE SIZE, and
    `hotplug` for a device the guest has the host add (if it did); and each
    device with no region, as QOM_PATH WHAT - BASE+SIZE,... - control, whose
    queues must lie outside every region; and each device of a type the
    module refuses behind a region, as QOM_PATH WHAT REGION BASE SIZE
    refused, which must have no queue set up (every device behind a region
    of a guest whose start fails, as its test asks only when built in).
    Those are the devices behind a claimed region that work through it:
    ACCESS_PLATFORM offered, dma-coherent, no IOMMU in front."""
    v = variant(name)
    # Our regions, and a restricted-dma-pool placed at boot: the drop-in's
    # built in, mainline's pool's on the module kernel, which keeps the
    # rings in it too.
    good = {r.name: r for r in v["regions"] if not r.reject and (
        r.compatible == "restricted-dma-region" or (r.compatible == "restricted-dma-pool" and r.reg is None))}
    lines = []
    for k, (d, t) in enumerate(zip(v["devices"], transports(v))):
        # (Not vhost-user-blk devices: asking QEMU about their queues makes
        # it fetch the ring base from the backend, which stops the ring. A
        # vsock is listed: device-vsock.sh asks once, as its last word, with
        # "virtqueues-final", which qmp-agent.py lets stop it.)
        if (d.kind in REFUSED_KINDS or d.pci_type or v.get("start_fails")) and d.region in good:
            # Refused before its driver ran: QEMU must find no queue set up.
            r = good[d.region]
            lines.append(f"/machine/peripheral/vdev{k} {t:x}.virtio_mmio {r.name} {host_window(r)} refused")
        elif d.kind not in ("empty", "vublk") and d.region in good and d.iommu and d.coherent:
            r = good[d.region]
            lines.append(f"/machine/peripheral/vdev{k} {t:x}.virtio_mmio {r.name} {host_window(r)}")
        elif d.kind not in ("empty", "vublk") and d.region is None and good:
            # The control: a device with no region, whose rings QEMU must find
            # outside every region (BASE+SIZE,...), so that the check can fail.
            spans = ",".join(host_window(g).replace(" ", "+") for g in good.values())
            lines.append(f"/machine/peripheral/vdev{k} {t:x}.virtio_mmio - {spans} - control")
    r = good.get(v.get("pci_region"))
    if r and "iommu=" not in machine(name):
        for k, p in enumerate(v.get("pci", [])):
            # (device-pci.sh asks the host to look again once it has hot-added
            # its device: check.sh reads the last answer.)
            if p.iommu and not p.own:
                # A virtio-pci device's virtio device is its "virtio-backend" child.
                what, plug = ((f"hot-added-behind-{p.bdf}", " hotplug") if p.hotplug
                              else (f"behind-{p.behind}-{p.bdf}", "") if p.behind else (p.bdf, ""))
                if p.kind == "net" and p.queues > 1:
                    # Its first SENDERS transmit queues must hold spans, the
                    # others none (check.sh).
                    plug = f" mq{p.queues}:{p.senders}"
                lines.append(f"/machine/peripheral/pdev{k}/virtio-backend {what} {r.name} {host_window(r)}{plug}")
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
                                            whether it is dma-coherent (or
                                            `pcitype`: dressed as a PCI host
                                            bridge, refused), whether
                                            the DT holds it back from probing
                                            at boot (bind it by hand)
         hostile TRANSPORT MODE             a vublk whose backend lies (MODE)
         mainline NAME TRANSPORT            a restricted-dma-pool (not ours)
         other NAME                         a reserved-memory node of another binding
         testnode N REGION POOL|- OFFSET pcitype|-
                                            /rdma-test-N, for rdma_test.ko, the
                                            pool it names beside REGION, its
                                            dma-ranges offset, and whether it
                                            says it is a PCI host bridge's
         amba DEVICE REGION COHERENT BUS|-  an AMBA device (/rdma-amba@...) whose
                                            node names REGION, for rdma_test.ko's
                                            AMBA driver; whether it is
                                            dma-coherent, and the simple bus
                                            whose platform device is its parent
         pcidevice KIND BDF REGION|- IOMMU  a virtio PCI device, the region its
                                            host bridge names, whether it offers
                                            ACCESS_PLATFORM
         pciwalled BDF POOL                 a virtio PCI device whose own node
                                            names POOL, not a region: walled
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
    lines = [f"variant {name}", "tests " + " ".join(tests_of(name))]
    addrs = transports(v)
    for r in v["regions"]:
        users = [f"virtio_mmio@{t:x}" for d, t in zip(v["devices"], addrs) if d.region == r.name]
        users += [f"rdma-test-{n}" for n, t in enumerate(v.get("testnodes", [])) if t.region == r.name]
        users += [f"rdma-amba@{amba_address(k):x}" for k, a in enumerate(v.get("amba", [])) if a.region == r.name]
        if v.get("pci_region") == r.name:
            users.append("pcie@10000000")
        if r.compatible == "restricted-dma-pool":
            lines.append(f"mainline {r.name} {','.join(users) or '-'}")
        elif r.compatible != "restricted-dma-region":
            lines.append(f"other {r.name}")
        elif r.reject:
            lines.append(f"bad {r.twin_of or r.name} {r.reject}")
        else:
            shared = 0 if "no-map" in r.props else 1
            lines.append(f"good {r.name} 0x{r.reg[0]:x} 0x{r.reg[1]:x} {','.join(users) or '-'} {shared}")
    for d, t in zip(v["devices"], addrs):
        lines.append(f"device {d.kind} {t:x}.virtio_mmio {d.region or '-'} {'on' if d.iommu else 'off'}"
                     f" {'pcitype' if d.pci_type else 'coherent' if d.coherent else 'noncoherent'}"
                     f"{' held' if d.held else ''}")
    for d, t in zip(v["devices"], addrs):
        if "--hostile" in d.backend:
            lines.append(f"hostile {t:x}.virtio_mmio {d.backend[d.backend.index('--hostile') + 1]}")
    for n, t in enumerate(v.get("testnodes", [])):
        lines.append(f"testnode {n} {t.region} {t.pool or '-'} 0x{t.dma_offset & (1 << 64) - 1:x}"
                     f" {'pcitype' if t.pci_type else '-'}")
    for k, a in enumerate(v.get("amba", [])):
        lines.append(f"amba {amba_address(k):x}.rdma-amba {a.region} {'coherent' if a.coherent else 'noncoherent'}"
                     f" {f'rdma-amba-bus-{k}' if a.below_bus else '-'}")
    for k, p in enumerate(v.get("pci", [])):
        what = f"{p.kind} {p.bdf} {v.get('pci_region') or '-'} {'on' if p.iommu else 'off'}"
        if p.own:
            lines.append(f"pciwalled {p.bdf} {p.own}")
        elif p.hotplug:
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
        why = r.reject or ("placed at boot ('size', no 'reg')" if r.size_prop is not None and r.reg is None else
                           "'size' beside 'reg', which the module ignores" if r.size_prop is not None else
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


def tests_of(name):
    """The kselftests a guest runs, in order: logcheck.sh comes last everywhere,
    the kernel's checkers on the whole boot."""
    return variant(name).get("tests", ALL_TESTS) + ["logcheck.sh"]


# Where a test's own description is: the kselftests' directory, from docs/.
SELFTESTS = "../selftests/restricted_dma"


def index():
    """docs/guests.md: which guest runs which test on which kernel."""
    flavours = ["module", "builtin", "debug"]
    out = ["# Guests", "",
           "Generated by `make guests` from "
           "[tools/testing/restricted_dma/harness/guests/](../tools/testing/restricted_dma/harness/guests/); "
           "do not edit. `make check` fails when it is stale.", "",
           "Each guest is a QEMU arm64 `virt` machine booted from one description: its DT nodes, QEMU "
           "arguments and what its kselftests expect all come from there. Every guest boots on the "
           "module and built-in kernels; the debug kernel boots the subset below.", "",
           "| guest | family | what it boots | kselftests, in order | kernels |", "|---|---|---|---|---|"]
    for name in VARIANTS:
        on = ", ".join(f for f in flavours if name in guests(f))
        tests = ", ".join(f"`{t}`" for t in tests_of(name))
        out.append(f"| `{name}` | {FAMILY[name]} | {VARIANTS[name]['about']} | {tests} | {on} |")
    out += ["", "## The debug kernel", "",
            "Its checkers (KASAN, lockdep, DEBUG_VM, DMA-API debugging, kmemleak, UBSAN, the lockup "
            "detectors) run where they look at paths the other kernels cannot judge.", "",
            "| guest | on the debug kernel because |", "|---|---|"]
    out += [f"| `{g}` | {why} |" for g, why in DEBUG_GUESTS.items()]
    out += ["", "| guest | left out of the debug kernel because |", "|---|---|"]
    out += [f"| `{g}` | {why} |" for g, why in DEBUG_LEFT_OUT.items()]
    by_test = {}
    for name in VARIANTS:
        for t in tests_of(name):
            by_test.setdefault(t, []).append(name)
    out += ["", "## Which guests run each kselftest", "", "| kselftest | guests |", "|---|---|"]
    for t in sorted(by_test):
        out.append(f"| [{t}]({SELFTESTS}/{t}) | " + ", ".join(f"`{g}`" for g in by_test[t]) + " |")
    return "\n".join(out) + "\n"
