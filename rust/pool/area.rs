// SPDX-License-Identifier: GPL-2.0

//! Slot bookkeeping of one area.
//!
//! Everything here runs with the area's lock held (the caller holds the
//! `&mut AreaState`), and knows nothing of other areas, of copying, or of
//! physical addresses beyond what a [`Request`] tells it.

use core::ops::DerefMut;

use super::stats::AreaCounters;
use super::tlb::{Block, Direction};
use super::{UnmapError, SEGMENT_SLOTS, SLOT_MASK, SLOT_SHIFT, SLOT_SIZE};

/// What a slot currently is. `Slot::meta` means something different for
/// each.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Not part of any mapping; `meta` is the free-run length.
    #[default]
    Free,
    /// Second or later slot of a mapping; `meta` is the distance back to the
    /// head.
    Tail,
    /// Head of a live streaming mapping, made for this direction; `meta` is
    /// its number of slots.
    Streaming(Direction),
    /// Head of a streaming mapping whose unmap is copying back. It is not
    /// live any more: nothing but that unmap can touch it.
    Unmapping,
    /// Head of a coherent allocation (`dma_alloc_coherent`); `meta` is its
    /// number of slots.
    Coherent,
    /// Head of a page allocation (`dma_alloc_pages`); `meta` is its number
    /// of slots.
    Pages,
}

impl Kind {
    /// Whether the slot is the head of a mapping or block.
    fn is_head(self) -> bool {
        !matches!(self, Kind::Free | Kind::Tail)
    }
}

impl From<Block> for Kind {
    fn from(b: Block) -> Self {
        match b {
            Block::Coherent => Kind::Coherent,
            Block::Pages => Kind::Pages,
        }
    }
}

/// Metadata of one slot (16 bytes).
///
/// The storage for an area is a slice of these, which the glue allocates
/// with [`Default`] values; [`AreaState::new`] and [`Pool::new`] initialize
/// them.
///
/// [`Pool::new`]: super::Pool::new
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Slot {
    /// Head of a streaming mapping: the original physical address, of the
    /// first mapped byte (not of the padding). Otherwise 0.
    orig: u64,
    /// Head: the mapped (streaming) or allocated (coherent) size in bytes,
    /// at most `SEGMENT_SIZE`. Otherwise 0.
    size: u32,
    /// Head: byte offset of the bounce address inside the head slot
    /// (`< SLOT_SIZE`). Otherwise 0.
    offset: u16,
    /// Free: number of free slots from this one to the first used slot, the
    /// end of the segment or the end of the area, whichever comes first
    /// (swiotlb's `list`), 1..=128. Tail: distance back to the head,
    /// 1..=127. Head: number of slots of the mapping, 1..=128.
    meta: u8,
    /// What the slot is.
    kind: Kind,
}

// The bookkeeping costs 16 bytes per 2 KiB slot (0.78%); `Kind` packs its
// direction into the one byte of its tag.
const _: () = assert!(core::mem::size_of::<Slot>() == 16);

impl Slot {
    const fn free(run: u8) -> Self {
        Self {
            orig: 0,
            size: 0,
            offset: 0,
            meta: run,
            kind: Kind::Free,
        }
    }

    const fn tail(back: u8) -> Self {
        Self {
            orig: 0,
            size: 0,
            offset: 0,
            meta: back,
            kind: Kind::Tail,
        }
    }

    /// A head slot. `size <= SEGMENT_SIZE`, `offset < SLOT_SIZE`,
    /// `nslots <= SEGMENT_SLOTS` (the callers check these first).
    pub(crate) fn head(kind: Kind, orig: u64, size: usize, offset: u64, nslots: usize) -> Self {
        Self {
            orig,
            size: u32::try_from(size).unwrap_or(u32::MAX),
            offset: u16::try_from(offset).unwrap_or(u16::MAX),
            meta: small(nslots),
            kind,
        }
    }

    fn is_free(&self) -> bool {
        self.kind == Kind::Free
    }
}

/// A count of at most `SEGMENT_SLOTS` as the `u8` of [`Slot::meta`].
fn small(n: usize) -> u8 {
    // All callers pass at most `SEGMENT_SLOTS` (128): see the invariants.
    u8::try_from(n).unwrap_or(u8::MAX)
}

