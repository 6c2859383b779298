#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Checks that the documentation's references lead somewhere.

For every Markdown file of the repository that git knows of (`git ls-files
'*.md'` at the repository root, this script's ../../../.. directory; with
`--others --exclude-standard`, so that a new file is checked before it is
added, and an ignored one never):

(a) every relative link, `[text](path)`, `[text](path#anchor)`,
    `[text](#anchor)` and `[label]: path` definitions, images too, must
    name a file or directory that exists, relative to the linking file; an
    anchor into a Markdown file must be one of its headings, under GitHub's
    rules: lowercase, punctuation dropped except '-' and '_', each space a
    '-', backticks and emphasis dropped, and a heading seen before gets
    -1, -2... Links with a scheme (http:, https:, mailto:, ...) are not
    followed.
(b) every backticked path in prose that is this repository's own must
    exist, relative to the root: one under `rust/`,
    `selftests/restricted_dma/`, `tools/testing/restricted_dma/`,
    `tools/window-backend/`, `docs/`, `dt-bindings/` or `.ci/`, or one of
    the top-level files `Kbuild`, `Kconfig`, `Makefile`, `README.md`,
    `BENCHMARKS.md`. A trailing '/' is allowed. Patterns and placeholders
    are skipped: anything with '*', '{', '...', '<', '$' or a space. Paths
    such as `drivers/base/dd.c` are the kernel's, not ours: not checked.

Fenced code blocks are not prose: neither links nor paths in them count.

Prints one line per dead reference, `FILE:LINE: dead link PATH[#ANCHOR]`,
and exits 1 if there is any; else prints
`linkcheck: N links and M paths checked, all alive` and exits 0.

    linkcheck.py               check the repository
    linkcheck.py --self-test   check a small tree with one good link, one
                               dead link and one dead anchor: it must report
                               exactly the two dead ones (the control that
                               shows the check can fail)
"""

import os
import re
import subprocess
import sys
import tempfile

# This repository's own top-level paths: a backticked path that starts with
# one of these (or is one of the files) must exist.
OWN_DIRS = ("rust/", "selftests/restricted_dma/", "tools/testing/restricted_dma/",
            "tools/window-backend/", "docs/", "dt-bindings/", ".ci/")
OWN_FILES = ("Kbuild", "Kconfig", "Makefile", "README.md", "BENCHMARKS.md")
# What makes a backticked word a pattern or a placeholder rather than a path.
NOT_A_PATH = ("*", "{", "...", "\u2026", "<", "$", " ")

FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
CODE_SPAN = re.compile(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)", re.S)
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*(<[^>]*>|[^()\s]+)(?:\s+(?:\"[^\"]*\"|'[^']*'))?\s*\)")
DEFINITION = re.compile(r"^ {0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)", re.M)
HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)[ \t]*$")
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def prose(text):
    """`text` with fenced code blocks blanked (line count kept)."""
    out, fence = [], None
    for line in text.split("\n"):
        m = FENCE.match(line)
        if fence is None and m:
            fence = m.group(1)
            out.append("")
        elif fence is not None:
            if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence) \
                    and not line.strip()[len(m.group(1)):].strip():
                fence = None
            out.append("")
        else:
            out.append(line)
    return "\n".join(out)


def blank_code_spans(text):
    """`text` with inline code spans replaced by spaces (offsets kept);
    a span does not cross a blank line."""
    def blank(m):
        if "\n\n" in m.group(0):
            return m.group(0)
        return re.sub(r"[^\n]", " ", m.group(0))
    return CODE_SPAN.sub(blank, text)


def code_spans(text):
    """(offset, content) of each inline code span of `text`."""
    for m in CODE_SPAN.finditer(text):
        if "\n\n" not in m.group(0):
            yield m.start(), m.group(2).strip()


def slug(heading):
    """GitHub's anchor for a heading's text."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # links: their text
    text = re.sub(r"<[^>]+>", "", text)                         # inline HTML
    text = text.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)                        # keeps letters, digits, _ and -
    return text.replace(" ", "-")


def anchors(path, cache):
    """The anchors of the Markdown file at `path`."""
    if path not in cache:
        seen, found = {}, set()
        with open(path, encoding="utf-8") as f:
            for line in prose(f.read()).split("\n"):
                m = HEADING.match(line)
                if not m:
                    continue
                title = re.sub(r"[ \t]+#+$", "", m.group(2))
                base = slug(title)
                n = seen.get(base, 0)
                seen[base] = n + 1
                found.add(base if n == 0 else f"{base}-{n}")
        cache[path] = found
    return cache[path]


