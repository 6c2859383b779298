// SPDX-License-Identifier: GPL-2.0
//! One queue's service: take each chain the driver made available, serve
//! it, complete it in the used ring, notify. --find searches a chain
//! before it is served; --hostile acts around its completion.

use std::collections::VecDeque;

use vhost_user_backend::VringState;
use virtio_queue::{Queue, QueueT};
use vm_memory::{GuestAddressSpace, GuestMemory};

use crate::blk::{self, ChainError, Desc, Disk};
use crate::hostile::{self, Hostile, Links, Mode};
use crate::marker::Marker;
use crate::window::Accounting;

/// A queue as served: virtio-queue's state and the driver's doorbell.
pub trait Ring {
    /// virtio-queue's state of the queue.
    fn queue(&mut self) -> &mut Queue;
    /// Tells the driver there are used entries (the call eventfd).
    fn signal(&mut self);
}

impl<M: GuestAddressSpace> Ring for VringState<M> {
    fn queue(&mut self) -> &mut Queue {
        self.get_queue_mut()
    }

    fn signal(&mut self) {
        let _ = self.signal_used_queue();
    }
}

/// What serving a queue needs besides the queue.
pub struct Ctx<'a> {
    /// The window and its counters.
    pub acct: &'a Accounting,
    /// The image served.
    pub disk: &'a dyn Disk,
    /// VIRTIO_RING_F_INDIRECT_DESC negotiated.
    pub indirect: bool,
    /// --hostile, if given.
    pub hostile: Option<&'a Hostile>,
    /// --find, if given.
    pub marker: Option<&'a Marker>,
}

/// A chain taken off the available ring, walked.
struct Taken {
    /// Its position in the available ring (free-running).
    slot: u16,
    head: u16,
    chain: Result<Vec<Desc>, ChainError>,
    /// Its main-table descriptors (read only with --hostile).
    links: Links,
}

fn take<M: GuestMemory>(
    ctx: &Ctx,
    mem: &M,
    q: usize,
    queue: &Queue,
    slot: u16,
    head: u16,
) -> Taken {
    let (table, n) = (queue.desc_table(), queue.size());
    // Before it is served: once completed, the guest may reuse them.
    let links = match ctx.hostile {
        Some(_) => hostile::links(mem, table, n, head),
        None => Links::default(),
    };
    Taken {
        slot,
        head,
        chain: blk::walk_chain(mem, ctx.acct, q, table, n, head, ctx.indirect),
        links,
    }
}

/// Serves queue `q` until the driver has nothing more available.
pub fn serve_ring<M: GuestMemory, R: Ring>(ctx: &Ctx, mem: &M, q: usize, ring: &mut R) {
    let event_idx = ring.queue().event_idx_enabled();
    // Chains taken ahead of their turn (scribble): served first.
    let mut ahead = VecDeque::new();
    loop {
        if event_idx && ring.queue().disable_notification(mem).is_err() {
            return;
        }
        loop {
            let t = match ahead.pop_front() {
                Some(t) => t,
                None => {
                    let Some(chain) = ring.queue().pop_descriptor_chain(mem) else {
                        break;
                    };
                    let queue = ring.queue();
                    let slot = queue.next_avail().wrapping_sub(1);
                    take(ctx, mem, q, queue, slot, chain.head_index())
                }
            };
            if !complete(ctx, mem, q, ring, t, &mut ahead) {
                return;
            }
        }
        if !event_idx {
            break;
        }
        match ring.queue().enable_notification(mem) {
            Ok(true) => continue,
            _ => break,
        }
    }
}

