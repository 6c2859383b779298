// SPDX-License-Identifier: GPL-2.0

//! Counters of a pool.

use super::usage::{AreaUse, BUCKETS};

/// Counters of one area, kept under that area's lock (so no atomics on the
/// hot path). All additions wrap: a counter never panics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct AreaCounters {
    pub(crate) maps: usize,
    pub(crate) unmaps: usize,
    pub(crate) allocs: usize,
    pub(crate) frees: usize,
    pub(crate) bytes_to_device: u64,
    pub(crate) bytes_from_device: u64,
    pub(crate) bytes_zeroed: u64,
    /// The most slots the area had in use at once.
    pub(crate) hiwater: usize,
    /// What each owner bucket takes of the area.
    pub(crate) by_owner: [AreaUse; BUCKETS],
}

impl AreaCounters {
    pub(crate) const fn new() -> Self {
        Self {
            maps: 0,
            unmaps: 0,
            allocs: 0,
            frees: 0,
            bytes_to_device: 0,
            bytes_from_device: 0,
            bytes_zeroed: 0,
            hiwater: 0,
            by_owner: [AreaUse::ZERO; BUCKETS],
        }
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
    /// allocations), summed over the areas.
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
    /// Adds the counters of one area.
    pub(crate) fn add_area(&mut self, used: usize, c: &AreaCounters) {
        self.used = self.used.wrapping_add(used);
        self.used_hiwater = self.used_hiwater.wrapping_add(c.hiwater);
        self.maps = self.maps.wrapping_add(c.maps);
        self.unmaps = self.unmaps.wrapping_add(c.unmaps);
        self.allocs = self.allocs.wrapping_add(c.allocs);
        self.frees = self.frees.wrapping_add(c.frees);
        self.bytes_to_device = self.bytes_to_device.wrapping_add(c.bytes_to_device);
        self.bytes_from_device = self.bytes_from_device.wrapping_add(c.bytes_from_device);
        self.bytes_zeroed = self.bytes_zeroed.wrapping_add(c.bytes_zeroed);
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
