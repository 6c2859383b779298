// SPDX-License-Identifier: GPL-2.0

//! Our ops tables, as a [`Registered`] type's [`Tables`] static holds them
//! (two per registry entry, full and draining, and the refusing one), and
//! which of them a device has.

use super::operations::DmaOps;
use super::refuse::Refusing;
use super::registry::{Registry, MAX_TABLES};
use super::vtable::{table, Lookup};
use crate::ffi as bindings;
use crate::sys::device::Device;
use core::marker::PhantomData;
use kernel::sync::Arc;

/// A [`DmaOps`] type whose instances live in a [`Registry`], each behind
/// one of its [`Tables`].
pub(crate) trait Registered: DmaOps + Sized {
    /// Where the instances are.
    fn registry() -> &'static Registry<Self>;
    /// Their ops tables.
    fn tables() -> &'static Tables;
}

/// One of our ops tables, as a device has it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Table {
    /// Table `k`: instance `k` of the registry.
    Entry(usize),
    /// The draining table of entry `k`: frees and unmaps reach instance
    /// `k`, new mappings and allocations are refused.
    Drain(usize),
    /// The refusing table.
    Refuse,
}

impl Table {
    /// The registry entry the table serves, if any.
    pub(crate) fn entry(self) -> Option<usize> {
        match self {
            Table::Entry(k) | Table::Drain(k) => Some(k),
            Table::Refuse => None,
        }
    }
}

/// The ops tables of a [`Registered`] type: two per registry entry (full and
/// draining), and the refusing one.
pub(crate) struct Tables {
    entries: [Ops; MAX_TABLES],
    drains: [Ops; MAX_TABLES],
    refuse: Ops,
}

/// A `struct dma_map_ops`, which holds only function pointers.
struct Ops(bindings::dma_map_ops);

// SAFETY: The table is immutable and holds only function pointers, which
// any thread may call.
unsafe impl Sync for Ops {}

impl Tables {
    /// The tables of `T`.
    pub(crate) const fn new<T: Registered>() -> Self {
        Self {
            entries: per_entry::<T, false>(),
            drains: per_entry::<T, true>(),
            refuse: Ops(table::<Refusing>()),
        }
    }

    /// The `struct dma_map_ops` of `t`; `None` for an entry there is none of.
    fn get(&self, t: Table) -> Option<&bindings::dma_map_ops> {
        match t {
            Table::Entry(k) => self.entries.get(k).map(|o| &o.0),
            Table::Drain(k) => self.drains.get(k).map(|o| &o.0),
            Table::Refuse => Some(&self.refuse.0),
        }
    }

    /// Which of these tables `dev` has, if any.
    fn of(&self, dev: &Device) -> Option<Table> {
        // SAFETY: `dev` is alive (type invariant of `Device`).
        let ops = unsafe { bindings::rsdma_get_dma_ops(dev.as_raw()) };
        if core::ptr::eq(ops, &self.refuse.0) {
            return Some(Table::Refuse);
        }
        let find = |tables: &[Ops]| tables.iter().position(|t| core::ptr::eq(ops, &t.0));
        find(&self.entries)
            .map(Table::Entry)
            .or_else(|| find(&self.drains).map(Table::Drain))
    }
}

/// Which of `T`'s tables `dev` has, if any.
pub(crate) fn installed<T: Registered>(dev: &Device) -> Option<Table> {
    T::tables().of(dev)
}

/// Whether `dev` has a table we gave it ([`install`]), not a copy a driver
/// made of one.
pub(crate) fn given(dev: &Device) -> bool {
    // SAFETY: `dev` is alive; its address is only a key.
    unsafe { bindings::rsdma_users_has(dev.as_raw()) }
}

