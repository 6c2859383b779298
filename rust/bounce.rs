// SPDX-License-Identifier: GPL-2.0

//! The pool core ([`crate::pool`]) put to work in the kernel: its areas are
//! interrupt-safe spinlocks over kernel-allocated slot arrays, and its bytes
//! move through the region's CPU mapping.

use crate::pool::{self, AreaLock, AreaState, Copier, Slot};
use crate::sys::lock::IrqSpinLock;
use crate::sys::memory::{Memremap, PAGE_SIZE};
use kernel::prelude::*;

/// One area of a region's pool: its slot bookkeeping behind its own lock.
pub(crate) struct Area(Pin<KBox<IrqSpinLock<State>>>);

/// An area's bookkeeping, in kvmalloc'd storage.
type State = AreaState<KVVec<Slot>, KVVec<u64>>;

impl AreaLock for Area {
    type Storage = KVVec<Slot>;
    type Bitmap = KVVec<u64>;

    fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        self.0.with(f)
    }
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
        // kvmalloc: a large region's descriptors need not be contiguous pages.
        let slots = KVVec::from_elem(Slot::default(), layout.area_slots(i), GFP_KERNEL)?;
        let bits = KVVec::from_elem(0, State::bitmap_words(layout.area_slots(i)), GFP_KERNEL)?;
        let lock = KBox::pin_init(IrqSpinLock::new(AreaState::new(slots, bits)), GFP_KERNEL)?;
        areas.push(Area(lock), GFP_KERNEL)?;
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
impl Copier for RegionCopier<'_> {
    fn to_bounce(&self, orig: u64, bounce: u64, len: usize) {
        let ok = self.0.copy_in(orig, bounce, len);
        debug_assert!(ok);
    }

    fn from_bounce(&self, bounce: u64, orig: u64, len: usize) {
        let ok = self.0.copy_out(bounce, orig, len);
        debug_assert!(ok);
    }

    fn zero(&self, bounce: u64, len: usize) {
        let ok = self.0.zero(bounce, len);
        debug_assert!(ok);
    }
}