/// A search for free slots, built by the pool.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Request {
    /// Slots wanted, `1..=SEGMENT_SLOTS`.
    pub(crate) nslots: usize,
    /// Physical address of the area's first slot.
    pub(crate) area_phys: u64,
    /// What the device adds to a physical address to reach it (wrapping):
    /// the rules below are about the device's addresses (`dma-ranges`).
    pub(crate) dma_offset: u64,
    /// The first slot's DMA address `a` must have `a & match_mask ==
    /// match_bits` (`min_align_mask`, page and order alignment).
    pub(crate) match_mask: u64,
    /// See `match_mask`.
    pub(crate) match_bits: u64,
    /// The run must not cross a multiple of `boundary + 1` (the device's
    /// segment boundary mask, `dma_get_seg_boundary`).
    pub(crate) boundary: u64,
    /// The run's last DMA address must be at most this (the device's mask
    /// and bus limit).
    pub(crate) limit: u64,
    /// What to write into the head slot; its `meta` is `nslots`.
    pub(crate) head: Slot,
}

/// A mapping found from one of its slots.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Mapping {
    /// Index of the head slot in the area.
    pub(crate) head: usize,
    /// Kind of the head slot (never `Free` or `Tail`).
    pub(crate) kind: Kind,
    /// Original address (streaming).
    pub(crate) orig: u64,
    /// Mapped or allocated size in bytes.
    pub(crate) size: usize,
    /// Offset of the bounce address in the head slot.
    pub(crate) offset: u64,
}

/// The mutable state of one area: its slot descriptors, search position and
/// counters, over the storage `S` that the glue provides.
///
/// An area is a run of whole segments of the pool (the last area may end
/// with a partial one). Its state is only ever reached through its
/// [`AreaLock`], and only the pool changes it.
pub struct AreaState<S: DerefMut<Target = [Slot]>> {
    /// One descriptor per slot of the area.
    slots: S,
    /// Index in the pool of the area's first slot; segments are counted
    /// from the start of the pool.
    first: usize,
    /// Where the next search starts (swiotlb's `index`), `< slots.len()`
    /// (or 0).
    index: usize,
    // INVARIANT: `used` is the number of slots whose kind is not `Free`.
    /// Slots in use.
    used: usize,
    /// Counters of the area.
    pub(crate) counters: AreaCounters,
}

impl<S: DerefMut<Target = [Slot]>> AreaState<S> {
    /// Makes the state of an area over `slots`, whose length is the area's
    /// number of slots ([`AreaLayout::area_slots`]); the slots' previous
    /// contents do not matter, all of them become free.
    ///
    /// [`AreaLayout::area_slots`]: super::AreaLayout::area_slots
    pub fn new(slots: S) -> Self {
        let mut state = Self {
            slots,
            first: 0,
            index: 0,
            used: 0,
            counters: AreaCounters::new(),
        };
        state.format(0);
        state
    }

    /// Number of slots of the area.
    pub fn nslots(&self) -> usize {
        self.slots.len()
    }

    /// Number of slots in use in the area.
    pub fn used(&self) -> usize {
        self.used
    }

    /// Frees every slot, for an area whose first slot is slot `first` of
    /// the pool, and clears the counters.
    pub(crate) fn format(&mut self, first: usize) {
        self.first = first;
        self.index = 0;
        self.used = 0;
        self.counters = AreaCounters::new();
        let mut run = 0;
        for (i, slot) in self.slots.iter_mut().enumerate().rev() {
            // A run stops before the first slot of the next segment (and at
            // the end of the area, where `run` starts at 0).
            if first.wrapping_add(i).wrapping_add(1) & (SEGMENT_SLOTS - 1) == 0 {
                run = 0;
            }
            run += 1;
            *slot = Slot::free(small(run));
        }
        // INVARIANT: every slot is free, and `meta` is the number of slots
        // to the end of its segment or of the area; `used` is 0.
    }

    /// First slot of the segment holding slot `i`, clamped to the area.
    fn seg_start(&self, i: usize) -> usize {
        i - (self.first.wrapping_add(i) % SEGMENT_SLOTS).min(i)
    }

    /// One past the last slot of the segment holding slot `i`, clamped to
    /// the area.
    fn seg_end(&self, i: usize) -> usize {
        let into = self.first.wrapping_add(i) % SEGMENT_SLOTS;
        i.saturating_add(SEGMENT_SLOTS - into).min(self.slots.len())
    }

    /// Whether a mapping of `req` may start at slot `i`, as far as its
    /// addresses go (alignment, boundary, limit); not whether it is free.
    fn fits(req: &Request, i: usize) -> bool {
        let first = req
            .area_phys
            .wrapping_add(req.dma_offset)
            .wrapping_add((i as u64).wrapping_shl(SLOT_SHIFT));
        // `nslots <= SEGMENT_SLOTS`: the run is at most 256 KiB.
        let span = (req.nslots * SLOT_SIZE) as u64 - 1;
        let Some(last) = first.checked_add(span) else {
            return false;
        };
        first & req.match_mask == req.match_bits
            && (first ^ last) & !req.boundary == 0
            && last <= req.limit
    }

