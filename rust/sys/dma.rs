// SPDX-License-Identifier: GPL-2.0

//! The `dma_map_ops` edge: raw pointers in, typed values out.
//!
//! A user of this module implements [`DmaOps`] (what each DMA operation does
//! for a device: every method refuses by default) and [`Registered`] (where
//! its instances and their tables live), and declares the statics:
//!
//! ```ignore
//! static REGISTRY: Registry<Region> = Registry::new();
//! static TABLES: Tables = Tables::new::<Region>();
//! ```
//!
//! The DMA core calls a device's ops with nothing but the device, so each
//! instance gets an ops table of its own: table `k` is a monomorphised copy
//! of the same trampolines, which find instance `k` of the [`Registry`] with
//! one atomic load, no lookup and no lock, and call its [`DmaOps`] methods
//! with typed arguments. A device that must never do DMA gets the refusing
//! table ([`Table::Refuse`], the [`Refuse`] type: the trait's defaults).
//!
//! Each entry has a second table, its *draining* one ([`Table::Drain`]), for
//! a device whose driver is gone: it refuses every new mapping and
//! allocation (telling [`DmaOps::refused_late`]) and takes back what the
//! device still holds (telling [`DmaOps::released_late`] after each unmap or
//! free). A buffer may outlive its driver's binding (videobuf2, DRM GEM
//! objects, anything refcounted), and its free must still reach the pool.
//!
//! Lifetime: an instance is published in its entry before any device gets
//! one of the entry's tables, and withdrawn only when no device has either
//! of them any more (the caller of [`Registry::withdraw`] looks: a driver
//! may copy a table to a device of its own, `set_dma_ops(child,
//! get_dma_ops(parent))`, which no count kept here could see). A device
//! loses our table only when it can hold nothing of the instance any more,
//! so no call can find a withdrawn entry's instance gone.

use super::device::Device;
use crate::ffi as bindings;
use crate::pool::{Block, Direction};
use core::ffi::{c_int, c_ulong, c_void};
use core::marker::PhantomData;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicPtr, Ordering};
use kernel::prelude::*;
use kernel::sync::{Arc, ArcBorrow};

/// How many instances (each with an ops table of its own) a registry holds.
pub(crate) const MAX_TABLES: usize = 8;

/// `DMA_MAPPING_ERROR`: the address that says a mapping failed.
const MAPPING_ERROR: u64 = u64::MAX;

// The pool reads a direction in the kernel's numbers (`Direction::from_raw`):
// hold it to this kernel's. The DMA core never passes `DMA_NONE` to ops.
const _: () = {
    assert!(matches!(
        Direction::from_raw(bindings::dma_data_direction_DMA_BIDIRECTIONAL),
        Some(Direction::Bidirectional)
    ));
    assert!(matches!(
        Direction::from_raw(bindings::dma_data_direction_DMA_TO_DEVICE),
        Some(Direction::ToDevice)
    ));
    assert!(matches!(
        Direction::from_raw(bindings::dma_data_direction_DMA_FROM_DEVICE),
        Some(Direction::FromDevice)
    ));
    assert!(Direction::from_raw(bindings::dma_data_direction_DMA_NONE).is_none());
};

/// Which side a sync makes the buffer right for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SyncFor {
    /// `sync_*_for_cpu`: the CPU is to read what the device wrote.
    Cpu,
    /// `sync_*_for_device`: the device is to read what the CPU wrote.
    Device,
}

/// The `DMA_ATTR_*` flags of a call.
#[derive(Clone, Copy)]
pub(crate) struct Attrs(u64);

impl Attrs {
    /// Only `DMA_ATTR_SKIP_CPU_SYNC`.
    pub(crate) const SKIP_CPU_SYNC: Attrs = Attrs(bindings::DMA_ATTR_SKIP_CPU_SYNC);

    /// `DMA_ATTR_SKIP_CPU_SYNC`: the caller syncs itself; do not copy.
    pub(crate) fn skip_cpu_sync(self) -> bool {
        self.0 & bindings::DMA_ATTR_SKIP_CPU_SYNC != 0
    }

    /// `DMA_ATTR_NO_WARN`: the caller expects failures; do not log them.
    pub(crate) fn no_warn(self) -> bool {
        self.0 & bindings::DMA_ATTR_NO_WARN != 0
    }
}

