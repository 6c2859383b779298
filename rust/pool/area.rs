// SPDX-License-Identifier: GPL-2.0

//! Slot bookkeeping of one area.
//!
//! Everything here but [`Heads`] runs with the area's lock held (on an
//! [`Area`]), and knows nothing of other areas, of copying, or of physical
//! addresses beyond what a [`Request`] tells it. [`Heads`] is what an unmap
//! and a sync do without the lock: claim a mapping, count a copy in and out.
//!
//! Each segment has two bitmaps of one `u128` each: the slots in use, and
//! the slots that start a mapping (its *head*). A search tests a whole
//! segment for a run of free slots with a few shifts of the first; a map
//! sets bits and writes one descriptor, the head's; an unmap clears bits
//! and that descriptor. The mapping that any used slot belongs to is the
//! nearest head at or below it in its segment (mappings never cross a
//! segment): one mask and one leading-zero count. So the bookkeeping of a
//! map or an unmap costs the same for 1 slot as for 128. (swiotlb instead
//! keeps in each free slot the length of the free run from it, which a map
//! and an unmap must renumber slot by slot back to the segment's start, and
//! writes a descriptor for every slot of a mapping.)

use core::ops::{Deref, DerefMut};
use core::sync::atomic::{
    AtomicU32, AtomicU8,
    Ordering::{Acquire, Relaxed, Release, SeqCst},
};

use super::cache::AreaShared;
use super::layout::nr_slots;
use super::stats::Held;
use super::vocab::{Direction, Kind};
use super::{UnmapError, SEGMENT_SIZE, SEGMENT_SLOTS, SLOT_MASK, SLOT_SHIFT, SLOT_SIZE};

// How a slot's descriptor writes down its kind.
impl Kind {
    /// The kind as the [`KIND_BITS`] bits of [`Desc::info`] (0 for `Free`).
    fn code(self) -> u32 {
        match self {
            Kind::Free => 0,
            Kind::Streaming(Direction::Bidirectional) => 1,
            Kind::Streaming(Direction::ToDevice) => 2,
            Kind::Streaming(Direction::FromDevice) => 3,
            Kind::Unmapping => 4,
            Kind::Coherent => 5,
            Kind::Pages => 6,
            Kind::Parked => 7,
        }
    }

    /// The kind of code `c` ([`Kind::code`]); the code no kind has reads
    /// as `Free`.
    fn of_code(c: u32) -> Self {
        match c & KIND_MASK {
            1 => Kind::Streaming(Direction::Bidirectional),
            2 => Kind::Streaming(Direction::ToDevice),
            3 => Kind::Streaming(Direction::FromDevice),
            4 => Kind::Unmapping,
            5 => Kind::Coherent,
            6 => Kind::Pages,
            7 => Kind::Parked,
            _ => Kind::Free,
        }
    }
}

/// The descriptor of one slot, as a value: what [`Slot`] stores. Only a
/// mapping's head has any: every other slot's is all zero ([`Desc::FREE`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Desc {
    /// Head: in the low [`ORIG_BITS`] bits, for a streaming mapping, the
    /// original physical address of the first mapped byte (not of the
    /// padding); above them, the [`Owner`]. Otherwise 0.
    word: u64,
    /// Head: the kind ([`Kind::code`], bits 0..3), the byte offset of the
    /// bounce address inside the head slot (`< SLOT_SIZE`, bits 3..14) and
    /// the mapped (streaming) or allocated size less one (`< SEGMENT_SIZE`,
    /// bits 14..32). Otherwise 0.
    info: u32,
}

/// Where one slot's descriptor is kept (12 bytes, 4-byte aligned): three
/// words, all zero but for a mapping's head.
///
/// The words are atomics so that an unmap can claim its mapping, and the
/// area's cache park and hand out a block, without the area's lock;
/// everything else writes them under the lock, where an atomic load or
/// store compiles to a plain (or acquiring, releasing) one. The glue
/// allocates the storage for an area with [`Default`] values, and
/// [`Pool::new`] initializes them.
///
/// [`Pool::new`]: super::Pool::new
#[derive(Debug, Default)]
pub struct Slot {
    /// [`Desc::word`], low half first.
    orig: [AtomicU32; 2],
    /// [`Desc::info`].
    info: AtomicU32,
}

