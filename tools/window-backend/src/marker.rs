// SPDX-License-Identifier: GPL-2.0
//! --find: what guest bytes the host sees. Before a request is served,
//! every buffer of its chain is searched for a marker the guest test
//! wrote: in the buffers the device is about to write (which a guest that
//! bounces must hand over holding nothing of its own) and in those it
//! reads (a write's payload: the control that shows the search works).

use std::sync::atomic::{AtomicU64, Ordering};

use vm_memory::{Bytes, GuestAddress, GuestMemory};

use crate::blk::{self, Desc};
use crate::window::Accounting;

/// How much guest memory one search reads at a time.
const CHUNK: usize = 64 * 1024;
/// The longest marker taken.
pub const MAX_LEN: usize = 64;

/// The marker and where it was found.
pub struct Marker {
    bytes: Vec<u8>,
    writable: AtomicU64,
    readable: AtomicU64,
}

/// Parses `HEX` (an optional 0x, then two digits a byte) into the marker.
pub fn parse_hex(s: &str) -> Result<Vec<u8>, String> {
    let h = s.strip_prefix("0x").unwrap_or(s);
    let bad =
        || format!("--find '{s}': expected 1 to {MAX_LEN} bytes in hex, like 5245434549564521");
    // (Digits only: from_str_radix would take a sign.)
    if h.is_empty()
        || !h.len().is_multiple_of(2)
        || h.len() / 2 > MAX_LEN
        || !h.bytes().all(|b| b.is_ascii_hexdigit())
    {
        return Err(bad());
    }
    (0..h.len())
        .step_by(2)
        .map(|i| {
            h.get(i..i + 2)
                .and_then(|b| u8::from_str_radix(b, 16).ok())
                .ok_or_else(bad)
        })
        .collect()
}

/// Where byte `c` first is in `hay`: eight bytes a step (a zero byte in
/// the word XORed with `c` repeated), then byte by byte in the word that
/// has it.
fn find_byte(c: u8, hay: &[u8]) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let rep = LO * u64::from(c);
    let mut words = hay.chunks_exact(8);
    let mut at = 0;
    for w in &mut words {
        let x = u64::from_ne_bytes(w.try_into().unwrap()) ^ rep;
        if x.wrapping_sub(LO) & !x & HI != 0 {
            break;
        }
        at += 8;
    }
    hay[at..].iter().position(|&b| b == c).map(|p| at + p)
}

/// Where `needle` (not empty) first is in `hay`.
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let (&first, rest) = needle.split_first()?;
    let starts = hay.len().checked_sub(rest.len())?;
    let mut i = 0;
    while i < starts {
        let s = i + find_byte(first, &hay[i..starts])?;
        if &hay[s + 1..s + needle.len()] == rest {
            return Some(s);
        }
        i = s + 1;
    }
    None
}

impl Marker {
    /// Searches for `bytes` (not empty: see `parse_hex`).
    pub fn new(bytes: Vec<u8>) -> Self {
        Marker {
            bytes,
            writable: AtomicU64::new(0),
            readable: AtomicU64::new(0),
        }
    }