/// Whether a failure may be logged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Report {
    /// Log it.
    Failures,
    /// Say nothing: the caller expects failures (`__GFP_NOWARN`, as virtio
    /// trying smaller rings).
    Quiet,
}

impl Report {
    fn of_gfp(gfp: bindings::gfp_t) -> Self {
        if gfp & bindings::__GFP_NOWARN == 0 {
            Self::Failures
        } else {
            Self::Quiet
        }
    }
}

/// What a DMA ops table does for the devices that have it. Every method
/// refuses by default: a mapping fails, an allocation returns nothing, a
/// mask is not supported, a free or a sync does nothing.
pub(crate) trait DmaOps: Send + Sync + 'static {
    /// `map_page`: maps `size` bytes at physical address `phys`; returns the
    /// DMA address, or `None`.
    fn map(
        &self,
        _dev: &Device,
        _phys: u64,
        _size: usize,
        _dir: Direction,
        _attrs: Attrs,
    ) -> Option<u64> {
        None
    }

    /// `unmap_page`.
    fn unmap(&self, _dev: &Device, _dma: u64, _size: usize, _dir: Direction, _attrs: Attrs) {}

    /// `map_sg`: maps every entry; returns how many, or the errno the DMA API
    /// documents.
    fn map_sg(&self, _dev: &Device, _sg: SgIter, _dir: Direction, _attrs: Attrs) -> Result<i32> {
        Err(EIO)
    }

    /// `unmap_sg`.
    fn unmap_sg(&self, _dev: &Device, _sg: SgIter, _dir: Direction, _attrs: Attrs) {}

    /// `sync_single_for_cpu` and `sync_single_for_device`.
    fn sync(&self, _dev: &Device, _dma: u64, _size: usize, _dir: Direction, _for: SyncFor) {}

    /// `sync_sg_for_cpu` and `sync_sg_for_device`.
    fn sync_sg(&self, _dev: &Device, _sg: SgIter, _dir: Direction, _for: SyncFor) {}

    /// `alloc` and `alloc_pages_op`: returns the CPU and DMA addresses. A
    /// [`Block::Pages`] block must be in the linear map (it is handed
    /// out as `struct page`s).
    fn alloc(
        &self,
        _dev: &Device,
        _size: usize,
        _kind: Block,
        _report: Report,
    ) -> Option<(NonNull<c_void>, u64)> {
        None
    }

    /// `free` and `free_pages`.
    fn free(&self, _dev: &Device, _size: usize, _vaddr: *mut c_void, _dma: u64, _kind: Block) {}

    /// `map_resource`: MMIO at `phys`.
    fn map_resource(&self, _dev: &Device, _phys: u64, _size: usize) -> Option<u64> {
        None
    }

    /// `dma_supported`.
    fn dma_supported(&self, _dev: &Device, _mask: u64) -> bool {
        false
    }

    /// `get_required_mask`.
    fn required_mask(&self, _dev: &Device) -> u64 {
        0
    }

    /// `max_mapping_size`.
    fn max_mapping_size(&self, _dev: &Device) -> usize {
        0
    }

    /// A draining table refused `what` (a map or an allocation) for `dev`,
    /// whose driver is gone.
    fn refused_late(&self, _dev: &Device, _what: &str) {}

    /// A draining table took back a mapping or block of `dev` (or was asked
    /// to: the call may have been refused).
    fn released_late(&self, _dev: &Device) {}
}

/// The ops that refuse everything: the defaults of [`DmaOps`].
pub(crate) struct Refuse;

impl DmaOps for Refuse {}

/// A [`DmaOps`] type whose instances live in a [`Registry`], each behind
/// one of its [`Tables`].
pub(crate) trait Registered: DmaOps + Sized {
    /// Where the instances are.
    fn registry() -> &'static Registry<Self>;
    /// Their ops tables.
    fn tables() -> &'static Tables;
}

/// Instances of `T`, entry `k` served by ops table `k`.
///
/// # Invariants
///
/// A non-null entry is a pointer from `Arc::into_raw` whose reference the
/// registry owns; it is only cleared by [`Registry::withdraw`], when no
/// device has the entry's table.
pub(crate) struct Registry<T> {
    entries: [AtomicPtr<T>; MAX_TABLES],
}