/// Serves one chain and completes it; false if the used ring could not
/// be written.
fn complete<M: GuestMemory, R: Ring>(
    ctx: &Ctx,
    mem: &M,
    q: usize,
    ring: &mut R,
    t: Taken,
    ahead: &mut VecDeque<Taken>,
) -> bool {
    let acct = ctx.acct;
    let w = &acct.window;
    let mode = ctx.hostile.filter(|h| h.due(q)).map(|h| h.mode);
    if let (Some(m), Ok(chain)) = (ctx.marker, &t.chain) {
        m.scan(mem, acct, chain);
    }
    let mut applied = false;
    if mode == Some(Mode::Scribble) {
        applied = scribble(ctx, mem, q, ring.queue(), &t, ahead);
    }
    let used = match &t.chain {
        Ok(descs) => blk::serve(mem, acct, ctx.disk, q, descs),
        Err(ChainError::Outside) => 0,
        Err(ChainError::Malformed(e)) => {
            acct.say(&format!(
                "queue {q}: bad descriptor chain at head {}: {e}",
                t.head
            ));
            0
        }
    };
    let queue = ring.queue();
    let (table, n) = (queue.desc_table(), queue.size());
    if mode == Some(Mode::DescFlags) {
        applied = hostile::link_past_end(mem, w, table, n, &t.links) > 0;
    }
    let len = if mode == Some(Mode::UsedLen) && hostile::next_used_in_window(w, queue) {
        applied = true;
        u32::MAX
    } else {
        used
    };
    if queue.add_used(mem, t.head, len).is_err() {
        acct.say(&format!("queue {q}: cannot write the used ring"));
        return false;
    }
    // The lies go after the real completion, which the guest sees first.
    let lie = match mode {
        Some(Mode::UsedId) => Some(u32::from(n) + 7),
        Some(Mode::UsedTwice) => Some(u32::from(t.head)),
        Some(Mode::UsedHead) => {
            let heads: Vec<u16> = pending(mem, queue, ahead).iter().map(|p| p.0).collect();
            hostile::not_a_head(n, t.head, &t.links, &heads).map(u32::from)
        }
        Some(Mode::UsedPhantom) => {
            let mut busy = t.links.indices.clone();
            busy.push(t.head);
            for (head, l) in pending(mem, queue, ahead) {
                busy.push(head);
                busy.extend(l.indices);
            }
            hostile::phantom(n, t.head, &busy).map(u32::from)
        }
        _ => None,
    };
    let twice = mode == Some(Mode::UsedTwice);
    let lied =
        lie.is_some_and(|id| hostile::push_used(mem, w, queue, id, if twice { len } else { 0 }));
    applied |= lied;
    // virtio-queue's EVENT_IDX arithmetic counts only its own entries:
    // a lie is always signalled.
    if queue.needs_notification(mem).unwrap_or(true) || lied {
        ring.signal();
    }
    if let (Some(Mode::After), Ok(chain)) = (mode, &t.chain) {
        applied = hostile::fill(mem, w, &hostile::data(chain), &[]) > 0;
    }
    if let Some(h) = ctx.hostile {
        h.completed(q);
        if applied {
            h.applied_once();
        }
    }
    true
}

/// The chains in flight that are not being served: those taken ahead and
/// those still in the available ring, as (head, main-table links).
fn pending<M: GuestMemory>(mem: &M, queue: &Queue, ahead: &VecDeque<Taken>) -> Vec<(u16, Links)> {
    let (table, n) = (queue.desc_table(), queue.size());
    let mut p: Vec<(u16, Links)> = ahead.iter().map(|t| (t.head, t.links.clone())).collect();
    for (_, head) in hostile::available(mem, queue).unwrap_or_default() {
        p.push((head, hostile::links(mem, table, n, head)));
    }
    p
}

