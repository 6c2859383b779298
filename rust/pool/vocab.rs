// SPDX-License-Identifier: GPL-2.0

//! The words of the DMA API, as the pool takes them: a direction, a kind of
//! block, what a device asks of its addresses, what a slot is.
//!
//! A leaf: the area's bookkeeping and the pool both speak these words, and
//! so does the kernel side (`sys::dma` passes them to the ops, `sys::device`
//! reads a device's [`Constraints`]), which has no words of its own for them.

/// Direction of a streaming mapping (`enum dma_data_direction`, without
/// `DMA_NONE`, which the kernel side refuses before it calls the ops).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// `DMA_BIDIRECTIONAL` (0): the device reads and writes the buffer.
    Bidirectional,
    /// `DMA_TO_DEVICE` (1): the device reads the buffer.
    ToDevice,
    /// `DMA_FROM_DEVICE` (2): the device writes the buffer.
    FromDevice,
}

impl Direction {
    /// Converts the kernel's `enum dma_data_direction` value; `None` for
    /// `DMA_NONE` (3) and anything else.
    pub const fn from_raw(dir: u32) -> Option<Self> {
        match dir {
            0 => Some(Self::Bidirectional),
            1 => Some(Self::ToDevice),
            2 => Some(Self::FromDevice),
            _ => None,
        }
    }

    /// Whether the device reads the buffer: `sync_for_device` copies in.
    pub(crate) fn device_reads(self) -> bool {
        matches!(self, Self::ToDevice | Self::Bidirectional)
    }

    /// Whether the device writes the buffer: unmap and `sync_for_cpu` copy
    /// back.
    pub(crate) fn device_writes(self) -> bool {
        matches!(self, Self::FromDevice | Self::Bidirectional)
    }
}

/// What a `FromDevice` map puts in its bounce buffer before the device
/// writes it.
///
/// The window is memory the host reads: a receive buffer's old contents
/// (page cache pages, user buffers, kernel heap) are not the device's to see.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Receive {
    /// Zeros (the default, as OVMF's bounce layer for SEV and TDX does):
    /// nothing of the original enters the window, and bytes the device
    /// leaves unwritten come back to the CPU as zeros.
    #[default]
    Zero,
    /// A copy of the original, as mainline swiotlb has done since the
    /// CVE-2022-0854 fix: unwritten bytes come back as they were, and the
    /// host reads the buffer's old contents. Only for a region whose node
    /// opts in (the binding's `copy-receive-buffers`).
    CopyOriginal,
}

/// Whether an unmap copies the bounce buffer back to the original.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CopyBack {
    /// As the direction says: for `FromDevice` and `Bidirectional`.
    AsDirected,
    /// Not at all (`DMA_ATTR_SKIP_CPU_SYNC`: the caller synced already).
    Skip,
}

/// What [`Pool::alloc`] hands out: memory the CPU and the device share for
/// as long as the block lives. Each must be freed as what it was allocated.
///
/// [`Pool::alloc`]: super::Pool::alloc
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Block {
    /// `dma_alloc_coherent()` memory: syncs on it are refused.
    Coherent,
    /// `dma_alloc_pages()` memory (also what `dma_alloc_noncontiguous()`
    /// falls back to): the API has the driver sync it, and those syncs are
    /// accepted and copy nothing, the CPU and the device share the bytes.
    Pages,
}

/// What a device asks of the DMA addresses it is given (from its
/// `struct device`, for one call).
///
/// The pool works in physical addresses; the device sees them moved by
/// `dma_offset` (its `dma-ranges`), and alignment, boundaries and limits are
/// about what the device sees, as in swiotlb.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Constraints {
    /// The device's DMA address minus the physical address, wrapping.
    pub dma_offset: u64,
    /// `dma_get_min_align_mask()`: a bounce address keeps these bits of the
    /// original's.
    pub min_align_mask: u64,
    /// `dma_get_seg_boundary()`: no mapping or block crosses a multiple of
    /// `seg_boundary + 1`.
    pub seg_boundary: u64,
    /// The highest DMA address the device may be given: its `dma_mask` (or
    /// `coherent_dma_mask`) and the bus limit, whichever is lower.
    pub dma_limit: u64,
}

impl Constraints {
    /// A device that asks nothing: identity addresses, no alignment, no
    /// boundary, all of the address space.
    pub const NONE: Self = Self {
        dma_offset: 0,
        min_align_mask: 0,
        seg_boundary: u64::MAX,
        dma_limit: u64::MAX,
    };
}

/// What a slot currently is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Not the head of a mapping: a free slot, or a further slot of a
    /// mapping (the bitmaps tell which). Its descriptor is all zero.
    #[default]
    Free,
    /// Head of a live streaming mapping, made for this direction.
    Streaming(Direction),
    /// Head of a streaming mapping whose unmap is copying back. It is not
    /// live any more: nothing but that unmap can touch it.
    Unmapping,
    /// Head of a coherent allocation (`dma_alloc_coherent`).
    Coherent,
    /// Head of a page allocation (`dma_alloc_pages`).
    Pages,
    /// Head of a small block that an unmap left in its area's cache for the
    /// next map on that area ([`AreaShared`](super::AreaShared)): nobody's,
    /// not live, its slots still taken from the area.
    Parked,
}

impl Kind {
    /// Whether the slot is the head of a mapping or block.
    pub(crate) fn is_head(self) -> bool {
        self != Kind::Free
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