impl<T: Registered> Registry<T> {
    /// An empty registry.
    pub(crate) const fn new() -> Self {
        Self {
            entries: [const { AtomicPtr::new(core::ptr::null_mut()) }; MAX_TABLES],
        }
    }

    /// Publishes `value` in entry `k`, for table `k` to find.
    pub(crate) fn publish(&self, k: usize, value: Arc<T>) -> Result {
        let entry = self.entries.get(k).ok_or(EINVAL)?;
        let raw = Arc::into_raw(value).cast_mut();
        if entry
            .compare_exchange(
                core::ptr::null_mut(),
                raw,
                Ordering::Release,
                Ordering::Relaxed,
            )
            .is_err()
        {
            // SAFETY: `raw` came from `Arc::into_raw` just above and was not
            // stored.
            drop(unsafe { Arc::from_raw(raw) });
            return Err(EBUSY);
        }
        // INVARIANT: the entry owns the reference `into_raw` gave up.
        Ok(())
    }

    /// Takes the instance out of entry `k` and returns it.
    ///
    /// # Safety
    ///
    /// No device may have either of table `k`'s ops (the caller looked at
    /// every device that can), nor get them from now on.
    pub(crate) unsafe fn withdraw(&self, k: usize) -> Option<Arc<T>> {
        let raw = self
            .entries
            .get(k)?
            .swap(core::ptr::null_mut(), Ordering::AcqRel);
        // SAFETY: A non-null entry owns a reference from `Arc::into_raw`
        // (type invariant), which we take back; no device has the table
        // (the caller's promise), so no op can be using it.
        (!raw.is_null()).then(|| unsafe { Arc::from_raw(raw) })
    }

    /// The published instance for which `pred` holds, with a reference of
    /// its own. For slow paths (binding a device): it walks all entries.
    pub(crate) fn find(&self, mut pred: impl FnMut(&T) -> bool) -> Option<Arc<T>> {
        self.entries.iter().find_map(|entry| {
            let raw = entry.load(Ordering::Acquire);
            if raw.is_null() {
                return None;
            }
            // SAFETY: A non-null entry owns a reference (type invariant), and
            // our callers run where entries are not withdrawn under them (bus
            // events, the deferred task and the module's load, all before
            // its unload withdraws them); the borrow becomes a reference of
            // our own.
            let value: Arc<T> = unsafe { ArcBorrow::from_raw(raw) }.into();
            pred(&value).then_some(value)
        })
    }

    /// Calls `f` on every published instance. For slow paths, where entries
    /// are not withdrawn under the caller (as [`Registry::find`]).
    pub(crate) fn for_each(&self, mut f: impl FnMut(&T)) {
        // `find` with a predicate that is never true visits every entry.
        let _ = self.find(|v| {
            f(v);
            false
        });
    }

    /// Runs `f` on the instance of entry `k`, for table `k`'s ops; `None`
    /// when the entry is empty. The borrow cannot outlive `f`.
    fn with<X>(&self, k: usize, f: impl FnOnce(&T) -> X) -> Option<X> {
        let raw = self.entries.get(k)?.load(Ordering::Acquire);
        // SAFETY: A non-null entry owns a reference to a live instance (type
        // invariant). It is only cleared, and that reference dropped, when no
        // device has table `k`, whereas its ops run only for a device that
        // has it (see the module docs); so the instance outlives the op that
        // calls us, and the borrow ends with `f`.
        unsafe { raw.as_ref() }.map(f)
    }
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
            entries: [
                Ops(table::<Entry<T, 0, false>>()),
                Ops(table::<Entry<T, 1, false>>()),
                Ops(table::<Entry<T, 2, false>>()),
                Ops(table::<Entry<T, 3, false>>()),
                Ops(table::<Entry<T, 4, false>>()),
                Ops(table::<Entry<T, 5, false>>()),
                Ops(table::<Entry<T, 6, false>>()),
                Ops(table::<Entry<T, 7, false>>()),
            ],
            drains: [
                Ops(table::<Entry<T, 0, true>>()),
                Ops(table::<Entry<T, 1, true>>()),
                Ops(table::<Entry<T, 2, true>>()),
                Ops(table::<Entry<T, 3, true>>()),
                Ops(table::<Entry<T, 4, true>>()),
                Ops(table::<Entry<T, 5, true>>()),
                Ops(table::<Entry<T, 6, true>>()),
                Ops(table::<Entry<T, 7, true>>()),
            ],
            refuse: Ops(table::<Refusing>()),
        }
    }

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
        let ops = unsafe { bindings::rdma_get_dma_ops(dev.as_raw()) };
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

