// SPDX-License-Identifier: GPL-2.0

//! The DMA bounce-buffer pool of a restricted region: a small software IO TLB.
//!
//! A device behind a `restricted-dma-region` may only reach one physically
//! contiguous window of memory. Every streaming mapping of such a device is
//! therefore *bounced*: the driver's buffer (the "original") is copied into a
//! piece of the window before the device reads it, and copied back out after
//! the device wrote it. Coherent allocations of the device are carved out of
//! the same window. This module is the bookkeeping core of that window, in
//! the manner of `kernel/dma/swiotlb.c`, and deliberately mirrors its rules
//! so that drivers see the same behaviour with this pool as with swiotlb.
//!
//! # Slots
//!
//! The window is cut into *slots* of [`SLOT_SIZE`] (2 KiB, `IO_TLB_SIZE`)
//! bytes. A mapping takes a run of contiguous slots. The first slot of a
//! mapping (its *head*) has a small [`Slot`] descriptor: the original
//! address, the mapped size, the byte offset of the bounce address inside
//! the head slot and the number of slots. The other slots of a mapping have
//! no descriptor of their own; two bitmaps say which slots are in use and
//! which are heads, so any address inside a mapping finds the mapping in
//! O(1) (the nearest head at or below it), and "is there room for `n` slots
//! here" is a few shifts of one word. A map writes one descriptor and sets
//! bits; an unmap clears them: the bookkeeping costs the same for one slot
//! as for a whole segment. (swiotlb's `io_tlb_slot` instead keeps in each
//! free slot the length of the free run from it, and renumbers those slot by
//! slot at every map and unmap.)
//!
//! # Segments
//!
//! Slots are grouped into *segments* of [`SEGMENT_SLOTS`] (128,
//! `IO_TLB_SEGSIZE`) slots, counted from the start of the window. A mapping
//! never crosses a segment boundary, so it is at most 256 KiB long, and a
//! free run never has to be followed past a boundary: freeing a mapping
//! touches at most one segment's worth of descriptors. The largest mapping
//! is [`max_mapping_size`].
//!
//! # Alignment: `min_align_mask` and pages
//!
//! Some devices (NVMe, for one) derive the offset of a buffer inside their
//! own pages from the low bits of its DMA address, so the bounce address
//! must keep the bits of the original address that are covered by the
//! device's `min_align_mask`. As in swiotlb, the bits of the mask below
//! [`SLOT_SHIFT`] are kept by starting the bounce buffer at that offset
//! inside its first slot (the bytes before it are padding), and the bits at
//! and above [`SLOT_SHIFT`] are kept by only choosing first slots whose
//! address has those bits equal to the original's. Because a constrained
//! first slot may sit anywhere in a segment, the largest mapping shrinks by
//! the mask rounded up to a slot (`swiotlb_max_mapping_size`).
//!
//! Historically swiotlb mappings of a page or more start page aligned, and
//! drivers may rely on it; so a mapping whose padded size is at least
//! [`PAGE_SIZE`] starts on a page boundary too, unless `min_align_mask`
//! itself fixes the slot bits inside the page (then the mask wins, as
//! in swiotlb, where any `min_align_mask` disables the page rule). A block
//! from [`Pool::alloc`] is aligned to its size rounded up to a power of two
//! pages, as the DMA API promises for `dma_alloc_coherent`.
//!
//! # What the device asks: [`Constraints`]
//!
//! All of the rules above, and the device's own, are about the addresses
//! the *device* sees, which may sit at an offset from the physical ones
//! (`dma-ranges`): the pool computes them as swiotlb does, on DMA addresses.
//! A run of slots also never crosses the device's segment boundary
//! (`dma_get_seg_boundary`) and ends at or below its DMA limit (its mask and
//! bus limit), so every address handed out is one the device can use; the
//! search skips runs that break a rule rather than fail after taking them.
//!
//! # Areas, and why each has its own lock
//!
//! With a single lock every `dma_map` of every CPU would serialize on one
//! cache line; a busy device maps from all CPUs at once. So the window is
//! split into a power-of-two number of *areas* (`io_tlb_area`), each a
//! whole number of segments (the last one also takes the partial segment at
//! the end), each with its own lock, its own slot descriptors, its own
//! rotating search start and its own counters. A mapping lives entirely in
//! one area. A map starts in the area picked by the caller's CPU number and
//! only walks to the other areas when that one is full; an unmap finds its
//! area from the address alone. Areas hold at least one segment each, so a
//! small pool has fewer areas than asked for ([`area_layout`]).
//!
//! The locks and the storage come from the caller through the [`AreaLock`]
//! trait (the kernel puts kvmalloc'd descriptors beside an interrupt-safe
//! spinlock around the bitmaps, the host tests a `std::sync::Mutex` and
//! `Vec`s), and the bytes are moved by a [`Copier`] (the kernel copies
//! through the linear map and the window's mapping, the tests through
//! simulated memory). No copy is done under an area lock: copies are up to
//! 256 KiB.
//!
//! # One lock hold an unmap, and no copy into slots a mapping gave up
//!
//! The descriptor words are atomics, written under the lock. An unmap that
//! copies back first *claims* its mapping without the lock: one
//! compare-exchange of the head's word from exactly what its map wrote to
//! `Unmapping`, so that a second unmap or a sync racing with it is refused;
//! then it copies, then it frees the slots in its one lock hold (swiotlb
//! takes none for the check, as it checks nothing, and one to free). A sync
//! that copies counts itself in on the mapping under the lock and out after
//! its copy, and an unmap that finds the count above zero gives its claim
//! back and is refused ([`UnmapError::Busy`]): a driver that unmaps while it
//! syncs breaks the DMA API, and it must not make the pool copy into slots
//! that another mapping took meanwhile. The count is a byte a slot beside the
//! descriptors; the claim and the count in are sequentially consistent, so
//! one of the two always sees the other.
//!
//! # A cache of one small block an area
//!
//! A driver that maps and unmaps in turn (a virtio request's header, its
//! page, its status byte) frees a block just before it asks for one of the
//! same size. An unmap of at most a page parks its block in its area's cache
//! ([`AreaShared`]) rather than take the lock to free it, and the next map
//! of that size on the area takes it back, again without the lock and
//! without a search: one atomic exchange each way, so no two maps get the
//! same block. A parked block keeps its slots taken (its bits stay set, the
//! area's mark counts it) and its head says `Parked`: no unmap, free or sync
//! reaches it, and nobody holds it, as its owner gave it back when it was
//! parked ([`Pool::held_by`], [`Stats::used`]). A map takes it only when its
//! addresses fit the device's rules, as a search would; a map that finds the
//! pool full gives every parked block back to its area and searches again,
//! so the cache never makes a map fail. The counters are atomics on the
//! area's own lines, which the cached path and the locked one both change.
//!
//! # What a map does with the bytes
//!
//! The window is memory the host can read at any time, so a map puts there
//! only what the device must read. `ToDevice` and `Bidirectional` maps copy
//! the original in; a `FromDevice` map zeroes its bounce buffer instead
//! ([`Receive`]): a receive buffer's old contents are guest memory the
//! device has no right to see. Zeroing also keeps the reason swiotlb copies
//! (its 2022 fix "swiotlb: rework fix info leak with DMA_FROM_DEVICE"): the
//! bytes a device leaves unwritten come back to the CPU at unmap as zeros,
//! never as what an earlier mapping left in those slots. (OVMF's bounce
//! layer for SEV and TDX made the same choice.) A region may opt into
//! swiotlb's copy ([`Receive::CopyOriginal`]). Unmap and `sync_for_cpu` copy
//! back for `FromDevice`/`Bidirectional`; `sync_for_device` copies in for
//! `ToDevice`/`Bidirectional` only. A scatterlist's buffers are mapped
//! without their copies ([`Pool::reserve_for`]) and copied in by a sync
//! once all have their slots: a list that fails part way has put none of
//! the originals the device was to read in the window.
//!
//! # Robustness
//!
//! Unlike swiotlb, every unmap, free and sync is checked against the
//! descriptors: an address that is not exactly a live mapping of the right
//! kind, a size that differs from the mapped one, or a direction that is
//! not the mapping's, is refused with an error and changes nothing, so a
//! driver bug cannot double-free slots, corrupt the bookkeeping or copy
//! bytes the wrong way. No input makes this code panic.
//!
//! What no check can tell apart: a stale unmap (a double one, or a late
//! one) of an address that the same owner has mapped again since, with the
//! same size, direction and offset. An unmap names only those, and it frees
//! the new mapping, as mainline's would. The area's one-block cache makes
//! that likelier: it hands a freed block to the next map of its size at
//! once. Another owner's mapping at that address is refused
//! ([`UnmapError::OtherOwner`]).

