// SPDX-License-Identifier: GPL-2.0

//! What each DMA operation does for a device behind a region.
//!
//! `sys::dma` turns the DMA core's calls into calls of these methods with
//! typed arguments; they translate between the device's DMA addresses and the
//! pool's physical ones (`phys_to_dma`, so a bus `dma-ranges` is honoured),
//! call the pool, and report what goes wrong. Nothing here sleeps or
//! allocates: these run in any context, interrupts included.

use crate::bounce::RegionCopier;
use crate::pool::{Block, Constraints, Direction, MapError, UnmapError};
use crate::region::Region;
use crate::sys::device::{Device, MaskKind};
use crate::sys::dma::{AllocKind, Attrs, SgIter, MAPPING_ERROR};
use crate::sys::memory::{in_linear_map, PAGE_SIZE};
use crate::sys::{ratelimit, this_cpu};
use core::ffi::c_void;
use core::ptr::NonNull;
use core::sync::atomic::Ordering;
use kernel::prelude::*;

/// Coherent blocks are whole pages, as dma-direct hands them out.
fn page_align(size: usize) -> Option<usize> {
    let page = PAGE_SIZE as usize;
    size.checked_add(page - 1).map(|s| s & !(page - 1))
}

impl Region {
    fn copier(&self) -> RegionCopier<'_> {
        RegionCopier(self.claim.mapping())
    }

    /// What `dev` asks of the addresses it is given in this region now.
    fn constraints(&self, dev: &Device, kind: MaskKind) -> Constraints {
        let c = dev.dma_constraints(self.base, kind);
        Constraints {
            dma_offset: c.dma_offset,
            min_align_mask: c.min_align_mask,
            seg_boundary: c.seg_boundary,
            dma_limit: c.dma_limit,
        }
    }

    /// The DMA address `dev` sees for `phys` of this region, under `c`.
    fn dma_of(phys: u64, c: &Constraints) -> u64 {
        phys.wrapping_add(c.dma_offset)
    }

    /// Whether the region has a linear-map alias (no `no-map`), so that its
    /// memory has `struct page`s.
    pub(crate) fn linear(&self) -> bool {
        !self.no_map
    }

    /// Reports a refused map or allocation, rate limited.
    fn map_failed(&self, dev: &Device, what: &str, size: usize, e: MapError) {
        if ratelimit() {
            let s = self.pool.stats();
            pr_warn!(
                "{}: {} of {} bytes failed in {}: {} ({} of {} slots in use)\n",
                dev.name(),
                what,
                size,
                &*self.name,
                e,
                s.used,
                s.nslots
            );
        }
    }

    /// Reports, once per region, an unmap, free or sync of something that is
    /// not a live mapping. The pool has refused it and counted it.
    fn bad_call(&self, dev: &Device, what: &str, dma: u64, size: usize, e: UnmapError) {
        if !self.bad_call_reported.swap(true, Ordering::Relaxed) {
            pr_err!(
                "{}: {} of {:#x} ({} bytes) refused in {}: {}; ignored (reported once)\n",
                dev.name(),
                what,
                dma,
                size,
                &*self.name,
                e
            );
        }
    }

    /// `map_page`: bounces `size` bytes at `phys`; returns the DMA address,
    /// which `dev` can reach (its mask, bus limit, segment boundary and
    /// `min_align_mask` are the pool's search rules).
    pub(crate) fn map(&self, dev: &Device, phys: u64, size: usize, dir: u32, attrs: Attrs) -> u64 {
        let warn = !attrs.no_warn();
        let Some(dir) = Direction::from_raw(dir) else {
            if warn {
                self.map_failed(dev, "map with DMA_NONE", size, MapError::Invalid);
            }
            return MAPPING_ERROR;
        };
        // Only memory with a linear alias can be copied (the pool's copies
        // rely on this check: see `Mapping::copy_in`).
        if !in_linear_map(phys, size) {
            if warn {
                self.map_failed(
                    dev,
                    "map of memory outside the linear map",
                    size,
                    MapError::Invalid,
                );
            }
            return MAPPING_ERROR;
        }
        let c = self.constraints(dev, MaskKind::Streaming);
        // The pool copies the original in whatever the direction and `attrs`
        // say, so that what the device leaves unwritten comes back as the
        // original, never as a previous mapping's bytes.
        match self
            .pool
            .map(this_cpu(), phys, size, dir, &c, &self.copier())
        {
            Ok(bounce) => Self::dma_of(bounce, &c),
            Err(e) => {
                if warn {
                    self.map_failed(dev, "map", size, e);
                }
                MAPPING_ERROR
            }
        }
    }

    /// `unmap_page`: copies back as `dir` requires and frees the slots.
    pub(crate) fn unmap(&self, dev: &Device, dma: u64, size: usize, dir: u32, attrs: Attrs) {
        let result = Direction::from_raw(dir)
            .ok_or(UnmapError::NotMapped)
            .and_then(|dir| {
                let phys = dev.dma_to_phys(dma);
                self.pool
                    .unmap(phys, size, dir, attrs.skip_cpu_sync(), &self.copier())
            });
        if let Err(e) = result {
            self.bad_call(dev, "unmap", dma, size, e);
        }
    }

    /// `sync_single_for_{cpu,device}`.
    pub(crate) fn sync(&self, dev: &Device, dma: u64, size: usize, dir: u32, for_device: bool) {
        let result = Direction::from_raw(dir)
            .ok_or(UnmapError::NotMapped)
            .and_then(|dir| {
                let phys = dev.dma_to_phys(dma);
                if for_device {
                    self.pool.sync_for_device(phys, size, dir, &self.copier())
                } else {
                    self.pool.sync_for_cpu(phys, size, dir, &self.copier())
                }
            });
        if let Err(e) = result {
            self.bad_call(dev, "sync", dma, size, e);
        }
    }

    /// `map_sg`: maps every entry; on a failure unmaps those already mapped
    /// and returns the errno the DMA API documents (`ENOMEM` for a full pool,
    /// `EINVAL` for an entry no mapping can hold).
    pub(crate) fn map_sg(&self, dev: &Device, sg: SgIter, dir: u32, attrs: Attrs) -> Result<i32> {
        let mut mapped = 0;
        for e in sg {
            let dma = self.map(dev, e.phys(), e.len(), dir, attrs);
            if dma == MAPPING_ERROR {
                let too_large = e.len() > self.max_mapping_size(dev);
                // Nothing was written by the device yet: no copy back.
                let skip = Attrs::SKIP_CPU_SYNC;
                sg.take(mapped)
                    .for_each(|m| self.unmap(dev, m.dma_address(), m.dma_len(), dir, skip));
                return Err(if too_large { EINVAL } else { ENOMEM });
            }
            e.set_dma(dma, e.len());
            mapped += 1;
        }
        Ok(mapped as i32)
    }

    /// `unmap_sg`.
    pub(crate) fn unmap_sg(&self, dev: &Device, sg: SgIter, dir: u32, attrs: Attrs) {
        sg.for_each(|e| self.unmap(dev, e.dma_address(), e.dma_len(), dir, attrs));
    }

    /// `sync_sg_for_{cpu,device}`.
    pub(crate) fn sync_sg(&self, dev: &Device, sg: SgIter, dir: u32, for_device: bool) {
        sg.for_each(|e| self.sync(dev, e.dma_address(), e.dma_len(), dir, for_device));
    }

    /// `alloc` and `alloc_pages_op`: zeroed memory from the pool, aligned to
    /// its order, within the device's coherent mask; returns its CPU and DMA
    /// addresses. A failure is logged unless `warn` is false
    /// (`__GFP_NOWARN`).
    pub(crate) fn alloc(
        &self,
        dev: &Device,
        size: usize,
        kind: AllocKind,
        warn: bool,
    ) -> Option<(NonNull<c_void>, u64)> {
        let size = page_align(size)?;
        let c = self.constraints(dev, MaskKind::Coherent);
        match self
            .pool
            .alloc(this_cpu(), size, block(kind), &c, &self.copier())
        {
            Ok(phys) => {
                let cpu_addr = self.claim.mapping().cpu_addr(phys, size)?;
                Some((cpu_addr, Self::dma_of(phys, &c)))
            }
            Err(e) => {
                if warn {
                    self.map_failed(dev, "coherent allocation", size, e);
                }
                None
            }
        }
    }

    /// `free` and `free_pages`: gives back a block from [`Region::alloc`] of
    /// the same kind.
    pub(crate) fn free(
        &self,
        dev: &Device,
        size: usize,
        vaddr: *mut c_void,
        dma: u64,
        kind: AllocKind,
    ) {
        let size = page_align(size).unwrap_or(usize::MAX);
        let phys = dev.dma_to_phys(dma);
        // The CPU and DMA addresses must name the same block.
        let result = match self.claim.mapping().phys_of(vaddr, size) {
            Some(p) if p == phys => self.pool.free(phys, size, block(kind)),
            _ => Err(UnmapError::NotMapped),
        };
        if let Err(e) = result {
            self.bad_call(dev, "free", dma, size, e);
        }
    }

    /// `dma_supported`: whether a device with DMA mask `mask` reaches all of
    /// the region, as one contiguous run of its addresses.
    pub(crate) fn dma_supported(&self, dev: &Device, mask: u64) -> bool {
        dev.dma_span(self.base, self.size)
            .is_some_and(|(_, last)| last <= mask)
    }

    /// `get_required_mask`: the smallest mask that covers all of the region
    /// as `dev` sees it (0 if it cannot see it).
    pub(crate) fn required_mask(&self, dev: &Device) -> u64 {
        dev.dma_span(self.base, self.size).map_or(0, |(_, last)| {
            u64::MAX.checked_shr(last.leading_zeros()).unwrap_or(0)
        })
    }

    /// `max_mapping_size`: the largest streaming mapping for this device.
    pub(crate) fn max_mapping_size(&self, dev: &Device) -> usize {
        self.pool
            .max_mapping_size(&self.constraints(dev, MaskKind::Streaming))
    }
}

/// The pool's name for what an allocation op hands out.
fn block(kind: AllocKind) -> Block {
    match kind {
        AllocKind::Coherent => Block::Coherent,
        AllocKind::Pages => Block::Pages,
    }
}

/// `map_resource`: MMIO cannot be bounced, and the device must not reach
/// anything outside its region, so it is refused.
pub(crate) fn refuse_resource(dev: &Device, phys: u64, size: usize) {
    if ratelimit() {
        pr_warn!(
            "{}: map_resource of {:#x}+{:#x} refused: the device is restricted\n",
            dev.name(),
            phys,
            size
        );
    }
}
