// SPDX-License-Identifier: GPL-2.0

//! What one device takes of a pool, for sizing its region.
//!
//! A region is sized for its devices' steady state, and a pool-wide count
//! does not say whose it is: the operator needs each device's share (the
//! slots it keeps mapped, the most it had at once) and its largest request,
//! which the region must be able to hold at all. So the pool counts by
//! owner, in [`BUCKETS`] buckets (an owner's is a hash of its tag,
//! [`Owner::bucket`]):
//! - slots in use and the most in use at once, per area, under the area's
//!   lock, as the area's own counters are: the hot path shares no cache line
//!   between areas, and a mapping's slots leave the bucket they came into,
//!   since its head slot keeps its owner. An owner's mark is the sum of its
//!   areas' marks, an upper bound of its peak (exact with one area), as
//!   [`Stats::used_hiwater`](super::Stats::used_hiwater) is of the pool's;
//! - its largest streaming request, refused or not, in a word per bucket
//!   written only when it grows.
//!
//! Owners whose tags share a bucket share its counts: the caller, which
//! knows its owners, says so rather than split them.

use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering::Relaxed};

use super::Owner;

/// How many buckets a pool counts owners in.
pub const BUCKETS: usize = 1 << BUCKET_BITS;

impl Owner {
    /// The bucket this owner's use is counted in: the top 8 bits of its
    /// tag times a 32-bit golden-ratio constant (Fibonacci hashing, as
    /// `hash_32()`), so that tags that differ only in their high bits (a
    /// kernel's tags of devices allocated side by side do) land apart.
    #[inline]
    pub const fn bucket(self) -> usize {
        (self.get() as u32).wrapping_mul(0x61C8_8647) as usize >> (32 - BUCKET_BITS)
    }
}

/// log2 of [`BUCKETS`].
const BUCKET_BITS: u32 = 8;

/// One bucket's share of one area. Changed with relaxed atomics, under the
/// area's lock or (by the area's cache) without it: a count, not a guard.
#[derive(Debug, Default)]
pub(crate) struct AreaUse {
    /// Slots in use.
    pub(crate) used: AtomicU32,
    /// The most slots in use at once.
    pub(crate) hiwater: AtomicU32,
}

impl AreaUse {
    /// Counts `n` slots taken (`n` is at most a segment's, 128).
    #[inline]
    pub(crate) fn took(&self, n: usize) {
        let now = self
            .used
            .fetch_add(n as u32, Relaxed)
            .wrapping_add(n as u32);
        if now > self.hiwater.load(Relaxed) {
            self.hiwater.fetch_max(now, Relaxed);
        }
    }

    /// Counts `n` slots given back.
    #[inline]
    pub(crate) fn gave(&self, n: usize) {
        self.used.fetch_sub(n as u32, Relaxed);
    }
}

/// What the owners of one bucket take of a pool
/// ([`Pool::usage`](super::Pool::usage)).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    /// Slots they hold now (mappings and blocks, padding included).
    pub used: usize,
    /// The most they held at once since the mark was last restarted
    /// ([`Pool::restart_usage`](super::Pool::restart_usage)): the sum of
    /// each area's mark, so never below their peak.
    pub hiwater: usize,
    /// Their largest streaming map request in bytes since then, refused or
    /// not.
    pub largest: usize,
}

/// Each bucket's largest streaming request.
pub(crate) struct Largest([AtomicUsize; BUCKETS]);

impl Largest {
    pub(crate) fn new() -> Self {
        Self(core::array::from_fn(|_| AtomicUsize::new(0)))
    }

    /// Records a streaming map request of `size` bytes by an owner of
    /// `bucket`.
    #[inline]
    pub(crate) fn request(&self, bucket: usize, size: usize) {
        if let Some(l) = self.0.get(bucket) {
            if size > l.load(Relaxed) {
                l.fetch_max(size, Relaxed);
            }
        }
    }

    /// `owner`'s bucket's largest request.
    pub(crate) fn of(&self, owner: Owner) -> usize {
        self.0.get(owner.bucket()).map_or(0, |l| l.load(Relaxed))
    }

    /// Starts `owner`'s bucket's largest request again at 0.
    pub(crate) fn restart(&self, owner: Owner) {
        if let Some(l) = self.0.get(owner.bucket()) {
            l.store(0, Relaxed);
        }
    }
}
