#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Counts the results of a KTAP stream, at every nesting level.

Usage: ktap-count.py [FILE...]   (standard input without a file)

A case is a result line ("ok N ...", "not ok N ...") with no results nested
under it: a leaf. A result with nested results is a test that ran cases; it
counts once more only when it failed although none of its cases did (it
crashed, or ran fewer cases than its plan). A "# SKIP" directive makes an
"ok" case skipped; a "not ok" case fails whatever it says. Prints the failed cases, then one line:
    N passed, N failed, N skipped
and exits non-zero when anything failed or nothing ran.
"""
import re
import sys

RESULT = re.compile(r"^(not )?ok (\d+)\b ?(.*)$")


def depth_of(line):
    depth = 0
    while line.startswith("# "):
        line = line[2:]
        depth += 1
    return depth, line


def count(lines):
    passed = failed = skipped = 0
    failures = []
    # For each depth, whether results deeper than it were seen since its
    # last result, and whether any of them failed.
    nested = {}
    for raw in lines:
        depth, line = depth_of(raw.rstrip("\n"))
        m = RESULT.match(line)
        if not m:
            continue
        ok, desc = m.group(1) is None, m.group(3)
        inner = nested.pop(depth + 1, None)
        # Results deeper than this one are closed too.
        for d in [d for d in nested if d > depth]:
            nested.pop(d)
        seen = nested.setdefault(depth, {"failed": False})
        if inner is not None:
            # A test with cases of its own: they counted already.
            if not ok and not inner["failed"]:
                failed += 1
                failures.append(f"{'  ' * depth}{line}  (no failed case under it)")
            if not ok:
                seen["failed"] = True
            continue
        # A skip is "ok ... # SKIP"; a "not ok" failed, whatever it says.
        if ok and re.search(r"#\s*SKIP", desc, re.IGNORECASE):
            skipped += 1
        elif ok:
            passed += 1
        else:
            failed += 1
            failures.append(f"{'  ' * depth}{line}")
            seen["failed"] = True
    return passed, failed, skipped, failures


def main(paths):
    lines = []
    for p in paths or ["-"]:
        lines += (sys.stdin if p == "-" else open(p, errors="replace")).readlines()
    passed, failed, skipped, failures = count(lines)
    for f in failures:
        print(f"failed: {f}")
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    return 1 if failed or passed + skipped == 0 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