// With the two bitmaps (2 bits) and the count of syncs in flight (a byte),
// the bookkeeping costs 13.25 bytes per 2 KiB slot (0.65%). The owner shares
// the original address's word, the number of slots follows from the size and
// the offset. Words, not bytes: the kernel builds arm64 code with strict
// alignment, where a byte array is read a byte at a time and copied with
// `memcpy`, and a `u64` would make the slot 16 bytes.
const _: () = assert!(core::mem::size_of::<Slot>() == 12);

/// Bits of [`Desc::info`] that hold the kind, and where the offset starts.
const KIND_BITS: u32 = 3;
const KIND_MASK: u32 = (1 << KIND_BITS) - 1;
/// Where the size (less one) starts in [`Desc::info`]: above the offset.
const SIZE_SHIFT: u32 = KIND_BITS + SLOT_SHIFT;

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

impl Desc {
    /// A slot that is no head: all zero.
    pub(crate) const FREE: Self = Self { word: 0, info: 0 };

    /// A head slot. `1 <= size <= SEGMENT_SIZE`, `offset < SLOT_SIZE`,
    /// `orig <= ORIG_MAX` (the callers check these first).
    pub(crate) fn head(kind: Kind, orig: u64, size: usize, offset: u64, owner: Owner) -> Self {
        Self {
            word: (orig & ORIG_MAX) | u64::from(owner.0) << ORIG_BITS,
            info: Self::info_of(kind, size, offset),
        }
    }

    /// The `info` word of a head of `kind`, `size` bytes at `offset` in its
    /// slot (as [`Desc::head`] requires them).
    pub(crate) fn info_of(kind: Kind, size: usize, offset: u64) -> u32 {
        let size = (size.saturating_sub(1) as u32) << SIZE_SHIFT;
        let offset = (offset as u32 & SLOT_MASK as u32) << KIND_BITS;
        size | offset | kind.code()
    }

    pub(crate) fn owner(&self) -> Owner {
        // The shift leaves at most `Owner::BITS` bits.
        Owner((self.word >> ORIG_BITS) as u16)
    }

    pub(crate) fn orig(&self) -> u64 {
        self.word & ORIG_MAX
    }

    pub(crate) fn kind(&self) -> Kind {
        Kind::of_code(self.info)
    }

    /// Whether the slot is a head (its kind is not `Free`), without
    /// decoding the kind.
    fn is_head(&self) -> bool {
        self.info & KIND_MASK != 0
    }

    pub(crate) fn size(&self) -> usize {
        // A head's size is at least 1 (`head`); a free slot's reads as 1.
        (self.info >> SIZE_SHIFT) as usize + 1
    }

    pub(crate) fn offset(&self) -> u64 {
        u64::from(self.info >> KIND_BITS) & SLOT_MASK
    }

    /// A head's number of slots: its padding and its bytes, whole slots.
    fn nslots(&self) -> usize {
        nr_slots(self.offset() as usize + self.size())
    }

    /// The mapping whose head this is, slot `head` of its area.
    fn located(&self, head: usize) -> Located {
        Located { desc: *self, head }
    }
}

impl Slot {
    /// The descriptor. The `info` word first, with acquire: a head that the
    /// area's cache hands out is written without the lock ([`Slot::store`]
    /// writes it last), and a reader under the lock (a sync of a stale
    /// address, a driver's bug) must not pair its new kind with the parked
    /// block's empty original address.
    #[inline]
    pub(crate) fn load(&self) -> Desc {
        let info = self.info.load(Acquire);
        let [lo, hi] = &self.orig;
        Desc {
            word: u64::from(lo.load(Relaxed)) | u64::from(hi.load(Relaxed)) << 32,
            info,
        }
    }

    /// The descriptor without its original address (under the lock).
    #[inline]
    fn load_info_owner(&self) -> Desc {
        Desc {
            word: u64::from(self.orig[1].load(Relaxed)) << 32,
            info: self.info.load(Relaxed),
        }
    }

    /// Writes descriptor `d`: under the lock, or to a head that this thread
    /// alone reaches (claimed, or taken from the area's cache). The `info`
    /// word last, with release: whoever reads it ([`Slot::load`], an unmap's
    /// [`Slot::claim`]) reads the original address it goes with.
    #[inline]
    pub(crate) fn store(&self, d: Desc) {
        let [lo, hi] = &self.orig;
        lo.store(d.word as u32, Relaxed);
        hi.store((d.word >> 32) as u32, Relaxed);
        self.info.store(d.info, Release);
    }

