// SPDX-License-Identifier: GPL-2.0

//! Errors of the pool.

use core::fmt;

/// Why [`Pool::new`](super::Pool::new) refused its arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PoolError {
    /// `base` is not page aligned.
    Unaligned,
    /// The pool has no slots.
    Empty,
    /// `base + nslots * SLOT_SIZE` does not fit in a physical address.
    Overflow,
    /// The number of areas is zero, not a power of two, or more than the
    /// pool has whole segments for (see [`AreaLayout`](super::AreaLayout)).
    BadAreaCount,
    /// An area does not have the number of slots that
    /// [`AreaLayout::area_slots`](super::AreaLayout::area_slots) gives it,
    /// or its bitmap not [`AreaState::bitmap_words`](super::AreaState::bitmap_words)
    /// words.
    AreaSizeMismatch,
    /// An area still has slots in use (it belongs to another pool).
    AreaInUse,
}

/// Why a map or a coherent allocation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapError {
    /// Size 0, or the original range wraps around the address space.
    Invalid,
    /// Larger than [`max_mapping_size`](super::max_mapping_size) (streaming)
    /// or than [`SEGMENT_SIZE`](super::SEGMENT_SIZE) (coherent).
    TooLarge,
    /// No area has a suitable run of free slots.
    Full,
    /// No part of the pool lies below the device's DMA limit (its mask or
    /// bus limit), as the device sees it.
    Unreachable,
}

/// Why an unmap, a free or a sync was refused. A refused call changes
/// nothing and copies nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnmapError {
    /// The address is not where a live mapping of the pool starts (unmap,
    /// free) or is not inside the bytes of a live mapping (sync). This is
    /// also the answer for a second unmap of the same mapping.
    NotMapped,
    /// The address is a live mapping, but of another kind: a block from
    /// `alloc` given to unmap (or a coherent one to sync), a streaming
    /// mapping given to free, or a block freed as the other kind of block.
    WrongKind,
    /// The size differs from the size that was mapped or allocated.
    SizeMismatch,
    /// A sync range runs past the end of its mapping.
    OutOfRange,
    /// The direction differs from the mapping's (a sync may name any
    /// direction of a `Bidirectional` mapping).
    WrongDirection,
    /// The mapping was in the middle of another call that the DMA API does
    /// not allow beside this one: an unmap while a sync of the mapping
    /// copied or another unmap held it, or a sync while 255 others copied.
    /// The mapping stays as it was.
    Busy,
    /// The mapping or block is another owner's (another device's, unless
    /// their tags are the same): a stale unmap or free, whose address a
    /// mapping of someone else's now has. It stays as it was.
    OtherOwner,
}

impl fmt::Display for PoolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Unaligned => "pool base is not page aligned",
            Self::Empty => "pool has no slots",
            Self::Overflow => "pool range overflows the physical address space",
            Self::BadAreaCount => "bad number of areas",
            Self::AreaSizeMismatch => "area size does not match the layout",
            Self::AreaInUse => "area has slots in use",
        })
    }
}

impl fmt::Display for MapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Invalid => "invalid size or address",
            Self::TooLarge => "mapping too large",
            Self::Full => "bounce buffer pool is full",
            Self::Unreachable => "the region lies beyond the device's DMA mask",
        })
    }
}

impl fmt::Display for UnmapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NotMapped => "address is not a live mapping",
            Self::WrongKind => "not that kind of mapping (streaming, coherent, pages)",
            Self::SizeMismatch => "size differs from the mapped size",
            Self::OutOfRange => "range runs past the end of the mapping",
            Self::WrongDirection => "direction differs from the mapped one",
            Self::Busy => "the mapping was being synced or unmapped at the same time",
            Self::OtherOwner => "the mapping is another device's",
        })
    }
}
