// SPDX-License-Identifier: GPL-2.0

//! Slot bookkeeping of one area.
//!
//! Everything here runs with the area's lock held (the caller holds the
//! `&mut AreaState`), and knows nothing of other areas, of copying, or of
//! physical addresses beyond what a [`Request`] tells it.
//!
//! Which slots are free is a bitmap, two words a segment: a search tests a
//! whole segment for a run of free slots with a few shifts of one `u128`,
//! and a free clears bits. (swiotlb instead keeps in each free slot the
//! length of the free run from it, which a map and an unmap must renumber
//! slot by slot back to the segment's start: up to 127 slots each time.)
//! The descriptors say what the used slots hold: a mapping's head and, in
//! each further slot, the way back to it.

use core::ops::DerefMut;

use super::stats::AreaCounters;
use super::tlb::{Block, Direction};
use super::{UnmapError, SEGMENT_SLOTS, SLOT_MASK, SLOT_SHIFT, SLOT_SIZE};

/// What a slot currently is. `Slot::meta` means something different for
/// each.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Not part of any mapping (its bit in the bitmap is clear).
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

/// Metadata of one slot (14 bytes, byte-aligned).
///
/// The storage for an area is a slice of these, which the glue allocates
/// with [`Default`] values; [`AreaState::new`] and [`Pool::new`] initialize
/// them.
///
/// [`Pool::new`]: super::Pool::new
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Slot {
    /// Head: in the low [`ORIG_BITS`] bits, for a streaming mapping, the
    /// original physical address of the first mapped byte (not of the
    /// padding); above them, the [`Owner`]; little-endian. Otherwise 0.
    orig: [u8; 8],
    /// Head: the mapped (streaming) or allocated size in bytes, at most
    /// `SEGMENT_SIZE` (19 bits), and above it, from bit 20, the byte offset
    /// of the bounce address inside the head slot (`< SLOT_SIZE`, 11 bits);
    /// little-endian. Otherwise 0.
    size_offset: [u8; 4],
    /// Tail: distance back to the head, 1..=127. Head: number of slots of
    /// the mapping, 1..=128. Free: 0.
    meta: u8,
    /// What the slot is.
    kind: Kind,
}

// With the free bitmap (1 bit), the bookkeeping costs 14.125 bytes per
// 2 KiB slot (0.69%); `Kind` packs its direction into the one byte of its
// tag, the owner shares the original address's word, and nothing in a slot
// needs alignment.
const _: () = assert!(core::mem::size_of::<Slot>() == 14);

/// Bits of a physical address: 52 is the most any architecture Linux runs
/// on has (arm64 with 52-bit PAs, x86-64 with 5-level paging). The bits of
/// a head's `orig` word above them hold its [`Owner`].
pub const ORIG_BITS: u32 = 52;

/// The largest original address (last byte) a mapping may have.
pub(crate) const ORIG_MAX: u64 = (1 << ORIG_BITS) - 1;

/// Who took a mapping or a block: a tag of [`Owner::BITS`] bits that the
/// caller chooses (the kernel glue derives it from the device), recorded in
/// the head slot, so that [`Pool::held_by`] can say what one owner still
/// holds after its driver is gone. Tags need not be unique: owners that
/// share a tag are counted together, which can only make a count larger.
///
/// [`Pool::held_by`]: super::Pool::held_by
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Owner(u16);

impl Owner {
    /// How many bits a tag has.
    pub const BITS: u32 = 64 - ORIG_BITS;

    /// No owner in particular (what the plain `map` and `alloc` record).
    pub const NONE: Owner = Owner(0);

    /// The tag made of the low [`Owner::BITS`] bits of `tag`.
    pub const fn new(tag: u16) -> Self {
        Owner(tag & ((1 << Self::BITS) - 1))
    }

    /// The tag's value.
    pub const fn get(self) -> u16 {
        self.0
    }
}

/// Bits of `size_offset` that hold the size.
const SIZE_BITS: u32 = 20;

impl Slot {
    const FREE: Self = Self {
        orig: [0; 8],
        size_offset: [0; 4],
        meta: 0,
        kind: Kind::Free,
    };

    const fn tail(back: u8) -> Self {
        Self {
            orig: [0; 8],
            size_offset: [0; 4],
            meta: back,
            kind: Kind::Tail,
        }
    }

