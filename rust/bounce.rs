// SPDX-License-Identifier: GPL-2.0

//! The pool core ([`crate::pool`]) put to work in the kernel: its areas are
//! kernel-allocated slot arrays beside interrupt-safe spinlocks, and its
//! bytes move through the region's CPU mapping.

use crate::pool::{self, AreaLock, AreaShared, AreaState, Copier, Slot};
use crate::sys::lock::IrqSpinLock;
use crate::sys::memory::{Memremap, PAGE_SIZE};
use core::sync::atomic::AtomicU8;
use kernel::prelude::*;

/// One area of a region's pool: its slot descriptors, sync counts, cache
/// and counters, and the rest of its bookkeeping behind its own lock, in
/// kvmalloc'd storage (a large region's descriptors need not be contiguous
/// pages). Each part an allocation of its own: CPUs of different areas
/// share no cache line.
pub(crate) struct Area {
    slots: KVVec<Slot>,
    syncs: KVVec<AtomicU8>,
    shared: KBox<AreaShared>,
    state: Pin<KBox<IrqSpinLock<State>>>,
}

/// An area's bookkeeping under its lock.
type State = AreaState<KVVec<u64>>;

impl AreaLock for Area {
    type Bitmap = KVVec<u64>;

    fn slots(&self) -> &[Slot] {
        &self.slots
    }

    fn syncs(&self) -> &[AtomicU8] {
        &self.syncs
    }

    fn shared(&self) -> &AreaShared {
        &self.shared
    }

    fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        self.state.with(f)
    }
}

/// `n` default values, kvmalloc'd (atomics are not `Clone`, which
/// `KVVec::from_elem` wants).
fn defaults<T: Default>(n: usize) -> Result<KVVec<T>> {
    let mut v = KVVec::with_capacity(n, GFP_KERNEL)?;
    for _ in 0..n {
        v.push(T::default(), GFP_KERNEL)?;
    }
    Ok(v)
}

/// A region's bounce pool.
pub(crate) type Pool = pool::Pool<Area, KVec<Area>>;

/// Makes the pool of a region of `size` bytes at `base`, with about one area
/// per possible CPU (a power of two; fewer if the region is small).
pub(crate) fn new_pool(base: u64, size: u64, cpus: usize) -> Result<Pool> {
    let nslots = usize::try_from(size / pool::SLOT_SIZE as u64).map_err(|_| EINVAL)?;
    let layout = pool::area_layout(nslots, cpus.next_power_of_two());
    let mut areas = KVec::with_capacity(layout.nareas(), GFP_KERNEL)?;
    for i in 0..layout.nareas() {
        let n = layout.area_slots(i);
        let bits = KVVec::from_elem(0, State::bitmap_words(n), GFP_KERNEL)?;
        areas.push(
            Area {
                slots: defaults(n)?,
                syncs: defaults(n)?,
                shared: KBox::new(AreaShared::default(), GFP_KERNEL)?,
                state: KBox::pin_init(IrqSpinLock::new(AreaState::new(bits)), GFP_KERNEL)?,
            },
            GFP_KERNEL,
        )?;
    }
    pool::Pool::new(base, nslots, areas).map_err(|e| {
        pr_err!("cannot build a pool at {:#x}+{:#x}: {}\n", base, size, e);
        EINVAL
    })
}

// The pool has no kernel types and assumes 4 KiB pages: hold it to this kernel.
const _: () = assert!(pool::PAGE_SIZE as u64 == PAGE_SIZE);

/// Moves bytes between drivers' buffers and the region through its mapping.
pub(crate) struct RegionCopier<'a>(pub(crate) &'a Memremap);

// The pool only passes ranges it has checked to lie inside itself (hence
// inside the mapping), so the `false` ("not covered") answers cannot happen;
// they would mean a pool bug and copy nothing rather than write elsewhere.
// Inlined into the pool's map and unmap: each is one check and a copy.
impl Copier for RegionCopier<'_> {
    #[inline(always)]
    fn to_bounce(&self, orig: u64, bounce: u64, len: usize) {
        let ok = self.0.copy_in(orig, bounce, len);
        debug_assert!(ok);
    }

    #[inline(always)]
    fn from_bounce(&self, bounce: u64, orig: u64, len: usize) {
        let ok = self.0.copy_out(bounce, orig, len);
        debug_assert!(ok);
    }

    fn zero(&self, bounce: u64, len: usize) {
        let ok = self.0.zero(bounce, len);
        debug_assert!(ok);
    }
}