/// Gives `dev` one of `T`'s tables in place of whatever it had, and makes
/// the DMA core call it: it clears a stale `dma_skip_sync` and `dma_iommu`
/// (see `helpers.c`). The switch is one store: a call racing with it runs
/// on the old table or the new one, never on none. The caller calls this
/// from a bus notifier before the driver probes, or when its driver is gone.
pub(crate) fn install<T: Registered>(dev: &Device, t: Table) {
    let Some(ops) = T::tables().get(t) else {
        return;
    };
    // SAFETY: `dev` is alive; the table is static and lives as long as the
    // module, and every device gets its table taken off (`uninstall`)
    // before the module can go: unload looks at every device that can have
    // one before it withdraws an entry.
    unsafe { bindings::rdma_install_dma_ops(dev.as_raw(), ops) };
}

/// Takes `T`'s table off `dev` (it falls back to the platform's ops);
/// returns which one it had, if any. Only once the driver core has released
/// all the device's driver held.
pub(crate) fn uninstall<T: Registered>(dev: &Device) -> Option<Table> {
    let t = installed::<T>(dev)?;
    // SAFETY: `dev` is alive; no DMA call is made for it now (the caller's
    // promise), so its ops may change.
    unsafe { bindings::rdma_remove_dma_ops(dev.as_raw()) };
    Some(t)
}

/// One entry of a scatterlist handed to the ops.
///
/// # Invariants
///
/// Points to a live `struct scatterlist` entry for as long as the ops call
/// that made it runs (the DMA API owns the list for the call).
#[derive(Clone, Copy)]
pub(crate) struct SgEntry(NonNull<bindings::scatterlist>);

impl SgEntry {
    /// Physical address of the entry's buffer.
    pub(crate) fn phys(&self) -> u64 {
        // SAFETY: The entry is live (type invariant).
        unsafe { bindings::rdma_sg_phys(self.0.as_ptr()) }
    }

    /// Length of the entry's buffer in bytes.
    pub(crate) fn len(&self) -> usize {
        // SAFETY: The entry is live (type invariant).
        unsafe { bindings::rdma_sg_len(self.0.as_ptr()) as usize }
    }

    /// Sets the DMA address and length the device sees for this entry.
    pub(crate) fn set_dma(&self, addr: u64, len: usize) {
        // SAFETY: The entry is live (type invariant) and the DMA API lets the
        // map operation write its DMA fields.
        unsafe { bindings::rdma_sg_set_dma(self.0.as_ptr(), addr, len as u32) };
    }

    /// The DMA address set by `map_sg`.
    pub(crate) fn dma_address(&self) -> u64 {
        // SAFETY: The entry is live (type invariant).
        unsafe { bindings::rdma_sg_dma_address(self.0.as_ptr()) }
    }

    /// The DMA length set by `map_sg`.
    pub(crate) fn dma_len(&self) -> usize {
        // SAFETY: The entry is live (type invariant).
        unsafe { bindings::rdma_sg_dma_len(self.0.as_ptr()) as usize }
    }
}

/// The first `nents` entries of a scatterlist, as an iterator.
#[derive(Clone, Copy)]
pub(crate) struct SgIter {
    next: *mut bindings::scatterlist,
    left: usize,
}

impl SgIter {
    /// # Safety
    ///
    /// `sg` heads a live list of at least `nents` entries that stays valid
    /// while the iterator and its entries are used (for one ops call).
    unsafe fn new(sg: *mut bindings::scatterlist, nents: c_int) -> Self {
        Self {
            next: sg,
            left: usize::try_from(nents).unwrap_or(0),
        }
    }
}

impl Iterator for SgIter {
    type Item = SgEntry;

    fn next(&mut self) -> Option<SgEntry> {
        if self.left == 0 {
            return None;
        }
        let cur = NonNull::new(self.next)?;
        self.left -= 1;
        // SAFETY: `cur` is a live entry of the list (constructor's
        // requirement); `sg_next` follows chain links and returns the next one.
        self.next = unsafe { bindings::sg_next(cur.as_ptr()) };
        // INVARIANT: `cur` is live for the ops call (constructor's requirement).
        Some(SgEntry(cur))
    }
}

