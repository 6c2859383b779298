// SPDX-License-Identifier: GPL-2.0

//! The pool: areas put together, mapping and unmapping, copying.

use core::marker::PhantomData;
use core::ops::Deref;
use core::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use super::area::{locked, Area, Desc, Heads, Request, Syncing};
use super::cache::PARKED_MAX_SLOTS;
use super::layout::{boundary_span, max_mapping_size, nr_slots, AreaLayout};
use super::stats::{add, add_bytes, AreaCounters, Held};
use super::usage::{Largest, Usage};
use super::vocab::{Block, Constraints, CopyBack, Direction, Kind, Receive};
use super::{
    AreaLock, MapError, Owner, PoolError, Stats, UnmapError, ORIG_MAX, PAGE_MASK, PAGE_SIZE,
    SEGMENT_SIZE, SLOT_MASK, SLOT_SHIFT, SLOT_SIZE,
};

/// Which copy a sync makes right.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Towards {
    /// The original, for the CPU.
    Cpu,
    /// The bounce buffer, for the device.
    Device,
}

/// How bytes move between original buffers and the pool.
///
/// Addresses are physical. The pool calls these outside of any area lock,
/// only for ranges it has just checked: `bounce..bounce + len` lies inside
/// one mapping of the pool, and `orig..orig + len` is the matching part of
/// the original buffer that the caller of `map` passed (which the pool does
/// not check further: it is the driver's buffer). `len` is never 0 and at
/// most [`SEGMENT_SIZE`]. The kernel glue copies through the linear map for
/// `orig` and through its mapping of the pool for `bounce`.
pub trait Copier {
    /// Copies `len` bytes from the original buffer at `orig` into the pool
    /// at `bounce`.
    fn to_bounce(&self, orig: u64, bounce: u64, len: usize);

    /// Copies `len` bytes from the pool at `bounce` back to the original
    /// buffer at `orig`.
    // Not a conversion constructor: the name pairs with `to_bounce`.
    #[allow(clippy::wrong_self_convention)]
    fn from_bounce(&self, bounce: u64, orig: u64, len: usize);

    /// Zeroes `len` bytes of the pool at `bounce`.
    fn zero(&self, bounce: u64, len: usize);
}

/// A bounce-buffer pool over the physical range
/// `base..base + nslots * SLOT_SIZE`, split into the areas `A` (a slice of
/// area locks `L`, e.g. a boxed slice or a vector).
///
/// All methods take `&self`: the pool is meant to be shared by every CPU
/// (it is `Sync` when the areas are). See the [module docs](super) for the
/// design.
pub struct Pool<L, A> {
    /// The areas, in address order.
    areas: A,
    /// Physical address of slot 0; page aligned.
    base: u64,
    /// How the slots are split into `areas`.
    layout: AreaLayout,
    /// Maps refused with `Full` (cold path, so pool-wide atomics; the hot
    /// path touches nothing but its area, so CPUs in different areas never
    /// share a cache line).
    failed_maps: AtomicUsize,
    /// Allocations refused with `Full`.
    failed_allocs: AtomicUsize,
    /// Refused unmaps and frees.
    bad_unmaps: AtomicUsize,
    /// Refused syncs.
    bad_syncs: AtomicUsize,
    /// What a `FromDevice` map fills its bounce buffer with.
    receive: Receive,
    /// Each owner bucket's largest streaming request ([`Pool::usage`]).
    largest: Largest,
    _lock: PhantomData<fn() -> L>,
}

