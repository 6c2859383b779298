# SPDX-License-Identifier: GPL-2.0
"""The host's side: what a backend that maps only the window sees, and a host that lies."""
from .model import Device, TestNode
from .regions import GOOD, GOOD_ASKS_COPY, HOSTILE_MODES, LIES

GUESTS = {
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
    # it is shared). The region's node asks for receive buffers to be
    # copied in, as a host may: the kernel ignores it.
    "window": dict(
        about="vhost-user-blk served by a backend that maps only the window; receive buffers; a preloaded marker",
        regions=[GOOD_ASKS_COPY],
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
        about="eight vhost-user-blks, each served by a host that lies in one way",
        regions=[LIES[m] for m in HOSTILE_MODES],
        devices=[Device("vublk", LIES[m].name, held=True, backend=["--hostile", m, "--hostile-from", "32"])
                 for m in HOSTILE_MODES],
        tests=["host-lies.sh"],
    ),
}