    /// Claims the head of a live streaming mapping whose `info` word is
    /// exactly `want` for its unmap, without the lock: its kind becomes
    /// `Unmapping`, which nothing but the claimer changes, so a second unmap
    /// or a sync of it is refused from now on. Fails, changing nothing, when
    /// the word is anything else.
    ///
    /// Sequentially consistent, with the sync side
    /// ([`Pool::sync_for_cpu`](super::Pool::sync_for_cpu)): a claim and a
    /// sync that begins each see the other, so one of them backs off.
    #[inline]
    pub(crate) fn claim(&self, want: u32) -> bool {
        let claimed = want & !KIND_MASK | Kind::Unmapping.code();
        self.info
            .compare_exchange(want, claimed, SeqCst, Relaxed)
            .is_ok()
    }

    /// The original address of a head (under the lock, or of a mapping this
    /// thread claimed).
    #[inline]
    fn orig(&self) -> u64 {
        let [lo, hi] = &self.orig;
        (u64::from(lo.load(Relaxed)) | u64::from(hi.load(Relaxed)) << 32) & ORIG_MAX
    }

    /// Undoes [`Slot::claim`]`(want)`: the mapping is live again.
    pub(crate) fn unclaim(&self, want: u32) {
        self.info.store(want, SeqCst);
    }

    /// The descriptor now, for a sync that has counted itself in and
    /// checks that the mapping it found is still there. The `info` word
    /// first: sequentially consistent with an unmap's claim; once it is a
    /// live head's, the address words are that head's (written before it,
    /// and not again while the sync is counted in, since no unmap can claim
    /// the mapping then).
    pub(crate) fn load_now(&self) -> Desc {
        let info = self.info.load(SeqCst);
        let [lo, hi] = &self.orig;
        Desc {
            word: u64::from(lo.load(Relaxed)) | u64::from(hi.load(Relaxed)) << 32,
            info,
        }
    }
}

/// What a run of slots becomes in the bitmaps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mark {
    Used,
    Free,
}

/// Which of a segment's two bitmaps: the value is its first word's index
/// among the segment's four.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Map {
    /// The slots that are part of a mapping.
    Used = 0,
    /// The slots that are a mapping's head.
    Heads = 2,
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
    /// What to write into the head slot (its size and offset make
    /// `nslots` slots).
    pub(crate) head: Desc,
}

impl Request {
    /// Whether a mapping of `req` may start at slot `i`, as far as its
    /// addresses go (alignment, boundary, limit); not whether it is free.
    pub(crate) fn fits(&self, i: usize) -> bool {
        let req = self;
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
}

/// A mapping (or block) located from one of its slots.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Located {
    /// The head's descriptor, as read: its kind (never `Free`), original
    /// address (streaming), size and offset in the head slot.
    pub(crate) desc: Desc,
    /// Index of the head slot in the area.
    pub(crate) head: usize,
}

/// The state of one area that only its lock reaches: its bitmaps, search
/// position and counters, over the bitmap storage `B` that the glue
/// provides. Its slot descriptors are kept beside the lock
/// ([`AreaLock::slots`]).
///
/// An area is a run of whole segments of the pool (the last area may end
/// with a partial one); every area starts on a segment boundary of the pool,
/// so its segment `k` is its slots `128 k..128 (k + 1)`, and words
/// `4 k..4 k + 4` of the bitmaps. Only the pool changes it.
pub struct AreaState<B: DerefMut<Target = [u64]>> {
    // INVARIANT (with the area's slots, "mappings" below): for slot
    // `i = 128 k + p` of segment `k`, bit `p` of the `u128` in words `4 k`
    // (low half) and `4 k + 1` is set exactly when slot `i` is part of a
    // mapping, and bit `p` of words `4 k + 2` and `4 k + 3` exactly when it is
    // a mapping's head (its kind is not `Free`). A mapping's slots are its
    // head and the used slots after it up to the next head or free slot.
    // Every slot that is not a head is `Desc::FREE`. Slots past the last one
    // (in a partial last segment) are used and no head, for good.
    /// The used slots and the head slots ([`AreaState::bitmap_words`] words).
    bits: B,
    /// Where the next search starts (swiotlb's `index`), `< nslots` (or 0).
    index: usize,
    // INVARIANT: `used` is the number of slots whose kind is not `Free`.
    /// Slots in use.
    used: usize,
    /// The most slots the area had in use at once.
    pub(crate) hiwater: usize,
}

impl<B: DerefMut<Target = [u64]>> AreaState<B> {
    /// The number of bitmap words an area of `nslots` slots needs (four a
    /// segment: two for its used slots, two for its heads).
    pub fn bitmap_words(nslots: usize) -> usize {
        nslots.div_ceil(SEGMENT_SLOTS) * 4
    }