def line_of(text, offset):
    return text.count("\n", 0, offset) + 1


def own_path(word):
    """Whether a backticked `word` names a path of this repository."""
    if any(s in word for s in NOT_A_PATH):
        return False
    if word in OWN_FILES:
        return True
    return any(word.startswith(d) or word == d.rstrip("/") for d in OWN_DIRS)


def check_file(root, name, cache, dead):
    """Checks one Markdown file; appends its dead references to `dead`;
    returns (links, paths) checked."""
    path = os.path.join(root, name)
    with open(path, encoding="utf-8") as f:
        text = prose(f.read())
    links = paths = 0
    found = []
    bare = blank_code_spans(text)
    targets = [(m.start(), m.group(1)) for m in LINK.finditer(bare)]
    targets += [(m.start(), m.group(1)) for m in DEFINITION.finditer(bare)]
    for offset, target in targets:
        target = target.strip("<>")
        if not target or SCHEME.match(target):
            continue
        links += 1
        file_part, _, anchor = target.partition("#")
        dest = os.path.normpath(os.path.join(os.path.dirname(path), file_part)) if file_part else path
        ok = os.path.exists(dest)
        if ok and anchor and dest.endswith(".md") and os.path.isfile(dest):
            ok = anchor in anchors(dest, cache)
        if not ok:
            found.append((line_of(text, offset), target))
    for offset, word in code_spans(text):
        if not own_path(word):
            continue
        paths += 1
        if not os.path.exists(os.path.join(root, word)):
            found.append((line_of(text, offset), word))
    dead += [f"{name}:{line}: dead link {what}" for line, what in sorted(found, key=lambda f: f[0])]
    return links, paths


def check(root):
    """Checks every tracked Markdown file under `root`: (dead, links, paths)."""
    names = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "*.md"],
                           cwd=root, check=True,
                           capture_output=True, text=True).stdout.split("\0")
    dead, cache, links, paths = [], {}, 0, 0
    for name in sorted(n for n in names if n):
        n_links, n_paths = check_file(root, name, cache, dead)
        links += n_links
        paths += n_paths
    return dead, links, paths


def self_test():
    """A tree with one good link, one dead link and one dead anchor (and
    what must not count: a fenced link, an external one, a kernel path):
    exactly the two dead ones must be reported."""
    with tempfile.TemporaryDirectory() as root:
        os.makedirs(os.path.join(root, "docs"))
        os.makedirs(os.path.join(root, "rust"))
        open(os.path.join(root, "rust", "region.rs"), "w").close()
        with open(os.path.join(root, "docs", "a.md"), "w") as f:
            f.write("# A\n\n## Notes\n\n## Notes\n")
        with open(os.path.join(root, "README.md"), "w") as f:
            f.write("# Top\n\n"
                    "Good: [a](docs/a.md#notes-1), `rust/region.rs`, `drivers/base/dd.c`,\n"
                    "[web](https://example.org/x.md), `rust/pool/*.rs`.\n\n"
                    "Dead: [gone](docs/gone.md).\n\n"
                    "```\n[fenced](nowhere.md)\n```\n\n"
                    "Dead anchor: [a](docs/a.md#no-such-heading).\n")
        subprocess.run(["git", "init", "-q", root], check=True)
        subprocess.run(["git", "add", "README.md", "docs/a.md"], cwd=root, check=True)
        dead, links, paths = check(root)
    want = ["README.md:6: dead link docs/gone.md",
            "README.md:12: dead link docs/a.md#no-such-heading"]
    if dead != want or links != 3 or paths != 1:
        print(f"linkcheck: self-test failed: reported {dead} ({links} links, {paths} paths), "
              f"wanted {want} (3 links, 1 path)")
        return 1
    print("linkcheck: self-test passed: the two dead references were reported, nothing else")
    return 0


def main(argv):
    if argv[1:] == ["--self-test"]:
        return self_test()
    if argv[1:]:
        print(__doc__.strip().split("\n\n")[-1], file=sys.stderr)
        return 2
    root = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", ".."))
    dead, links, paths = check(root)
    for d in dead:
        print(d)
    if dead:
        return 1
    print(f"linkcheck: {links} links and {paths} paths checked, all alive")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