    /// A head slot. `size <= SEGMENT_SIZE`, `offset < SLOT_SIZE`,
    /// `nslots <= SEGMENT_SLOTS`, `orig <= ORIG_MAX` (the callers check
    /// these first).
    pub(crate) fn head(
        kind: Kind,
        orig: u64,
        size: usize,
        offset: u64,
        nslots: usize,
        owner: Owner,
    ) -> Self {
        let size = u32::try_from(size).unwrap_or(u32::MAX) & ((1 << SIZE_BITS) - 1);
        let offset = (offset as u32 & SLOT_MASK as u32) << SIZE_BITS;
        let word = (orig & ORIG_MAX) | u64::from(owner.0) << ORIG_BITS;
        Self {
            orig: word.to_le_bytes(),
            size_offset: (size | offset).to_le_bytes(),
            meta: small(nslots),
            kind,
        }
    }

    fn owner(&self) -> Owner {
        // The shift leaves at most `Owner::BITS` bits.
        Owner((u64::from_le_bytes(self.orig) >> ORIG_BITS) as u16)
    }

    fn orig(&self) -> u64 {
        u64::from_le_bytes(self.orig) & ORIG_MAX
    }

    fn size(&self) -> usize {
        (u32::from_le_bytes(self.size_offset) & ((1 << SIZE_BITS) - 1)) as usize
    }

    fn offset(&self) -> u64 {
        u64::from(u32::from_le_bytes(self.size_offset) >> SIZE_BITS)
    }
}

/// A count of at most `SEGMENT_SLOTS` as the `u8` of [`Slot::meta`].
fn small(n: usize) -> u8 {
    // All callers pass at most `SEGMENT_SLOTS` (128): see the invariants.
    u8::try_from(n).unwrap_or(u8::MAX)
}

/// What a run of slots becomes in the bitmap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mark {
    Used,
    Free,
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

/// A mapping (or block) located from one of its slots.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Located {
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

/// The mutable state of one area: its free bitmap, slot descriptors, search
/// position and counters, over the storage `S` and `B` that the glue
/// provides.
///
/// An area is a run of whole segments of the pool (the last area may end
/// with a partial one); every area starts on a segment boundary of the pool,
/// so its segment `k` is its slots `128 k..128 (k + 1)`, and words `2 k` and
/// `2 k + 1` of the bitmap. Its state is only ever reached through its
/// [`AreaLock`], and only the pool changes it.
pub struct AreaState<S: DerefMut<Target = [Slot]>, B: DerefMut<Target = [u64]>> {
    /// One descriptor per slot of the area.
    slots: S,
    // INVARIANT: bit `i % 64` of word `i / 64` is set exactly when slot `i`
    // is not `Free`; bits past the last slot are clear.
    /// The used slots, one bit each ([`AreaState::bitmap_words`] words).
    bits: B,
    /// Where the next search starts (swiotlb's `index`), `< slots.len()`
    /// (or 0).
    index: usize,
    // INVARIANT: `used` is the number of slots whose kind is not `Free`.
    /// Slots in use.
    used: usize,
    /// Counters of the area.
    pub(crate) counters: AreaCounters,
}

impl<S: DerefMut<Target = [Slot]>, B: DerefMut<Target = [u64]>> AreaState<S, B> {
    /// The number of bitmap words an area of `nslots` slots needs (two a
    /// segment).
    pub fn bitmap_words(nslots: usize) -> usize {
        nslots.div_ceil(SEGMENT_SLOTS) * 2
    }

    /// Makes the state of an area over `slots`, whose length is the area's
    /// number of slots ([`AreaLayout::area_slots`]), and `bits`, of
    /// [`AreaState::bitmap_words`] words; their previous contents do not
    /// matter, all slots become free.
    ///
    /// [`AreaLayout::area_slots`]: super::AreaLayout::area_slots
    pub fn new(slots: S, bits: B) -> Self {
        let mut state = Self {
            slots,
            bits,
            index: 0,
            used: 0,
            counters: AreaCounters::new(),
        };
        state.format();
        state
    }

    /// Number of slots of the area.
    pub fn nslots(&self) -> usize {
        self.slots.len()
    }

    /// Whether the bitmap has the words the slots need.
    pub(crate) fn bitmap_fits(&self) -> bool {
        self.bits.len() == Self::bitmap_words(self.slots.len())
    }

    /// Number of slots in use in the area.
    pub fn used(&self) -> usize {
        self.used
    }

