// SPDX-License-Identifier: GPL-2.0
//! --hostile: the backend as the host the guest must not trust. From one
//! request on it lies in the used ring, rewrites descriptors, or writes
//! into buffers it has no business with, so that guest tests can show the
//! guest survives. This module has the modes, their counters, and the
//! ring-level writes; ring.rs decides when each applies.
//!
//! Every write here lands inside the window, whatever is mapped (the
//! window alone, or with --audit all guest memory): the window is all the
//! guest shares, and a host that writes elsewhere is a different test.

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{fence, AtomicU64, Ordering};

use virtio_bindings::virtio_ring::{VRING_DESC_F_INDIRECT, VRING_DESC_F_NEXT};
use virtio_queue::{Queue, QueueT};
use vm_memory::{Bytes, GuestAddress, GuestMemory};

use crate::blk::{self, Desc, Ranges};
use crate::window::Window;

/// The byte every hostile overwrite writes.
pub const PATTERN: u8 = 0x5a;

const DESC_SIZE: u64 = 16;
/// flags and idx before a split ring's entries.
const RING_HEADER: u64 = 4;
const USED_ELEM: u64 = 8;
const AVAIL_ELEM: u64 = 2;

/// What the backend does wrong (see the usage text in main.rs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// A used length far past the chain's writable bytes (u32::MAX).
    UsedLen,
    /// One more used entry whose id is past the queue (size + 7).
    UsedId,
    /// One more used entry for a descriptor that heads no chain.
    UsedHead,
    /// The same head completed twice.
    UsedTwice,
    /// One more used entry for a descriptor no chain in flight uses.
    UsedPhantom,
    /// NEXT on every descriptor of the chain before completing it.
    DescFlags,
    /// The pattern over the other chains in flight and their ring entries.
    Scribble,
    /// The pattern into the chain's buffers once it is completed.
    After,
}

impl Mode {
    /// Every mode, in the order the usage text lists them.
    pub const ALL: [Mode; 8] = [
        Mode::UsedLen,
        Mode::UsedId,
        Mode::UsedHead,
        Mode::UsedTwice,
        Mode::UsedPhantom,
        Mode::DescFlags,
        Mode::Scribble,
        Mode::After,
    ];

    /// The name --hostile takes.
    pub fn name(self) -> &'static str {
        match self {
            Mode::UsedLen => "used-len",
            Mode::UsedId => "used-id",
            Mode::UsedHead => "used-head",
            Mode::UsedTwice => "used-twice",
            Mode::UsedPhantom => "used-phantom",
            Mode::DescFlags => "desc-flags",
            Mode::Scribble => "scribble",
            Mode::After => "after",
        }
    }

    /// The names, comma-separated, for the usage text and errors.
    pub fn names() -> String {
        Mode::ALL.map(Mode::name).join(", ")
    }
}

impl FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Mode::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| format!("unknown --hostile mode '{s}': one of {}", Mode::names()))
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The mode, when it starts on each queue, and how often it applied.
pub struct Hostile {
    /// What it does.
    pub mode: Mode,
    /// Requests served honestly on each queue before the mode applies.
    pub from: u64,
    completed: Vec<AtomicU64>,
    applied: AtomicU64,
}

impl Hostile {
    /// `mode` from request `from` (counted from 0) on, on each of `queues`.
    pub fn new(mode: Mode, from: u64, queues: usize) -> Self {
        Hostile {
            mode,
            from,
            completed: (0..queues).map(|_| AtomicU64::new(0)).collect(),
            applied: AtomicU64::new(0),
        }
    }

    /// Whether the next request of queue `q` gets the mode.
    pub fn due(&self, q: usize) -> bool {
        self.completed
            .get(q)
            .is_some_and(|c| c.load(Ordering::Relaxed) >= self.from)
    }