impl<L, A> Pool<L, A>
where
    L: AreaLock,
    A: Deref<Target = [L]>,
{
    /// Makes a pool of `nslots` slots starting at physical address `base`,
    /// over `areas`.
    ///
    /// `base` must be page aligned and the range must not wrap. The areas
    /// must be laid out as [`area_layout`] says: `areas.len()` must be
    /// `area_layout(nslots, want).nareas()` for some `want` (that is, a power
    /// of two that the pool has whole segments for), and area `i` must have
    /// [`AreaLayout::area_slots`]`(i)` slots, so that they add up to
    /// `nslots`. The areas must not be in use by another pool. Every slot is
    /// made free and every counter zero. On error `areas` are dropped
    /// untouched.
    ///
    /// [`area_layout`]: super::area_layout
    pub fn new(base: u64, nslots: usize, areas: A) -> Result<Self, PoolError> {
        if base & PAGE_MASK != 0 {
            return Err(PoolError::Unaligned);
        }
        if nslots == 0 {
            return Err(PoolError::Empty);
        }
        u64::try_from(nslots)
            .ok()
            .and_then(|n| n.checked_mul(SLOT_SIZE as u64))
            .and_then(|bytes| base.checked_add(bytes))
            .ok_or(PoolError::Overflow)?;
        let nareas = areas.len();
        let layout = AreaLayout::new(nslots, nareas);
        if !nareas.is_power_of_two() || layout.nareas() != nareas {
            return Err(PoolError::BadAreaCount);
        }
        for (i, area) in areas.iter().enumerate() {
            let (len, used, fits) = locked(area, |a| (a.nslots(), a.used(), a.bitmap_fits()));
            if len != layout.area_slots(i) || !fits || !Heads::of(area).fit() {
                return Err(PoolError::AreaSizeMismatch);
            }
            if used != 0 {
                return Err(PoolError::AreaInUse);
            }
        }
        for area in areas.iter() {
            locked(area, |a| a.format());
            Heads::of(area).reset();
            area.shared().reset();
        }
        Ok(Self {
            areas,
            base,
            layout,
            failed_maps: AtomicUsize::new(0),
            failed_allocs: AtomicUsize::new(0),
            bad_unmaps: AtomicUsize::new(0),
            bad_syncs: AtomicUsize::new(0),
            receive: Receive::Zero,
            largest: Largest::new(),
            _lock: PhantomData,
        })
    }

    /// The pool, with `FromDevice` maps filled as `receive` says (a new
    /// pool fills them with zeros).
    pub fn with_receive(mut self, receive: Receive) -> Self {
        self.receive = receive;
        self
    }

    /// What a `FromDevice` map fills its bounce buffer with.
    pub fn receive(&self) -> Receive {
        self.receive
    }

    /// Physical address of the first byte of the pool.
    pub fn base(&self) -> u64 {
        self.base
    }

    /// Number of slots of the pool.
    pub fn nslots(&self) -> usize {
        self.layout.nslots()
    }

    /// Number of areas of the pool.
    pub fn nareas(&self) -> usize {
        self.layout.nareas()
    }

    /// How the slots are split into areas.
    pub fn layout(&self) -> AreaLayout {
        self.layout
    }

    /// Physical address one past the last byte of the pool.
    pub fn end(&self) -> u64 {
        // Checked in `new`.
        self.slot_addr(self.nslots())
    }

    /// Whether `phys..phys + size` lies inside the pool (for `size` 0,
    /// whether `phys` does, as `is_swiotlb_buffer`).
    pub fn contains(&self, phys: u64, size: usize) -> bool {
        let last = (size.max(1) - 1) as u64;
        phys >= self.base
            && match phys.checked_add(last) {
                Some(last) => last < self.end(),
                None => false,
            }
    }

    /// Largest streaming mapping a caller should ask this pool for, for a
    /// device with constraints `c` (what the DMA API's `max_mapping_size`
    /// reports, and what block layers split their requests by).
    ///
    /// Besides the segment limit of the free function
    /// [`max_mapping_size`](super::max_mapping_size), it is what always fits
    /// inside one window of the device's segment boundary, which
    /// [`Pool::map`] enforces: the window less the part of it that
    /// `min_align_mask` fixes (a mapping keeps those bits of its original,
    /// so it may have to start that far into a window), in whole slots.
    /// And it is at most a quarter of the smallest area: in a small pool a
    /// mapping that needed a whole area could wait for it forever while
    /// smaller ones keep taking slots from it.
    pub fn max_mapping_size(&self, c: &Constraints) -> usize {
        let smallest = (0..self.layout.nareas())
            .map(|i| self.layout.area_slots(i))
            .min()
            .unwrap_or(0);
        let fixed = usize::try_from(c.min_align_mask & c.seg_boundary).unwrap_or(usize::MAX);
        let in_window = boundary_span(c.seg_boundary).saturating_sub(fixed) & !(SLOT_SIZE - 1);
        max_mapping_size(c.min_align_mask)
            .min(smallest * SLOT_SIZE / 4)
            .min(in_window)
    }

    /// Maps the original buffer `orig..orig + size` for streaming DMA in
    /// direction `dir`; returns the physical address of its bounce buffer
    /// (`swiotlb_tbl_map_single`).
    ///
    /// The bounce address has the bits of `c.min_align_mask` of `orig`; a
    /// mapping of a page or more (padding included) starts on a page boundary
    /// when the mask allows it (see the [module docs](super)). Its slots do
    /// not cross the device's segment boundary and end at or below its
    /// limit. The search starts in area `cpu % nareas()` (the glue passes the
    /// current CPU's number; any number is fine) and goes on through the
    /// other areas in order.
    ///
    /// For `ToDevice` and `Bidirectional` the original is copied into the
    /// bounce buffer. For `FromDevice` the bounce buffer is zeroed instead
    /// (or, with [`Receive::CopyOriginal`], copied): either way a device that
    /// writes only part of it leaves the rest as something of this mapping's,
    /// never another mapping's stale bytes.
    ///
    /// Errors: [`MapError::Invalid`] for size 0 or a range that wraps or
    /// ends above [`ORIG_BITS`](super::ORIG_BITS) bits,
    /// [`MapError::TooLarge`] above [`max_mapping_size`]`(c.min_align_mask)`
    /// or the segment boundary, [`MapError::Unreachable`] when no part of
    /// the pool is below the device's limit, [`MapError::Full`] when no area
    /// has room (counted in [`Stats::failed_maps`]).
    ///
    /// [`max_mapping_size`]: super::max_mapping_size
    pub fn map(
        &self,
        cpu: usize,
        orig: u64,
        size: usize,
        dir: Direction,
        c: &Constraints,
        copier: &impl Copier,
    ) -> Result<u64, MapError> {
        self.map_for(Owner::NONE, cpu, orig, size, dir, c, copier)
    }

    /// [`Pool::map`], recording `owner` as the mapping's owner
    /// ([`Pool::held_by`]).
    #[allow(clippy::too_many_arguments)]
    #[inline]
    pub fn map_for(
        &self,
        owner: Owner,
        cpu: usize,
        orig: u64,
        size: usize,
        dir: Direction,
        c: &Constraints,
        copier: &impl Copier,
    ) -> Result<u64, MapError> {
        self.map_inner::<true>(owner, cpu, orig, size, dir, c, copier)
    }

    /// [`Pool::map_for`] without the copy of what the device is to read:
    /// for `ToDevice` and `Bidirectional` the slots keep what the window
    /// held, and the caller copies the original in with
    /// [`Pool::sync_for_device`] of the whole mapping before it gives the
    /// device the address (or unmaps it with [`CopyBack::Skip`]). A receive
    /// buffer is zeroed (or copied) as by `map_for`. A caller that maps
    /// several buffers as one, a scatterlist, takes every one's slots first:
    /// when one fails, none of the others' originals the device was to read
    /// has entered the window, which the host reads.
    #[allow(clippy::too_many_arguments)]
    pub fn reserve_for(
        &self,
        owner: Owner,
        cpu: usize,
        orig: u64,
        size: usize,
        dir: Direction,
        c: &Constraints,
        copier: &impl Copier,
    ) -> Result<u64, MapError> {
        self.map_inner::<false>(owner, cpu, orig, size, dir, c, copier)
    }

    /// `map_for` (`COPY`), or `reserve_for`: one body, `COPY` a constant in
    /// each. `#[inline]`, not `always`: forced in early, it left `take` out
    /// of line in the kernel's map (36 instructions a map, under `-icount`).
    #[allow(clippy::too_many_arguments)]
    #[inline]
    fn map_inner<const COPY: bool>(
        &self,
        owner: Owner,
        cpu: usize,
        orig: u64,
        size: usize,
        dir: Direction,
        c: &Constraints,
        copier: &impl Copier,
    ) -> Result<u64, MapError> {
        let mask = c.min_align_mask;
        if size == 0 {
            return Err(MapError::Invalid);
        }
        let bucket = owner.bucket();
        self.largest.request(bucket, size);
        if size > max_mapping_size(mask) {
            return Err(MapError::TooLarge);
        }
        // No physical address has more than `ORIG_BITS` bits (and the head
        // slot keeps its owner above them).
        match orig.checked_add(size as u64 - 1) {
            Some(last) if last <= ORIG_MAX => {}
            _ => return Err(MapError::Invalid),
        }
        let offset = orig & mask & SLOT_MASK;
        // INVARIANT: `offset < SLOT_SIZE`, and `size <= max_mapping_size`
        // leaves room for it, so `nslots <= SEGMENT_SLOTS`.
        let padded = offset as usize + size;
        let nslots = nr_slots(padded);
        let high = mask & !SLOT_MASK;
        let page_aligned = padded >= PAGE_SIZE && high & PAGE_MASK == 0;
        let req = self.request(
            nslots,
            c,
            high | if page_aligned { PAGE_MASK } else { 0 },
            orig & high,
            Desc::head(Kind::Streaming(dir), orig, size, offset, owner),
        )?;
        let copy_in = dir.device_reads() || self.receive == Receive::CopyOriginal;
        // Left to the caller's sync, which counts its bytes.
        let deferred = !COPY && dir.device_reads();
        let Some(slot) = self.take(cpu, req, true, |c| {
            add(&c.maps, 1);
            if !deferred {
                add_bytes(
                    if copy_in {
                        &c.bytes_to_device
                    } else {
                        &c.bytes_zeroed
                    },
                    size,
                );
            }
            if let Some(u) = c.owner(bucket) {
                u.took(nslots);
            }
        }) else {
            self.failed_maps.fetch_add(1, Relaxed);
            return Err(MapError::Full);
        };
        let bounce = slot + offset;
        if !copy_in {
            copier.zero(bounce, size);
        } else if !deferred {
            copier.to_bounce(orig, bounce, size);
        }
        Ok(bounce)
    }

    /// The search for `nslots` slots under `c`, with the alignment
    /// `match_mask`/`match_bits`; refuses what can never be found.
    fn request(
        &self,
        nslots: usize,
        c: &Constraints,
        match_mask: u64,
        match_bits: u64,
        head: Desc,
    ) -> Result<Request, MapError> {
        // `nslots <= SEGMENT_SLOTS`: no overflow.
        let bytes = nslots * SLOT_SIZE;
        if bytes > boundary_span(c.seg_boundary) {
            return Err(MapError::TooLarge);
        }
        // The lowest run the pool can give must end within the limit.
        let lowest = self.base.wrapping_add(c.dma_offset);
        match lowest.checked_add(bytes as u64 - 1) {
            Some(last) if last <= c.dma_limit => {}
            _ => return Err(MapError::Unreachable),
        }
        Ok(Request {
            nslots,
            area_phys: 0,
            dma_offset: c.dma_offset,
            match_mask,
            match_bits,
            boundary: c.seg_boundary,
            limit: c.dma_limit,
            head,
        })
    }

    /// Unmaps the streaming mapping that `map` returned as `bounce`, of
    /// `size` bytes (`swiotlb_tbl_unmap_single`).
    ///
    /// Copies the bounce buffer back to the original first when `dir` is
    /// `FromDevice` or `Bidirectional` and `copy` is
    /// [`CopyBack::AsDirected`], then frees the slots. From its start the
    /// mapping is no longer live: a sync or a second unmap of it is refused.
    ///
    /// `bounce` must be exactly an address `map` returned and not unmapped
    /// since, `size` its size and `dir` its direction; otherwise the call is
    /// refused ([`UnmapError::NotMapped`], [`UnmapError::WrongKind`] for a
    /// block from [`Pool::alloc`], [`UnmapError::WrongDirection`],
    /// [`UnmapError::SizeMismatch`]; [`UnmapError::Busy`] while a sync of the
    /// mapping copies or another unmap holds it), changes nothing and is
    /// counted in [`Stats::bad_unmaps`].
    #[inline]
    pub fn unmap(
        &self,
        bounce: u64,
        size: usize,
        dir: Direction,
        copy: CopyBack,
        copier: &impl Copier,
    ) -> Result<(), UnmapError> {
        self.unmap_for(Owner::NONE, bounce, size, dir, copy, copier)
    }

    /// [`Pool::unmap`] of a mapping [`Pool::map_for`] made for `owner`. A
    /// mapping of another owner's is refused ([`UnmapError::OtherOwner`]),
    /// after the checks of [`Pool::unmap`]: a stale unmap, whose address a
    /// mapping of another device's has now (the area's cache hands a freed
    /// block to the next map of its size at once), never takes that one.
    #[allow(clippy::too_many_arguments)]
    #[inline]
    pub fn unmap_for(
        &self,
        owner: Owner,
        bounce: u64,
        size: usize,
        dir: Direction,
        copy: CopyBack,
        copier: &impl Copier,
    ) -> Result<(), UnmapError> {
        let result = self.unmap_inner(owner, bounce, size, dir, copy, copier);
        if result.is_err() {
            self.bad_unmaps.fetch_add(1, Relaxed);
        }
        result
    }

    // Always inline: its one caller adds only the error count, and a call
    // with seven arguments costs more than the rest of a parked unmap.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn unmap_inner(
        &self,
        owner: Owner,
        bounce: u64,
        size: usize,
        dir: Direction,
        copy: CopyBack,
        copier: &impl Copier,
    ) -> Result<(), UnmapError> {
        let copy_back = dir.device_writes() && copy == CopyBack::AsDirected;
        let (area, index) = self.locate(bounce).ok_or(UnmapError::NotMapped)?;
        let lock = self.areas.get(area).ok_or(UnmapError::NotMapped)?;
        // The mapping is no longer live once claimed: a second unmap or a
        // sync racing with this one is refused, and only this call frees it:
        // after copying back, a small block into the area's cache, without
        // the lock, a larger one in the unmap's one lock hold.
        let heads = Heads::of(lock);
        if let Err(e) = heads.claim(index, bounce, size, dir, owner) {
            return Err(locked(lock, |a| {
                e.unwrap_or_else(|| a.unclaimable(index, bounce, size, dir))
            }));
        }
        // Only the claim keeps the owner from changing under the look (the
        // one before it keeps another owner's unmap from claiming at all).
        let claimed = heads.claimed_owner(index);
        if claimed != owner {
            heads.unclaim(index, bounce, size, dir);
            return Err(UnmapError::OtherOwner);
        }
        if copy_back {
            copier.from_bounce(bounce, heads.claimed_orig(index), size);
        }
        let c = &lock.shared().counters;
        add(&c.unmaps, 1);
        if copy_back {
            add_bytes(&c.bytes_from_device, size);
        }
        let n = nr_slots((bounce & SLOT_MASK) as usize + size);
        if let Some(u) = c.owner(claimed.bucket()) {
            u.gave(n);
        }
        if n > PARKED_MAX_SLOTS || !heads.park(index, n) {
            locked(lock, |a| a.release(index));
        }
        Ok(())
    }

    /// Makes the CPU see what the device wrote to `bounce..bounce + size`:
    /// copies it back to the original when `dir` is `FromDevice` or
    /// `Bidirectional` (`swiotlb_sync_single_for_cpu`).
    ///
    /// `bounce` may be anywhere inside the bytes of a live streaming mapping
    /// (as `dma_sync_single_range_for_cpu` passes `dma_addr + offset`), and
    /// the range must end inside them; the matching original range starts as
    /// far from the mapping's original as `bounce` is from its bounce
    /// address. `dir` must be the mapping's, unless that is
    /// `Bidirectional` (as DMA-API debugging checks). A block of
    /// [`Block::Pages`] may be synced too: the range is checked the same way
    /// and nothing is copied. Otherwise the call is refused
    /// ([`UnmapError::NotMapped`], [`UnmapError::OutOfRange`],
    /// [`UnmapError::WrongKind`] for a coherent block,
    /// [`UnmapError::WrongDirection`]), copies nothing and is counted in
    /// [`Stats::bad_syncs`]; so is a sync of a mapping or block that
    /// [`Pool::map_for`] or [`Pool::alloc_for`] made for another `owner`
    /// ([`UnmapError::OtherOwner`], after the other checks): a stale sync
    /// must not copy another device's bytes either way. While it copies, an
    /// unmap of the mapping is refused ([`UnmapError::Busy`]).
    pub fn sync_for_cpu(
        &self,
        owner: Owner,
        bounce: u64,
        size: usize,
        dir: Direction,
        copier: &impl Copier,
    ) -> Result<(), UnmapError> {
        if let Some((orig, _syncing)) = self.sync_check(owner, bounce, size, dir, Towards::Cpu)? {
            copier.from_bounce(bounce, orig, size);
        }
        Ok(())
    }

    /// Makes the device see what the CPU wrote to the original of
    /// `bounce..bounce + size`: copies it into the bounce buffer when `dir`
    /// is `ToDevice` or `Bidirectional` (`swiotlb_sync_single_for_device`).
    /// The range is checked as by [`Pool::sync_for_cpu`].
    pub fn sync_for_device(
        &self,
        owner: Owner,
        bounce: u64,
        size: usize,
        dir: Direction,
        copier: &impl Copier,
    ) -> Result<(), UnmapError> {
        if let Some((orig, _syncing)) =
            self.sync_check(owner, bounce, size, dir, Towards::Device)?
        {
            copier.to_bounce(orig, bounce, size);
        }
        Ok(())
    }

    /// Checks a sync range; returns the original address to copy with, and
    /// the sync counted in on the mapping until the copy is done, or `None`
    /// when nothing is to be copied.
    fn sync_check(
        &self,
        owner: Owner,
        bounce: u64,
        size: usize,
        dir: Direction,
        towards: Towards,
    ) -> Result<Option<(u64, Syncing<'_>)>, UnmapError> {
        let copies = match towards {
            Towards::Device => dir.device_reads(),
            Towards::Cpu => dir.device_writes(),
        };
        let result = self
            .locate(bounce)
            .ok_or(UnmapError::NotMapped)
            .and_then(|(area, index)| {
                let lock = self.areas.get(area).ok_or(UnmapError::NotMapped)?;
                let area_addr = self.slot_addr(self.layout.area_start(area));
                locked(lock, |st| {
                    let m = st.mapping_at(index).ok_or(UnmapError::NotMapped)?;
                    let streaming = match m.desc.kind() {
                        Kind::Streaming(d) if d == dir || d == Direction::Bidirectional => true,
                        Kind::Streaming(_) => return Err(UnmapError::WrongDirection),
                        Kind::Pages => false,
                        Kind::Coherent => return Err(UnmapError::WrongKind),
                        _ => return Err(UnmapError::NotMapped),
                    };
                    let start = area_addr
                        .wrapping_add((m.head as u64) << SLOT_SHIFT)
                        .wrapping_add(m.desc.offset());
                    // INVARIANT: the mapping lies inside the pool, so neither
                    // `start + size` nor `orig + size` (checked at map)
                    // overflows; wrapping only keeps a broken invariant from
                    // panicking.
                    let end = start.wrapping_add(m.desc.size() as u64);
                    if bounce < start || bounce >= end {
                        return Err(UnmapError::NotMapped);
                    }
                    match bounce.checked_add(size as u64) {
                        Some(sub_end) if sub_end <= end => {}
                        _ => return Err(UnmapError::OutOfRange),
                    }
                    if m.desc.owner() != owner {
                        return Err(UnmapError::OtherOwner);
                    }
                    if !streaming || !copies || size == 0 {
                        return Ok(None);
                    }
                    let syncing = Heads::of(lock).enter_sync(&m)?;
                    let c = &lock.shared().counters;
                    add_bytes(
                        match towards {
                            Towards::Device => &c.bytes_to_device,
                            Towards::Cpu => &c.bytes_from_device,
                        },
                        size,
                    );
                    Ok(Some((m.desc.orig().wrapping_add(bounce - start), syncing)))
                })
            });
        if result.is_err() {
            self.bad_syncs.fetch_add(1, Relaxed);
        }
        result
    }

    /// Allocates a block of `size` bytes from the pool for memory the CPU
    /// and the device share (`swiotlb_alloc`); returns its physical address.
    ///
    /// The block's DMA address is aligned to its size rounded up to a power
    /// of two pages, as the DMA API promises for `dma_alloc_coherent` (and as
    /// `swiotlb_alloc` and dma-direct give); it keeps to `c`'s boundary and
    /// limit (the glue passes the coherent mask). Takes `size` rounded up to
    /// whole slots, at most [`SEGMENT_SIZE`], and zeroes all of those slots.
    /// The search starts in area `cpu % nareas()`. Errors as for
    /// [`Pool::map`]; a full pool is counted in [`Stats::failed_allocs`]. The
    /// glue passes `PAGE_ALIGN(size)`, as dma-direct does, when the block
    /// must be whole pages.
    pub fn alloc(
        &self,
        cpu: usize,
        size: usize,
        block: Block,
        c: &Constraints,
        copier: &impl Copier,
    ) -> Result<u64, MapError> {
        self.alloc_for(Owner::NONE, cpu, size, block, c, copier)
    }

    /// [`Pool::alloc`], recording `owner` as the block's owner
    /// ([`Pool::held_by`]).
    pub fn alloc_for(
        &self,
        owner: Owner,
        cpu: usize,
        size: usize,
        block: Block,
        c: &Constraints,
        copier: &impl Copier,
    ) -> Result<u64, MapError> {
        if size == 0 {
            return Err(MapError::Invalid);
        }
        if size > SEGMENT_SIZE {
            return Err(MapError::TooLarge);
        }
        let nslots = nr_slots(size);
        // `size <= SEGMENT_SIZE`: the alignment is at most a segment.
        let align = size.div_ceil(PAGE_SIZE).next_power_of_two() * PAGE_SIZE;
        let req = self.request(
            nslots,
            c,
            align as u64 - 1,
            0,
            Desc::head(block.into(), 0, size, 0, owner),
        )?;
        let Some(addr) = self.take(cpu, req, false, |c| {
            add(&c.allocs, 1);
            if let Some(u) = c.owner(owner.bucket()) {
                u.took(nslots);
            }
        }) else {
            self.failed_allocs.fetch_add(1, Relaxed);
            return Err(MapError::Full);
        };
        copier.zero(addr, nslots * SLOT_SIZE);
        Ok(addr)
    }

    /// Frees a block that [`Pool::alloc`] returned as `addr`, of `size`
    /// bytes, the size passed to `alloc`, as the same kind of `block`
    /// (`swiotlb_free`).
    ///
    /// Refused, changing nothing and counted in [`Stats::bad_unmaps`], when
    /// `addr` is not a live block ([`UnmapError::NotMapped`]), is a
    /// streaming mapping or the other kind of block
    /// ([`UnmapError::WrongKind`]), or `size` differs
    /// ([`UnmapError::SizeMismatch`]).
    pub fn free(&self, addr: u64, size: usize, block: Block) -> Result<(), UnmapError> {
        self.free_for(Owner::NONE, addr, size, block)
    }

    /// [`Pool::free`] of a block [`Pool::alloc_for`] gave `owner`; a block
    /// of another owner's is refused ([`UnmapError::OtherOwner`]), after
    /// the checks of [`Pool::free`].
    pub fn free_for(
        &self,
        owner: Owner,
        addr: u64,
        size: usize,
        block: Block,
    ) -> Result<(), UnmapError> {
        let result = self
            .locate(addr)
            .ok_or(UnmapError::NotMapped)
            .and_then(|(area, index)| {
                let lock = self.areas.get(area).ok_or(UnmapError::NotMapped)?;
                locked(lock, |st| {
                    let m = st.exact_mapping(index, addr, size, |kind| {
                        if kind == Kind::from(block) {
                            Ok(())
                        } else {
                            Err(UnmapError::WrongKind)
                        }
                    })?;
                    if m.desc.owner() != owner {
                        return Err(UnmapError::OtherOwner);
                    }
                    self.release(lock, st, index);
                    add(&lock.shared().counters.frees, 1);
                    Ok(())
                })
            });
        if result.is_err() {
            self.bad_unmaps.fetch_add(1, Relaxed);
        }
        result
    }

    /// How many streaming mappings and blocks that `owner` took are still
    /// live (or being unmapped). Walks every slot of every area, one area
    /// lock at a time: for slow paths (a driver gone, a late free), not for
    /// every map. A mapping taken or freed meanwhile may or may not be
    /// counted.
    pub fn held_by(&self, owner: Owner) -> usize {
        self.held(owner).blocks
    }

    /// What `owner` holds: its live mappings and blocks (as
    /// [`Pool::held_by`] counts them) and the slots they take.
    pub fn held(&self, owner: Owner) -> Held {
        self.areas
            .iter()
            .map(|a| locked(a, |st| st.held_by(owner)))
            .fold(Held::default(), |t, h| Held {
                blocks: t.blocks + h.blocks,
                slots: t.slots + h.slots,
            })
    }

    /// Restarts the high-water mark of `owner`'s bucket at what it holds
    /// now, and its largest request at 0 ([`Pool::usage`]): for a device
    /// whose driver begins to probe, whose mark then says what it took
    /// since. Cold: takes every area's lock.
    pub fn restart_usage(&self, owner: Owner) {
        self.largest.restart(owner);
        for area in self.areas.iter() {
            if let Some(u) = area.shared().counters.owner(owner.bucket()) {
                u.hiwater.store(u.used.load(Relaxed), Relaxed);
            }
        }
    }

    /// What the owners of `owner`'s bucket ([`Owner::bucket`]) take of the
    /// pool: `owner`'s own use where no other owner's tag shares its bucket.
    /// Read one area at a time, as [`Pool::stats`] is.
    pub fn usage(&self, owner: Owner) -> Usage {
        let mut u = Usage {
            largest: self.largest.of(owner),
            ..Usage::default()
        };
        for area in self.areas.iter() {
            if let Some(a) = area.shared().counters.owner(owner.bucket()) {
                u.used = u.used.wrapping_add(a.used.load(Relaxed) as usize);
                u.hiwater = u.hiwater.wrapping_add(a.hiwater.load(Relaxed) as usize);
            }
        }
        u
    }

    /// Returns the counters of the pool (see [`Stats`] for how consistent
    /// they are while the pool is busy).
    pub fn stats(&self) -> Stats {
        let mut stats = Stats {
            nslots: self.nslots(),
            nareas: self.nareas(),
            failed_maps: self.failed_maps.load(Relaxed),
            failed_allocs: self.failed_allocs.load(Relaxed),
            bad_unmaps: self.bad_unmaps.load(Relaxed),
            bad_syncs: self.bad_syncs.load(Relaxed),
            ..Stats::default()
        };
        for area in self.areas.iter() {
            let (used, hiwater) = area.with(|st| (st.used(), st.hiwater));
            // A parked block is nobody's: not in use, though its slots are
            // taken (and counted in the area's mark).
            let used = used.saturating_sub(area.shared().parked_slots());
            stats.add_area(used, hiwater, &area.shared().counters);
        }
        stats
    }

    /// Gives every block parked in an area's cache back to its area (a map
    /// that found no room, before it searches again); returns whether there
    /// was any.
    pub(crate) fn unpark_all(&self) -> bool {
        let mut any = false;
        for area in self.areas.iter() {
            if let Some((i, _)) = Heads::of(area).unpark() {
                // Its owner gave it back when it was parked.
                locked(area, |a| a.release(i));
                any = true;
            }
        }
        any
    }

    /// Physical address of pool slot `slot`.
    fn slot_addr(&self, slot: usize) -> u64 {
        self.base.wrapping_add((slot as u64) << SLOT_SHIFT)
    }

    /// Returns `(area, index in the area)` of the slot holding `phys`.
    #[inline]
    fn locate(&self, phys: u64) -> Option<(usize, usize)> {
        let offset = phys.checked_sub(self.base)?;
        let slot = usize::try_from(offset >> SLOT_SHIFT).ok()?;
        self.layout.locate(slot)
    }

    /// Takes slots for `req`, trying area `cpu % nareas` first and then the
    /// others in order (`swiotlb_find_slots`); `count` updates the counters
    /// of the area that had room. Returns the physical address of the first
    /// slot. With `cached`, a block parked in the first area's cache is
    /// taken when it is the size and fits (a streaming map); a pool without
    /// room gives its parked blocks back and is searched again.
    #[inline]
    fn take(
        &self,
        cpu: usize,
        mut req: Request,
        cached: bool,
        count: impl Fn(&AreaCounters),
    ) -> Option<u64> {
        let nareas = self.areas.len();
        // `new` made `nareas` a power of two: masks, not divisions.
        let wrap = nareas.wrapping_sub(1);
        if cached && req.nslots <= PARKED_MAX_SLOTS {
            let area = cpu & wrap;
            let lock = self.areas.get(area)?;
            let heads = Heads::of(lock);
            if let Some((i, n)) = heads.unpark() {
                let area_start = self.layout.area_start(area);
                req.area_phys = self.slot_addr(area_start);
                if n == req.nslots && req.fits(i) && heads.write(i, req.head) {
                    count(&lock.shared().counters);
                    return Some(self.slot_addr(area_start + i));
                }
                if !heads.repark(i, n) {
                    locked(lock, |a| a.release(i));
                }
            }
        }
        for _ in 0..2 {
            for k in 0..nareas {
                let area = cpu.wrapping_add(k) & wrap;
                let Some(lock) = self.areas.get(area) else {
                    continue;
                };
                let area_start = self.layout.area_start(area);
                req.area_phys = self.slot_addr(area_start);
                if let Some(index) = locked(lock, |st| st.alloc(&req)) {
                    count(&lock.shared().counters);
                    return Some(self.slot_addr(area_start + index));
                }
            }
            if !self.unpark_all() {
                break;
            }
        }
        None
    }

    /// Frees the block whose head is `index` in `lock`'s locked area `st`.
    fn release(&self, lock: &L, st: &mut Area<'_, L::Bitmap>, index: usize) {
        let (n, owner) = st.release(index);
        if let Some(u) = lock.shared().counters.owner(owner.bucket()) {
            u.gave(n);
        }
    }
}
#[cfg(any(test, feature = "fuzzing"))]
impl<L, A> Pool<L, A>
where
    L: AreaLock,
    A: Deref<Target = [L]>,
{
    /// The areas, for tests.
    pub(crate) fn areas(&self) -> &[L] {
        &self.areas
    }
}
