#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Turns `make bench`'s raw lines into BENCHMARKS.md, a CSV and plots.

Usage: bench-report.py RAW_DIR OUT_DIR BENCHMARKS_MD

RAW_DIR holds core.txt (cargo bench on the host), guest-N.txt (the guest
with N vCPUs: dma_map_benchmark, virtio-blk and virtio-net runs), info.txt (machine, kernel, QEMU), and the instruction counts
of harness/icount.sh: icount.txt (the guest under -icount), icount-copies.txt
(one copy and one zero-fill alone, in that guest) and icount-core.txt (the pool core on the
host, under callgrind). Every figure is a median
over runs, with its spread (min..max) beside it; a ratio compares the paths
run by run (the runs of one measure are interleaved across the paths in one
boot), and its median and spread are those of the per-run ratios.
"""
import csv
import os
import statistics
import sys

PATHS = ["restricted_dma", "restricted-dma-pool", "direct"]
# virtio-blk has a fourth path: a virtio-blk-pci through our region.
BLK_PATHS = PATHS + ["restricted_dma-pci"]
DIRS = {0: "bidirectional", 1: "to device", 2: "from device"}


def parse(path):
    out = []
    for line in open(path):
        if not line.startswith("bench: "):
            continue
        words = line.split()[1:]
        rec = {"kind": words[0]}
        for w in words[1:]:
            if "=" in w:
                k, v = w.split("=", 1)
                try:
                    rec[k] = int(v)
                except ValueError:
                    try:
                        rec[k] = float(v)
                    except ValueError:
                        rec[k] = v
        out.append(rec)
    return out


def med(xs):
    xs = [x for x in xs if x == x]
    return statistics.median(xs) if xs else float("nan")


def spread(xs):
    xs = [x for x in xs if x == x]
    return (min(xs), max(xs)) if xs else (float("nan"), float("nan"))


def mbps_stats(rows, p):
    """Of path p's runs in rows (path -> runs in run order): the median MB/s,
    its spread, and the medians of the per-run ratios to mainline's pool and
    to direct DMA."""
    rs = rows[p]
    ratio = lambda q: med([x["mbps"] / y["mbps"] for x, y in zip(rs, rows[q]) if y["mbps"] > 0])
    return med([r["mbps"] for r in rs]), spread([r["mbps"] for r in rs]), ratio(PATHS[1]), ratio(PATHS[2])


def fmt(x, nd=2):
    return "n/a" if x != x else f"{x:.{nd}f}"


# Under -icount shift=3 a guest instruction is 8 ns: 1 us printed is 125.
INSTR_PER_US = 125


def icount(raw):
    """The instruction counts, if make bench ran icount.sh: (guest, memcpy,
    core, dmb, boot2, memset). guest[(path, pages, dir)] = [(map, unmap) per run],
    from rdma_test's exact sums; boot2 the same from a second boot (empty if
    there was none); dmb[(path, pages, dir)] = (map, unmap) from
    dma_map_benchmark's one run (0.1 us steps); memcpy[pages] = instructions
    of one copy, memset[pages] of one zero-fill; core[(pages, dir)] = (map, unmap)."""
    files = [os.path.join(raw, f) for f in ("icount.txt", "icount-copies.txt", "icount-core.txt")]
    if not all(os.path.exists(f) for f in files):
        return None

    def costs(recs):
        out = {}
        for r in sorted((r for r in recs if r["kind"] == "cost" and "iters" in r), key=lambda r: r["run"]):
            out.setdefault((r["path"], r["pages"], r["dir"]), []).append(
                (round(r["map_ns"] / 8 / r["iters"], 1), round(r["unmap_ns"] / 8 / r["iters"], 1)))
        return out

    dmb = {}
    recs = parse(files[0])
    guest = costs(recs)
    second = os.path.join(raw, "icount-boot2.txt")
    boot2 = costs(parse(second)) if os.path.exists(second) else {}
    for r in recs:
        if r["kind"] == "map":
            dmb[(r["path"], r["granule"], r["dir"])] = (int(r["map_us"] * INSTR_PER_US + 0.5),
                                                        int(r["unmap_us"] * INSTR_PER_US + 0.5))
    alone = {k: {r["pages"]: r["ns"] / r["iters"] / 8 for r in parse(files[1]) if r["kind"] == k}
             for k in ("memcpy", "memset")}
    core = {}
    for line in open(files[2]):
        w = line.split()
        if len(w) == 5 and w[0] == "core":
            core[(int(w[1]), int(w[2]))] = (int(w[3]), int(w[4]))
    return guest, alone["memcpy"], core, dmb, boot2, alone["memset"]


def agreement(runs, first):
    """How far the runs of `runs` ({cell: [(map, unmap), ...]}) agree with
    the first run of the same cell in `first`: "N of M cells", then by how
    much the others differ and how many cells `runs` did not count."""
    pairs = [(first[k][0], r) for k, v in runs.items() if k in first for r in v]
    same = sum(1 for k in first if runs.get(k) and all(r == first[k][0] for r in runs[k]))
    differ = [(x, y) for x, y in pairs if x != y]
    missing = sum(1 for k in first if not runs.get(k))
    return (f"{same} of {len(first)} cells"
            + (f", and differ by at most {max(abs(a - b) for x, y in differ for a, b in zip(x, y)):.1f} "
               "instructions in the others" if differ else "")
            + (f"; no count in {missing}" if missing else ""))


def main(raw, outdir, md_path):
    core = parse(os.path.join(raw, "core.txt"))
    guest = []
    for name in sorted(os.listdir(raw)):
        if name.startswith("guest-"):
            guest += parse(os.path.join(raw, name))
    info = dict(l.rstrip("\n").split(": ", 1) for l in open(os.path.join(raw, "info.txt")) if ": " in l)
    os.makedirs(outdir, exist_ok=True)

    # Every raw number, one CSV.
    cols = ["kind", "vcpus", "path", "threads", "granule", "dir", "pattern", "op", "bs", "streams", "run", "boot",
            "map_us", "unmap_us", "mbps", "cpu_s_per_mb", "size", "ns_per_op", "ops_per_s",
            "bounce_ns", "memcpy_ns", "ratio", "per_slot",
            "fps", "sent", "received", "lost", "bad", "reordered", "status", "region", "slots_hiwater", "slots"]
    with open(os.path.join(outdir, "results.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=cols, extrasaction="ignore")
        w.writeheader()
        for r in core + guest:
            w.writerow(r)

    # The first boot of each vCPU count has every cell; later boots (4
    # vCPUs) repeat the 4-thread cells alone, for the spread across boots.
    all_maps = [r for r in guest if r["kind"] == "map"]
    maps = [r for r in all_maps if r.get("boot", 1) == 1]
    blks = [r for r in guest if r["kind"] == "blk"]
    blk4s = [r for r in guest if r["kind"] == "blk4"]
    nets = [r for r in guest if r["kind"] == "net"]
    netpools = [r for r in guest if r["kind"] == "netpool"]
    vcpus = sorted({r["vcpus"] for r in maps})

    def cell(v, p, t, g, d):
        return sorted((r for r in maps if (r["vcpus"], r["path"], r["threads"], r["granule"], r["dir"]) == (v, p, t, g, d)),
                      key=lambda r: r["run"])

    def per_run(v, t, g, d, f, a, b):
        """Per-run ratios of f(path a) / f(path b)."""
        ra, rb = cell(v, a, t, g, d), cell(v, b, t, g, d)
        return [f(x) / f(y) for x, y in zip(ra, rb) if f(y) > 0]

    lat = lambda r: r["map_us"] + r["unmap_us"]
    unmap = lambda r: r["unmap_us"]
    agg = lambda r: r["threads"] * 1e6 / (r["map_us"] + r["unmap_us"])

    md = []
    md.append("# Benchmarks\n")
    md.append("Made by `make bench` (tools/testing/restricted_dma/harness/bench.sh); every number here comes from its last run. "
              "Under QEMU's emulation (TCG) absolute figures mean little: compare the paths of one boot, whose runs are "
              "interleaved. Each figure is the median of its runs, with the spread (min..max) beside it. "
              "Every raw number is in [results.csv](docs/bench/results.csv).\n")
    md.append("| | |\n|---|---|")
    for k in ["date", "host", "host cores", "kernel", "qemu", "guest", "runs"]:
        if k in info:
            md.append(f"| {k} | {info[k]} |")
    md.append("")

    # Targets (issue 11), measured.
    md.append("## Targets\n")
    md.append("| measure | target | measured (median, spread) | met |")
    md.append("|---|---|---|---|")

    def target(name, goal, xs, ok, nd=2, pick=med, span=None):
        m, (lo, hi) = pick(xs), span or spread(xs)
        met = "n/a" if m != m else ("yes" if ok(m) else "**no**")
        md.append(f"| {name} | {goal} | {fmt(m, nd)} ({fmt(lo, nd)}..{fmt(hi, nd)}) | {met} |")

    vmax = max(vcpus) if vcpus else 0
    for v in vcpus:
        target(f"1 thread, 1 page, map+unmap, bidirectional, {v} vCPUs: ours / mainline",
               "≤ 0.9x", per_run(v, 1, 1, 0, lat, PATHS[0], PATHS[1]), lambda m: m <= 0.9)
        target(f"unmap of a to-device mapping (bookkeeping only), {v} vCPUs: ours / mainline",
               "≤ 0.5x", per_run(v, 1, 1, 1, unmap, PATHS[0], PATHS[1]), lambda m: m <= 0.5)
        for g in (16, 64):
            target(f"{g} pages, 1 thread, {v} vCPUs: ours / mainline", "≤ 0.9x",
                   per_run(v, 1, g, 0, lat, PATHS[0], PATHS[1]), lambda m: m <= 0.9)
    boots = sorted({r.get("boot", 1) for r in all_maps if r["vcpus"] == vmax and r["threads"] == 4})

    def boot_ratio(b, g, d, f=agg):
        """Boot b's median of its per-run ratios ours / mainline, 4 threads on vmax vCPUs."""
        c = lambda p: sorted((r for r in all_maps if (r["vcpus"], r["path"], r["threads"], r["granule"], r["dir"], r.get("boot", 1))
                              == (vmax, p, 4, g, d, b)), key=lambda r: r["run"])
        return med([f(x) / f(y) for x, y in zip(c(PATHS[0]), c(PATHS[1])) if f(y) > 0])

    if vmax >= 4:
        # Judged on the median across boots of each boot's median; the
        # spread is across the boots' medians.
        per_boot = [boot_ratio(b, 1, 0) for b in boots]
        target(f"4 threads on {vmax} vCPUs, 1 page: aggregate ops/s, ours / mainline; the median of "
               f"{len(boots)} boots' medians (spread: the boots' medians {', '.join(fmt(x) for x in per_boot)})",
               "≥ 2.5x", per_boot, lambda m: m >= 2.5)
        ours = [a / b for a, b in zip(map(lat, cell(vmax, PATHS[0], 4, 1, 0)), map(lat, cell(vmax, PATHS[0], 1, 1, 0)))]
        direct = [a / b for a, b in zip(map(lat, cell(vmax, PATHS[2], 4, 1, 0)), map(lat, cell(vmax, PATHS[2], 1, 1, 0)))]
        m_direct = med(direct)
        target(f"4-thread / 1-thread latency, ours (direct DMA's in the same boot: {fmt(m_direct)})",
               "≤ direct's", ours, lambda m: m <= m_direct)
    cases = sorted({(r["pattern"], r["op"], r["bs"]) for r in blks})
    for v in vcpus:
        worst = []
        for c in cases:
            a = sorted((r for r in blks if r["vcpus"] == v and r["path"] == PATHS[0] and (r["pattern"], r["op"], r["bs"]) == c), key=lambda r: r["run"])
            b = sorted((r for r in blks if r["vcpus"] == v and r["path"] == PATHS[1] and (r["pattern"], r["op"], r["bs"]) == c), key=lambda r: r["run"])
            worst.append(med([x["mbps"] / y["mbps"] for x, y in zip(a, b) if y["mbps"] > 0]))
        if worst:
            target(f"virtio-blk MB/s, ours / mainline, the worst of {len(cases)} cases' medians "
                   f"(spread: all cases), {v} vCPUs", "≥ 1.0x", worst, lambda m: m >= 1.0, pick=min)
    c1 = [r for r in core if r["kind"] == "core-map-unmap" and r["threads"] == 1]
    if c1:
        target("host core map+unmap without the copy, 1 thread (ns)", "≤ 50 ns", [c1[0]["ns_per_op"]],
               lambda m: m <= 50, 1, span=(c1[0]["min"], c1[0]["max"]))
    cn = [r for r in core if r["kind"] == "core-map-unmap"]
    if len(cn) > 1 and c1:
        top = max(cn, key=lambda r: r["threads"])
        eff = top["ops_per_s"] / (top["threads"] * c1[0]["ops_per_s"])
        target(f"host core scaling: {top['threads']} threads' ops/s / ({top['threads']} x 1 thread's)",
               "near 1.0", [eff], lambda m: m >= 0.8)
    c64 = [r for r in core if r["kind"] == "core-copy" and r["size"] == 65536]
    if c64:
        target("host bounce copy at 64 KiB / memcpy bandwidth", "≥ 0.90", [c64[0]["ratio"]], lambda m: m >= 0.9)
    slot = [r for r in core if r["kind"] == "core-slot-bytes"]
    if slot:
        target("metadata per 2 KiB slot (bytes: descriptor, sync count and two bitmap bits)", "≤ 16", [slot[0]["per_slot"]], lambda m: m <= 16, 3)
    counts = icount(raw)
    if counts:
        ig, imc, icore, _, _, ims = counts
        first = lambda p, g, d: ig.get((p, g, d), [(float("nan"), float("nan"))])[0]
        om, ou = first(PATHS[0], 1, 0)
        dm, du = first(PATHS[2], 1, 0)
        limit = dm + du + 2 * imc.get(1, float("nan"))
        target(f"instructions, 1 page, bidirectional map+unmap / the limit (direct DMA's {fmt(dm + du, 0)} "
               f"+ two copies of {fmt(imc.get(1, float('nan')), 0)}: {fmt(limit, 0)})",
               "≤ 1.15x", [(om + ou) / limit], lambda m: m <= 1.15)
        tu = first(PATHS[0], 1, 1)[1]
        target(f"instructions, to-device unmap, 1 page, over direct DMA's unmap ({fmt(du, 0)})", "≤ 100",
               [tu - du], lambda m: m <= 100, 0)
        rm, dr = first(PATHS[0], 1, 2)[0], first(PATHS[2], 1, 2)[0]
        zero = ims.get(1, float("nan"))
        target(f"instructions, receive-buffer map (from device), 1 page, over direct DMA's map ({fmt(dr, 0)}) "
               f"and one zero-fill ({fmt(zero, 0)})", "≤ 150", [rm - dr - zero], lambda m: m <= 150, 0)
        # Every cell of every size, map and unmap apart: ours against mainline's.
        cells = [(ig[(PATHS[0], g, d)][0][i], ig[(PATHS[1], g, d)][0][i])
                 for g in (1, 4, 16, 64) for d in DIRS for i in (0, 1)
                 if (PATHS[0], g, d) in ig and (PATHS[1], g, d) in ig]
        worst = max((o / m for o, m in cells), default=float("nan"))
        target(f"instructions, ours / mainline's, the highest of 1 to 64 pages, every direction, map and "
               f"unmap apart ({sum(o <= m for o, m in cells)} of {len(cells)} cells ≤ 1)", "≤ 1.0x",
               [worst], lambda m: m <= 1.0)
        t16 = first(PATHS[0], 16, 1)[1]
        target("instructions, to-device unmap (bookkeeping only), 16 pages / 1 page", "≤ 1.5x",
               [t16 / tu], lambda m: m <= 1.5)
        if (1, 1) in icore:
            target("instructions, host core map+unmap, 1 page, no lock, no copy (x86-64, callgrind)", "≤ 150",
                   [sum(icore[(1, 1)])], lambda m: m <= 150, 0)
    md.append("")

    # Latency tables.
    for v in vcpus:
        md.append(f"## Map and unmap, {v} vCPUs (µs per operation, dma_map_benchmark)\n")
        md.append("| threads | pages | direction | path | map | unmap | ratio to mainline | ratio to direct | aggregate ops/s |")
        md.append("|---|---|---|---|---|---|---|---|---|")
        cells = sorted({(r["threads"], r["granule"], r["dir"]) for r in maps if r["vcpus"] == v})
        for t, g, d in cells:
            for p in PATHS:
                rs = cell(v, p, t, g, d)
                if not rs:
                    continue
                mm, ms = med([r["map_us"] for r in rs]), spread([r["map_us"] for r in rs])
                um, us = med([r["unmap_us"] for r in rs]), spread([r["unmap_us"] for r in rs])
                rm = med(per_run(v, t, g, d, lat, p, PATHS[1])) if p != PATHS[1] else 1.0
                rd = med(per_run(v, t, g, d, lat, p, PATHS[2])) if p != PATHS[2] else 1.0
                ag = med([agg(r) for r in rs])
                md.append(f"| {t} | {g} | {DIRS[d]} | {p} | {fmt(mm)} ({fmt(ms[0])}..{fmt(ms[1])}) | "
                          f"{fmt(um)} ({fmt(us[0])}..{fmt(us[1])}) | {fmt(rm)} | {fmt(rd)} | {ag:.0f} |")
        md.append("")
        md.append(f"![latency by threads, {v} vCPUs](docs/bench/latency-threads-{v}.png)")
        md.append(f"![latency by size, {v} vCPUs](docs/bench/latency-size-{v}.png)\n")

    for v in vcpus:
        md.append(f"## virtio-blk, {v} vCPUs (O_DIRECT, one transfer at a time)\n")
        if any(r["path"] == BLK_PATHS[3] for r in blks):
            md.append(f"`{BLK_PATHS[3]}` is a virtio-blk-pci behind the PCI host bridge, whose node names our region; "
                      "the others are virtio-mmio.\n")
        md.append("| pattern | op | size | path | MB/s | ratio to mainline | ratio to direct | CPU s per MB |")
        md.append("|---|---|---|---|---|---|---|---|")
        for c in cases:
            rows = {p: sorted((r for r in blks if r["vcpus"] == v and r["path"] == p and (r["pattern"], r["op"], r["bs"]) == c),
                              key=lambda r: r["run"]) for p in BLK_PATHS}
            for p in BLK_PATHS:
                rs = rows[p]
                if not rs:
                    continue
                mb, sp, rm, rd = mbps_stats(rows, p)
                cpu = med([r["cpu_s_per_mb"] for r in rs])
                md.append(f"| {c[0]} | {c[1]} | {c[2] // 1024} KiB | {p} | {fmt(mb)} ({fmt(sp[0])}..{fmt(sp[1])}) | "
                          f"{fmt(rm)} | {fmt(rd)} | {fmt(cpu, 4)} |")
        md.append("")
        md.append(f"![virtio-blk throughput, {v} vCPUs](docs/bench/throughput-{v}.png)\n")

    if len(boots) > 1:
        md.append(f"## Contention across boots: 4 threads on {vmax} vCPUs\n")
        md.append("The cells of 4 threads vary more from boot to boot than from run to run, so they ran in "
                  f"{len(boots)} boots (the first with every cell, the others with these alone). Each figure is one "
                  "boot's median of its per-run ratios, ours / mainline's pool, of aggregate operations per second "
                  "(for the 1-page bidirectional cell the target's measure); the last columns the median and the "
                  "spread across the boots. The target is judged on that median.\n")
        md.append("| pages | direction | " + " | ".join(f"boot {b}" for b in boots) + " | median | spread |")
        md.append("|---|---|" + "---|" * len(boots) + "---|---|")
        for g, d in sorted({(r["granule"], r["dir"]) for r in all_maps if r["vcpus"] == vmax and r["threads"] == 4}):
            xs = [boot_ratio(b, g, d) for b in boots]
            lo, hi = spread(xs)
            md.append(f"| {g} | {DIRS[d]} | " + " | ".join(fmt(x) for x in xs) + f" | {fmt(med(xs))} | {fmt(lo)}..{fmt(hi)} |")
        md.append("")

    if blk4s:
        for v in sorted({r["vcpus"] for r in blk4s}):
            md.append(f"## virtio-blk, 4 queues, 4 streams, {v} vCPUs\n")
            qs = sorted({str(r.get("queues", "?")) for r in blk4s if r["vcpus"] == v})
            md.append("Each path's disk has `num-queues=4` (the guest's blk-mq saw " + " or ".join(qs) + " hardware "
                      "queues a disk); four O_DIRECT streams of random I/O run at once for 2 s, each pinned to a vCPU "
                      "of its own (so each has a queue of its own), on the one disk; their MB/s are summed. Ratio: the "
                      "median of per-run ratios.\n")
            md.append("| op | size | path | MB/s, 4 streams | ratio to mainline | ratio to direct |")
            md.append("|---|---|---|---|---|---|")
            for op, bs in sorted({(r["op"], r["bs"]) for r in blk4s if r["vcpus"] == v}):
                rows = {p: sorted((r for r in blk4s if (r["vcpus"], r["path"], r["op"], r["bs"]) == (v, p, op, bs)),
                                  key=lambda r: r["run"]) for p in PATHS}
                for p in PATHS:
                    if not rows[p]:
                        continue
                    mb, sp, rm, rd = mbps_stats(rows, p)
                    md.append(f"| {op} | {bs // 1024} KiB | {p} | {fmt(mb)} ({fmt(sp[0])}..{fmt(sp[1])}) | {fmt(rm)} | {fmt(rd)} |")
            md.append("")

    # virtio-net: a run counts if rawframe said all its frames came intact
    # (status 0); a failed run is left out of the medians and ratios, and
    # the row says how many failed.
    ok = lambda r: r.get("status") == 0
    net_sizes = sorted({r["size"] for r in nets})
    net_vcpus = sorted({r["vcpus"] for r in nets})

    def net_runs(v, p, size):
        return sorted((r for r in nets if (r["vcpus"], r["path"], r["size"]) == (v, p, size)), key=lambda r: r["run"])

    def net_ratio(v, size, a, b):
        """Per-run ratios of frames/s, path a / path b, over runs both passed."""
        rb = {r["run"]: r for r in net_runs(v, b, size) if ok(r)}
        return [x["fps"] / rb[x["run"]]["fps"] for x in net_runs(v, a, size)
                if ok(x) and x["run"] in rb and rb[x["run"]]["fps"] > 0]

    for v in net_vcpus:
        md.append(f"## virtio-net, {v} vCPUs (raw frames from one NIC to another)\n")
        md.append("Each path's two NICs (virtio-mmio, mergeable receive buffers; the driver frees what it sent as it "
                  "sends, `virtio_net.napi_tx=0`: with tx NAPI most runs waited a guest tick for their completions) "
                  "sit alone on a QEMU hub of their own. "
                  "rawframe (AF_PACKET) sends frames from one as fast as it can for a fixed time while the other "
                  "receives; a frame counts only if it arrives intact (length, header, sequence number, a payload "
                  "pattern of that number). Frames/s and MB/s run from the first send to the last intact arrival; "
                  "MB/s counts whole frames, Ethernet header included. Lost: frames sent that never arrived (the "
                  "sender is not paced: queues overflow), median share of those sent.\n")
        pools = [r for r in netpools if r["vcpus"] == v]
        if pools:
            md.append("The most slots of 2 KiB each NIC pair's region held at once in this boot: " +
                      "; ".join(f"{r['path']} ({r.get('region', '?')}) {r.get('slots_hiwater', 'n/a')} of {r.get('slots', 'n/a')}"
                                for r in pools) + ".\n")
        md.append("| frame | path | frames/s | MB/s | ratio to mainline | ratio to direct | lost | CPU s per MB |")
        md.append("|---|---|---|---|---|---|---|---|")
        for size in net_sizes:
            for p in PATHS:
                rs = net_runs(v, p, size)
                if not rs:
                    continue
                good = [r for r in rs if ok(r)]
                fp, fs = med([r["fps"] for r in good]), spread([r["fps"] for r in good])
                mb, ms = med([r["mbps"] for r in good]), spread([r["mbps"] for r in good])
                rm = med(net_ratio(v, size, p, PATHS[1])) if p != PATHS[1] else 1.0
                rd = med(net_ratio(v, size, p, PATHS[2])) if p != PATHS[2] else 1.0
                lost = med([100.0 * r["lost"] / r["sent"] for r in good if r.get("sent")])
                cpu = med([r["cpu_s_per_mb"] for r in good])
                failed = f" **{len(rs) - len(good)} of {len(rs)} runs failed**" if len(good) < len(rs) else ""
                md.append(f"| {size} B (MTU {size - 14}) | {p} | {fmt(fp, 0)} ({fmt(fs[0], 0)}..{fmt(fs[1], 0)}){failed} | "
                          f"{fmt(mb)} ({fmt(ms[0])}..{fmt(ms[1])}) | {fmt(rm)} | {fmt(rd)} | {fmt(lost, 1)} % | {fmt(cpu, 4)} |")
        md.append("")
        md.append(f"![virtio-net throughput, {v} vCPUs](docs/bench/net-{v}.png)\n")

    if counts:
        ig, imc, icore, idmb, iboot2, ims = counts
        # Within the first boot: its second run against its first. Across
        # boots: the second boot's runs against the first boot's first run.
        within = agreement({k: v[1:] for k, v in ig.items() if len(v) > 1}, ig)
        across = agreement(iboot2, ig) if iboot2 else None
        md.append("## Instructions per map and unmap (exact, under -icount)\n")
        md.append("One vCPU under QEMU's `-icount shift=3,sleep=off`, where guest time is instructions "
                  "(`make bench-icount`, harness/icount.sh). rdma_test times each `dma_map_single()` and "
                  "`dma_unmap_single()` on each path's transport as dma_map_benchmark does (two `ktime_get_ns()` "
                  "around each call, which the counts include), but with interrupts off and summed in ns over "
                  "laps of 8 MiB (2048 rounds of 1 page to 32 of 64, every slot of the 4 MiB pools alike): the "
                  "counts are exact, not rounded to dma_map_benchmark's 0.1 µs (12.5 instructions). Each cell ran twice in one boot: the two runs are the same in "
                  + within
                  + (". A second boot of the same guest (icount.sh again) gave the same counts as the first in "
                     + across if across else ". There was no second boot (make bench runs two)")
                  + ". `copy` is one memcpy of that many pages alone (rdma_test, 1000 copies timed), which a "
                  "bounce cannot avoid: a bidirectional map+unmap makes two. `zero-fill` is one memset to zero "
                  "of them alone (1000 timed), which our receive-buffer map makes instead of a copy.\n")
        md.append("| pages | direction | ours: map | ours: unmap | mainline: map | mainline: unmap | direct: map | direct: unmap | copy | zero-fill | ours / mainline (map+unmap) |")
        md.append("|---|---|---|---|---|---|---|---|---|---|---|")
        for g in sorted({k[1] for k in ig}):
            for d in sorted({k[2] for k in ig}):
                row = [ig.get((p, g, d), [(float("nan"), float("nan"))])[0] for p in PATHS]
                ratio = sum(row[0]) / sum(row[1]) if sum(row[1]) else float("nan")
                md.append(f"| {g} | {DIRS[d]} | {row[0][0]} | {row[0][1]} | {row[1][0]} | {row[1][1]} | "
                          f"{row[2][0]} | {row[2][1]} | {fmt(imc.get(g, float('nan')), 0)} | {fmt(ims.get(g, float('nan')), 0)} | {fmt(ratio)} |")
        md.append("")
        md.append("Where the instructions go, bidirectional (the copy taken out; the to-device unmap copies nothing):\n")
        md.append("| pages | path | map less one copy | unmap less one copy | to-device unmap | over direct DMA's map+unmap, copies aside |")
        md.append("|---|---|---|---|---|---|")
        for g in sorted({k[1] for k in ig}):
            c = imc.get(g, float("nan"))
            dm, du = ig.get((PATHS[2], g, 0), [(float("nan"), float("nan"))])[0]
            for p in PATHS[:2]:
                m, u = ig.get((p, g, 0), [(float("nan"), float("nan"))])[0]
                tu = ig.get((p, g, 1), [(float("nan"), float("nan"))])[0][1]
                md.append(f"| {g} | {p} | {fmt(m - c, 0)} | {fmt(u - c, 0)} | {tu} | {fmt(m + u - 2 * c - dm - du, 0)} |")
        md.append("")
        if idmb:
            md.append("dma_map_benchmark's own averages in the same boot, 1 page (instructions, to its 0.1 µs "
                      "step), against the exact counts above:\n")
            md.append("| path | direction | map | unmap | exact: map | exact: unmap |")
            md.append("|---|---|---|---|---|---|")
            for p in PATHS:
                for d in sorted({k[2] for k in ig}):
                    bm, bu = idmb.get((p, 1, d), (float("nan"), float("nan")))
                    em, eu = ig.get((p, 1, d), [(float("nan"), float("nan"))])[0]
                    md.append(f"| {p} | {DIRS[d]} | {bm} | {bu} | {em} | {eu} |")
            md.append("")
        md.append("The pool core alone on the host (rust/pool/benches/icount.rs: no lock, no copy; x86-64 "
                  "instructions, counted exactly by callgrind):\n")
        md.append("| pages | direction | map | unmap |")
        md.append("|---|---|---|---|")
        for (g, d), (m, u) in sorted(icore.items()):
            md.append(f"| {g} | {DIRS[d]} | {m} | {u} |")
        md.append("")
        md.append("![instructions by size](docs/bench/instructions-size.png)\n")

    md.append("## The pool core on the host (cargo bench)\n")
    md.append("| measure | median | spread |")
    md.append("|---|---|---|")
    floor = [r for r in core if r["kind"] == "core-lock-floor"]
    for r in core:
        if r["kind"] == "core-map-unmap":
            md.append(f"| map+unmap, no copy, {r['threads']} thread(s): ns per operation | {r['ns_per_op']} | {r['min']}..{r['max']} |")
            if r["threads"] == 1 and floor:
                f = floor[0]
                md.append(f"| of which its two area locks alone (std Mutex, uncontended): ns | {f['ns_per_op']} | {f['min']}..{f['max']} |")
        elif r["kind"] == "core-copy":
            md.append(f"| map+unmap with the copy, {r['size'] // 1024} KiB: bounce / memcpy GB/s | "
                      f"{r['bounce_gbps']} / {r['memcpy_gbps']} (ratio {r['ratio']}) | |")
    md.append("")
    open(md_path, "w").write("\n".join(md) + "\n")

    # Plots.
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    if counts:
        ig, imc, _, _, _, _ = counts
        grans = sorted({k[1] for k in ig})
        fig, ax = plt.subplots(figsize=(6, 4))
        for p in PATHS:
            ax.plot(grans, [sum(ig.get((p, g, 0), [(float("nan"), float("nan"))])[0]) for g in grans], marker="o", label=p)
        ax.plot(grans, [sum(ig.get((PATHS[2], g, 0), [(float("nan"), float("nan"))])[0]) + 2 * imc.get(g, float("nan"))
                        for g in grans], linestyle="--", label="limit: direct + two copies")
        ax.set(xlabel="pages a map", ylabel="map + unmap, instructions", title="1 thread, bidirectional, -icount",
               xscale="log", yscale="log", xticks=grans)
        ax.set_xticklabels([str(g) for g in grans])
        ax.legend()
        fig.tight_layout()
        fig.savefig(os.path.join(outdir, "instructions-size.png"), dpi=100)
        plt.close(fig)
    for v in vcpus:
        threads = sorted({r["threads"] for r in maps if r["vcpus"] == v})
        fig, ax = plt.subplots(figsize=(6, 4))
        for p in PATHS:
            ax.plot(threads, [med([lat(r) for r in cell(v, p, t, 1, 0)]) for t in threads], marker="o", label=p)
        ax.set(xlabel="threads", ylabel="map + unmap, µs (median)", title=f"1 page, bidirectional, {v} vCPUs", xticks=threads)
        ax.legend()
        fig.tight_layout()
        fig.savefig(os.path.join(outdir, f"latency-threads-{v}.png"), dpi=100)
        plt.close(fig)
        grans = sorted({r["granule"] for r in maps if r["vcpus"] == v and r["dir"] == 0})
        fig, ax = plt.subplots(figsize=(6, 4))
        for p in PATHS:
            ax.plot(grans, [med([lat(r) for r in cell(v, p, 1, g, 0)]) for g in grans], marker="o", label=p)
        ax.set(xlabel="pages a map", ylabel="map + unmap, µs (median)", title=f"1 thread, bidirectional, {v} vCPUs",
               xscale="log", yscale="log", xticks=grans)
        ax.set_xticklabels([str(g) for g in grans])
        ax.legend()
        fig.tight_layout()
        fig.savefig(os.path.join(outdir, f"latency-size-{v}.png"), dpi=100)
        plt.close(fig)
        fig, ax = plt.subplots(figsize=(9, 4))
        paths = [p for p in BLK_PATHS if any(r["path"] == p for r in blks)]
        width = 0.8 / len(paths)
        for k, p in enumerate(paths):
            ys = [med([r["mbps"] for r in blks if r["vcpus"] == v and r["path"] == p and (r["pattern"], r["op"], r["bs"]) == c]) for c in cases]
            ax.bar([i + (k - (len(paths) - 1) / 2) * width for i in range(len(cases))], ys, width, label=p)
        ax.set_xticks(range(len(cases)))
        ax.set_xticklabels([f"{c[0]} {c[1]}\n{c[2] // 1024} KiB" for c in cases], fontsize=8)
        ax.set(ylabel="MB/s (median)", title=f"virtio-blk O_DIRECT, {v} vCPUs")
        ax.legend()
        fig.tight_layout()
        fig.savefig(os.path.join(outdir, f"throughput-{v}.png"), dpi=100)
        plt.close(fig)
    for v in net_vcpus:
        fig, ax = plt.subplots(figsize=(6, 4))
        width = 0.8 / len(PATHS)
        for k, p in enumerate(PATHS):
            ys = [med([r["mbps"] for r in net_runs(v, p, size) if ok(r)]) for size in net_sizes]
            ax.bar([i + (k - (len(PATHS) - 1) / 2) * width for i in range(len(net_sizes))], ys, width, label=p)
        ax.set_xticks(range(len(net_sizes)))
        ax.set_xticklabels([f"{size} B frames" for size in net_sizes])
        ax.set(ylabel="MB/s received intact (median)", title=f"virtio-net, raw frames NIC to NIC, {v} vCPUs")
        ax.legend()
        fig.tight_layout()
        fig.savefig(os.path.join(outdir, f"net-{v}.png"), dpi=100)
        plt.close(fig)


if __name__ == "__main__":
    main(*sys.argv[1:4])
