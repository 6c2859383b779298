#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The table of `make bench-profile` (harness/profile.sh).

report.py DIR TITLE [TEXT]

DIR holds counts.txt (the plugin's "ADDRESS COUNT" lines, for the one
window of rdma_test's cost command), guest.txt (the guest's "bench: sym"
lines from /proc/kallsyms, and its "bench: profile" line, with the number
of map+unmap pairs the window ran) and vmlinux.syms (llvm-nm -n of the
kernel). Prints what one pair spends in each function; with TEXT, also in
each instruction of the functions whose name contains TEXT, at its offset
in the function. With DIR/debug.ko (the restricted_dma.ko the guest ran,
built with line tables), also by source file of the module, through the
inlining: which files one map and unmap run code of.
"""
import bisect
import os
import re
import subprocess
import sys
from collections import defaultdict


def symbols(d):
    """Sorted (address, name, where) of the kernel and of the modules."""
    syms = []
    with open(f"{d}/vmlinux.syms") as f:
        for line in f:
            parts = line.split()
            if len(parts) == 3 and parts[1] in "tTwW" and not parts[2].startswith("$"):
                syms.append((int(parts[0], 16), parts[2], "kernel"))
    pairs = None
    with open(f"{d}/guest.txt") as f:
        for line in f:
            parts = line.split()
            if parts[1] == "sym" and parts[3] in "tT":
                syms.append((int(parts[2], 16), parts[4], parts[5].strip("[]")))
            elif parts[1] == "profile":
                kv = dict(w.split("=", 1) for w in parts if "=" in w)
                pairs = int(kv["iters"])
    if not pairs:
        sys.exit(f"report: {d}/guest.txt says no pairs")
    syms.sort()
    return syms, pairs


def counts(d, syms, text):
    """The counts by (name, where), and by (name, offset) for TEXT."""
    starts = [s[0] for s in syms]
    funcs, insns = defaultdict(int), defaultdict(int)
    with open(f"{d}/counts.txt") as f:
        for line in f:
            if line.startswith("# windows"):
                if line.split()[2] != "1":
                    sys.exit(f"report: {d}/counts.txt: {line.strip()}, not 1")
                continue
            if line.startswith("#"):
                sys.exit(f"report: {d}/counts.txt: {line.strip()}")
            addr, count = line.split()
            addr, count = int(addr, 16), int(count)
            i = bisect.bisect_right(starts, addr) - 1
            start, name, where = syms[i] if i >= 0 else (0, "?", "?")
            funcs[(name, where)] += count
            if text and text in name:
                insns[(name, addr - start)] += count
    return funcs, insns


def by_file(d, syms):
    """What each file of the module runs, by llvm-symbolizer on debug.ko:
    {file: [instructions whose own code is there, instructions that run
    inside one of its functions, its own or inlined into it]}. Each
    address is placed in debug.ko by its function (kallsyms's start, nm's
    offset), and the function the line tables name for it must be that
    one: otherwise the report stops, rather than print files of a
    misplaced address."""
    ko = f"{d}/debug.ko"
    nm = subprocess.run(["llvm-nm", "--defined-only", ko], capture_output=True, text=True,
                        check=True).stdout.split("\n")
    offsets = {p[2]: int(p[0], 16) for p in (l.split() for l in nm) if len(p) == 3}
    starts = [s[0] for s in syms]
    counts = defaultdict(int)
    with open(f"{d}/counts.txt") as f:
        for line in f:
            if line.startswith("#"):
                continue
            addr, count = line.split()
            addr = int(addr, 16)
            i = bisect.bisect_right(starts, addr) - 1
            if i < 0 or syms[i][2] != "restricted_dma" or syms[i][1] not in offsets:
                continue
            start, name, _ = syms[i]
            counts[(offsets[name] + addr - start, name)] += int(count)
    where = sorted(counts)
    out = subprocess.run(["llvm-symbolizer", f"--obj={ko}", "--inlining", "--relative-address",
                          "--no-demangle"], input="\n".join(hex(o) for o, _ in where),
                         capture_output=True, text=True, check=True).stdout
    blocks = out.rstrip("\n").split("\n\n")
    if len(blocks) != len(where):
        sys.exit(f"report: llvm-symbolizer answered {len(blocks)} of {len(where)} addresses")
    files = defaultdict(lambda: [0, 0])
    prefix = "/restricted_dma/"
    for (off, name), block in zip(where, blocks):
        lines = block.strip().split("\n")
        # The outermost frame is the function itself, by its linkage name.
        if lines[-2] != name:
            sys.exit(f"report: debug.ko+{off:#x} is in {lines[-2]}, kallsyms says {name}")
        frames = [l.rsplit(":", 2)[0] for l in lines[1::2]]
        mine = [f.split(prefix, 1)[1] for f in frames if prefix in f]
        if not mine:
            continue
        # The innermost frame of the module's own: the kernel crate's and
        # core's inlined code counts for the module's file that calls it.
        files[mine[0]][0] += counts[(off, name)]
        for f in set(mine):
            files[f][1] += counts[(off, name)]
    return files


def demangle(names):
    out = subprocess.run(["c++filt"], input="\n".join(names), capture_output=True,
                         text=True, check=True).stdout.splitlines()
    # Crate hashes say nothing here.
    return {n: re.sub(r"\[[0-9a-f]+\]", "", o) for n, o in zip(names, out)}


def main():
    d, title = sys.argv[1:3]
    text = sys.argv[3] if len(sys.argv) > 3 else None
    syms, pairs = symbols(d)
    funcs, insns = counts(d, syms, text)
    names = demangle(sorted({k[0] for k in funcs}))
    rows = sorted(((n / pairs, k) for k, n in funcs.items()), reverse=True)
    print(f"Instructions per map+unmap pair, by function: {title}; {pairs} pairs.\n")
    print("| instructions | where | function |")
    print("|---|---|---|")
    for v, (name, where) in rows:
        if v >= 0.05:
            print(f"| {v:.1f} | {where} | `{names[name]}` |")
    print(f"| {sum(v for v, _ in rows):.1f} | | in all |")
    if os.path.exists(f"{d}/debug.ko"):
        files = by_file(d, syms)
        print(f"\nBy source file of the module: {len(files)} files run code of one pair. "
              "Its own code: instructions written there (the kernel crate's and core's, "
              "inlined, count for the module's file that calls them); in its functions: "
              "those run inside a function of the file, its own or inlined into it.\n")
        print("| its own code | in its functions | file |")
        print("|---|---|---|")
        for f, (own, inside) in sorted(files.items(), key=lambda kv: -kv[1][1]):
            print(f"| {own / pairs:.1f} | {inside / pairs:.1f} | `{f}` |")
    for k in sorted(insns):
        print(f"{names[k[0]]}+{k[1]:#x} {insns[k] / pairs:.2f}")


if __name__ == "__main__":
    main()
