#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The parts of dt-check.sh that read DT files (run with dtschema's venv).

Usage: dtcheck.py nodes JSON
           dt-validate's --json-output as one "NODE<TAB>LEVEL: MESSAGE" line
           per complaint (its exit status says nothing about the DT, and its
           text output names only a node's last component)
       dtcheck.py regions DTB ROOT COMPATIBLE
           each COMPATIBLE node under ROOT as the guests' expectations write
           a region: "good NAME BASE SIZE CONSUMERS", its reg decoded with its
           parent's cells and its consumers the nodes whose memory-region
           points to it
"""
import json
import struct
import sys


def nodes_of(path):
    for d in json.load(open(path)):
        msg = d.get("message", "").replace("\n", " ")
        print(f"{d.get('node') or '?'}\t{d.get('level', '?')}: {msg}")


def regions(dtb, root_path, compatible):
    import libfdt

    fdt = libfdt.Fdt(open(dtb, "rb").read())
    quiet = (libfdt.FDT_ERR_NOTFOUND,)

    def prop(off, name):
        p = fdt.getprop(off, name, quiet)
        return None if isinstance(p, int) else bytes(p)

    def cells(off, name, default):
        p = prop(off, name)
        return default if p is None else struct.unpack(">I", p)[0]

    def nodes(off):
        yield off
        sub = fdt.first_subnode(off, quiet)
        while sub >= 0:
            yield from nodes(sub)
            sub = fdt.next_subnode(sub, quiet)

    root = fdt.path_offset(root_path)
    for off in nodes(root):
        compat = prop(off, "compatible")
        if compat is None or compatible not in compat.decode().split("\0"):
            continue
        parent = fdt.parent_offset(off)
        ac, sc = cells(parent, "#address-cells", 2), cells(parent, "#size-cells", 1)
        reg = prop(off, "reg") or b""
        if len(reg) != 4 * (ac + sc):
            print(f"{fdt.get_name(off)}: reg is not one ({ac}+{sc})-cell range")
            continue
        base, size = int.from_bytes(reg[:4 * ac], "big"), int.from_bytes(reg[4 * ac:], "big")
        ph = fdt.get_phandle(off)
        users = []
        for o in nodes(root):
            mr = prop(o, "memory-region") or b""
            if ph and ph in struct.unpack(f">{len(mr) // 4}I", mr):
                users.append(fdt.get_name(o))
        print(f"good {fdt.get_name(off)} 0x{base:x} 0x{size:x} {','.join(users) or '-'}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["nodes"]:
        nodes_of(sys.argv[2])
    elif sys.argv[1:2] == ["regions"]:
        regions(*sys.argv[2:5])
    else:
        raise SystemExit(__doc__)