    /// Finds the first slot of a run of `req.nslots` free slots inside one
    /// segment whose addresses fit what `req` asks, starting at the
    /// rotating index. The search is complete: it fails only when no such
    /// run exists in the area.
    fn find(&self, req: &Request) -> Option<usize> {
        let len = self.slots.len();
        let need = req.nslots;
        if need == 0 || need > SEGMENT_SLOTS || need > len.saturating_sub(self.used) {
            return None;
        }
        let mut i = if self.index < len { self.index } else { 0 };
        let mut scanned = 0;
        while scanned < len {
            let slot = self.slots.get(i)?;
            let step = match slot.kind {
                Kind::Free => {
                    // INVARIANT (free runs): slots `i..i + run` are free and in
                    // one segment, and slot `i + run` is used, in the next
                    // segment or past the area. So every start in the run
                    // whose own run is long enough lies in
                    // `i..=i + run - need`, and no start in the run is worth
                    // trying again: skip the whole run.
                    let run = usize::from(slot.meta).max(1);
                    if run >= need {
                        if let Some(j) = (i..=i + (run - need)).find(|&j| Self::fits(req, j)) {
                            return Some(j);
                        }
                    }
                    run
                }
                Kind::Tail => {
                    // Started inside a mapping: skip to its end.
                    let back = usize::from(slot.meta);
                    let nslots = i
                        .checked_sub(back)
                        .and_then(|h| self.slots.get(h))
                        .map_or(0, |h| usize::from(h.meta));
                    nslots.saturating_sub(back).max(1)
                }
                _ => usize::from(slot.meta).max(1),
            };
            scanned += step;
            i += step;
            if i >= len {
                i = 0;
            }
        }
        None
    }

    /// Takes a run of slots for `req`; returns the index of its head slot.
    pub(crate) fn alloc(&mut self, req: &Request) -> Option<usize> {
        let start = self.find(req)?;
        let need = req.nslots;
        let end = start + need;
        let run = self.slots.get_mut(start..end)?;
        // INVARIANT: `find` returned a run of `need` free slots in one
        // segment; they become the head and its tails, each tail pointing
        // back to the head (`back < need <= SEGMENT_SLOTS`).
        for (back, slot) in run.iter_mut().enumerate() {
            *slot = Slot::tail(small(back));
        }
        if let Some(head) = run.first_mut() {
            *head = req.head;
            head.meta = small(need);
        }
        // The free slots just before the run, in its segment, now end at
        // the run: renumber them (swiotlb_search_pool_area's last loop).
        let seg_start = self.seg_start(start);
        let mut count = 0;
        if let Some(before) = self.slots.get_mut(seg_start..start) {
            for slot in before.iter_mut().rev() {
                if !slot.is_free() {
                    break;
                }
                count += 1;
                slot.meta = small(count);
            }
        }
        // INVARIANT: free runs hold again; `need` slots went from free to
        // used.
        self.used += need;
        self.index = if end >= self.slots.len() { 0 } else { end };
        Some(start)
    }

    /// Returns the run of slots whose head is slot `head` to the free pool;
    /// returns the number of slots freed (0 if `head` is not a head).
    pub(crate) fn release(&mut self, head: usize) -> usize {
        let (nslots, seg_start, seg_end) = match self.slots.get(head) {
            Some(h) if h.kind.is_head() => (
                usize::from(h.meta),
                self.seg_start(head),
                self.seg_end(head),
            ),
            _ => return 0,
        };
        let end = head + nslots;
        // INVARIANT (mappings): a mapping lies inside one segment, so
        // `end <= seg_end`.
        let mut count = if end < seg_end {
            match self.slots.get(end) {
                Some(next) if next.is_free() => usize::from(next.meta),
                _ => 0,
            }
        } else {
            0
        };
        let Some(run) = self.slots.get_mut(head..end) else {
            return 0;
        };
        // Merge the freed run with the free run after it...
        for slot in run.iter_mut().rev() {
            count += 1;
            *slot = Slot::free(small(count));
        }
        // ...and the free slots before it in the segment with both.
        if let Some(before) = self.slots.get_mut(seg_start..head) {
            for slot in before.iter_mut().rev() {
                if !slot.is_free() {
                    break;
                }
                count += 1;
                slot.meta = small(count);
            }
        }
        // INVARIANT: free runs hold again; `nslots` slots went from used to
        // free, and they were counted in `used`.
        self.used = self.used.saturating_sub(nslots);
        nslots
    }