    /// One more request of queue `q` completed.
    pub fn completed(&self, q: usize) {
        if let Some(c) = self.completed.get(q) {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Queue `q` set up anew (a driver probing again): honest again for
    /// its first requests.
    pub fn restart(&self, q: usize) {
        if let Some(c) = self.completed.get(q) {
            c.store(0, Ordering::Relaxed);
        }
    }

    /// The mode applied to one more request.
    pub fn applied_once(&self) {
        self.applied.fetch_add(1, Ordering::Relaxed);
    }

    /// Requests the mode applied to, all queues together.
    pub fn applied(&self) -> u64 {
        self.applied.load(Ordering::Relaxed)
    }

    /// The line printed at exit.
    pub fn summary(&self) -> String {
        format!("hostile {}: applied {} times", self.mode, self.applied())
    }
}

/// Where used-ring entry `i` (a free-running index) lies.
fn used_elem(queue: &Queue, i: u16) -> Option<u64> {
    let off = RING_HEADER + u64::from(i.checked_rem(queue.size())?) * USED_ELEM;
    queue.used_ring().checked_add(off)
}

/// Where the available ring keeps the head of `slot` (a free-running index).
pub fn avail_elem(queue: &Queue, slot: u16) -> Option<u64> {
    let off = RING_HEADER + u64::from(slot.checked_rem(queue.size())?) * AVAIL_ELEM;
    queue.avail_ring().checked_add(off)
}

/// Where descriptor `i` of the table at `table` lies.
pub fn desc_at(table: u64, i: u16) -> u64 {
    table.wrapping_add(u64::from(i) * DESC_SIZE)
}

/// Whether the used entry the next completion takes lies in the window
/// (used-len lies there only).
pub fn next_used_in_window(window: &Window, queue: &Queue) -> bool {
    used_elem(queue, queue.next_used()).is_some_and(|a| window.contains(a, USED_ELEM))
}

/// Publishes one more used entry `{id, len}` after every one before it:
/// entry, release fence, then idx, as virtio-queue's `add_used` does, but
/// with any id (it refuses those past the queue). `next_used` moves on too,
/// so that the next honest completion lands after this one. Returns
/// whether it was written (the entry and idx in the window).
pub fn push_used<M: GuestMemory>(
    mem: &M,
    window: &Window,
    queue: &mut Queue,
    id: u32,
    len: u32,
) -> bool {
    let next = queue.next_used();
    let (Some(at), Some(idx_at)) = (used_elem(queue, next), queue.used_ring().checked_add(2))
    else {
        return false;
    };
    if !window.contains(at, USED_ELEM) || !window.contains(idx_at, 2) {
        return false;
    }
    let mut elem = [0u8; USED_ELEM as usize];
    elem[..4].copy_from_slice(&id.to_le_bytes());
    elem[4..].copy_from_slice(&len.to_le_bytes());
    if mem.write_slice(&elem, GuestAddress(at)).is_err() {
        return false;
    }
    // The driver reads idx, then the entries it covers: the entry must be
    // visible first.
    fence(Ordering::Release);
    let next = next.wrapping_add(1);
    if mem
        .store(next.to_le(), GuestAddress(idx_at), Ordering::Release)
        .is_err()
    {
        return false;
    }
    queue.set_next_used(next);
    true
}

/// The main-table part of a chain: its descriptor indices from the head,
/// and the indirect table (address, length) its last one points to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Links {
    /// The head first.
    pub indices: Vec<u16>,
    /// (address, length in bytes) of the indirect table.
    pub indirect: Option<(u64, u32)>,
}

/// Follows a chain through the main table without accounting (the chain
/// is walked, and its accesses counted, by `blk::walk_chain`); stops at an
/// unreadable entry, a bad index or a loop.
pub fn links<M: GuestMemory>(mem: &M, table: u64, n: u16, head: u16) -> Links {
    let mut l = Links::default();
    let mut i = head;
    while i < n && l.indices.len() < usize::from(n) && !l.indices.contains(&i) {
        let Ok((addr, len, flags, next)) = blk::read_desc(mem, table, i) else {
            break;
        };
        l.indices.push(i);
        let flags = u32::from(flags);
        if flags & VRING_DESC_F_INDIRECT != 0 {
            l.indirect = Some((addr, len));
            break;
        }
        if flags & VRING_DESC_F_NEXT == 0 {
            break;
        }
        i = next;
    }
    l
}

/// The first index after `from` (round a table of `n`) that `taken` does
/// not hold.
fn other_than(n: u16, from: u16, taken: &[u16]) -> Option<u16> {
    (1..u32::from(n))
        .map(|d| ((u32::from(from) + d) % u32::from(n)) as u16)
        .find(|i| !taken.contains(i))
}

/// Sets NEXT on the descriptor at `at`; one that had none gets `next`.
fn set_next<M: GuestMemory>(mem: &M, window: &Window, at: u64, next: u16) -> bool {
    if !window.contains(at, DESC_SIZE) {
        return false;
    }
    let mut raw = [0u8; 4];
    let tail = GuestAddress(at + 12);
    if mem.read_slice(&mut raw, tail).is_err() {
        return false;
    }
    let flags = u16::from_le_bytes([raw[0], raw[1]]);
    if u32::from(flags) & VRING_DESC_F_NEXT == 0 {
        raw[0..2].copy_from_slice(&(flags | VRING_DESC_F_NEXT as u16).to_le_bytes());
        raw[2..4].copy_from_slice(&next.to_le_bytes());
    }
    mem.write_slice(&raw, tail).is_ok()
}

/// desc-flags: NEXT on every descriptor of the chain, in the main table
/// and in its indirect table, so that a driver that walks the chain back
/// through the shared table runs past its end. The last one gets a `next`
/// to a descriptor outside the chain (in an indirect table, the next
/// entry, or one past a table of one). Returns the descriptors rewritten.
pub fn link_past_end<M: GuestMemory>(
    mem: &M,
    window: &Window,
    table: u64,
    n: u16,
    l: &Links,
) -> u32 {
    let mut k = 0;
    for &i in &l.indices {
        let next = other_than(n, i, &l.indices).unwrap_or(i);
        k += u32::from(set_next(mem, window, desc_at(table, i), next));
    }
    if let Some((t, len)) = l.indirect {
        let count = (u64::from(len) / DESC_SIZE).min(u64::from(u16::MAX)) as u16;
        for j in 0..count {
            let next = ((u32::from(j) + 1) % u32::from(count.max(2))) as u16;
            k += u32::from(set_next(mem, window, desc_at(t, j), next));
        }
    }
    k
}

/// The heads the driver has made available past `next_avail`, with their
/// slots: chains in flight the backend has not taken yet. None if the
/// driver claims more than a ring's worth.
pub fn available<M: GuestMemory>(mem: &M, queue: &Queue) -> Option<Vec<(u16, u16)>> {
    let end = queue.avail_idx(mem, Ordering::Acquire).ok()?.0;
    let start = queue.next_avail();
    let count = end.wrapping_sub(start);
    if count > queue.size() {
        return None;
    }
    (0..count)
        .map(|k| {
            let slot = start.wrapping_add(k);
            let at = avail_elem(queue, slot)?;
            let head: u16 = mem.load(GuestAddress(at), Ordering::Acquire).ok()?;
            Some((slot, u16::from_le(head)))
        })
        .collect()
}

/// used-head: a descriptor that heads no chain in flight: the second one
/// of the chain just completed if the main table holds one (an indirect
/// chain has none), else the first index past the head that heads no
/// pending chain.
pub fn not_a_head(n: u16, head: u16, done: &Links, pending_heads: &[u16]) -> Option<u16> {
    if let Some(&second) = done.indices.get(1) {
        return Some(second);
    }
    let mut taken = pending_heads.to_vec();
    taken.push(head);
    other_than(n, head, &taken)
}

/// used-phantom: a descriptor no chain in flight uses, nor the one just
/// completed, looked for from half a ring past the head.
pub fn phantom(n: u16, head: u16, busy: &[u16]) -> Option<u16> {
    let start = ((u32::from(head) + u32::from(n) / 2) % u32::from(n.max(1))) as u16;
    std::iter::once(start)
        .chain((1..u32::from(n)).map(|d| ((u32::from(start) + d) % u32::from(n)) as u16))
        .find(|i| !busy.contains(i))
}

/// The data a chain carries: the device-readable bytes after the request
/// header, the device-writable ones before the status byte.
pub fn data(chain: &[Desc]) -> Ranges {
    let (mut readable, mut writable) = blk::buffers(chain);
    // The status byte is the last writable one.
    if let Some(last) = writable.last_mut() {
        last.1 -= 1;
    }
    readable.append(&mut writable);
    readable.retain(|r| r.1 > 0);
    readable
}

/// `[start, end)` of `piece` less every range of `keep`.
fn subtract(piece: (u64, u64), keep: &[(u64, u64)]) -> Vec<(u64, u64)> {
    let mut left = vec![piece];
    for &(a, l) in keep {
        let (ks, ke) = (a, a.saturating_add(l));
        left = left
            .into_iter()
            .flat_map(|(s, e)| {
                if ke <= s || e <= ks {
                    vec![(s, e)]
                } else {
                    [(s, ks), (ke, e)]
                        .into_iter()
                        .filter(|(s, e)| s < e)
                        .collect()
                }
            })
            .collect();
    }
    left
}

/// Writes the pattern over `ranges` where they lie in the window and in
/// none of `keep`. Returns the bytes written.
pub fn fill<M: GuestMemory>(
    mem: &M,
    window: &Window,
    ranges: &[(u64, u64)],
    keep: &[(u64, u64)],
) -> u64 {
    const CHUNK: [u8; 4096] = [PATTERN; 4096];
    let mut written = 0;
    for &(a, l) in ranges {
        let (s, e) = (a.max(window.base), a.saturating_add(l).min(window.end()));
        if s >= e {
            continue;
        }
        for (mut s, e) in subtract((s, e), keep) {
            while s < e {
                let k = (e - s).min(CHUNK.len() as u64);
                if mem
                    .write_slice(&CHUNK[..k as usize], GuestAddress(s))
                    .is_err()
                {
                    break;
                }
                written += k;
                s += k;
            }
        }
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;
    use vm_memory::GuestMemoryMmap;

    const W: Window = Window {
        base: 0x5000_0000,
        size: 0x10_0000,
    };

    /// The window and 64 KiB either side of it.
    fn mem() -> GuestMemoryMmap {
        GuestMemoryMmap::from_ranges(&[(
            GuestAddress(W.base - 0x1_0000),
            W.size as usize + 0x2_0000,
        )])
        .unwrap()
    }

    fn bytes(m: &GuestMemoryMmap, a: u64, l: usize) -> Vec<u8> {
        let mut b = vec![0u8; l];
        m.read_slice(&mut b, GuestAddress(a)).unwrap();
        b
    }

    #[test]
    fn modes_parse_by_name_only() {
        for m in Mode::ALL {
            assert_eq!(m.name().parse::<Mode>(), Ok(m));
        }
        let e = "used_len".parse::<Mode>().unwrap_err();
        assert!(e.contains("used-len, used-id, used-head, used-twice, used-phantom, desc-flags, scribble, after"), "{e}");
    }

    #[test]
    fn due_from_the_nth_completion_per_queue() {
        let h = Hostile::new(Mode::After, 2, 2);
        assert!(!h.due(0));
        h.completed(0);
        assert!(!h.due(0));
        h.completed(0);
        assert!(h.due(0) && !h.due(1));
        h.restart(0);
        assert!(!h.due(0));
        assert!(!h.due(7));
        assert!(Hostile::new(Mode::After, 0, 1).due(0));
        h.applied_once();
        assert_eq!(h.summary(), "hostile after: applied 1 times");
    }

    #[test]
    fn fill_stays_in_the_window_and_off_what_it_keeps() {
        let m = mem();
        // From 16 bytes below the window to 16 bytes in, and a range that
        // crosses the top; keep 4 bytes in the middle of a third.
        let ranges = [(W.base - 16, 32), (W.end() - 8, 24), (W.base + 0x1000, 100)];
        let n = fill(&m, &W, &ranges, &[(W.base + 0x1010, 4)]);
        assert_eq!(n, 16 + 8 + 96);
        assert_eq!(bytes(&m, W.base - 16, 16), [0; 16]);
        assert_eq!(bytes(&m, W.base, 16), [PATTERN; 16]);
        assert_eq!(bytes(&m, W.end() - 8, 8), [PATTERN; 8]);
        assert_eq!(bytes(&m, W.end(), 16), [0; 16]);
        assert_eq!(bytes(&m, W.base + 0x1000, 16), [PATTERN; 16]);
        assert_eq!(bytes(&m, W.base + 0x1010, 4), [0; 4]);
        assert_eq!(bytes(&m, W.base + 0x1014, 80), [PATTERN; 80]);
        assert_eq!(bytes(&m, W.base + 0x1064, 4), [0; 4]);
    }

    #[test]
    fn data_is_the_chain_without_header_and_status() {
        let d = |addr, len, write| Desc { addr, len, write };
        let chain = [
            d(0x1000, 16 + 512, false),
            d(0x3000, 0, true),
            d(0x2000, 513, true),
        ];
        assert_eq!(data(&chain), vec![(0x1010, 512), (0x2000, 512)]);
        let flush = [d(0x1000, 16, false), d(0x2000, 1, true)];
        assert!(data(&flush).is_empty());
    }

    /// A queue of 8 whose used ring is at `used`.
    fn queue(used: u64) -> Queue {
        let mut q = Queue::new(8).unwrap();
        q.try_set_used_ring_address(GuestAddress(used)).unwrap();
        q
    }

    #[test]
    fn push_used_entry_fence_idx_and_only_in_the_window() {
        let m = mem();
        let mut q = queue(W.base + 0x100);
        q.set_next_used(7);
        assert!(push_used(&m, &W, &mut q, 15, 0x1234));
        // Entry 7 (the last of 8), then idx 8, and next_used with it.
        assert_eq!(
            bytes(&m, W.base + 0x100 + 4 + 7 * 8, 8),
            [15, 0, 0, 0, 0x34, 0x12, 0, 0]
        );
        assert_eq!(bytes(&m, W.base + 0x102, 2), [8, 0]);
        assert_eq!(q.next_used(), 8);
        assert!(push_used(&m, &W, &mut q, 1, 0));
        assert_eq!(bytes(&m, W.base + 0x104, 4), [1, 0, 0, 0]);
        assert_eq!(bytes(&m, W.base + 0x102, 2), [9, 0]);
        // A used ring below the window (--audit maps it): not written.
        let mut q = queue(W.base - 0x1000);
        assert!(!push_used(&m, &W, &mut q, 15, 0));
        assert_eq!(bytes(&m, W.base - 0x1000, 12), [0; 12]);
        assert_eq!(q.next_used(), 0);
        assert!(!next_used_in_window(&W, &q));
    }

    #[test]
    fn index_choices() {
        let direct = Links {
            indices: vec![4, 5, 6],
            indirect: None,
        };
        assert_eq!(not_a_head(8, 4, &direct, &[]), Some(5));
        let ind = Links {
            indices: vec![4],
            indirect: Some((0x1000, 48)),
        };
        assert_eq!(not_a_head(8, 4, &ind, &[5, 6]), Some(7));
        assert_eq!(phantom(8, 1, &[1, 5, 6]), Some(7));
        assert_eq!(phantom(8, 1, &[0, 1, 2, 3, 4, 5, 6, 7]), None);
        assert_eq!(other_than(8, 7, &[7, 0]), Some(1));
    }
}