    /// Makes the state of an area over `bits`, of
    /// [`AreaState::bitmap_words`] words for the area's number of slots; its
    /// previous contents do not matter: [`Pool::new`] frees every slot.
    ///
    /// [`Pool::new`]: super::Pool::new
    pub fn new(bits: B) -> Self {
        Self {
            bits,
            index: 0,
            used: 0,
            hiwater: 0,
        }
    }

    /// Number of slots in use in the area.
    pub fn used(&self) -> usize {
        self.used
    }
}

/// An area with its lock held: its state, and the descriptors beside it.
/// Everything that reads the bitmaps or changes a descriptor runs on one of
/// these, and knows nothing of other areas, of copying, or of physical
/// addresses beyond what a [`Request`] tells it.
pub(crate) struct Area<'a, B: DerefMut<Target = [u64]>> {
    /// One descriptor per slot of the area.
    slots: &'a [Slot],
    state: &'a mut AreaState<B>,
}

impl<B: DerefMut<Target = [u64]>> Deref for Area<'_, B> {
    type Target = AreaState<B>;

    fn deref(&self) -> &AreaState<B> {
        self.state
    }
}

impl<B: DerefMut<Target = [u64]>> DerefMut for Area<'_, B> {
    fn deref_mut(&mut self) -> &mut AreaState<B> {
        self.state
    }
}