    /// The mapping whose bounce address is `addr`, slot `i` of this area,
    /// whose kind `kind_ok` accepts and whose size is `size`: what an unmap
    /// or a free must name exactly. Anything else is refused: an address that
    /// is not where a live mapping starts (`NotMapped`, also for a mapping
    /// being unmapped), then the kind's error, then `SizeMismatch`.
    pub(crate) fn exact_mapping(
        &self,
        i: usize,
        addr: u64,
        size: usize,
        kind_ok: impl FnOnce(Kind) -> Result<(), UnmapError>,
    ) -> Result<Mapping, UnmapError> {
        let m = self
            .mapping_at(i)
            .filter(|m| m.head == i && m.offset == addr & SLOT_MASK && m.kind != Kind::Unmapping)
            .ok_or(UnmapError::NotMapped)?;
        kind_ok(m.kind)?;
        if m.size != size {
            return Err(UnmapError::SizeMismatch);
        }
        Ok(m)
    }

    /// Finds the mapping that slot `i` belongs to.
    pub(crate) fn mapping_at(&self, i: usize) -> Option<Mapping> {
        let slot = self.slots.get(i)?;
        let head = match slot.kind {
            Kind::Free => return None,
            Kind::Tail => i.checked_sub(usize::from(slot.meta))?,
            _ => i,
        };
        let h = self.slots.get(head)?;
        // INVARIANT (mappings): a tail's `meta` leads to its head.
        if !h.kind.is_head() {
            return None;
        }
        Some(Mapping {
            head,
            kind: h.kind,
            orig: h.orig,
            size: h.size as usize,
            offset: u64::from(h.offset),
        })
    }

    /// Changes the kind of the head slot `head` (between the head kinds).
    pub(crate) fn set_kind(&mut self, head: usize, kind: Kind) {
        if let Some(h) = self.slots.get_mut(head) {
            h.kind = kind;
        }
    }
}

#[cfg(any(test, feature = "fuzzing"))]
impl<S: DerefMut<Target = [Slot]>> AreaState<S> {
    /// A copy of the descriptors, for tests.
    pub(crate) fn snapshot(&self) -> (Vec<Slot>, usize, usize, AreaCounters) {
        (self.slots.to_vec(), self.index, self.used, self.counters)
    }

    /// Checks every invariant of the descriptors; returns what is broken.
    pub(crate) fn check(&self) -> Result<(), String> {
        let len = self.slots.len();
        let mut used = 0;
        let mut i = 0;
        while i < len {
            let s = self.slots[i];
            let seg_end = self.seg_end(i);
            match s.kind {
                Kind::Free => {
                    let mut run = 0;
                    while i + run < seg_end && self.slots[i + run].is_free() {
                        run += 1;
                    }
                    if usize::from(s.meta) != run {
                        return Err(format!("slot {i}: free run {} != {run}", s.meta));
                    }
                    if s.orig != 0 || s.size != 0 || s.offset != 0 {
                        return Err(format!("slot {i}: free slot with data {s:?}"));
                    }
                    i += 1;
                }
                Kind::Tail => return Err(format!("slot {i}: tail without head")),
                _ => {
                    let n = usize::from(s.meta);
                    if n == 0 || i + n > seg_end {
                        return Err(format!("slot {i}: mapping of {n} slots crosses segment"));
                    }
                    if usize::from(s.offset) >= super::SLOT_SIZE {
                        return Err(format!("slot {i}: offset {}", s.offset));
                    }
                    let bytes = usize::from(s.offset) + s.size as usize;
                    if s.size == 0 || super::layout::nr_slots(bytes) != n {
                        return Err(format!("slot {i}: {n} slots for {bytes} bytes"));
                    }
                    for k in 1..n {
                        let t = self.slots[i + k];
                        if t != Slot::tail(small(k)) {
                            return Err(format!("slot {}: bad tail {t:?}", i + k));
                        }
                    }
                    used += n;
                    i += n;
                }
            }
        }
        if used != self.used {
            return Err(format!("used {} != {used}", self.used));
        }
        if self.index >= len.max(1) {
            return Err(format!("index {} out of range", self.index));
        }
        Ok(())
    }
}

/// How the glue provides a lock around one area: the kernel a spinlock
/// taken with interrupts disabled (maps and unmaps come from any context),
/// the host tests a `std::sync::Mutex`.
///
/// The pool never calls back into itself, and never holds two area locks at
/// once, while a `with` closure runs; the closures are short (no copying).
pub trait AreaLock {
    /// The storage of the area's slot descriptors (e.g. a vmalloc'd vector).
    type Storage: DerefMut<Target = [Slot]>;

    /// Runs `f` on the area's state with the area locked, and returns what
    /// `f` returns.
    fn with<R>(&self, f: impl FnOnce(&mut AreaState<Self::Storage>) -> R) -> R;
}