/// scribble: the pattern over the data of every other chain in flight,
/// over their descriptors (main and indirect tables), and over the avail
/// ring entries of every chain in flight, this one's included. Not over
/// this chain, the used ring, the avail ring's flags, idx and used_event.
///
/// Every chain available is taken first and served afterwards from what
/// was read here, as a host that keeps its own copy would: the guest still
/// gets its completions, and the backend never reads back its own pattern
/// (which it would count as the guest's accesses outside the window).
/// Free descriptors and the slots of chains already completed are left
/// alone: the guest may be filling them right now for its next request.
fn scribble<M: GuestMemory>(
    ctx: &Ctx,
    mem: &M,
    q: usize,
    queue: &mut Queue,
    cur: &Taken,
    ahead: &mut VecDeque<Taken>,
) -> bool {
    if let Some(avail) = hostile::available(mem, queue) {
        for &(slot, head) in &avail {
            ahead.push_back(take(ctx, mem, q, queue, slot, head));
        }
        queue.set_next_avail(queue.next_avail().wrapping_add(avail.len() as u16));
    }
    let (table, n) = (queue.desc_table(), u64::from(queue.size()));
    let descs = |t: &Taken| -> Vec<(u64, u64)> {
        let mut v: Vec<(u64, u64)> = t
            .links
            .indices
            .iter()
            .map(|&i| (hostile::desc_at(table, i), 16))
            .collect();
        v.extend(t.links.indirect.map(|(a, l)| (a, u64::from(l))));
        v
    };
    let avail = queue.avail_ring();
    let mut keep = vec![
        (queue.used_ring(), 6 + 8 * n),
        (avail, 4),
        (avail.saturating_add(4 + 2 * n), 2),
    ];
    keep.extend(descs(cur));
    if let Ok(c) = &cur.chain {
        keep.extend(c.iter().map(|d| (d.addr, u64::from(d.len))));
    }
    let mut targets = Vec::new();
    for t in ahead.iter() {
        if let Ok(c) = &t.chain {
            targets.extend(hostile::data(c));
        }
        targets.extend(descs(t));
    }
    targets.extend(
        std::iter::once(cur.slot)
            .chain(ahead.iter().map(|t| t.slot))
            .filter_map(|s| hostile::avail_elem(queue, s))
            .map(|a| (a, 2)),
    );
    hostile::fill(mem, &ctx.acct.window, &targets, &keep) > 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blk::MemDisk;
    use crate::hostile::PATTERN;
    use crate::window::tests::Captured;
    use crate::window::Window;
    use std::sync::Mutex;
    use virtio_bindings::virtio_blk::{
        VIRTIO_BLK_S_OK, VIRTIO_BLK_T_FLUSH, VIRTIO_BLK_T_IN, VIRTIO_BLK_T_OUT,
    };
    use virtio_bindings::virtio_ring::{
        VRING_DESC_F_INDIRECT, VRING_DESC_F_NEXT, VRING_DESC_F_WRITE,
    };
    use vm_memory::{Bytes, GuestAddress, GuestMemoryMmap};

    const W: Window = Window {
        base: 0x5000_0000,
        size: 0x10_0000,
    };
    const N: u16 = 16;
    const DESC: u64 = W.base;
    const AVAIL: u64 = W.base + 0x1000;
    const USED: u64 = W.base + 0x2000;
    /// Request k: header at HDR + 0x20k, status at STATUS + k, data at
    /// DATA + 0x2000k, indirect table (if any) at IND + 0x100k.
    const HDR: u64 = W.base + 0x3000;
    const STATUS: u64 = W.base + 0x4000;
    const IND: u64 = W.base + 0x5000;
    const DATA: u64 = W.base + 0x1_0000;
    const NEXT: u32 = VRING_DESC_F_NEXT;
    const WRITE: u32 = VRING_DESC_F_WRITE;

    /// The window and 64 KiB either side, as --audit maps it; the
    /// backend's writes are checked against the window, not the map.
    struct Guest {
        mem: GuestMemoryMmap,
        avail_idx: u16,
    }

    struct TestRing {
        queue: Queue,
        signals: u32,
    }

    impl Ring for TestRing {
        fn queue(&mut self) -> &mut Queue {
            &mut self.queue
        }
        fn signal(&mut self) {
            self.signals += 1;
        }
    }

    fn ring() -> TestRing {
        let mut queue = Queue::new(N).unwrap();
        queue.set_size(N);
        queue
            .try_set_desc_table_address(GuestAddress(DESC))
            .unwrap();
        queue
            .try_set_avail_ring_address(GuestAddress(AVAIL))
            .unwrap();
        queue.try_set_used_ring_address(GuestAddress(USED)).unwrap();
        queue.set_ready(true);
        TestRing { queue, signals: 0 }
    }

    impl Guest {
        fn new() -> Self {
            let mem = GuestMemoryMmap::from_ranges(&[(
                GuestAddress(W.base - 0x1_0000),
                W.size as usize + 0x2_0000,
            )])
            .unwrap();
            Guest { mem, avail_idx: 0 }
        }

        fn put(&self, at: u64, b: &[u8]) {
            self.mem.write_slice(b, GuestAddress(at)).unwrap();
        }

        fn get(&self, at: u64, len: usize) -> Vec<u8> {
            let mut b = vec![0u8; len];
            self.mem.read_slice(&mut b, GuestAddress(at)).unwrap();
            b
        }

        fn u16_at(&self, at: u64) -> u16 {
            u16::from_le_bytes(self.get(at, 2).try_into().unwrap())
        }

        fn desc(&self, table: u64, i: u16, addr: u64, len: u32, flags: u32, next: u16) {
            let mut raw = [0u8; 16];
            raw[0..8].copy_from_slice(&addr.to_le_bytes());
            raw[8..12].copy_from_slice(&len.to_le_bytes());
            raw[12..14].copy_from_slice(&(flags as u16).to_le_bytes());
            raw[14..16].copy_from_slice(&next.to_le_bytes());
            self.put(table + u64::from(i) * 16, &raw);
        }

        /// (flags, next) of a descriptor.
        fn flags_next(&self, table: u64, i: u16) -> (u32, u16) {
            let at = table + u64::from(i) * 16;
            (u32::from(self.u16_at(at + 12)), self.u16_at(at + 14))
        }

        /// Writes request k's header and lays it out from descriptor `at`
        /// of `table`: header, `len` bytes of data at `data`, status.
        fn request(&self, table: u64, at: u16, k: u64, t: u32, data: u64, len: u32) {
            let mut h = [0u8; 16];
            h[0..4].copy_from_slice(&t.to_le_bytes());
            h[8..16].copy_from_slice(&k.to_le_bytes()); // sector k
            self.put(HDR + 0x20 * k, &h);
            let w = if t == VIRTIO_BLK_T_IN { WRITE } else { 0 };
            self.desc(table, at, HDR + 0x20 * k, 16, NEXT, at + 1);
            self.desc(table, at + 1, data, len, NEXT | w, at + 2);
            self.desc(table, at + 2, STATUS + k, 1, WRITE, 0);
        }

        /// Request k in descriptors 3k..3k+2, data in its own place.
        fn direct(&self, k: u16, t: u32, len: u32) -> u16 {
            let d = DATA + 0x2000 * u64::from(k);
            self.request(DESC, 3 * k, k.into(), t, d, len);
            3 * k
        }

        /// Request k through an indirect table in descriptor `i`.
        fn indirect(&self, i: u16, k: u16, t: u32, len: u32) -> u16 {
            let (d, ind) = (DATA + 0x2000 * u64::from(k), IND + 0x100 * u64::from(k));
            self.request(ind, 0, k.into(), t, d, len);
            self.desc(DESC, i, ind, 48, VRING_DESC_F_INDIRECT, 0);
            i
        }

        fn publish(&mut self, head: u16) {
            let slot = AVAIL + 4 + u64::from(self.avail_idx % N) * 2;
            self.put(slot, &head.to_le_bytes());
            self.avail_idx = self.avail_idx.wrapping_add(1);
            self.put(AVAIL + 2, &self.avail_idx.to_le_bytes());
        }

        fn used_idx(&self) -> u16 {
            self.u16_at(USED + 2)
        }

        /// The used ring's entries, up to its idx.
        fn used(&self) -> Vec<(u32, u32)> {
            (0..self.used_idx())
                .map(|k| {
                    let e = self.get(USED + 4 + u64::from(k % N) * 8, 8);
                    (
                        u32::from_le_bytes(e[..4].try_into().unwrap()),
                        u32::from_le_bytes(e[4..].try_into().unwrap()),
                    )
                })
                .collect()
        }

        fn status(&self, k: u64) -> u8 {
            self.get(STATUS + k, 1)[0]
        }
    }

    struct Host {
        acct: Accounting,
        out: Captured,
        disk: MemDisk,
        hostile: Option<Hostile>,
        marker: Option<Marker>,
    }

    fn host(audit: bool, hostile: Option<(Mode, u64)>) -> Host {
        let out = Captured::default();
        Host {
            acct: Accounting::new(W, audit, Box::new(out.clone())),
            out,
            disk: MemDisk(Mutex::new(
                (0..64 * 512).map(|i| (i * 7 % 251) as u8).collect(),
            )),
            hostile: hostile.map(|(m, from)| Hostile::new(m, from, 1)),
            marker: None,
        }
    }

    impl Host {
        fn serve(&self, g: &Guest, r: &mut TestRing) {
            let ctx = Ctx {
                acct: &self.acct,
                disk: &self.disk,
                indirect: true,
                hostile: self.hostile.as_ref(),
                marker: self.marker.as_ref(),
            };
            serve_ring(&ctx, &g.mem, 0, r);
        }

        fn applied(&self) -> u64 {
            self.hostile.as_ref().unwrap().applied()
        }

        fn sector(&self, s: usize, len: usize) -> Vec<u8> {
            self.disk.0.lock().unwrap()[s * 512..s * 512 + len].to_vec()
        }
    }

    const OK: u8 = VIRTIO_BLK_S_OK as u8;

    #[test]
    fn honest_without_options() {
        let (mut g, mut r, h) = (Guest::new(), ring(), host(false, None));
        let h0 = g.direct(0, VIRTIO_BLK_T_IN, 512);
        let h1 = g.direct(1, VIRTIO_BLK_T_OUT, 512);
        g.publish(h0);
        g.publish(h1);
        h.serve(&g, &mut r);
        assert_eq!(g.used(), [(0, 513), (3, 1)]);
        assert_eq!(r.signals, 2);
        assert_eq!(g.get(DATA, 512), h.sector(0, 512));
        assert_eq!((g.status(0), g.status(1)), (OK, OK));
        assert_eq!(h.out.text(), "");
        assert_eq!(h.acct.requests(), 2);
    }

    #[test]
    fn used_len_from_the_nth_request() {
        let (mut g, mut r, h) = (Guest::new(), ring(), host(false, Some((Mode::UsedLen, 2))));
        for k in 0..3 {
            let head = g.direct(k, VIRTIO_BLK_T_IN, 512);
            g.publish(head);
        }
        h.serve(&g, &mut r);
        assert_eq!(g.used(), [(0, 513), (3, 513), (6, u32::MAX)]);
        assert_eq!(h.applied(), 1);
        // The data is served all the same.
        assert_eq!(g.get(DATA + 0x4000, 512), h.sector(2, 512));
    }

    #[test]
    fn used_twice_after_the_real_one() {
        let (mut g, mut r, h) = (
            Guest::new(),
            ring(),
            host(false, Some((Mode::UsedTwice, 1))),
        );
        let h0 = g.direct(0, VIRTIO_BLK_T_IN, 512);
        let h1 = g.direct(1, VIRTIO_BLK_T_OUT, 512);
        g.publish(h0);
        g.publish(h1);
        h.serve(&g, &mut r);
        assert_eq!(g.used(), [(0, 513), (3, 1), (3, 1)]);
        assert_eq!(r.queue.next_used(), 3);
        // Every later one is completed twice too, after the entries
        // before it, none overwritten.
        let h2 = g.direct(2, VIRTIO_BLK_T_IN, 512);
        g.publish(h2);
        h.serve(&g, &mut r);
        assert_eq!(g.used(), [(0, 513), (3, 1), (3, 1), (6, 513), (6, 513)]);
        assert_eq!(h.applied(), 2);
    }

    #[test]
    fn used_id_out_of_range_then_honest_entries_after_it() {
        let (mut g, mut r, h) = (Guest::new(), ring(), host(false, Some((Mode::UsedId, 0))));
        let h0 = g.direct(0, VIRTIO_BLK_T_IN, 512);
        g.publish(h0);
        h.serve(&g, &mut r);
        assert_eq!(g.used(), [(0, 513), (u32::from(N) + 7, 0)]);
        assert_eq!((r.queue.next_used(), g.used_idx()), (2, 2));
        let h1 = g.direct(1, VIRTIO_BLK_T_OUT, 512);
        g.publish(h1);
        h.serve(&g, &mut r);
        assert_eq!(g.used(), [(0, 513), (23, 0), (3, 1), (23, 0)]);
        assert_eq!(h.applied(), 2);
        assert!(r.signals >= 2);
    }

    #[test]
    fn used_head_names_a_descriptor_that_heads_nothing() {
        // Direct: the chain's second descriptor.
        let (mut g, mut r, h) = (Guest::new(), ring(), host(false, Some((Mode::UsedHead, 0))));
        let h0 = g.direct(0, VIRTIO_BLK_T_IN, 512);
        g.publish(h0);
        h.serve(&g, &mut r);
        assert_eq!(g.used(), [(0, 513), (1, 0)]);
        // Indirect (one main-table descriptor each): heads 5 and 6 in
        // flight together, the lie for 5 names neither.
        let (mut g, mut r, h) = (Guest::new(), ring(), host(false, Some((Mode::UsedHead, 0))));
        g.indirect(5, 0, VIRTIO_BLK_T_IN, 512);
        g.indirect(6, 1, VIRTIO_BLK_T_IN, 512);
        g.publish(5);
        g.publish(6);
        h.serve(&g, &mut r);
        assert_eq!(g.used(), [(5, 513), (7, 0), (6, 513), (7, 0)]);
        assert_eq!(h.applied(), 2);
    }

    #[test]
    fn used_phantom_names_a_descriptor_not_in_flight() {
        let (mut g, mut r, h) = (
            Guest::new(),
            ring(),
            host(false, Some((Mode::UsedPhantom, 0))),
        );
        // Two chains in flight, 0-2 and 3-5; and 8 is in a third.
        let h0 = g.direct(0, VIRTIO_BLK_T_IN, 512);
        let h1 = g.direct(1, VIRTIO_BLK_T_IN, 512);
        g.request(DESC, 7, 2, VIRTIO_BLK_T_IN, DATA + 0x4000, 512);
        g.publish(h0);
        g.publish(h1);
        g.publish(7);
        h.serve(&g, &mut r);
        let used = g.used();
        assert_eq!(used.len(), 6);
        let (real, lies): (Vec<_>, Vec<_>) = used.iter().enumerate().partition(|(i, _)| i % 2 == 0);
        assert_eq!(real.iter().map(|e| e.1 .0).collect::<Vec<_>>(), [0, 3, 7]);
        // Looked for from half a ring past the head, past what is in
        // flight: for 0, not 0-5 nor 7-9; for 3, not 3-5 nor 7-9; for 7,
        // not 7-9.
        let lies: Vec<u32> = lies.iter().map(|e| e.1 .0).collect();
        assert_eq!(lies, [10, 11, 15]);
        assert!(lies.iter().all(|&id| id < u32::from(N)));
        assert_eq!(h.applied(), 3);
    }

    #[test]
    fn desc_flags_links_every_descriptor_past_the_end() {
        let (mut g, mut r, h) = (
            Guest::new(),
            ring(),
            host(false, Some((Mode::DescFlags, 0))),
        );
        let h0 = g.direct(0, VIRTIO_BLK_T_IN, 512);
        g.indirect(5, 1, VIRTIO_BLK_T_OUT, 512);
        g.publish(h0);
        g.publish(5);
        h.serve(&g, &mut r);
        assert_eq!(g.used(), [(0, 513), (5, 1)]);
        // Direct: 0 and 1 as they were, 2 (the last) now links on to 3.
        assert_eq!(g.flags_next(DESC, 0), (NEXT, 1));
        assert_eq!(g.flags_next(DESC, 1), (NEXT | WRITE, 2));
        assert_eq!(g.flags_next(DESC, 2), (NEXT | WRITE, 3));
        // Indirect: the head and every entry of its table.
        assert_eq!(g.flags_next(DESC, 5), (VRING_DESC_F_INDIRECT | NEXT, 6));
        let ind = IND + 0x100;
        assert_eq!(g.flags_next(ind, 0), (NEXT, 1));
        assert_eq!(g.flags_next(ind, 1), (NEXT, 2));
        assert_eq!(g.flags_next(ind, 2), (NEXT | WRITE, 0));
        // Descriptors outside those chains untouched.
        assert_eq!(g.flags_next(DESC, 3), (0, 0));
        assert_eq!(h.applied(), 2);
    }

    #[test]
    fn scribble_over_the_others_only_in_the_window() {
        // --audit: the backend may read all of this memory, yet writes
        // only in the window. Three writes in flight at once; the third's
        // payload runs 2 KiB past the window's top.
        let (mut g, mut r, h) = (Guest::new(), ring(), host(true, Some((Mode::Scribble, 0))));
        g.put(DATA, &[0x33; 512]);
        g.put(DATA + 0x2000, &[0x11; 512]);
        g.put(W.end() - 0x800, &[0x22; 4096]);
        let h0 = g.direct(0, VIRTIO_BLK_T_OUT, 512);
        let h1 = g.direct(1, VIRTIO_BLK_T_OUT, 512);
        g.request(DESC, 6, 2, VIRTIO_BLK_T_OUT, W.end() - 0x800, 4096);
        let before = g.get(DESC, 9 * 16);
        g.publish(h0);
        g.publish(h1);
        g.publish(6);
        h.serve(&g, &mut r);
        // All three completed, from the backend's own copy.
        assert_eq!(g.used(), [(0, 1), (3, 1), (6, 1)]);
        assert_eq!((g.status(0), g.status(1), g.status(2)), (OK, OK, OK));
        // The first, served first, reached the disk whole: nothing was
        // written into the chain being served.
        assert_eq!(h.sector(0, 512), [0x33; 512]);
        assert_eq!(g.get(DESC, 48), before[..48]);
        // The others' payloads were overwritten before they were served,
        // in the window only.
        assert_eq!(h.sector(1, 512), [PATTERN; 512]);
        let third = h.sector(2, 4096);
        assert_eq!(third[..2048], [PATTERN; 2048]);
        assert_eq!(third[2048..], [0x22; 2048]);
        assert_eq!(g.get(W.end(), 2048), [0x22; 2048]);
        // Their descriptors, and the avail entries; not the avail idx,
        // not the free descriptors, not the headers.
        assert_eq!(g.get(DESC + 48, 96), [PATTERN; 96]);
        assert_eq!(g.get(DESC + 9 * 16, 16), [0; 16]);
        assert_eq!(g.get(AVAIL + 4, 6), [PATTERN; 6]);
        assert_eq!((g.u16_at(AVAIL), g.u16_at(AVAIL + 2)), (0, 3));
        assert_eq!(g.get(AVAIL + 10, 2), [0; 2]);
        assert_eq!(g.get(HDR + 0x20, 4), VIRTIO_BLK_T_OUT.to_le_bytes());
        assert_eq!(h.applied(), 3);
        // Counted once each (audit), none more for the backend's pattern.
        assert_eq!(h.acct.outside(), 1);
    }

    #[test]
    fn after_writes_late_into_the_buffers_in_the_window() {
        // --audit again: a read whose buffer runs 2 KiB past the window's
        // top, then a flush, which has no data.
        let (mut g, mut r, h) = (Guest::new(), ring(), host(true, Some((Mode::After, 0))));
        g.request(DESC, 0, 0, VIRTIO_BLK_T_IN, W.end() - 0x800, 4096);
        g.request(DESC, 3, 1, VIRTIO_BLK_T_FLUSH, DATA, 0);
        g.publish(0);
        g.publish(3);
        h.serve(&g, &mut r);
        assert_eq!(g.used(), [(0, 4097), (3, 1)]);
        assert_eq!(g.get(W.end() - 0x800, 2048), [PATTERN; 2048]);
        assert_eq!(g.get(W.end(), 2048), h.sector(0, 4096)[2048..]);
        assert_eq!((g.status(0), g.status(1)), (OK, OK));
        assert_eq!(g.get(HDR, 4), VIRTIO_BLK_T_IN.to_le_bytes());
        assert_eq!(h.applied(), 1);
    }

    #[test]
    fn lies_are_signalled_despite_event_idx() {
        for (mode, signals) in [(None, 0), (Some(Mode::UsedId), 1)] {
            let (mut g, mut r, h) = (Guest::new(), ring(), host(false, mode.map(|m| (m, 0))));
            r.queue.set_event_idx(true);
            // used_event far ahead: the driver wants no interrupt yet.
            g.put(AVAIL + 4 + 2 * u64::from(N), &100u16.to_le_bytes());
            let h0 = g.direct(0, VIRTIO_BLK_T_IN, 512);
            g.publish(h0);
            h.serve(&g, &mut r);
            assert_eq!(r.signals, signals, "{mode:?}");
        }
    }

    #[test]
    fn find_searches_before_the_device_writes() {
        let (mut g, mut r, mut h) = (Guest::new(), ring(), host(false, None));
        h.marker = Some(Marker::new(b"RECEIVE!".to_vec()));
        // A read into a buffer that holds the marker, a write of it.
        g.put(DATA + 100, b"RECEIVE!");
        g.put(DATA + 0x2000, b"RECEIVE!");
        let h0 = g.direct(0, VIRTIO_BLK_T_IN, 512);
        let h1 = g.direct(1, VIRTIO_BLK_T_OUT, 512);
        g.publish(h0);
        g.publish(h1);
        h.serve(&g, &mut r);
        let m = h.marker.as_ref().unwrap();
        assert_eq!((m.in_writable(), m.in_readable()), (1, 1));
        // The buffer holds the disk's bytes now: found before, not after.
        assert_eq!(g.get(DATA, 512), h.sector(0, 512));
        assert_eq!(&h.sector(1, 8), b"RECEIVE!");
    }
}
