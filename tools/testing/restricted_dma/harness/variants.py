#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The harness's door to the guests' description (the package guests/).

Each guest (a variant) lists its restricted regions (reserved-memory nodes)
and its virtio devices. From it this script derives, so that they cannot
disagree:
  - the guest's DT source (QEMU's own DT plus our nodes),
  - QEMU's device arguments,
  - the guest-side expectations (/etc/restricted_dma/expect) the kselftests check.

It also gives the DT binding's checks (harness/dt-check.sh) their test DTs:
schema-cases writes one DT per region the binding must accept or reject.

Usage: variants.py list [FLAVOUR] | demo | machine NAME | cmdline NAME | panics NAME FLAVOUR
       | write NAME WORKDIR BASE_DTS   all of a guest's files, in WORKDIR:
             guest.dts, qemu.args (one argument a line), expect, disks,
             consoles, shares, virtqueues, hotplug, backends, screens, vsocks,
             taps
       | smp NAME | taps NAME | expect NAME | dts NAME BASE_DTS | qemu NAME WORKDIR | disks NAME
       | consoles NAME | virtqueues NAME | backends NAME | schema-rejects NAME
       | schema-cases BASE_DTS OUTDIR
       | index                         docs/guests.md: which guest runs which test
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from guests import DEMO, guests, variant  # noqa: E402
from guests.derive import (backends, cmdline, consoles, disks, dts, expect, index, machine,  # noqa: E402
                           must_ask, panics, qemu, schema_cases, schema_rejects, taps, virtqueues, write)


def main(argv):
    cmd = argv[1]
    if cmd == "list":
        print(" ".join(guests(argv[2] if len(argv) > 2 else None)))
    elif cmd == "demo":
        print(DEMO)
    elif cmd == "index":
        sys.stdout.write(index())
    elif cmd == "dts":
        sys.stdout.write(dts(argv[2], argv[3]))
    elif cmd == "qemu":
        print("\n".join(qemu(argv[2], argv[3])))
    elif cmd == "expect":
        sys.stdout.write(expect(argv[2]))
    elif cmd == "schema-cases":
        schema_cases(argv[2], argv[3])
    elif cmd == "consoles":
        print(" ".join(consoles(argv[2])))
    elif cmd == "disks":
        print(" ".join(disks(argv[2])))
    elif cmd == "write":
        write(argv[2], argv[3], argv[4])
    elif cmd == "schema-rejects":
        sys.stdout.write(schema_rejects(argv[2]))
    elif cmd == "machine":
        print(machine(argv[2]))
    elif cmd == "smp":
        print(variant(argv[2]).get("smp", ""))
    elif cmd == "taps":
        sys.stdout.write(taps(argv[2]))
    elif cmd == "cmdline":
        print(cmdline(argv[2]))
    elif cmd == "panics":
        print(panics(argv[2], argv[3]))
    elif cmd == "must-ask":
        print("1" if must_ask(argv[2], argv[3]) else "")
    elif cmd == "virtqueues":
        sys.stdout.write(virtqueues(argv[2]))
    elif cmd == "backends":
        sys.stdout.write(backends(argv[2]))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
