// SPDX-License-Identifier: GPL-2.0

//! Counters of a pool.

use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};

use super::usage::{AreaUse, BUCKETS};

/// Counters of one area, changed with relaxed atomics: under the area's lock
/// by most calls, without it by the area's cache ([`AreaShared`]), and on
/// the area's own cache lines either way, so that CPUs of different areas
/// still share none. All additions wrap: a counter never panics.
///
/// [`AreaShared`]: super::AreaShared
#[derive(Debug)]
pub(crate) struct AreaCounters {
    pub(crate) maps: AtomicUsize,
    pub(crate) unmaps: AtomicUsize,
    pub(crate) allocs: AtomicUsize,
    pub(crate) frees: AtomicUsize,
    pub(crate) bytes_to_device: AtomicU64,
    pub(crate) bytes_from_device: AtomicU64,
    pub(crate) bytes_zeroed: AtomicU64,
    /// What each owner bucket takes of the area.
    pub(crate) by_owner: [AreaUse; BUCKETS],
}

impl Default for AreaCounters {
    fn default() -> Self {
        Self {
            maps: AtomicUsize::new(0),
            unmaps: AtomicUsize::new(0),
            allocs: AtomicUsize::new(0),
            frees: AtomicUsize::new(0),
            bytes_to_device: AtomicU64::new(0),
            bytes_from_device: AtomicU64::new(0),
            bytes_zeroed: AtomicU64::new(0),
            by_owner: core::array::from_fn(|_| AreaUse::default()),
        }
    }
}

/// Adds `n` to a count.
#[inline]
pub(crate) fn add(c: &AtomicUsize, n: usize) {
    c.fetch_add(n, Relaxed);
}

/// Adds `n` bytes to a count of bytes.
#[inline]
pub(crate) fn add_bytes(c: &AtomicU64, n: usize) {
    c.fetch_add(n as u64, Relaxed);
}

impl AreaCounters {
    /// Every counter 0 again (for a new pool).
    pub(crate) fn reset(&self) {
        for c in [&self.maps, &self.unmaps, &self.allocs, &self.frees] {
            c.store(0, Relaxed);
        }
        for c in [
            &self.bytes_to_device,
            &self.bytes_from_device,
            &self.bytes_zeroed,
        ] {
            c.store(0, Relaxed);
        }
        for u in &self.by_owner {
            u.used.store(0, Relaxed);
            u.hiwater.store(0, Relaxed);
        }
    }

    /// Owner `bucket`'s use of the area (nothing for a bucket out of range).
    #[inline]
    pub(crate) fn owner(&self, bucket: usize) -> Option<&AreaUse> {
        self.by_owner.get(bucket)
    }
}

/// A snapshot of the counters of a pool ([`Pool::stats`](super::Pool::stats)).
///
/// The per-area parts are read one area at a time, each under its own lock,
/// so while other CPUs map and unmap the sum is not one instant's state; it
/// is exact whenever the pool is quiet.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Slots in the pool.
    pub nslots: usize,
    /// Areas of the pool.
    pub nareas: usize,
    /// Slots in use (streaming mappings, mappings being unmapped, coherent
    /// allocations), summed over the areas. Not the small blocks parked in
    /// the areas' caches, which nobody holds; [`Stats::used_hiwater`] counts
    /// those too.
    pub used: usize,
    /// High-water mark of the slots in use: the sum of each area's own
    /// high-water mark.
    ///
    /// The areas may peak at different times, so this is an upper bound of
    /// the pool-wide peak (exact with one area), never below it: the safe
    /// side for sizing a region. An exact pool-wide mark needs a count that
    /// every CPU updates on every map (swiotlb's `total_used`), the one
    /// cache line all areas would share; the per-area locks are there so
    /// that CPUs share none.
    pub used_hiwater: usize,
    /// Successful streaming maps.
    pub maps: usize,
    /// Successful streaming unmaps.
    pub unmaps: usize,
    /// Bytes copied from original buffers into the pool (at map and at
    /// `sync_for_device`).
    pub bytes_to_device: u64,
    /// Bytes copied from the pool back to original buffers (at unmap and at
    /// `sync_for_cpu`).
    pub bytes_from_device: u64,
    /// Bytes of receive buffers (`FromDevice` maps) zeroed in the pool
    /// instead of copied in ([`Receive::Zero`](super::Receive::Zero)).
    pub bytes_zeroed: u64,
    /// Streaming maps refused because no area had room
    /// ([`MapError::Full`](super::MapError::Full)).
    pub failed_maps: usize,
    /// Successful coherent allocations.
    pub allocs: usize,
    /// Successful coherent frees.
    pub frees: usize,
    /// Coherent allocations refused because no area had room.
    pub failed_allocs: usize,
    /// Refused unmaps and frees (not a live mapping of that kind, wrong size).
    pub bad_unmaps: usize,
    /// Refused syncs (address or range not inside a live streaming mapping).
    pub bad_syncs: usize,
}

impl Stats {
    /// Adds the counters of one area, which has `used` slots in use and had
    /// at most `hiwater`.
    pub(crate) fn add_area(&mut self, used: usize, hiwater: usize, c: &AreaCounters) {
        let n = |c: &AtomicUsize| c.load(Relaxed);
        let b = |c: &AtomicU64| c.load(Relaxed);
        self.used = self.used.wrapping_add(used);
        self.used_hiwater = self.used_hiwater.wrapping_add(hiwater);
        self.maps = self.maps.wrapping_add(n(&c.maps));
        self.unmaps = self.unmaps.wrapping_add(n(&c.unmaps));
        self.allocs = self.allocs.wrapping_add(n(&c.allocs));
        self.frees = self.frees.wrapping_add(n(&c.frees));
        self.bytes_to_device = self.bytes_to_device.wrapping_add(b(&c.bytes_to_device));
        self.bytes_from_device = self.bytes_from_device.wrapping_add(b(&c.bytes_from_device));
        self.bytes_zeroed = self.bytes_zeroed.wrapping_add(b(&c.bytes_zeroed));
    }
}

/// What one [`Owner`](super::Owner) holds of a pool
/// ([`Pool::held`](super::Pool::held)).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Held {
    /// Streaming mappings and blocks.
    pub blocks: usize,
    /// The slots they take, padding included.
    pub slots: usize,
}
