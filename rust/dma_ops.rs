// SPDX-License-Identifier: GPL-2.0

//! What each DMA operation does for a device behind a region: the
//! [`DmaOps`] of [`Region`].
//!
//! `sys::dma` turns the DMA core's calls into calls of these methods with
//! typed arguments; they read what the device asks of its addresses (its
//! `dma-ranges` offset, `min_align_mask`, segment boundary, mask and bus
//! limit), call the pool, and report what goes wrong. Nothing here sleeps or
//! allocates: these run in any context, interrupts included.

use crate::bounce::RegionCopier;
use crate::lifetime;
use crate::pool::{Block, Constraints, CopyBack, Direction, MapError, UnmapError};
use crate::region::{owner_of, Region};
use crate::sys::device::{Device, MaskKind};
use crate::sys::dma::{Attrs, DmaOps, Report, SgIter, SyncFor};
use crate::sys::memory::{Original, PAGE_SIZE};
use crate::sys::trace::{self, Event, Where};
use crate::sys::{ratelimit, this_cpu};
use core::ffi::c_void;
use core::fmt::Display;
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
        RegionCopier(self.claim.memory())
    }

    /// The DMA address `dev` sees for `phys` of this region, under `c`.
    fn dma_of(phys: u64, c: &Constraints) -> u64 {
        phys.wrapping_add(c.dma_offset)
    }

    /// Where the trace events say an op happened: this region, and its
    /// pool's use now.
    fn here(&self) -> Where<'_> {
        let s = self.pool.stats();
        Where {
            region: &self.name,
            used: s.used,
            nslots: s.nslots,
        }
    }

    /// Fires `event`, if any event is enabled: one load on the fast path,
    /// the event's arguments made only out of line.
    #[inline(always)]
    fn trace(&self, event: Event, dev: &Device, dma: u64, size: usize, dir: Option<Direction>) {
        if trace::enabled() {
            self.trace_op(event, dev, dma, size, dir);
        }
    }

    #[cold]
    #[inline(never)]
    fn trace_op(&self, event: Event, dev: &Device, dma: u64, size: usize, dir: Option<Direction>) {
        trace::op(event, dev, &self.here(), dma, size, dir);
    }

    /// Fires the failure event, if any event is enabled.
    fn trace_fail(
        &self,
        dev: &Device,
        what: &str,
        (dma, size): (u64, usize),
        dir: Option<Direction>,
        why: &dyn Display,
    ) {
        if trace::enabled() {
            trace::fail(dev, &self.here(), what, dma, size, dir, why);
        }
    }

    /// A refused map or allocation: traced, and reported (rate limited)
    /// unless the caller asked for silence.
    fn map_failed(
        &self,
        dev: &Device,
        what: &str,
        size: usize,
        dir: Option<Direction>,
        e: MapError,
        report: bool,
    ) {
        self.trace_fail(dev, what, (0, size), dir, &e);
        if report && ratelimit() {
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

    /// Reports, once per region (and traces each), an unmap, free or sync of
    /// something that is not a live mapping. The pool has refused it and
    /// counted it.
    fn bad_call(
        &self,
        dev: &Device,
        what: &str,
        (dma, size): (u64, usize),
        dir: Option<Direction>,
        e: UnmapError,
    ) {
        self.trace_fail(dev, what, (dma, size), dir, &e);
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

    /// `map`, or with `COPY` false the mapping made and its original left
    /// out of the window (the pool's `reserve_for`): `map_sg` copies once
    /// every entry has its slots.
    #[inline(always)]
    fn map_one<const COPY: bool>(
        &self,
        dev: &Device,
        buf: Original,
        dir: Direction,
        attrs: Attrs,
    ) -> Option<u64> {
        let report = !attrs.no_warn();
        let (phys, size) = (buf.phys(), buf.len());
        // Only memory with a linear alias can be copied (the pool's copies
        // rely on this check: see `Memremap::copy_in`).
        if !buf.is_linear() {
            self.map_failed(
                dev,
                "map of memory outside the linear map",
                size,
                Some(dir),
                MapError::Invalid,
                report,
            );
            return None;
        }
        let c = dev.dma_constraints(self.base, MaskKind::Streaming);
        if !self.at_its_offset(&c) {
            self.map_failed(
                dev,
                OTHER_OFFSET,
                size,
                Some(dir),
                MapError::Unreachable,
                report,
            );
            return None;
        }
        // The pool copies in what the device must read and zeroes a receive
        // buffer's slots (the region's `Receive`), whatever `attrs` say: what
        // the device leaves unwritten never comes back as a previous
        // mapping's bytes.
        let owner = owner_of(dev);
        let (pool, cpu, copier) = (&self.pool, this_cpu(), &self.copier());
        let bounced = if COPY {
            pool.map_for(owner, cpu, phys, size, dir, &c, copier)
        } else {
            pool.reserve_for(owner, cpu, phys, size, dir, &c, copier)
        };
        match bounced {
            Ok(bounce) => {
                let dma = Self::dma_of(bounce, &c);
                self.trace(Event::Map, dev, dma, size, Some(dir));
                Some(dma)
            }
            Err(e) => {
                self.map_failed(dev, "map", size, Some(dir), e, report);
                None
            }
        }
    }
}

/// What a map or allocation refused by [`Region::at_its_offset`] was.
const OTHER_OFFSET: &str =
    "map by a device that sees the region at another DMA address than its first device";

impl DmaOps for Region {
    /// Bounces `size` bytes at `phys`; the DMA address it returns is one
    /// `dev` can reach (its mask, bus limit, segment boundary and
    /// `min_align_mask` are the pool's search rules).
    fn map(&self, dev: &Device, buf: Original, dir: Direction, attrs: Attrs) -> Option<u64> {
        self.map_one::<true>(dev, buf, dir, attrs)
    }

    /// Copies back as `dir` requires and frees the slots.
    fn unmap(&self, dev: &Device, dma: u64, size: usize, dir: Direction, attrs: Attrs) {
        let copy = if attrs.skip_cpu_sync() {
            CopyBack::Skip
        } else {
            CopyBack::AsDirected
        };
        let phys = self.phys_of_dma(dma);
        match self
            .pool
            .unmap_for(owner_of(dev), phys, size, dir, copy, &self.copier())
        {
            Ok(()) => self.trace(Event::Unmap, dev, dma, size, Some(dir)),
            Err(e) => self.bad_call(dev, "unmap", (dma, size), Some(dir), e),
        }
    }

    /// Maps every entry; on a failure unmaps those already mapped and
    /// returns the errno the DMA API documents (`ENOMEM` for a full pool,
    /// `EINVAL` for an entry no mapping can hold). Every entry's slots are
    /// taken before any original is copied in: when one fails, no original
    /// the device was to read has entered the window (mainline's swiotlb
    /// copies each as it maps it, and a failure leaves those bytes to the
    /// host). Drivers that map entry by entry (the virtio ring) are not
    /// covered: each of their maps copies at once.
    fn map_sg(&self, dev: &Device, sg: SgIter, dir: Direction, attrs: Attrs) -> Result<i32> {
        // Nothing was written by the device yet: no copy back.
        let undo = |n| {
            sg.take(n).for_each(|m| {
                self.unmap(dev, m.dma_address(), m.dma_len(), dir, Attrs::SKIP_CPU_SYNC)
            })
        };
        let mut mapped = 0;
        for e in sg {
            let dma = e
                .original()
                .and_then(|buf| self.map_one::<false>(dev, buf, dir, attrs));
            let Some(dma) = dma else {
                let too_large = e.len() > self.max_mapping_size(dev);
                undo(mapped);
                return Err(if too_large { EINVAL } else { ENOMEM });
            };
            e.set_dma(dma, e.len());
            mapped += 1;
        }
        if dir.device_reads() {
            let (owner, copier) = (owner_of(dev), self.copier());
            for e in sg {
                let (dma, size) = (e.dma_address(), e.dma_len());
                let filled =
                    self.pool
                        .sync_for_device(owner, self.phys_of_dma(dma), size, dir, &copier);
                if let Err(why) = filled {
                    // Only a broken pool: the mapping is this call's own.
                    if ratelimit() {
                        pr_err!(
                            "{}: a scatterlist's copy into {} failed: {}; the list is not mapped\n",
                            dev.name(),
                            &*self.name,
                            why
                        );
                    }
                    undo(mapped);
                    return Err(EIO);
                }
            }
        }
        i32::try_from(mapped).map_err(|_| EINVAL)
    }

    fn unmap_sg(&self, dev: &Device, sg: SgIter, dir: Direction, attrs: Attrs) {
        sg.for_each(|e| self.unmap(dev, e.dma_address(), e.dma_len(), dir, attrs));
    }

    fn sync(&self, dev: &Device, dma: u64, size: usize, dir: Direction, to: SyncFor) {
        let phys = self.phys_of_dma(dma);
        let copier = self.copier();
        let (result, event) = match to {
            SyncFor::Device => (
                self.pool
                    .sync_for_device(owner_of(dev), phys, size, dir, &copier),
                Event::SyncForDevice,
            ),
            SyncFor::Cpu => (
                self.pool
                    .sync_for_cpu(owner_of(dev), phys, size, dir, &copier),
                Event::SyncForCpu,
            ),
        };
        match result {
            Ok(()) => self.trace(event, dev, dma, size, Some(dir)),
            Err(e) => self.bad_call(dev, "sync", (dma, size), Some(dir), e),
        }
    }

    fn sync_sg(&self, dev: &Device, sg: SgIter, dir: Direction, to: SyncFor) {
        sg.for_each(|e| self.sync(dev, e.dma_address(), e.dma_len(), dir, to));
    }

    /// Zeroed memory from the pool, aligned to its order, within the
    /// device's coherent mask. Pages only from a region in the linear map.
    fn alloc(
        &self,
        dev: &Device,
        size: usize,
        kind: Block,
        report: Report,
    ) -> Option<(NonNull<c_void>, u64)> {
        // Pages are handed out as `struct page`s of the linear map: only a
        // region mapped through its linear alias has them (not a `no-map`
        // one, nor a mapped one outside `/memory`, which memremap maps
        // elsewhere and whose `virt_to_page()` would be bogus).
        if kind == Block::Pages && !self.claim.memory().is_linear_alias() {
            self.trace_fail(
                dev,
                "allocation of pages",
                (0, size),
                None,
                &"the region has no struct pages",
            );
            return None;
        }
        let size = page_align(size)?;
        let c = dev.dma_constraints(self.base, MaskKind::Coherent);
        if !self.at_its_offset(&c) {
            let report = report == Report::Failures;
            self.map_failed(dev, OTHER_OFFSET, size, None, MapError::Unreachable, report);
            return None;
        }
        let owner = owner_of(dev);
        match self
            .pool
            .alloc_for(owner, this_cpu(), size, kind, &c, &self.copier())
        {
            Ok(phys) => {
                let cpu_addr = self.claim.memory().cpu_addr(phys, size)?;
                let dma = Self::dma_of(phys, &c);
                self.trace(Event::Alloc, dev, dma, size, None);
                Some((cpu_addr, dma))
            }
            Err(e) => {
                let report = report == Report::Failures;
                self.map_failed(dev, "coherent allocation", size, None, e, report);
                None
            }
        }
    }

    /// Gives back a block from [`DmaOps::alloc`] of the same kind.
    fn free(&self, dev: &Device, size: usize, vaddr: *mut c_void, dma: u64, kind: Block) {
        let size = page_align(size).unwrap_or(usize::MAX);
        let phys = self.phys_of_dma(dma);
        // The CPU and DMA addresses must name the same block.
        let result = match self.claim.memory().phys_of(vaddr, size) {
            Some(p) if p == phys => self.pool.free_for(owner_of(dev), phys, size, kind),
            _ => Err(UnmapError::NotMapped),
        };
        match result {
            Ok(()) => self.trace(Event::Free, dev, dma, size, None),
            Err(e) => self.bad_call(dev, "free", (dma, size), None, e),
        }
    }

    /// MMIO cannot be bounced, and the device must not reach anything
    /// outside its region: refused.
    fn map_resource(&self, dev: &Device, phys: u64, size: usize) -> Option<u64> {
        self.trace_fail(
            dev,
            "map_resource",
            (0, size),
            None,
            &"the device is restricted",
        );
        if ratelimit() {
            pr_warn!(
                "{}: map_resource of {:#x}+{:#x} refused: the device is restricted\n",
                dev.name(),
                phys,
                size
            );
        }
        None
    }

    /// Whether a device with DMA mask `mask` reaches all of the region, as
    /// one contiguous run of its addresses.
    fn dma_supported(&self, dev: &Device, mask: u64) -> bool {
        dev.dma_span(self.base, self.size)
            .is_some_and(|(_, last)| last <= mask)
    }

    /// The smallest mask that covers all of the region as `dev` sees it (0
    /// if it cannot see it).
    fn required_mask(&self, dev: &Device) -> u64 {
        dev.dma_span(self.base, self.size).map_or(0, |(_, last)| {
            u64::MAX.checked_shr(last.leading_zeros()).unwrap_or(0)
        })
    }

    fn max_mapping_size(&self, dev: &Device) -> usize {
        self.pool
            .max_mapping_size(&dev.dma_constraints(self.base, MaskKind::Streaming))
    }

    /// A device whose driver is gone asked for something new: refused, and
    /// said (rate limited).
    fn refused_late(&self, dev: &Device, what: &str) {
        self.trace_fail(dev, what, (0, 0), None, &"its driver is gone");
        if ratelimit() {
            pr_warn!(
                "{}: {} after its driver was gone: refused ({})\n",
                dev.name(),
                what,
                &*self.name
            );
        }
    }

    /// A late unmap or free: the deferred task lets go of the device once
    /// it holds nothing.
    fn released_late(&self, _dev: &Device) {
        lifetime::kick();
    }
}