#![forbid(unsafe_code)]

mod area;
mod cache;
mod error;
mod layout;
mod stats;
mod tlb;
mod usage;
mod vocab;

use area::ORIG_MAX;
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) use area::{locked, Heads};
pub use area::{AreaLock, AreaState, Owner, Slot, ORIG_BITS};
pub use cache::AreaShared;
pub use error::{MapError, PoolError, UnmapError};
pub use layout::{area_layout, max_mapping_size, AreaLayout};
pub use stats::{Held, Stats};
pub use tlb::{Copier, Pool};
pub use usage::{Usage, BUCKETS};
pub use vocab::{Block, Constraints, CopyBack, Direction, Receive};

/// log2 of [`SLOT_SIZE`] (`IO_TLB_SHIFT`).
pub const SLOT_SHIFT: u32 = 11;

/// Size in bytes of one slot, the allocation unit of the pool (`IO_TLB_SIZE`).
pub const SLOT_SIZE: usize = 1 << SLOT_SHIFT;

/// Slots per segment (`IO_TLB_SEGSIZE`); no mapping crosses a segment boundary.
pub const SEGMENT_SLOTS: usize = 128;

/// Size in bytes of one segment, the upper bound of any mapping.
pub const SEGMENT_SIZE: usize = SEGMENT_SLOTS * SLOT_SIZE;

/// Page size of the target (arm64 with 4 KiB pages).
pub const PAGE_SIZE: usize = 4096;

/// Bits of an address below [`SLOT_SIZE`].
const SLOT_MASK: u64 = SLOT_SIZE as u64 - 1;

/// Bits of an address below [`PAGE_SIZE`].
const PAGE_MASK: u64 = PAGE_SIZE as u64 - 1;