/// How a table's trampolines find the [`DmaOps`] they call.
trait Lookup: 'static {
    type Target: DmaOps;

    /// Whether the table drains: refuses new work, takes back the old.
    const DRAINING: bool = false;

    /// Runs `f` on the target; `None` when there is none (an empty entry).
    fn with<X>(f: impl FnOnce(&Self::Target) -> X) -> Option<X>;

    /// A draining table's refusal of `what`; true when the call is refused.
    fn refuses_new(dev: &Device, what: &str) -> bool {
        if Self::DRAINING {
            Self::with(|o| o.refused_late(dev, what));
        }
        Self::DRAINING
    }

    /// After an unmap or free: tells a draining table's target.
    fn released(dev: &Device) {
        if Self::DRAINING {
            Self::with(|o| o.released_late(dev));
        }
    }
}

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

/// The refusing ops.
struct Refusing;

impl Lookup for Refusing {
    type Target = Refuse;

    fn with<X>(f: impl FnOnce(&Refuse) -> X) -> Option<X> {
        Some(f(&Refuse))
    }
}

/// Safe view of a device for the ops, from the pointer the DMA core passes.
///
/// # Safety
///
/// `dev` is the live device the DMA core calls an op for; it stays alive for
/// the call.
unsafe fn dev<'a>(dev: *mut bindings::device) -> &'a Device {
    // SAFETY: The caller's requirement.
    unsafe { Device::from_raw(dev) }
}

// The trampolines of table `L`. Each converts its arguments and calls the
// target's `DmaOps` method. SAFETY for all of them: the DMA core calls them
// with a live device that has this table, with pointers that are valid for
// the call as the DMA API documents, and `Lookup::with` is sound for the
// reasons given at `Registry::with`.

/// `map_page`.
///
/// # Safety
///
/// Called by the DMA core only, under the DMA API contract above.
unsafe extern "C" fn map_page<L: Lookup>(
    d: *mut bindings::device,
    page: *mut bindings::page,
    offset: c_ulong,
    size: usize,
    dir: bindings::dma_data_direction,
    attrs: c_ulong,
) -> bindings::dma_addr_t {
    // SAFETY: See above: `page` is a valid page the caller maps.
    let page = unsafe { bindings::rdma_page_to_phys(page) };
    // SAFETY: See above.
    let dev = unsafe { dev(d) };
    // An offset that overflows is the caller's bug: refuse it, never panic.
    let (Some(phys), Some(dir)) = (page.checked_add(offset), Direction::from_raw(dir)) else {
        return MAPPING_ERROR;
    };
    if L::refuses_new(dev, "map") {
        return MAPPING_ERROR;
    }
    L::with(|o| o.map(dev, phys, size, dir, Attrs(attrs)))
        .flatten()
        .unwrap_or(MAPPING_ERROR)
}

/// `unmap_page`.
///
/// # Safety
///
/// Called by the DMA core only, under the DMA API contract above.
unsafe extern "C" fn unmap_page<L: Lookup>(
    d: *mut bindings::device,
    addr: bindings::dma_addr_t,
    size: usize,
    dir: bindings::dma_data_direction,
    attrs: c_ulong,
) {
    // SAFETY: See above.
    let dev = unsafe { dev(d) };
    if let Some(dir) = Direction::from_raw(dir) {
        L::with(|o| o.unmap(dev, addr, size, dir, Attrs(attrs)));
    }
    L::released(dev);
}

/// `map_sg`.
///
/// # Safety
///
/// Called by the DMA core only, under the DMA API contract above.
unsafe extern "C" fn map_sg<L: Lookup>(
    d: *mut bindings::device,
    sg: *mut bindings::scatterlist,
    nents: c_int,
    dir: bindings::dma_data_direction,
    attrs: c_ulong,
) -> c_int {
    // SAFETY: See above: `sg` has `nents` entries, ours for the call.
    let (dev, sg) = unsafe { (dev(d), SgIter::new(sg, nents)) };
    let Some(dir) = Direction::from_raw(dir) else {
        return EINVAL.to_errno();
    };
    if L::refuses_new(dev, "map") {
        return EIO.to_errno();
    }
    L::with(|o| o.map_sg(dev, sg, dir, Attrs(attrs)))
        .unwrap_or(Err(EIO))
        .unwrap_or_else(|e| e.to_errno())
}