/// Gives `dev` one of `T`'s tables in place of whatever it had, and makes
/// the DMA core call it: it clears a stale `dma_skip_sync` and `dma_iommu`
/// (see `helpers.c`). The switch is one store: a call racing with it runs
/// on the old table or the new one, never on none. The caller calls this
/// from a bus notifier before the driver probes, or when its driver is gone.
pub(crate) fn install<T: Registered>(dev: &Device, t: Table) {
    let Some(ops) = T::tables().get(t) else {
        return;
    };
    // Recorded first: from the store below the device may make calls that
    // need its entry ([`Registry::withdraw`] looks at the record).
    // SAFETY: `dev` is alive; its address is only a key.
    unsafe { bindings::rsdma_users_set(dev.as_raw(), ops) };
    // SAFETY: `dev` is alive; the table is static and lives as long as the
    // module, and every device we give a table gets it taken off
    // (`uninstall`) before the module can go: the record above keeps its
    // entry from being withdrawn until then.
    unsafe { bindings::rsdma_install_dma_ops(dev.as_raw(), ops) };
}

/// Takes `T`'s table off `dev` (it falls back to the platform's ops);
/// returns which one it had, if any. Only once the driver core has released
/// all the device's driver held.
pub(crate) fn uninstall<T: Registered>(dev: &Device) -> Option<Table> {
    let t = installed::<T>(dev)?;
    // SAFETY: `dev` is alive; no DMA call is made for it now (the caller's
    // promise), so its ops may change.
    unsafe { bindings::rsdma_remove_dma_ops(dev.as_raw()) };
    // SAFETY: `dev` is alive; its address is only a key (a device that had
    // a copy of our table, not one we gave it, has no record to clear).
    unsafe { bindings::rsdma_users_clear(dev.as_raw()) };
    Some(t)
}

impl<T: Registered> Registry<T> {
    /// Takes the instance out of entry `k` and returns it, if no device we
    /// gave one of its tables still has it; otherwise leaves it there and
    /// says how many do (`None`: not known, a record was lost).
    ///
    /// Called at unload, once nothing gives devices tables any more. (Here
    /// and not in `registry.rs`: the record of devices is the tables'.)
    pub(crate) fn withdraw(&self, k: usize) -> Result<Option<Arc<T>>, Option<usize>> {
        match users::<T>(k) {
            // SAFETY: No device we gave one of entry `k`'s tables has it any
            // more (the record says so), and no table is given now (our
            // caller's promise); a copy of a table on a device we did not
            // give it is waited out by the module before unload.
            Some(0) => Ok(unsafe { self.take(k) }),
            n => Err(n),
        }
    }
}

/// How many devices we gave one of entry `k`'s two tables still have it;
/// `None` if that is not known (a record could not be stored).
fn users<T: Registered>(k: usize) -> Option<usize> {
    let tables = T::tables();
    let (Some(full), Some(drain)) = (tables.get(Table::Entry(k)), tables.get(Table::Drain(k)))
    else {
        return Some(0);
    };
    // SAFETY: Reads the record under its own lock; the tables are static.
    let n = unsafe { bindings::rsdma_users_of(full, drain) };
    usize::try_from(n).ok()
}

/// Defines `per_entry`, the table of each registry entry, from the entries'
/// indices `0..MAX_TABLES`. (Stable Rust cannot count a const generic up to
/// a constant, so the indices are spelt once, here: the array type holds
/// their number to [`MAX_TABLES`], the assertion their order.)
macro_rules! per_entry {
    ($($k:literal)*) => {
        /// The tables of `T`'s registry entries, table `k` at index `k`:
        /// full ones, or (`DRAIN`) draining ones.
        const fn per_entry<T: Registered, const DRAIN: bool>() -> [Ops; MAX_TABLES] {
            [$(Ops(table::<Entry<T, $k, DRAIN>>())),*]
        }

        const _: () = {
            let ks: [usize; MAX_TABLES] = [$($k),*];
            let mut i = 0;
            while i < MAX_TABLES {
                assert!(ks[i] == i);
                i += 1;
            }
        };
    };
}

per_entry!(0 1 2 3 4 5 6 7);

/// Entry `K` of `T`'s registry, through its full table or (`DRAIN`) its
/// draining one.
struct Entry<T, const K: usize, const DRAIN: bool>(PhantomData<T>);

impl<T: Registered, const K: usize, const DRAIN: bool> Lookup for Entry<T, K, DRAIN> {
    type Target = T;

    const DRAINING: bool = DRAIN;

    fn with<X>(f: impl FnOnce(&T) -> X) -> Option<X> {
        T::registry().with(K, f)
    }
}