/// Runs `f` on `lock`'s area with the lock held.
#[inline]
pub(crate) fn locked<L: AreaLock, R>(lock: &L, f: impl FnOnce(&mut Area<'_, L::Bitmap>) -> R) -> R {
    // The slice is read with the lock held: kept across the call that takes
    // it, it would cost spills on every map and unmap.
    lock.with(|state| {
        f(&mut Area {
            slots: lock.slots(),
            state,
        })
    })
}

impl<B: DerefMut<Target = [u64]>> Area<'_, B> {
    /// Number of slots of the area.
    pub(crate) fn nslots(&self) -> usize {
        self.slots.len()
    }

    /// Whether the bitmap has the words the slots need.
    pub(crate) fn bitmap_fits(&self) -> bool {
        self.bits.len() == AreaState::<B>::bitmap_words(self.slots.len())
    }

    /// Frees every slot and clears the counters.
    pub(crate) fn format(&mut self) {
        self.index = 0;
        self.used = 0;
        self.hiwater = 0;
        for s in self.slots {
            s.store(Desc::FREE);
        }
        self.bits.fill(0);
        // The slots past the end of a partial last segment are used for
        // good, so that no search has to mask them off.
        let tail = self.slots.len() % SEGMENT_SLOTS;
        if tail != 0 {
            let seg = self.slots.len() / SEGMENT_SLOTS;
            let past = u128::MAX << tail;
            if let Some(w) = self.bits.get_mut(4 * seg..4 * seg + 2) {
                w.copy_from_slice(&[past as u64, (past >> 64) as u64]);
            }
        }
        // INVARIANT: every slot is free, every bit of a slot clear; `used`
        // is 0.
    }

    /// One of segment `seg`'s bitmaps (bit `p`: slot `128 seg + p`); all
    /// ones past the end of the storage.
    fn seg_bits(&self, seg: usize, map: Map) -> u128 {
        let k = 4 * seg + map as usize;
        let word = |k: usize| u128::from(self.bits.get(k).copied().unwrap_or(u64::MAX));
        word(k) | word(k + 1) << 64
    }

    /// The free slots of segment `seg` as bits (bit `p`: slot `128 seg + p`);
    /// those past the end of the area are never free.
    fn seg_free(&self, seg: usize) -> u128 {
        !self.seg_bits(seg, Map::Used)
    }

    /// Marks slots `start..start + n`, which lie in one segment, as a
    /// mapping with its head at `start` (`Used`) or as free (`Free`).
    #[inline]
    fn mark(&mut self, start: usize, n: usize, to: Mark) {
        let seg = start / SEGMENT_SLOTS;
        let p = start % SEGMENT_SLOTS;
        // Most runs lie in one 64-bit word of each bitmap: two words to
        // change, with shifts of one word (a `u128` shift is several
        // instructions and branches on most CPUs).
        let (w, b) = (p / 64, p % 64);
        if n >= 1 && b + n <= 64 {
            let run = (u64::MAX >> (64 - n)) << b;
            let k = 4 * seg + w;
            if let (Some(&used), Some(&heads)) = (self.bits.get(k), self.bits.get(k + 2)) {
                let (used, heads) = match to {
                    Mark::Used => (used | run, heads | 1 << b),
                    Mark::Free => (used & !run, heads & !(1 << b)),
                };
                if let Some(u) = self.bits.get_mut(k) {
                    *u = used;
                }
                if let Some(h) = self.bits.get_mut(k + 2) {
                    *h = heads;
                }
            }
            return;
        }
        // `n <= 128` and the run lies in the segment: `p + n <= 128`.
        let run = if n >= SEGMENT_SLOTS {
            u128::MAX
        } else {
            ((1u128 << n) - 1) << p
        };
        let head = 1u128 << p;
        let Some(w) = self.bits.get_mut(4 * seg..4 * seg + 4) else {
            return;
        };
        let Ok(w) = <&mut [u64; 4]>::try_from(w) else {
            return;
        };
        let used = u128::from(w[0]) | u128::from(w[1]) << 64;
        let heads = u128::from(w[2]) | u128::from(w[3]) << 64;
        let (used, heads) = match to {
            Mark::Used => (used | run, heads | head),
            Mark::Free => (used & !run, heads & !head),
        };
        *w = [
            used as u64,
            (used >> 64) as u64,
            heads as u64,
            (heads >> 64) as u64,
        ];
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
            if req.fits(i) {
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
        let start = if self.index < len { self.index } else { 0 };
        let (seg0, p0) = (start / SEGMENT_SLOTS, start % SEGMENT_SLOTS);
        // First the run at the index itself, which a pool that maps and
        // unmaps in turn finds free every time: what the search below would
        // find first, for a few instructions (one bitmap word when the run
        // lies in one, as `mark`).
        let (w, b) = (p0 / 64, p0 % 64);
        if b + need <= 64 {
            let run = (u64::MAX >> (64 - need)) << b;
            let used = self.bits.get(4 * seg0 + w).copied().unwrap_or(u64::MAX);
            if used & run == 0 && req.fits(start) {
                return Some(start);
            }
        } else if p0 + need <= SEGMENT_SLOTS {
            let run = (u128::MAX >> (SEGMENT_SLOTS - need)) << p0;
            if self.seg_free(seg0) & run == run && req.fits(start) {
                return Some(start);
            }
        }
        self.search(seg0, p0, req)
    }

    /// The rest of [`AreaState::find`]'s search, after the run at the index:
    /// out of line, so that the common case stays short.
    #[inline(never)]
    fn search(&self, seg0: usize, p0: usize, req: &Request) -> Option<usize> {
        let nsegs = self.slots.len().div_ceil(SEGMENT_SLOTS);
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
        // INVARIANT: `find` returned a run of `need` free slots in one
        // segment (all `Desc::FREE`); the first becomes the head, their used
        // bits and its head bit are set. The slots after the run are free or
        // heads, so the mapping is exactly the run.
        self.slots.get(start)?.store(req.head);
        self.mark(start, need, Mark::Used);
        self.used += need;
        self.hiwater = self.hiwater.max(self.used);
        self.index = if end >= self.slots.len() { 0 } else { end };
        Some(start)
    }

    /// Returns the run of slots whose head is slot `head` to the free pool;
    /// returns the number of slots freed and their owner (0 and
    /// [`Owner::NONE`] if `head` is not a head).
    #[inline]
    pub(crate) fn release(&mut self, head: usize) -> (usize, Owner) {
        let Some(slot) = self.slots.get(head) else {
            return (0, Owner::NONE);
        };
        let h = slot.load_info_owner();
        if !h.is_head() {
            return (0, Owner::NONE);
        }
        let (nslots, owner) = (h.nslots(), h.owner());
        // INVARIANT (mappings): a mapping lies inside one segment; its head
        // is zeroed (the others are zero already) and its bits cleared; its
        // slots were counted in `used`. The callers free a head that is
        // theirs alone: a block, or a mapping they claimed.
        slot.store(Desc::FREE);
        self.mark(head, nslots, Mark::Free);
        self.used = self.used.saturating_sub(nslots);
        (nslots, owner)
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
        // Only a head's descriptor is not `Desc::FREE`: its kind alone says
        // whether slot `i` is one.
        let m = self
            .slots
            .get(i)
            .map(Slot::load)
            .filter(|h| !matches!(h.kind(), Kind::Free | Kind::Unmapping | Kind::Parked))
            .filter(|h| h.offset() == addr & SLOT_MASK)
            .map(|h| h.located(i))
            .ok_or(UnmapError::NotMapped)?;
        kind_ok(m.desc.kind())?;
        if m.desc.size() != size {
            return Err(UnmapError::SizeMismatch);
        }
        Ok(m)
    }

    /// Why an unmap of `size` bytes in `dir` at `addr`, slot `i`, could not
    /// claim its mapping ([`Heads::claim`]): the error of
    /// [`Area::exact_mapping`], or [`UnmapError::Busy`] when the mapping is
    /// (now) exactly what the unmap names.
    pub(crate) fn unclaimable(
        &self,
        i: usize,
        addr: u64,
        size: usize,
        dir: Direction,
    ) -> UnmapError {
        let exact = self.exact_mapping(i, addr, size, |kind| match kind {
            Kind::Streaming(d) if d == dir => Ok(()),
            Kind::Streaming(_) => Err(UnmapError::WrongDirection),
            _ => Err(UnmapError::WrongKind),
        });
        exact.err().unwrap_or(UnmapError::Busy)
    }

    /// Finds the mapping that slot `i` belongs to: the nearest head at or
    /// below a used slot, in its segment.
    pub(crate) fn mapping_at(&self, i: usize) -> Option<Located> {
        let (seg, p) = (i / SEGMENT_SLOTS, i % SEGMENT_SLOTS);
        if i >= self.slots.len() || self.seg_bits(seg, Map::Used) >> p & 1 == 0 {
            return None;
        }
        // The heads at or below `p`.
        let heads = self.seg_bits(seg, Map::Heads) & (u128::MAX >> (SEGMENT_SLOTS - 1 - p));
        if heads == 0 {
            return None;
        }
        // `heads != 0`: at most 127 leading zeros.
        let head = seg * SEGMENT_SLOTS + (SEGMENT_SLOTS - 1 - heads.leading_zeros() as usize);
        let h = self.slots.get(head)?.load();
        // INVARIANT (mappings): the run of a head holds exactly its
        // `nslots()`; the checks only keep a broken invariant from reaching
        // further.
        if !h.kind().is_head() || i - head >= h.nslots() {
            return None;
        }
        Some(h.located(head))
    }

    /// How many mappings and blocks of `owner` the area holds (those being
    /// unmapped included), and their slots. Walks the area: for slow paths
    /// only.
    pub(crate) fn held_by(&self, owner: Owner) -> Held {
        self.slots
            .iter()
            .map(Slot::load)
            .filter(|s| s.kind().is_head() && s.kind() != Kind::Parked && s.owner() == owner)
            .fold(Held::default(), |h, s| Held {
                blocks: h.blocks + 1,
                slots: h.slots + s.nslots(),
            })
    }
}

#[cfg(any(test, feature = "fuzzing"))]
impl<B: DerefMut<Target = [u64]>> Area<'_, B> {
    /// A copy of the descriptors and the bitmap, for tests.
    pub(crate) fn snapshot(&self) -> (Vec<Desc>, Vec<u64>, usize, usize, usize) {
        (
            self.slots.iter().map(Slot::load).collect(),
            self.bits.to_vec(),
            self.index,
            self.used,
            self.hiwater,
        )
    }

    /// Checks every invariant of the descriptors and the bitmap; returns what
    /// is broken.
    pub(crate) fn check(&self) -> Result<(), String> {
        let len = self.slots.len();
        if !self.bitmap_fits() {
            return Err(format!("{} bitmap words for {len} slots", self.bits.len()));
        }
        // Bit of slot `i` in one bitmap.
        let bit = |map: Map, i: usize| {
            self.seg_bits(i / SEGMENT_SLOTS, map) >> (i % SEGMENT_SLOTS) & 1 == 1
        };
        let ends = len.div_ceil(SEGMENT_SLOTS) * SEGMENT_SLOTS;
        for i in len..ends {
            if !bit(Map::Used, i) || bit(Map::Heads, i) {
                return Err(format!("slot {i} past the last slot is free or a head"));
            }
        }
        let mut used = 0;
        let mut i = 0;
        while i < len {
            let s = self.slots[i].load();
            match s.kind() {
                Kind::Free => {
                    if s != Desc::FREE {
                        return Err(format!("slot {i}: free slot with data {s:?}"));
                    }
                    if bit(Map::Used, i) || bit(Map::Heads, i) {
                        return Err(format!("slot {i}: free, but a bit is set"));
                    }
                    i += 1;
                }
                _ => {
                    let n = s.nslots();
                    let seg_end = (i / SEGMENT_SLOTS + 1) * SEGMENT_SLOTS;
                    if n == 0 || i + n > seg_end.min(len) {
                        return Err(format!("slot {i}: mapping of {n} slots crosses segment"));
                    }
                    if !bit(Map::Heads, i) {
                        return Err(format!("slot {i}: a head, but its head bit is clear"));
                    }
                    for k in i + 1..i + n {
                        if self.slots[k].load() != Desc::FREE || bit(Map::Heads, k) {
                            return Err(format!("slot {k}: in a mapping, but not plain"));
                        }
                    }
                    if let Some(k) = (i..i + n).find(|&k| !bit(Map::Used, k)) {
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

/// How the glue provides one area: its slot descriptors, sync counts, cache
/// and counters, which every thread reaches, and a lock around the rest of
/// its state (the
/// kernel a spinlock taken with interrupts disabled, as maps and unmaps come
/// from any context; the host tests a `std::sync::Mutex`).
///
/// The pool never calls back into itself, and never holds two area locks at
/// once, while a `with` closure runs; the closures are short (no copying).
/// `slots`, `syncs` and `shared` must return the same storage on every
/// call, the first two with one entry per slot of the area (the glue
/// allocates them with default values, e.g. a kvmalloc'd vector each).
pub trait AreaLock {
    /// The storage of the area's bitmaps.
    type Bitmap: DerefMut<Target = [u64]>;

    /// The area's slot descriptors.
    fn slots(&self) -> &[Slot];

    /// The area's sync counts, one per slot.
    fn syncs(&self) -> &[AtomicU8];

    /// The area's cache and counters.
    fn shared(&self) -> &AreaShared;

    /// Runs `f` on the area's state with the area locked, and returns what
    /// `f` returns.
    fn with<R>(&self, f: impl FnOnce(&mut AreaState<Self::Bitmap>) -> R) -> R;
}

/// What an unmap and a sync do to an area without its lock: claim a mapping,
/// count a copy in and out.
///
/// An unmap claims the head of its mapping ([`Slot::claim`]) and then looks
/// at the mapping's sync count; a copying sync, under the lock, counts itself
/// in and then looks at the head. All four accesses are sequentially
/// consistent, so at least one of the two sees the other and backs off: an
/// unmap never frees slots that a sync is still copying to or from (a driver
/// that unmaps while it syncs breaks the DMA API; it must not make the pool
/// copy into slots that another mapping took meanwhile).
pub(crate) struct Heads<'a> {
    slots: &'a [Slot],
    syncs: &'a [AtomicU8],
    shared: &'a AreaShared,
}

/// A copying sync counted in on its mapping ([`Heads::enter_sync`]); counts
/// itself out when dropped, after the copy.
pub(crate) struct Syncing<'a>(&'a AtomicU8);

impl Drop for Syncing<'_> {
    fn drop(&mut self) {
        // Release: the copy happens before an unmap that sees the count 0.
        self.0.fetch_sub(1, Release);
    }
}

impl<'a> Heads<'a> {
    /// `lock`'s area.
    #[inline]
    pub(crate) fn of<L: AreaLock>(lock: &'a L) -> Self {
        Self {
            slots: lock.slots(),
            syncs: lock.syncs(),
            shared: lock.shared(),
        }
    }

    /// Parks the block of `n` slots headed by slot `i`, which this thread
    /// claimed (an unmap) and nobody else reaches, in the area's cache: the
    /// next map on the area may take it without the lock. Its descriptor
    /// says `Parked` (nobody's, not live) before the cache hands it out.
    /// False when the cache holds a block already: free it under the lock.
    #[inline]
    pub(crate) fn park(&self, i: usize, n: usize) -> bool {
        let Some(head) = self.slots.get(i) else {
            return false;
        };
        head.store(Desc::head(Kind::Parked, 0, n * SLOT_SIZE, 0, Owner::NONE));
        self.shared.park(i, n)
    }

    /// Takes the block parked in the area's cache, if any: its head slot and
    /// number of slots. It is this thread's alone until it writes a head
    /// there or gives it back ([`Heads::repark`]).
    #[inline]
    pub(crate) fn unpark(&self) -> Option<(usize, usize)> {
        self.shared.unpark()
    }

    /// Gives back a block [`Heads::unpark`] took and did not use; false
    /// when another was parked meanwhile (free it under the lock).
    pub(crate) fn repark(&self, i: usize, n: usize) -> bool {
        self.shared.park(i, n)
    }

    /// Writes the head of a block taken from the cache.
    #[inline]
    pub(crate) fn write(&self, i: usize, head: Desc) -> bool {
        self.slots.get(i).map(|s| s.store(head)).is_some()
    }

    /// The owner of the mapping at slot `i`, which this thread claimed.
    #[inline]
    pub(crate) fn claimed_owner(&self, i: usize) -> Owner {
        self.slots
            .get(i)
            .map_or(Owner::NONE, |s| s.load_info_owner().owner())
    }

    /// Whether there is a sync count for every slot.
    pub(crate) fn fit(&self) -> bool {
        self.syncs.len() == self.slots.len()
    }

    /// Counts no sync in anywhere (for a new pool).
    pub(crate) fn reset(&self) {
        for n in self.syncs {
            n.store(0, Relaxed);
        }
    }

    /// The first slot with a sync counted in, when none should be.
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn counted_in(&self) -> Option<usize> {
        self.syncs.iter().position(|n| n.load(Relaxed) != 0)
    }

    /// Claims slot `i`, which must head the live streaming mapping of `size`
    /// bytes in `dir` at bounce address `addr` that no sync is copying, for
    /// its unmap by `owner`. `Err(None)` when the head is anything else (the
    /// area, under its lock, says why: [`Area::unclaimable`]),
    /// `Err(Some(Busy))` when a sync is copying, `Err(Some(OtherOwner))`
    /// when the head is another owner's: then it is not claimed even for a
    /// moment, which would turn that owner's own sync or unmap away. (The
    /// owner may still change before the claim: the caller checks it again.)
    #[inline]
    pub(crate) fn claim(
        &self,
        i: usize,
        addr: u64,
        size: usize,
        dir: Direction,
        owner: Owner,
    ) -> Result<(), Option<UnmapError>> {
        // The size field holds at most `SEGMENT_SIZE`: a larger `size` would
        // spill into the offset's bits of `want`.
        if !(1..=SEGMENT_SIZE).contains(&size) {
            return Err(None);
        }
        let want = Desc::info_of(Kind::Streaming(dir), size, addr & SLOT_MASK);
        let (Some(head), Some(syncs)) = (self.slots.get(i), self.syncs.get(i)) else {
            return Err(None);
        };
        let now = head.load_info_owner();
        if now.info == want && now.owner() != owner {
            return Err(Some(UnmapError::OtherOwner));
        }
        if !head.claim(want) {
            return Err(None);
        }
        if syncs.load(SeqCst) != 0 {
            head.unclaim(want);
            return Err(Some(UnmapError::Busy));
        }
        Ok(())
    }

    /// Undoes a [`Heads::claim`] of slot `i` with the same arguments: the
    /// mapping is live again, as it was. Out of line: only a stale unmap of
    /// another owner's mapping comes here.
    #[cold]
    #[inline(never)]
    pub(crate) fn unclaim(&self, i: usize, addr: u64, size: usize, dir: Direction) {
        let want = Desc::info_of(Kind::Streaming(dir), size, addr & SLOT_MASK);
        if let Some(head) = self.slots.get(i) {
            head.unclaim(want);
        }
    }

    /// The original address of the mapping at slot `i`, which this thread
    /// claimed ([`Heads::claim`]).
    #[inline]
    pub(crate) fn claimed_orig(&self, i: usize) -> u64 {
        self.slots.get(i).map_or(0, Slot::orig)
    }

    /// Counts a copying sync in on the mapping `m` (found under the area's
    /// lock, which the caller still holds); refused when it is not there any
    /// more (`NotMapped`) or too many syncs copy at once (`Busy`).
    ///
    /// The lock does not keep it there: an unmap claims a mapping and parks
    /// its block, and a map takes that block from the area's cache, without
    /// the lock. So between the look-up and the count-in the mapping may
    /// have gone and another taken its slots with the same kind, size and
    /// offset. Only the whole descriptor, original and owner included, read
    /// again after the count-in, says that it is the mapping the sync found
    /// (or one exactly like it, whose copy would be the same).
    pub(crate) fn enter_sync(&self, m: &Located) -> Result<Syncing<'a>, UnmapError> {
        let (Some(head), Some(syncs)) = (self.slots.get(m.head), self.syncs.get(m.head)) else {
            return Err(UnmapError::NotMapped);
        };
        // A count never wraps: 255 syncs copying one mapping at once refuse
        // the next.
        syncs
            .fetch_update(SeqCst, SeqCst, |n| n.checked_add(1))
            .map_err(|_| UnmapError::Busy)?;
        let count = Syncing(syncs);
        if head.load_now() != m.desc {
            return Err(UnmapError::NotMapped);
        }
        Ok(count)
    }
}