/// `unmap_sg`.
///
/// # Safety
///
/// Called by the DMA core only, under the DMA API contract above.
unsafe extern "C" fn unmap_sg<L: Lookup>(
    d: *mut bindings::device,
    sg: *mut bindings::scatterlist,
    nents: c_int,
    dir: bindings::dma_data_direction,
    attrs: c_ulong,
) {
    // SAFETY: See above.
    let (dev, sg) = unsafe { (dev(d), SgIter::new(sg, nents)) };
    if let Some(dir) = Direction::from_raw(dir) {
        L::with(|o| o.unmap_sg(dev, sg, dir, Attrs(attrs)));
    }
    L::released(dev);
}

/// The sync of one range: `sync_single_for_cpu` (`DEVICE` false) or
/// `sync_single_for_device` (true).
///
/// # Safety
///
/// Called by the DMA core only, under the DMA API contract above.
unsafe extern "C" fn sync_single<L: Lookup, const DEVICE: bool>(
    d: *mut bindings::device,
    addr: bindings::dma_addr_t,
    size: usize,
    dir: bindings::dma_data_direction,
) {
    // SAFETY: See above.
    let dev = unsafe { dev(d) };
    let to = if DEVICE {
        SyncFor::Device
    } else {
        SyncFor::Cpu
    };
    if let Some(dir) = Direction::from_raw(dir) {
        L::with(|o| o.sync(dev, addr, size, dir, to));
    }
}

/// The sync of a scatterlist: `sync_sg_for_cpu` (`DEVICE` false) or
/// `sync_sg_for_device` (true).
///
/// # Safety
///
/// Called by the DMA core only, under the DMA API contract above.
unsafe extern "C" fn sync_sg<L: Lookup, const DEVICE: bool>(
    d: *mut bindings::device,
    sg: *mut bindings::scatterlist,
    nents: c_int,
    dir: bindings::dma_data_direction,
) {
    // SAFETY: See above.
    let (dev, sg) = unsafe { (dev(d), SgIter::new(sg, nents)) };
    let to = if DEVICE {
        SyncFor::Device
    } else {
        SyncFor::Cpu
    };
    if let Some(dir) = Direction::from_raw(dir) {
        L::with(|o| o.sync_sg(dev, sg, dir, to));
    }
}

/// `alloc`.
///
/// # Safety
///
/// Called by the DMA core only, under the DMA API contract above.
unsafe extern "C" fn alloc<L: Lookup>(
    d: *mut bindings::device,
    size: usize,
    handle: *mut bindings::dma_addr_t,
    gfp: bindings::gfp_t,
    _attrs: c_ulong,
) -> *mut c_void {
    // SAFETY: See above.
    let dev = unsafe { dev(d) };
    if L::refuses_new(dev, "coherent allocation") {
        return core::ptr::null_mut();
    }
    let Some((cpu_addr, dma)) =
        L::with(|o| o.alloc(dev, size, Block::Coherent, Report::of_gfp(gfp))).flatten()
    else {
        return core::ptr::null_mut();
    };
    // SAFETY: `handle` is the caller's out-parameter, valid for writes.
    unsafe { *handle = dma };
    cpu_addr.as_ptr()
}

/// `free`.
///
/// # Safety
///
/// Called by the DMA core only, under the DMA API contract above.
unsafe extern "C" fn free<L: Lookup>(
    d: *mut bindings::device,
    size: usize,
    vaddr: *mut c_void,
    handle: bindings::dma_addr_t,
    _attrs: c_ulong,
) {
    // SAFETY: See above.
    let dev = unsafe { dev(d) };
    L::with(|o| o.free(dev, size, vaddr, handle, Block::Coherent));
    L::released(dev);
}

/// `alloc_pages_op`.
///
/// # Safety
///
/// Called by the DMA core only, under the DMA API contract above.
unsafe extern "C" fn alloc_pages_op<L: Lookup>(
    d: *mut bindings::device,
    size: usize,
    handle: *mut bindings::dma_addr_t,
    _dir: bindings::dma_data_direction,
    gfp: bindings::gfp_t,
) -> *mut bindings::page {
    // SAFETY: See above.
    let dev = unsafe { dev(d) };
    if L::refuses_new(dev, "page allocation") {
        return core::ptr::null_mut();
    }
    let Some((cpu_addr, dma)) =
        L::with(|o| o.alloc(dev, size, Block::Pages, Report::of_gfp(gfp))).flatten()
    else {
        return core::ptr::null_mut();
    };
    // SAFETY: `handle` is the caller's out-parameter, valid for writes.
    unsafe { *handle = dma };
    // SAFETY: `DmaOps::alloc` hands out `Pages` blocks in the linear map
    // only, so `cpu_addr` has a `struct page`.
    unsafe { bindings::rdma_virt_to_page(cpu_addr.as_ptr()) }
}