    /// Frees every slot and clears the counters.
    pub(crate) fn format(&mut self) {
        self.index = 0;
        self.used = 0;
        self.counters = AreaCounters::new();
        self.slots.fill(Slot::FREE);
        self.bits.fill(0);
        // INVARIANT: every slot is free, every bit clear; `used` is 0.
    }

    /// The free slots of segment `seg` as bits (bit `p`: slot `128 seg + p`),
    /// those past the end of the area counted as used.
    fn seg_free(&self, seg: usize) -> u128 {
        let word = |k: usize| u128::from(self.bits.get(k).copied().unwrap_or(u64::MAX));
        let used = word(2 * seg) | word(2 * seg + 1) << 64;
        let len = self
            .slots
            .len()
            .saturating_sub(seg * SEGMENT_SLOTS)
            .min(SEGMENT_SLOTS);
        let in_area = if len == SEGMENT_SLOTS {
            u128::MAX
        } else {
            (1u128 << len) - 1
        };
        !used & in_area
    }

    /// Marks slots `start..start + n`, which lie in one segment, as `to`.
    fn mark(&mut self, start: usize, n: usize, to: Mark) {
        let seg = start / SEGMENT_SLOTS;
        let p = start % SEGMENT_SLOTS;
        // `n <= 128` and the run lies in the segment: `p + n <= 128`.
        let run = if n >= SEGMENT_SLOTS {
            u128::MAX
        } else {
            ((1u128 << n) - 1) << p
        };
        for (k, half) in [(2 * seg, run as u64), (2 * seg + 1, (run >> 64) as u64)] {
            if let Some(w) = self.bits.get_mut(k) {
                match to {
                    Mark::Used => *w |= half,
                    Mark::Free => *w &= !half,
                }
            }
        }
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

    /// The first slot, in segment `seg` and among the positions `from`
    /// allows (a mask of positions), of a run of `req.nslots` free slots
    /// whose addresses fit `req`.
    fn find_in(&self, seg: usize, from: u128, req: &Request) -> Option<usize> {
        let need = req.nslots;
        // Bit `p` of `runs`: slots `p..p + have` are all free.
        let mut runs = self.seg_free(seg);
        let mut have = 1;
        while have < need && runs != 0 {
            let step = have.min(need - have);
            runs &= runs >> step;
            have += step;
        }
        let mut starts = runs & from;
        while starts != 0 {
            let p = starts.trailing_zeros() as usize;
            let i = seg * SEGMENT_SLOTS + p;
            if Self::fits(req, i) {
                return Some(i);
            }
            starts &= starts - 1;
        }
        None
    }

    /// Finds the first slot of a run of `req.nslots` free slots inside one
    /// segment whose addresses fit what `req` asks, starting at the rotating
    /// index and going round the area once. The search is complete: it fails
    /// only when no such run exists in the area.
    fn find(&self, req: &Request) -> Option<usize> {
        let len = self.slots.len();
        let need = req.nslots;
        if need == 0 || need > SEGMENT_SLOTS || need > len.saturating_sub(self.used) {
            return None;
        }
        let nsegs = len.div_ceil(SEGMENT_SLOTS);
        let start = if self.index < len { self.index } else { 0 };
        let (seg0, p0) = (start / SEGMENT_SLOTS, start % SEGMENT_SLOTS);
        // Positions at or after the index in its segment, then the other
        // segments whole, then the positions before the index.
        let after = u128::MAX << p0;
        self.find_in(seg0, after, req)
            .or_else(|| {
                (1..nsegs)
                    .map(|k| (seg0 + k) % nsegs)
                    .find_map(|seg| self.find_in(seg, u128::MAX, req))
            })
            .or_else(|| self.find_in(seg0, !after, req))
    }

    /// Takes a run of slots for `req`; returns the index of its head slot.
    pub(crate) fn alloc(&mut self, req: &Request) -> Option<usize> {
        let start = self.find(req)?;
        let need = req.nslots;
        let end = start + need;
        let run = self.slots.get_mut(start..end)?;
        // INVARIANT: `find` returned a run of `need` free slots in one
        // segment; they become the head and its tails, each tail pointing
        // back to the head (`back < need <= SEGMENT_SLOTS`), and their bits
        // are set.
        for (back, slot) in run.iter_mut().enumerate().skip(1) {
            *slot = Slot::tail(small(back));
        }
        if let Some(head) = run.first_mut() {
            *head = req.head;
            head.meta = small(need);
        }
        self.mark(start, need, Mark::Used);
        self.used += need;
        self.counters.hiwater = self.counters.hiwater.max(self.used);
        self.index = if end >= self.slots.len() { 0 } else { end };
        Some(start)
    }

    /// Returns the run of slots whose head is slot `head` to the free pool;
    /// returns the number of slots freed (0 if `head` is not a head).
    pub(crate) fn release(&mut self, head: usize) -> usize {
        let nslots = match self.slots.get(head) {
            Some(h) if h.kind.is_head() => usize::from(h.meta),
            _ => return 0,
        };
        let Some(run) = self.slots.get_mut(head..head + nslots) else {
            return 0;
        };
        // INVARIANT (mappings): a mapping lies inside one segment. Its slots
        // become free, zeroed, and their bits clear; they were counted in
        // `used`.
        run.fill(Slot::FREE);
        self.mark(head, nslots, Mark::Free);
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
    ) -> Result<Located, UnmapError> {
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
    pub(crate) fn mapping_at(&self, i: usize) -> Option<Located> {
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
        Some(Located {
            head,
            kind: h.kind,
            orig: h.orig(),
            size: h.size(),
            offset: h.offset(),
        })
    }

    /// How many mappings and blocks of `owner` the area holds (those being
    /// unmapped included). Walks the area: for slow paths only.
    pub(crate) fn held_by(&self, owner: Owner) -> usize {
        self.slots
            .iter()
            .filter(|s| s.kind.is_head() && s.owner() == owner)
            .count()
    }

    /// Changes the kind of the head slot `head` (between the head kinds).
    pub(crate) fn set_kind(&mut self, head: usize, kind: Kind) {
        if let Some(h) = self.slots.get_mut(head) {
            h.kind = kind;
        }
    }
}

#[cfg(any(test, feature = "fuzzing"))]
impl<S: DerefMut<Target = [Slot]>, B: DerefMut<Target = [u64]>> AreaState<S, B> {
    /// A copy of the descriptors and the bitmap, for tests.
    pub(crate) fn snapshot(&self) -> (Vec<Slot>, Vec<u64>, usize, usize, AreaCounters) {
        (
            self.slots.to_vec(),
            self.bits.to_vec(),
            self.index,
            self.used,
            self.counters,
        )
    }

    /// Checks every invariant of the descriptors and the bitmap; returns what
    /// is broken.
    pub(crate) fn check(&self) -> Result<(), String> {
        let len = self.slots.len();
        if !self.bitmap_fits() {
            return Err(format!("{} bitmap words for {len} slots", self.bits.len()));
        }
        let bit = |i: usize| self.bits[i / 64] >> (i % 64) & 1 == 1;
        for i in len..self.bits.len() * 64 {
            if bit(i) {
                return Err(format!("bit {i} set past the last slot"));
            }
        }
        let mut used = 0;
        let mut i = 0;
        while i < len {
            let s = self.slots[i];
            match s.kind {
                Kind::Free => {
                    if s != Slot::FREE {
                        return Err(format!("slot {i}: free slot with data {s:?}"));
                    }
                    if bit(i) {
                        return Err(format!("slot {i}: free, but its bit is set"));
                    }
                    i += 1;
                }
                Kind::Tail => return Err(format!("slot {i}: tail without head")),
                _ => {
                    let n = usize::from(s.meta);
                    let seg_end = (i / SEGMENT_SLOTS + 1) * SEGMENT_SLOTS;
                    if n == 0 || i + n > seg_end.min(len) {
                        return Err(format!("slot {i}: mapping of {n} slots crosses segment"));
                    }
                    let bytes = s.offset() as usize + s.size();
                    if s.size() == 0 || super::layout::nr_slots(bytes) != n {
                        return Err(format!("slot {i}: {n} slots for {bytes} bytes"));
                    }
                    for k in 1..n {
                        let t = self.slots[i + k];
                        if t != Slot::tail(small(k)) {
                            return Err(format!("slot {}: bad tail {t:?}", i + k));
                        }
                    }
                    if let Some(k) = (i..i + n).find(|&k| !bit(k)) {
                        return Err(format!("slot {k}: in a mapping, but its bit is clear"));
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
    /// The storage of the area's free bitmap.
    type Bitmap: DerefMut<Target = [u64]>;

    /// Runs `f` on the area's state with the area locked, and returns what
    /// `f` returns.
    fn with<R>(&self, f: impl FnOnce(&mut AreaState<Self::Storage, Self::Bitmap>) -> R) -> R;
}
