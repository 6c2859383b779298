// SPDX-License-Identifier: GPL-2.0

//! [`DmaOps`]: what each operation of a `struct dma_map_ops` does, as a type
//! implements it (the module's one is `Region`, in `dma_ops.rs`), and the
//! arguments its methods take besides the pool's words ([`Direction`],
//! [`Block`]).

use super::scatterlist::SgIter;
use crate::ffi as bindings;
use crate::pool::{Block, Direction};
use crate::sys::device::Device;
use crate::sys::memory::Original;
use core::ffi::c_void;
use core::ptr::NonNull;
use kernel::prelude::*;

/// Which side a sync makes the buffer right for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SyncFor {
    /// `sync_*_for_cpu`: the CPU is to read what the device wrote.
    Cpu,
    /// `sync_*_for_device`: the device is to read what the CPU wrote.
    Device,
}

/// The `DMA_ATTR_*` flags of a call.
#[derive(Clone, Copy)]
pub(crate) struct Attrs(pub(super) u64);

impl Attrs {
    /// Only `DMA_ATTR_SKIP_CPU_SYNC`.
    pub(crate) const SKIP_CPU_SYNC: Attrs = Attrs(bindings::DMA_ATTR_SKIP_CPU_SYNC);

    /// `DMA_ATTR_SKIP_CPU_SYNC`: the caller syncs itself; do not copy.
    pub(crate) fn skip_cpu_sync(self) -> bool {
        self.0 & bindings::DMA_ATTR_SKIP_CPU_SYNC != 0
    }

    /// `DMA_ATTR_NO_WARN`: the caller expects failures; do not log them.
    pub(crate) fn no_warn(self) -> bool {
        self.0 & bindings::DMA_ATTR_NO_WARN != 0
    }
}

/// Whether a failure may be logged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Report {
    /// Log it.
    Failures,
    /// Say nothing: the caller expects failures (`__GFP_NOWARN`, as virtio
    /// trying smaller rings).
    Quiet,
}

impl Report {
    /// Whether an allocation with flags `gfp` may log its failure.
    pub(super) fn of_gfp(gfp: bindings::gfp_t) -> Self {
        if gfp & bindings::__GFP_NOWARN == 0 {
            Self::Failures
        } else {
            Self::Quiet
        }
    }
}

/// What a DMA ops table does for the devices that have it. Every method
/// refuses by default: a mapping fails, an allocation returns nothing, a
/// mask is not supported, a free or a sync does nothing.
pub(crate) trait DmaOps: Send + Sync + 'static {
    /// `map_page`: maps the buffer `buf`; returns the DMA address, or `None`.
    fn map(&self, _dev: &Device, _buf: Original, _dir: Direction, _attrs: Attrs) -> Option<u64> {
        None
    }

    /// `unmap_page`.
    fn unmap(&self, _dev: &Device, _dma: u64, _size: usize, _dir: Direction, _attrs: Attrs) {}

    /// `map_sg`: maps every entry; returns how many, or the errno the DMA API
    /// documents.
    fn map_sg(&self, _dev: &Device, _sg: SgIter, _dir: Direction, _attrs: Attrs) -> Result<i32> {
        Err(EIO)
    }

    /// `unmap_sg`.
    fn unmap_sg(&self, _dev: &Device, _sg: SgIter, _dir: Direction, _attrs: Attrs) {}

    /// `sync_single_for_cpu` and `sync_single_for_device`.
    fn sync(&self, _dev: &Device, _dma: u64, _size: usize, _dir: Direction, _for: SyncFor) {}

    /// `sync_sg_for_cpu` and `sync_sg_for_device`.
    fn sync_sg(&self, _dev: &Device, _sg: SgIter, _dir: Direction, _for: SyncFor) {}

    /// `alloc` and `alloc_pages_op`: returns the CPU and DMA addresses. A
    /// [`Block::Pages`] block must be in the linear map (it is handed
    /// out as `struct page`s).
    fn alloc(
        &self,
        _dev: &Device,
        _size: usize,
        _kind: Block,
        _report: Report,
    ) -> Option<(NonNull<c_void>, u64)> {
        None
    }

    /// `free` and `free_pages`.
    fn free(&self, _dev: &Device, _size: usize, _vaddr: *mut c_void, _dma: u64, _kind: Block) {}

    /// `map_resource`: MMIO at `phys`.
    fn map_resource(&self, _dev: &Device, _phys: u64, _size: usize) -> Option<u64> {
        None
    }

    /// `dma_supported`.
    fn dma_supported(&self, _dev: &Device, _mask: u64) -> bool {
        false
    }

    /// `get_required_mask`.
    fn required_mask(&self, _dev: &Device) -> u64 {
        0
    }

    /// `max_mapping_size`.
    fn max_mapping_size(&self, _dev: &Device) -> usize {
        0
    }

    /// A draining table refused `what` (a map or an allocation) for `dev`,
    /// whose driver is gone.
    fn refused_late(&self, _dev: &Device, _what: &str) {}

    /// A draining table took back a mapping or block of `dev` (or was asked
    /// to: the call may have been refused).
    fn released_late(&self, _dev: &Device) {}
}
