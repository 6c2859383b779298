// SPDX-License-Identifier: GPL-2.0

//! How a pool is split into areas, and the size limits of a mapping.

use super::{SEGMENT_SIZE, SEGMENT_SLOTS, SLOT_MASK, SLOT_SIZE};

/// How the slots of a pool are split into areas.
///
/// The number of areas is the wanted number rounded up to a power of two
/// (as swiotlb's `swiotlb_adjust_nareas`), then halved until every area holds
/// at least one whole segment (as `limit_nareas`); a pool of fewer than two
/// segments has one area.
///
/// Every area is a whole number of segments, so segments never straddle two
/// areas. The whole segments are dealt out as evenly as possible, the first
/// areas getting one segment more than the others when they do not divide
/// evenly, and the last area also takes the partial segment at the end of
/// the pool (`nslots % SEGMENT_SLOTS` slots), if any. With one area, that
/// area is the whole pool. For example 1000 slots in 4 areas give
/// 256 + 256 + 256 + 232 slots.
///
/// The glue sizes the descriptor storage of area `i` with
/// [`AreaLayout::area_slots`]`(i)`; [`Pool::new`](super::Pool::new) checks
/// the areas it is given against the same layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AreaLayout {
    nslots: usize,
    nareas: usize,
    /// Whole segments of every area (when `nareas > 1`).
    seg_per_area: usize,
    /// The first `extra` areas get one more segment (when `nareas > 1`).
    extra: usize,
}

/// Returns the layout of a pool of `nslots` slots split into (about)
/// `want_areas` areas; see [`AreaLayout`].
///
/// `want_areas` of 0 counts as 1. The glue typically passes the number of
/// possible CPUs, as swiotlb does.
pub fn area_layout(nslots: usize, want_areas: usize) -> AreaLayout {
    AreaLayout::new(nslots, want_areas)
}

impl AreaLayout {
    /// Same as [`area_layout`].
    pub fn new(nslots: usize, want_areas: usize) -> Self {
        let mut nareas = want_areas
            .max(1)
            .checked_next_power_of_two()
            .unwrap_or(1 << (usize::BITS - 1));
        let nsegs = nslots / SEGMENT_SLOTS;
        while nareas > 1 && nareas > nsegs {
            nareas /= 2;
        }
        let (seg_per_area, extra) = if nareas > 1 {
            (nsegs / nareas, nsegs % nareas)
        } else {
            (0, 0)
        };
        Self {
            nslots,
            nareas,
            seg_per_area,
            extra,
        }
    }

    /// Total number of slots of the pool.
    pub fn nslots(&self) -> usize {
        self.nslots
    }

    /// Number of areas (a power of two).
    pub fn nareas(&self) -> usize {
        self.nareas
    }

    /// Index, in the pool, of the first slot of `area`; `nslots()` for an
    /// area past the last.
    #[inline]
    pub fn area_start(&self, area: usize) -> usize {
        if area >= self.nareas {
            self.nslots
        } else if self.nareas == 1 {
            0
        } else {
            // INVARIANT: `area < nareas`, so this is at most
            // `nsegs * SEGMENT_SLOTS <= nslots`: no overflow.
            SEGMENT_SLOTS * (area * self.seg_per_area + area.min(self.extra))
        }
    }

    /// Number of slots of `area`; 0 for an area past the last.
    pub fn area_slots(&self, area: usize) -> usize {
        if area >= self.nareas {
            0
        } else {
            self.area_start(area + 1) - self.area_start(area)
        }
    }

    /// Returns `(area, index inside the area)` of pool slot `slot`, or
    /// `None` if `slot` is not in the pool.
    // Always inlined: called, it returns its pair through memory, and every
    // unmap and sync asks.
    #[inline(always)]
    pub(crate) fn locate(&self, slot: usize) -> Option<(usize, usize)> {
        if slot >= self.nslots {
            return None;
        }
        if self.nareas == 1 {
            return Some((0, slot));
        }
        let seg = slot / SEGMENT_SLOTS;
        let big = self.seg_per_area + 1;
        let in_big = self.extra * big;
        let area = if seg < in_big {
            seg / big
        } else {
            // INVARIANT: `nareas > 1` implies `nsegs >= nareas`, so
            // `seg_per_area >= 1`; `checked_div` only guards a broken layout.
            self.extra + (seg - in_big).checked_div(self.seg_per_area)?
        };
        // The partial segment at the end belongs to the last area.
        let area = area.min(self.nareas - 1);
        Some((area, slot - self.area_start(area)))
    }
}

/// Largest streaming mapping, in bytes, for a device with `min_align_mask`
/// (`swiotlb_max_mapping_size`).
///
/// A segment, less `min_align_mask` rounded up to a slot: the first slot of
/// a mapping may have to be skipped forward by up to that much to match the
/// original address's bits. It is 0 when the mask is a segment or more, and
/// such a device cannot map at all.
pub fn max_mapping_size(min_align_mask: u64) -> usize {
    if min_align_mask == 0 {
        return SEGMENT_SIZE;
    }
    let reserve = match min_align_mask.checked_add(SLOT_MASK) {
        Some(v) => v & !SLOT_MASK,
        None => return 0,
    };
    match usize::try_from(reserve) {
        Ok(reserve) => SEGMENT_SIZE.saturating_sub(reserve),
        Err(_) => 0,
    }
}

/// Number of slots covering `bytes` bytes (`nr_slots`).
pub(crate) fn nr_slots(bytes: usize) -> usize {
    bytes.div_ceil(SLOT_SIZE)
}

/// The most bytes a run can span under segment boundary mask `seg_boundary`
/// (`dma_get_seg_boundary`: runs never cross a multiple of
/// `seg_boundary + 1`).
pub(crate) fn boundary_span(seg_boundary: u64) -> usize {
    seg_boundary
        .checked_add(1)
        .and_then(|span| usize::try_from(span).ok())
        .unwrap_or(usize::MAX)
}