/// `free_pages`.
///
/// # Safety
///
/// Called by the DMA core only, under the DMA API contract above.
unsafe extern "C" fn free_pages<L: Lookup>(
    d: *mut bindings::device,
    size: usize,
    page: *mut bindings::page,
    handle: bindings::dma_addr_t,
    _dir: bindings::dma_data_direction,
) {
    // SAFETY: See above: `page` is what `alloc_pages_op` returned, whose
    // linear-map address is where `alloc` said the block was.
    let (dev, vaddr) = unsafe {
        (
            dev(d),
            bindings::rdma_phys_to_virt(bindings::rdma_page_to_phys(page)),
        )
    };
    L::with(|o| o.free(dev, size, vaddr, handle, Block::Pages));
    L::released(dev);
}

/// `map_resource`.
///
/// # Safety
///
/// Called by the DMA core only, under the DMA API contract above.
unsafe extern "C" fn map_resource<L: Lookup>(
    d: *mut bindings::device,
    phys: bindings::phys_addr_t,
    size: usize,
    _dir: bindings::dma_data_direction,
    _attrs: c_ulong,
) -> bindings::dma_addr_t {
    // SAFETY: See above.
    let dev = unsafe { dev(d) };
    if L::refuses_new(dev, "map_resource") {
        return MAPPING_ERROR;
    }
    L::with(|o| o.map_resource(dev, phys, size))
        .flatten()
        .unwrap_or(MAPPING_ERROR)
}

/// `dma_supported`.
///
/// # Safety
///
/// Called by the DMA core only, under the DMA API contract above.
unsafe extern "C" fn dma_supported<L: Lookup>(d: *mut bindings::device, mask: u64) -> c_int {
    // SAFETY: See above.
    let dev = unsafe { dev(d) };
    L::with(|o| o.dma_supported(dev, mask)).unwrap_or(false) as c_int
}

/// `get_required_mask`.
///
/// # Safety
///
/// Called by the DMA core only, under the DMA API contract above.
unsafe extern "C" fn get_required_mask<L: Lookup>(d: *mut bindings::device) -> u64 {
    // SAFETY: See above.
    let dev = unsafe { dev(d) };
    L::with(|o| o.required_mask(dev)).unwrap_or(0)
}

/// `max_mapping_size`.
///
/// # Safety
///
/// Called by the DMA core only, under the DMA API contract above.
unsafe extern "C" fn max_mapping_size<L: Lookup>(d: *mut bindings::device) -> usize {
    // SAFETY: See above.
    let dev = unsafe { dev(d) };
    L::with(|o| o.max_mapping_size(dev)).unwrap_or(0)
}

/// The ops table whose trampolines call what `L` finds.
const fn table<L: Lookup>() -> bindings::dma_map_ops {
    bindings::dma_map_ops {
        alloc: Some(alloc::<L>),
        free: Some(free::<L>),
        alloc_pages_op: Some(alloc_pages_op::<L>),
        free_pages: Some(free_pages::<L>),
        mmap: None,
        get_sgtable: None,
        map_page: Some(map_page::<L>),
        unmap_page: Some(unmap_page::<L>),
        map_sg: Some(map_sg::<L>),
        unmap_sg: Some(unmap_sg::<L>),
        map_resource: Some(map_resource::<L>),
        unmap_resource: None,
        sync_single_for_cpu: Some(sync_single::<L, false>),
        sync_single_for_device: Some(sync_single::<L, true>),
        sync_sg_for_cpu: Some(sync_sg::<L, false>),
        sync_sg_for_device: Some(sync_sg::<L, true>),
        cache_sync: None,
        dma_supported: Some(dma_supported::<L>),
        get_required_mask: Some(get_required_mask::<L>),
        max_mapping_size: Some(max_mapping_size::<L>),
        opt_mapping_size: None,
        get_merge_boundary: None,
    }
}