    /// The marker in hex, as --find took it.
    pub fn hex(&self) -> String {
        self.bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Occurrences of the marker in `hay`, not overlapping, and where
    /// the last one ends (0 if none).
    fn matches(&self, hay: &[u8]) -> (u64, usize) {
        let (mut n, mut i) = (0, 0);
        while let Some(p) = find(&hay[i..], &self.bytes) {
            n += 1;
            i += p + self.bytes.len();
        }
        (n, i)
    }

    /// Occurrences in guest memory `[addr, addr + len)`, read `CHUNK`
    /// bytes at a time into `buf`; a chunk overlaps the next by the
    /// marker's length less one, so none is missed at a seam.
    fn count_in<M: GuestMemory>(&self, mem: &M, addr: u64, len: u64, buf: &mut Vec<u8>) -> u64 {
        let m = self.bytes.len();
        if m == 0 {
            return 0;
        }
        let (mut n, mut pos) = (0, 0u64);
        while len - pos >= m as u64 {
            let take = (len - pos).min((CHUNK + m - 1) as u64) as usize;
            buf.resize(take, 0);
            let Some(at) = addr.checked_add(pos) else {
                break;
            };
            if mem.read_slice(&mut buf[..take], GuestAddress(at)).is_err() {
                break;
            }
            let (k, i) = self.matches(&buf[..take]);
            n += k;
            // On from the first byte where a marker may yet start: past
            // the last one found, or past the last start this chunk held.
            pos += i.max(take - m + 1) as u64;
        }
        n
    }

    /// Searches every buffer of a chain (but the request header), before
    /// it is served. Only what the backend may read: buffers in the window
    /// (all, with --audit); one outside is the serving's to count.
    pub fn scan<M: GuestMemory>(&self, mem: &M, acct: &Accounting, chain: &[Desc]) {
        let (readable, writable) = blk::buffers(chain);
        let mut buf = Vec::new();
        let mut search = |ranges: &[(u64, u64)]| {
            ranges
                .iter()
                .filter(|&&(a, l)| acct.audit || acct.window.contains(a, l))
                .map(|&(a, l)| self.count_in(mem, a, l, &mut buf))
                .sum::<u64>()
        };
        let (w, r) = (search(&writable), search(&readable));
        self.writable.fetch_add(w, Ordering::Relaxed);
        self.readable.fetch_add(r, Ordering::Relaxed);
    }

    /// Markers found in buffers the device writes.
    pub fn in_writable(&self) -> u64 {
        self.writable.load(Ordering::Relaxed)
    }

    /// Markers found in buffers the device reads.
    pub fn in_readable(&self) -> u64 {
        self.readable.load(Ordering::Relaxed)
    }

    /// The line printed at exit.
    pub fn summary(&self) -> String {
        format!(
            "markers: {} in buffers the device writes, {} in buffers the device reads",
            self.in_writable(),
            self.in_readable()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::window::tests::Captured;
    use crate::window::Window;
    use vm_memory::GuestMemoryMmap;

    const W: Window = Window {
        base: 0x5000_0000,
        size: 0x10_0000,
    };
    const MARK: &[u8] = b"RECEIVE!";

    fn naive(hay: &[u8], needle: &[u8]) -> u64 {
        let (mut n, mut i) = (0, 0);
        while i + needle.len() <= hay.len() {
            if &hay[i..i + needle.len()] == needle {
                n += 1;
                i += needle.len();
            } else {
                i += 1;
            }
        }
        n
    }

    #[test]
    fn hex() {
        assert_eq!(parse_hex("5245434549564521").unwrap(), MARK);
        assert_eq!(parse_hex("0xff00").unwrap(), [0xff, 0]);
        for bad in ["", "0x", "abc", "zz", "+1", &"00".repeat(MAX_LEN + 1)] {
            assert!(parse_hex(bad).is_err(), "{bad}");
        }
        assert_eq!(Marker::new(MARK.to_vec()).hex(), "5245434549564521");
    }

    #[test]
    fn count_matches_a_naive_search() {
        let m = Marker::new(MARK.to_vec());
        assert_eq!(m.matches(b"").0, 0);
        assert_eq!(m.matches(b"RECEIVE").0, 0);
        assert_eq!(m.matches(b"RECEIVE!").0, 1);
        assert_eq!(m.matches(b"RRECEIVE!RECEIVE!xRECEIVE").0, 2);
        // Every offset, in text full of near misses (first bytes, and the
        // marker less its last byte).
        let mut hay = Vec::new();
        for i in 0..300u32 {
            hay.extend_from_slice(match i % 5 {
                0 => b"RECEIVE!".as_slice(),
                1 => b"RECEIVE?",
                2 => b"RRR",
                3 => b"\x00\xff",
                _ => b"xRECEIVE",
            });
        }
        for off in 0..16 {
            assert_eq!(m.matches(&hay[off..]).0, naive(&hay[off..], MARK), "{off}");
        }
        // Non-overlapping: "aa" in "aaaaa" is there twice.
        assert_eq!(Marker::new(b"aa".to_vec()).matches(b"aaaaa").0, 2);
        assert_eq!(Marker::new(vec![0x5a]).matches(&[0x5a; 9]).0, 9);
        assert_eq!(Marker::new(Vec::new()).matches(b"abc").0, 0);
    }

    #[test]
    fn scan_counts_per_direction_not_the_header() {
        let mem: GuestMemoryMmap = GuestMemoryMmap::from_ranges(&[(
            GuestAddress(W.base - 0x1000),
            W.size as usize + 0x1000,
        )])
        .unwrap();
        let put = |a: u64, b: &[u8]| mem.write_slice(b, GuestAddress(a)).unwrap();
        let cap = Captured::default();
        let acct = Accounting::new(W, false, Box::new(cap.clone()));
        let m = Marker::new(MARK.to_vec());
        let d = |addr, len, write| Desc { addr, len, write };
        // A 256 KiB receive buffer with the marker across the end of the
        // first read (CHUNK + 7 bytes: found in the second), near the end
        // of the second (the third starts past it) and at its very end;
        // one without; the status.
        let big = W.base + 0x1_0000;
        put(big + CHUNK as u64 + 4, MARK);
        put(big + 2 * CHUNK as u64 - 3, MARK);
        put(big + 0x4_0000 - 8, MARK);
        put(W.base + 0x8000, MARK); // a header: not counted
        let read = [
            d(W.base + 0x8000, 16, false),
            d(big, 0x4_0000, true),
            d(W.base + 0x6000, 4096, true),
            d(W.base + 0x7000, 1, true),
        ];
        m.scan(&mem, &acct, &read);
        assert_eq!((m.in_writable(), m.in_readable()), (3, 0));
        // A write: header and payload in one buffer, the marker in the
        // payload twice; and a buffer below the window, not read.
        put(W.base + 0x9000, &[0; 16]);
        put(W.base + 0x9010, MARK);
        put(W.base + 0x9100, MARK);
        put(W.base - 0x1000, MARK);
        let write = [
            d(W.base + 0x9000, 0x200, false),
            d(W.base - 0x1000, 512, false),
            d(W.base + 0x7000, 1, true),
        ];
        m.scan(&mem, &acct, &write);
        assert_eq!((m.in_writable(), m.in_readable()), (3, 2));
        assert_eq!(acct.outside(), 0);
        // With --audit the buffer below the window is searched too.
        let audit = Accounting::new(W, true, Box::new(cap));
        m.scan(&mem, &audit, &write);
        assert_eq!(m.in_readable(), 5);
        // Not overlapping across a seam either: "aaa" where the first read
        // ends after its second byte holds "aa" once.
        let aa = Marker::new(b"aa".to_vec());
        put(big + CHUNK as u64 - 1, b"aaa");
        aa.scan(&mem, &acct, &read);
        assert_eq!(aa.in_writable(), 1);
        assert_eq!(
            m.summary(),
            "markers: 3 in buffers the device writes, 5 in buffers the device reads"
        );
    }
}
