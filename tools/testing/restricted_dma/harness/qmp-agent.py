#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Answers a guest's requests to look at it from the host, over QMP.

Usage: qmp-agent.py QMP_SOCKET CONSOLE_LOG OUT HOTPLUG

Follows the guest's console log. On each line "rdma-host: virtqueues" it asks
QEMU where every virtio device's queues are (x-query-virtio-queue-status:
the guest-physical addresses the device itself uses) and appends one line a
queue to OUT:
    QOM_PATH QUEUE DESC AVAIL USED
and then reads that queue's descriptor table out of guest memory (pmemsave of
16 x vring-num bytes): the last address and length the driver wrote into
each entry, which is what the device was told to reach. One line a
descriptor that was ever used (length not 0), in decimal:
    span QOM_PATH QUEUE ADDR LEN
An indirect descriptor is a span too (its table); indirect tables are not
followed: those of completed requests may be freed and reused already.
vhost-user devices are left out (their queue status stops their rings),
but on a line "rdma-host: virtqueues-final": the guest's last word to them.
check.sh then holds each restricted device's queues and spans to its region:
the device's own view, not the guest's word. On a line "rdma-host: hotplug ID"
it adds device ID to the running guest with device_add, as a VMM would; the
file HOTPLUG (variants.py) has the argument, on a line "ID ARGUMENT" (several
lines of one ID: device_add each, in order, as a controller and its disk). On a
line "rdma-host: keys WORD" it types WORD (letters) on QEMU's active keyboard
(input-send-event: each key down, then up): the one whose driver was last
made ready (QEMU binds keyboards to a display's console, not to an id, and
the guests have none). On a line "rdma-host: screendump TRANSPORT SEED" it
dumps the screen of the gpu on TRANSPORT (the file `screens` beside OUT
names its QEMU id) to TRANSPORT.ppm beside OUT. On a line "rdma-host:
window-scan TAG BASE SIZE" it dumps that much guest memory (pmemsave) and
counts the guest's marker ("RECEIVE!") in it, appending "TAG COUNT" to the
file `scans` beside OUT (a fourth word: another marker to count,
"frame:SEED:ROWS", the rows of a gpu's picture, or "kaddr", kernel
addresses: see count_marker). A
guest whose host writes its windows before it runs (the file `preloads`
beside OUT: "ADDR MARKER" lines) starts paused: the agent counts each
marker at its address first ("preload-before COUNT" in `scans`), then lets
it run. A kernel panic ends QEMU at once (it would never power off). Ends
when QEMU goes.
"""
import importlib.util
import json
import os
import re
import socket
import struct
import sys
import tempfile
import time

# fbdraw.c's picture, as screen-check.py (a script, hence no plain import) has it.
_spec = importlib.util.spec_from_file_location(
    "screen_check", os.path.join(os.path.dirname(os.path.abspath(__file__)), "screen-check.py"))
screen_check = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(screen_check)


def connect(path):
    for _ in range(100):
        try:
            s = socket.socket(socket.AF_UNIX)
            s.connect(path)
            return s.makefile("rw")
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"qmp-agent: no QMP socket at {path}")


def main(sock_path, log_path, out_path, hotplug_path):
    # ID -> the device_add arguments of that ID, in order.
    hotplug = {}
    with open(hotplug_path) as f:
        for dev, arg in (line.split(None, 1) for line in f if line.strip()):
            hotplug.setdefault(dev, []).append(arg.strip())
    work = os.path.dirname(os.path.abspath(out_path))
    try:
        with open(os.path.join(work, "screens")) as f:
            screens = {t: qid for qid, t, _ in (line.split() for line in f if line.strip())}
    except FileNotFoundError:
        screens = {}
    qmp = connect(sock_path)

    def cmd(name, **args):
        qmp.write(json.dumps({"execute": name, "arguments": args}) + "\n")
        qmp.flush()
        while True:
            line = qmp.readline()
            if not line:
                raise EOFError
            reply = json.loads(line)
            if "return" in reply or "error" in reply:
                return reply.get("return")

    def descriptors(status):
        """(addr, len) of each used entry of a queue's descriptor table, as
        guest memory holds it now (virtio 1.x split ring: 16 bytes an entry,
        le64 addr, le32 len, le16 flags, le16 next)."""
        table, num = status.get("vring-desc", 0), status.get("vring-num", 0)
        if not table or not num:
            return []
        fd, dump = tempfile.mkstemp(prefix="rdma-desc-")
        os.close(fd)
        try:
            cmd("pmemsave", val=table, size=16 * num, filename=dump)
            with open(dump, "rb") as f:
                raw = f.read()
        finally:
            os.unlink(dump)
        entries = (struct.unpack_from("<QIHH", raw, 16 * i) for i in range(len(raw) // 16))
        return [(addr, length) for addr, length, _flags, _next in entries if length]

    def dump_of(base, size):
        """Guest memory [base, base + size), or None if QEMU did not dump all
        of it (an error must not read as "none found")."""
        fd, dump = tempfile.mkstemp(prefix="rdma-window-")
        os.close(fd)
        try:
            cmd("pmemsave", val=base, size=size, filename=dump)
            with open(dump, "rb") as f:
                data = f.read()
            return data if len(data) == size else None
        finally:
            os.unlink(dump)

    def count_marker(base, size, marker="RECEIVE!", tag=""):
        """How many times the marker lies in guest memory [base, base + size);
        -1 if QEMU did not dump all of it. A marker "frame:SEED:ROWS" counts
        instead the rows of fbdraw.c's picture of SEED whose first 8 pixels
        (XRGB8888, as virtio-gpu's fbdev has them: bytes B, G, R, 0) lie
        there: 32 bytes, which no page boundary splits as long as a line is
        a multiple of 32 bytes. "kaddr" counts the aligned 64-bit words that
        are this kernel's addresses: in the first 4 GiB of arm64's linear map
        (0xffff0000_xxxxxxxx, where a guest of 1 GiB has all of its RAM) or of
        its upper half (0xffff8000_xxxxxxxx: modules, the image, vmalloc's
        start), without KASLR, and not the 4 GiB boundary itself (a device's
        big-endian count can read as that: READ CAPACITY's last LBA of a
        64 MiB disk is 0xffff0100_00000000). The caller's control, a scan of
        the kernel's own data, shows that the layout is this kernel's."""
        data = dump_of(base, size)
        if data is None:
            return -1
        if marker == "kaddr":
            # The high halves searched as bytes (a window of zeros holds
            # none, and 32 MiB take milliseconds); the first found, by the
            # scan's tag and where, beside the scans (for a failure to name).
            hits = []
            for high in (b"\x00\x00\xff\xff", b"\x00\x80\xff\xff"):
                at = data.find(high, 4)
                while at >= 0:
                    if at % 8 == 4 and data[at - 4:at] != bytes(4):
                        hits.append(at - 4)
                    at = data.find(high, at + 1)
            with open(os.path.join(work, "kaddrs"), "a") as f:
                f.writelines(f"{tag} 0x{base + off:x} 0x{struct.unpack_from('<Q', data, off)[0]:016x}\n"
                             for off in sorted(hits)[:16])
            return len(hits)
        if not marker.startswith("frame:"):
            return data.count(marker.encode())
        seed, rows = (int(v) for v in marker.split(":")[1:])
        return sum(bytes(c for x in range(8) for r, g, b in [screen_check.rgb(x, y, seed)] for c in (b, g, r, 0))
                   in data for y in range(rows))

    json.loads(qmp.readline())  # the greeting
    cmd("qmp_capabilities")
    try:
        with open(os.path.join(work, "preloads")) as f:
            preloads = [line.split() for line in f if line.strip()]
    except FileNotFoundError:
        preloads = []
    if preloads:
        with open(os.path.join(work, "scans"), "a") as f:
            for addr, marker in preloads:
                f.write(f"preload-before {count_marker(int(addr, 16), 4096, marker)}\n")
        cmd("cont")
    seen, added, typed, dumped, scanned = 0, set(), 0, 0, 0
    with open(out_path, "w") as out:
        while True:
            try:
                with open(log_path, errors="replace") as log:
                    text = log.read()
            except FileNotFoundError:
                text = ""
            # Whole lines only: a request still being written would be read
            # short ("window-scan receive 0x50000000 0x4") and never again.
            text = text[:text.rfind("\n") + 1]
            for dev in re.findall(r"rdma-host: hotplug (\S+)", text):
                if dev not in added and dev in hotplug:
                    added.add(dev)
                    for arg in hotplug[dev]:
                        # HMP answers in words: nothing on success, the reason otherwise.
                        said = cmd("human-monitor-command", **{"command-line": "device_add " + arg})
                        print(f"qmp-agent: device_add {dev} {arg.split(',')[0]}: {(said or '').strip() or 'done'}",
                              file=sys.stderr)
            for k, word in enumerate(re.findall(r"rdma-host: keys ([a-z]+)", text)):
                if k < typed:
                    continue
                typed += 1
                for c in word:
                    for down in (True, False):
                        cmd("input-send-event",
                            events=[{"type": "key", "data": {"down": down, "key": {"type": "qcode", "data": c}}}])
            for k, (t, _seed) in enumerate(re.findall(r"rdma-host: screendump (\S+) (\d+)", text)):
                if k < dumped:
                    continue
                dumped += 1
                if t in screens:
                    cmd("screendump", filename=os.path.join(work, f"{t}.ppm"), device=screens[t])
            scans = re.findall(r"rdma-host: window-scan (\w+) (0x[0-9a-f]+) (0x[0-9a-f]+)(?: (\S+))?", text)
            for k, (tag, base, size, marker) in enumerate(scans):
                if k < scanned:
                    continue
                scanned += 1
                count = count_marker(int(base, 16), int(size, 16), marker or "RECEIVE!", tag)
                # A picture's scan says how many rows it looked for.
                rows = f" {marker.split(':')[2]}" if marker.startswith("frame:") else ""
                with open(os.path.join(work, "scans"), "a") as f:
                    f.write(f"{tag} {count}{rows}\n")
            # A kernel that panicked will never power off: end QEMU now
            # rather than at the time limit (guest.sh then finds no
            # "rdma-guest: done", and the boot fails unless its guest
            # expects the panic).
            if "---[ end Kernel panic" in text:
                cmd("quit")
                return
            requests = re.findall(r"rdma-host: virtqueues(-final)?\b", text)
            while seen < len(requests):
                final = requests[seen] == "-final"
                seen += 1
                for dev in cmd("x-query-virtio") or []:
                    # Not vhost-user devices: for their queue status QEMU asks
                    # the backend for the ring base (GET_VRING_BASE), which
                    # stops the ring under the running guest. Unless the
                    # guest said it is done with them ("virtqueues-final").
                    # (A vhost-user-vsock calls itself "vhost-vsock": any
                    # device whose vhost runs counts.)
                    if dev.get("name", "").startswith("vhost-user") and not final:
                        continue
                    status = cmd("x-query-virtio-status", path=dev["path"]) or {}
                    if status.get("vhost-started") and not final:
                        continue
                    for q in range(status.get("num-vqs", 0)):
                        s = cmd("x-query-virtio-queue-status", path=dev["path"], queue=q) or {}
                        out.write(f"{dev['path']} {q} {s.get('vring-desc', 0):#x} "
                                  f"{s.get('vring-avail', 0):#x} {s.get('vring-used', 0):#x}\n")
                        for addr, length in descriptors(s):
                            out.write(f"span {dev['path']} {q} {addr} {length}\n")
                out.write("--\n")
                out.flush()
            time.sleep(0.2)


if __name__ == "__main__":
    try:
        main(*sys.argv[1:5])
    except (EOFError, OSError, ValueError):
        pass  # QEMU went away
