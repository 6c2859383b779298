#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""screen-check.py PPM SEED [SLACK]: whether QEMU's screendump PPM (P6, 8
bits a channel) shows fbdraw.c's pattern of SEED, pixel for pixel. Prints
the size and how many pixels differ (and the first); exits 0 only when at
most SLACK (default 0) do."""
import sys


def rgb(x, y, seed):
    """fbdraw.c's pixel (X, Y) of SEED: (red, green, blue)."""
    return ((x * 7 + seed) & 255, (y * 13 + seed * 3) & 255, (x ^ y ^ seed) & 255)


def main(path, seed, slack=0):
    with open(path, "rb") as f:
        data = f.read()
    fields, pos = [], 0
    # The header: magic, width, height, maxval, separated by whitespace
    # (and comments), then one whitespace byte before the pixels.
    while len(fields) < 4:
        while data[pos:pos + 1].isspace():
            pos += 1
        if data[pos:pos + 1] == b"#":
            pos = data.index(b"\n", pos)
            continue
        end = pos
        while not data[end:end + 1].isspace():
            end += 1
        fields.append(data[pos:end])
        pos = end
    pixels = data[pos + 1:]
    if fields[0] != b"P6" or fields[3] != b"255":
        print(f"{path}: not an 8-bit P6 image")
        return 1
    w, h = int(fields[1]), int(fields[2])
    bad, first = 0, None
    for y in range(h):
        for x in range(w):
            want = rgb(x, y, seed)
            i = 3 * (y * w + x)
            if tuple(pixels[i:i + 3]) != want:
                bad += 1
                first = first or (x, y, tuple(pixels[i:i + 3]), want)
    print(f"{w}x{h}, {bad} pixels differ" + (f" (first at {first[0]},{first[1]}: {first[2]}, not {first[3]})" if first else ""))
    return 1 if bad > slack or not w * h else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], int(sys.argv[2]), *(int(a) for a in sys.argv[3:4])))
