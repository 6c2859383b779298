#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""`make bench-ablate`: what each guarantee on the fast path costs, exactly.

ablate.py [--check | --self-test] [PART...]

Each PART is a guarantee that every map or unmap pays for (PARTS below). For
each, and for all of them at once, a copy of the repository (in
$RDMA_CACHE/ablate/src, never the checkout itself) has that part taken out
of the source, and `make bench-icount` runs there: the module built from the
copy (in a build directory of its own), counted under -icount as the
checkout's is (the raw files of `make bench-icount` in $RDMA_CACHE are
then the last copy's). The table gives what each part costs: the plain copy's counts
less the ablated one's, for one page, one thread. These builds are for
measurement only: each drops a guarantee that an issue asked for.

--check: applies every part to the copy and builds nothing: fails when the
source no longer has what a part takes out (`make test` runs it, so that
the table cannot silently stop measuring what it says). --self-test: the
control, which must fail: the same with the first part's text gone from
the copy first.
"""
import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "../../../.."))

# name: (what it is, [(file under rust/, text in it, what replaces it)]).
PARTS = {
    "owner": ("each device's counts and the owner check (its tag, largest request, slots taken and given; "
              "another's unmap refused)", [
        ("pool/tlb.rs", "        self.largest.request(bucket, size);\n", ""),
        ("pool/tlb.rs", "            if let Some(u) = c.owner(bucket) {\n"
                        "                u.took(nslots);\n            }\n", ""),
        ("pool/tlb.rs", "        let claimed = heads.claimed_owner(index);\n        if claimed != owner {\n"
                        "            heads.unclaim(index, bounce, size, dir);\n"
                        "            return Err(UnmapError::OtherOwner);\n        }\n", ""),
        ("pool/tlb.rs", "        if let Some(u) = c.owner(claimed.bucket()) {\n"
                        "            u.gave(n);\n        }\n", ""),
        ("dma_ops.rs", "let owner = owner_of(dev);\n        let (pool, cpu, copier)",
                       "let owner = crate::pool::Owner::NONE;\n        let (pool, cpu, copier)"),
        ("dma_ops.rs", ".unmap_for(owner_of(dev), phys, size, dir, copy, &self.copier())",
                       ".unmap_for(crate::pool::Owner::NONE, phys, size, dir, copy, &self.copier())"),
    ]),
    "counters": ("the area's published counters", [
        ("pool/tlb.rs", "            add(&c.maps, 1);\n            if !deferred {\n                add_bytes(\n"
                        "                    if copy_in {\n                        &c.bytes_to_device\n"
                        "                    } else {\n                        &c.bytes_zeroed\n                    },\n"
                        "                    size,\n                );\n            }\n", ""),
        ("pool/tlb.rs", "        add(&c.unmaps, 1);\n        if copy_back {\n"
                        "            add_bytes(&c.bytes_from_device, size);\n        }\n", ""),
    ]),
    "constraints": ("the device's constraints, read afresh (`Constraints::NONE` instead; unmap: no `dma-ranges` offset)", [
        ("dma_ops.rs", "let c = dev.dma_constraints(self.base, MaskKind::Streaming);\n        if !self.at_its_offset(",
                       "let c = Constraints::NONE;\n        if !self.at_its_offset("),
        ("dma_ops.rs", "let phys = self.phys_of_dma(dma);\n        match self\n            .pool\n            .unmap_for(",
                       "let phys = dma;\n        match self\n            .pool\n            .unmap_for("),
    ]),
    "bounds": ("the copies' bounds checks (`Memremap::copy_in`, `copy_out`)", [
        ("sys/memory.rs", "let Some(dst) = self.virt(to, len) else {\n            return false;\n        };",
                          "let dst = self.vaddr.as_ptr().wrapping_add((to - self.phys) as usize);"),
        ("sys/memory.rs", "let Some(src) = self.virt(from, len) else {\n            return false;\n        };",
                          "let src = self.vaddr.as_ptr().wrapping_add((from - self.phys) as usize);"),
    ]),
    "trace": ("the trace gate", [
        ("dma_ops.rs", "                self.trace(Event::Map, dev, dma, size, Some(dir));\n", ""),
        ("dma_ops.rs", "Ok(()) => self.trace(Event::Unmap, dev, dma, size, Some(dir)),", "Ok(()) => {}"),
    ]),
    "cpu": ("the CPU's number (CPU 0 instead)", [
        ("dma_ops.rs", "(&self.pool, this_cpu(), &self.copier())", "(&self.pool, 0, &self.copier())"),
    ]),
}

# The columns: (heading, row kind, direction, map or unmap); direction 0 is
# bidirectional, 1 to the device, 2 from it (a receive buffer).
COLUMNS = [
    ("map", "restricted_dma", "0", 0),
    ("bidirectional unmap", "restricted_dma", "0", 1),
    ("to-device unmap", "restricted_dma", "1", 1),
    ("receive-buffer map", "restricted_dma", "2", 0),
    ("pool core, map", "core", "1", 0),
    ("pool core, unmap", "core", "1", 1),
]


def rdma_cache():
    """$RDMA_CACHE as the harness has it (env.sh)."""
    return subprocess.run(["bash", "-c", f'. "{HERE}/env.sh" && printf %s "$RDMA_CACHE"'],
                          stdout=subprocess.PIPE, text=True, check=True).stdout


def copy_source(cache, parts, drift=False, where="src"):
    """A copy of the repository with `parts` taken out, in `where` under
    $RDMA_CACHE/ablate; its path. With `drift`, the first part's first text
    is gone from the copy first (the control of --self-test)."""
    src = os.path.join(cache, "ablate", where)
    shutil.rmtree(src, ignore_errors=True)
    # Plain copies, every file new: cargo and Kbuild go by times, and a copy
    # that kept them would look older than the last variant's build.
    shutil.copytree(REPO, src, ignore=shutil.ignore_patterns(".git", "target"), symlinks=True,
                    copy_function=shutil.copy)
    if drift:
        name, old, _ = PARTS[parts[0]][1][0]
        path = os.path.join(src, "rust", name)
        with open(path) as f:
            text = f.read()
        with open(path, "w") as f:
            f.write(text.replace(old, ""))
    for part in parts:
        for name, old, new in PARTS[part][1]:
            path = os.path.join(src, "rust", name)
            with open(path) as f:
                text = f.read()
            if text.count(old) != 1:
                sys.exit(f"ablate: part {part}: rust/{name} no longer has, once, what it takes out:\n{old}")
            with open(path, "w") as f:
                f.write(text.replace(old, new))
    return src


def counts(cache, parts):
    """{(kind, dir): (map, unmap)} for one page, from `make bench-icount` of a copy."""
    src = copy_source(cache, parts)
    # Its own module and cargo builds: never taken for the checkout's.
    env = dict(os.environ, RDMA_MODBUILD=os.path.join(cache, "ablate", "modbuild"),
               RDMA_CARGO_TARGET=os.path.join(cache, "ablate", "cargo-target"))
    out = subprocess.run(["make", "-C", src, "--no-print-directory", "bench-icount"], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    found = {}
    for line in out.stdout.splitlines():
        m = re.match(r"\| (restricted_dma|core) \| 1 \| ([012]) \| ([0-9.]+) \| ([0-9.]+) \|", line)
        if m:
            found[(m[1], m[2])] = (float(m[3]), float(m[4]))
    if out.returncode != 0 or len(found) != 6:
        sys.exit(f"ablate: make bench-icount failed for {'+'.join(parts) or 'the plain copy'}:\n"
                 + out.stdout[-3000:])
    return found


def main():
    args = sys.argv[1:]
    mode = args.pop(0) if args and args[0] in ("--check", "--self-test") else None
    parts = args or list(PARTS)
    for p in parts:
        if p not in PARTS:
            sys.exit(f"ablate: no part {p}; the parts: {' '.join(PARTS)}")
    cache = rdma_cache()
    # The checks copy elsewhere than a run does: `make check` may run them
    # while `make bench-ablate` builds.
    if mode == "--check":
        for p in parts:
            copy_source(cache, [p], where="check")
        print(f"ablate: each of {' '.join(parts)} still applies")
        return
    if mode == "--self-test":
        copy_source(cache, parts, drift=True, where="check")
        print("ablate: the control applied to a copy without the text it takes out")
        sys.exit(1)
    plain = counts(cache, [])
    rows = [(PARTS[p][0], counts(cache, [p])) for p in parts]
    if len(parts) > 1:
        rows.append((f"all {len(parts)} at once", counts(cache, parts)))
    print("Instructions each part costs (the plain build's less the one without it), one page, "
          "one thread; arm64 guest under -icount, pool core x86-64 under callgrind.\n")
    print("| part taken out | " + " | ".join(c[0] for c in COLUMNS) + " |")
    print("|---" * (len(COLUMNS) + 1) + "|")
    print("| (none: the plain build's counts) | "
          + " | ".join(f"{plain[(k, d)][i]:g}" for _, k, d, i in COLUMNS) + " |")
    for what, c in rows:
        print(f"| {what} | "
              + " | ".join(f"{plain[(k, d)][i] - c[(k, d)][i]:g}" for _, k, d, i in COLUMNS) + " |")


if __name__ == "__main__":
    main()
