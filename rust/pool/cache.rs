// SPDX-License-Identifier: GPL-2.0

//! What every CPU changes in an area without its lock: the cache of one
//! small freed block the pool's docs describe, and the area's counters.

use core::sync::atomic::{
    AtomicU32,
    Ordering::{Acquire, Relaxed, Release},
};

use super::stats::AreaCounters;

/// The most slots a parked block has: a page.
pub(crate) const PARKED_MAX_SLOTS: usize = 2;

/// What every CPU changes in one area without its lock: a cache of one
/// small freed block (see the [pool's docs](super)) and the area's counters.
/// The glue allocates one per area, with its default value, beside the
/// area's lock; [`Pool::new`](super::Pool::new) resets it.
#[derive(Debug, Default)]
pub struct AreaShared {
    /// The parked block: its head slot plus one, shifted by 8, or'ed with
    /// its number of slots; 0 for none.
    parked: AtomicU32,
    /// The area's counters.
    pub(crate) counters: AreaCounters,
}

impl AreaShared {
    /// Empties the cache and the counters (for a new pool, whose areas are
    /// all free).
    pub(crate) fn reset(&self) {
        self.parked.store(0, Relaxed);
        self.counters.reset();
    }

    /// Parks the block of `n` slots at slot `i` unless a block is parked
    /// already. Release: the block's `Parked` head is written first.
    #[inline]
    pub(crate) fn park(&self, i: usize, n: usize) -> bool {
        let Some(v) = u32::try_from(i + 1)
            .ok()
            .and_then(|i| i.checked_mul(256))
            .filter(|_| (1..=PARKED_MAX_SLOTS).contains(&n))
        else {
            return false;
        };
        self.parked
            .compare_exchange(0, v | n as u32, Release, Relaxed)
            .is_ok()
    }

    /// Takes the parked block, if any: `(head slot, slots)`. One exchange:
    /// no two callers get the same block.
    #[inline]
    pub(crate) fn unpark(&self) -> Option<(usize, usize)> {
        if self.parked.load(Relaxed) == 0 {
            return None;
        }
        match self.parked.swap(0, Acquire) {
            0 => None,
            v => Some(((v >> 8) as usize - 1, (v & 0xff) as usize)),
        }
    }

    /// The slots the parked block takes (0 for none).
    pub(crate) fn parked_slots(&self) -> usize {
        (self.parked.load(Relaxed) & 0xff) as usize
    }
}
