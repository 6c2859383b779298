// SPDX-License-Identifier: GPL-2.0

//! The `dma_map_ops` edge: raw pointers in, typed values out.
//!
//! The DMA core calls a device's ops with nothing but the device, so the ops
//! must find the device's region by themselves, and fast: they are the I/O
//! path of the whole guest. Each region therefore gets an ops table of its
//! own, a monomorphised copy of the same functions for slot `R` (there are
//! [`MAX_REGIONS`] slots), and the functions find their region in a static
//! array, [`BACKENDS`], with one atomic load: no lookup, no lock.
//!
//! A device behind a region that could not be claimed gets [`REFUSE_OPS`],
//! which fail every request: it must never fall back to direct DMA.
//!
//! Lifetime: a region is published in its slot before any device gets the
//! slot's ops and withdrawn only when no device has them any more
//! ([`withdraw`] checks the count [`install`] and [`uninstall`] keep). The
//! DMA API forbids calls for a device once its driver is unbound, and a
//! device only loses our ops after it is unbound, so no call can find a
//! withdrawn slot's region gone.

use super::device::Device;
use crate::ffi as bindings;
use crate::region::{Region, MAX_REGIONS};
use core::ffi::{c_int, c_ulong, c_void};
use core::ptr::NonNull;
use core::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};
use kernel::prelude::*;
use kernel::sync::Arc;

// The pool decodes `enum dma_data_direction` itself (`Direction::from_raw`,
// which has no kernel types to use): hold its values to this kernel's.
const _: () = assert!(
    bindings::dma_data_direction_DMA_BIDIRECTIONAL == 0
        && bindings::dma_data_direction_DMA_TO_DEVICE == 1
        && bindings::dma_data_direction_DMA_FROM_DEVICE == 2
);

/// `DMA_MAPPING_ERROR`: the address that says a mapping failed.
pub(crate) const MAPPING_ERROR: u64 = u64::MAX;

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

/// What an allocation op hands out (and its free must take back).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AllocKind {
    /// `alloc`: `dma_alloc_coherent()` memory.
    Coherent,
    /// `alloc_pages_op`: `dma_alloc_pages()` memory, which the driver syncs.
    Pages,
}

/// Whether a failed allocation may be logged: not when the caller passed
/// `__GFP_NOWARN` (virtio tries smaller rings that way, for one).
fn may_warn(gfp: bindings::gfp_t) -> bool {
    gfp & bindings::__GFP_NOWARN == 0
}

/// Which of our ops tables a device has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ops {
    /// The table of the region in this slot.
    Region(usize),
    /// The table that refuses everything.
    Refuse,
}

impl Ops {
    fn table(self) -> &'static bindings::dma_map_ops {
        match self {
            Ops::Region(i) => &OPS[i],
            Ops::Refuse => &REFUSE_OPS,
        }
    }

    fn counter(self) -> &'static AtomicUsize {
        match self {
            Ops::Region(i) => &INSTALLED[i],
            Ops::Refuse => &INSTALLED[MAX_REGIONS],
        }
    }

    /// Which of our tables `dev` has, if any.
    pub(crate) fn of(dev: &Device) -> Option<Ops> {
        // SAFETY: `dev` is alive (type invariant of `Device`).
        let ops = unsafe { bindings::rdma_get_dma_ops(dev.as_raw()) };
        if core::ptr::eq(ops, &REFUSE_OPS) {
            return Some(Ops::Refuse);
        }
        OPS.iter()
            .position(|t| core::ptr::eq(ops, t))
            .map(Ops::Region)
    }
}

/// INVARIANT: a non-null entry is a pointer from `Arc::into_raw` whose
/// reference this array owns; it is only cleared by [`withdraw`].
static BACKENDS: [AtomicPtr<Region>; MAX_REGIONS] =
    [const { AtomicPtr::new(core::ptr::null_mut()) }; MAX_REGIONS];

/// How many devices have each table (the last entry: [`REFUSE_OPS`]).
static INSTALLED: [AtomicUsize; MAX_REGIONS + 1] = [const { AtomicUsize::new(0) }; MAX_REGIONS + 1];

/// Publishes `region` in slot `index`, for the ops of that slot to find.
pub(crate) fn publish(index: usize, region: Arc<Region>) -> Result {
    let slot = BACKENDS.get(index).ok_or(EINVAL)?;
    let raw = Arc::into_raw(region).cast_mut();
    if slot
        .compare_exchange(
            core::ptr::null_mut(),
            raw,
            Ordering::Release,
            Ordering::Relaxed,
        )
        .is_err()
    {
        // SAFETY: `raw` came from `Arc::into_raw` just above and was not stored.
        drop(unsafe { Arc::from_raw(raw) });
        return Err(EBUSY);
    }
    Ok(())
}

/// Takes the region out of slot `index`, if no device has the slot's ops.
/// Returns `Err(EBUSY)`, leaving the region published, otherwise.
pub(crate) fn withdraw(index: usize) -> Result<Arc<Region>> {
    let slot = BACKENDS.get(index).ok_or(EINVAL)?;
    if INSTALLED[index].load(Ordering::Acquire) != 0 {
        return Err(EBUSY);
    }
    let raw = slot.swap(core::ptr::null_mut(), Ordering::AcqRel);
    if raw.is_null() {
        return Err(ENOENT);
    }
    // SAFETY: Non-null entries own a reference from `Arc::into_raw` (static's
    // invariant), which we now take back; no device has the ops (checked).
    Ok(unsafe { Arc::from_raw(raw) })
}

/// The published region for which `pred` holds, with a reference of its own.
/// For slow paths (binding a device): it walks all slots.
pub(crate) fn find_region(pred: impl Fn(&Region) -> bool) -> Option<Arc<Region>> {
    BACKENDS.iter().find_map(|slot| {
        let raw = slot.load(Ordering::Acquire);
        if raw.is_null() {
            return None;
        }
        // SAFETY: A non-null entry owns a reference (static's invariant), and
        // entries are only withdrawn at unload after the bus notifier, the
        // only caller, is unregistered; the borrow becomes a new reference.
        let r: Arc<Region> = unsafe { kernel::sync::ArcBorrow::from_raw(raw) }.into();
        pred(&r).then_some(r)
    })
}

/// Runs `f` on the region of slot `R`, for the ops of that slot; `None` when
/// the slot is empty. The borrow cannot outlive `f`.
fn with_backend<const R: usize, T>(f: impl FnOnce(&Region) -> T) -> Option<T> {
    let raw = BACKENDS.get(R)?.load(Ordering::Acquire);
    // SAFETY: A non-null entry owns a reference to a live region (static's
    // invariant). It is only cleared, and that reference dropped, when no
    // device has this slot's ops, whereas the ops run only for a device that
    // has them and until its driver is unbound (see the module docs); so the
    // region outlives the op that calls us, and the borrow ends with `f`.
    unsafe { raw.as_ref() }.map(f)
}

/// Gives `dev` one of our ops tables, and makes the DMA core call them: it
/// clears a stale `dma_skip_sync` and `dma_iommu` (see `helpers.c`). The
/// caller calls this from the bus notifier before the driver probes, or with
/// the device unbound.
pub(crate) fn install(dev: &Device, ops: Ops) {
    ops.counter().fetch_add(1, Ordering::AcqRel);
    // SAFETY: `dev` is alive; the table is static and lives as long as the
    // module, and every device gets its ops cleared (`uninstall`) before the
    // module can go: the counter keeps `withdraw` from passing until then.
    unsafe { bindings::rdma_install_dma_ops(dev.as_raw(), ops.table()) };
}

/// Takes our ops off `dev` (it falls back to the platform's ops); returns
/// which ones it had, if any. Only once the driver core has released all the
/// driver held.
pub(crate) fn uninstall(dev: &Device) -> Option<Ops> {
    let ops = Ops::of(dev)?;
    // SAFETY: `dev` is alive; no DMA call is made for it now (the caller's
    // promise), so its ops may change.
    unsafe { bindings::rdma_remove_dma_ops(dev.as_raw()) };
    ops.counter().fetch_sub(1, Ordering::AcqRel);
    Some(ops)
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

/// Safe view of a device for the backend, from the pointer the DMA core passes.
///
/// # Safety
///
/// `dev` is the live device the DMA core calls an op for; it stays alive for
/// the call.
unsafe fn dev<'a>(dev: *mut bindings::device) -> &'a Device {
    // SAFETY: The caller's requirement.
    unsafe { Device::from_raw(dev) }
}

// The ops of slot `R`. Each converts its arguments and forwards to the
// region's safe methods in `crate::dma_ops`. SAFETY for all of them: the DMA
// core calls them with a live device that has this table, with pointers that
// are valid for the call as the DMA API documents, and `with_backend` is sound for
// the reasons given there.

/// The `map_page` op of slot `R`.
///
/// # Safety
///
/// Called by the DMA core only, under the DMA API contract above.
unsafe extern "C" fn map_page<const R: usize>(
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
    let Some(phys) = page.checked_add(offset) else {
        return MAPPING_ERROR;
    };
    with_backend::<R, _>(|r| r.map(dev, phys, size, dir, Attrs(attrs))).unwrap_or(MAPPING_ERROR)
}

/// The `unmap_page` op of slot `R`.
///
/// # Safety
///
/// Called by the DMA core only, under the DMA API contract above.
unsafe extern "C" fn unmap_page<const R: usize>(
    d: *mut bindings::device,
    addr: bindings::dma_addr_t,
    size: usize,
    dir: bindings::dma_data_direction,
    attrs: c_ulong,
) {
    // SAFETY: See above.
    let dev = unsafe { dev(d) };
    with_backend::<R, _>(|r| r.unmap(dev, addr, size, dir, Attrs(attrs)));
}

/// The `map_sg` op of slot `R`.
///
/// # Safety
///
/// Called by the DMA core only, under the DMA API contract above.
unsafe extern "C" fn map_sg<const R: usize>(
    d: *mut bindings::device,
    sg: *mut bindings::scatterlist,
    nents: c_int,
    dir: bindings::dma_data_direction,
    attrs: c_ulong,
) -> c_int {
    // SAFETY: See above: `sg` has `nents` entries, ours for the call.
    let (dev, sg) = unsafe { (dev(d), SgIter::new(sg, nents)) };
    with_backend::<R, _>(|r| r.map_sg(dev, sg, dir, Attrs(attrs)))
        .unwrap_or(Err(EIO))
        .unwrap_or_else(|e| e.to_errno())
}

/// The `unmap_sg` op of slot `R`.
///
/// # Safety
///
/// Called by the DMA core only, under the DMA API contract above.
unsafe extern "C" fn unmap_sg<const R: usize>(
    d: *mut bindings::device,
    sg: *mut bindings::scatterlist,
    nents: c_int,
    dir: bindings::dma_data_direction,
    attrs: c_ulong,
) {
    // SAFETY: See above.
    let (dev, sg) = unsafe { (dev(d), SgIter::new(sg, nents)) };
    with_backend::<R, _>(|r| r.unmap_sg(dev, sg, dir, Attrs(attrs)));
}

/// The `sync_single_for_cpu` (`FOR_DEVICE` false) or
/// `sync_single_for_device` (true) op of slot `R`.
///
/// # Safety
///
/// Called by the DMA core only, under the DMA API contract above.
unsafe extern "C" fn sync_single<const R: usize, const FOR_DEVICE: bool>(
    d: *mut bindings::device,
    addr: bindings::dma_addr_t,
    size: usize,
    dir: bindings::dma_data_direction,
) {
    // SAFETY: See above.
    let dev = unsafe { dev(d) };
    with_backend::<R, _>(|r| r.sync(dev, addr, size, dir, FOR_DEVICE));
}

/// The `sync_sg_for_cpu` (`FOR_DEVICE` false) or `sync_sg_for_device`
/// (true) op of slot `R`.
///
/// # Safety
///
/// Called by the DMA core only, under the DMA API contract above.
unsafe extern "C" fn sync_sg<const R: usize, const FOR_DEVICE: bool>(
    d: *mut bindings::device,
    sg: *mut bindings::scatterlist,
    nents: c_int,
    dir: bindings::dma_data_direction,
) {
    // SAFETY: See above.
    let (dev, sg) = unsafe { (dev(d), SgIter::new(sg, nents)) };
    with_backend::<R, _>(|r| r.sync_sg(dev, sg, dir, FOR_DEVICE));
}

/// The `alloc` op of slot `R`.
///
/// # Safety
///
/// Called by the DMA core only, under the DMA API contract above.
unsafe extern "C" fn alloc<const R: usize>(
    d: *mut bindings::device,
    size: usize,
    handle: *mut bindings::dma_addr_t,
    gfp: bindings::gfp_t,
    _attrs: c_ulong,
) -> *mut c_void {
    // SAFETY: See above.
    let dev = unsafe { dev(d) };
    let Some((cpu_addr, dma)) =
        with_backend::<R, _>(|r| r.alloc(dev, size, AllocKind::Coherent, may_warn(gfp))).flatten()
    else {
        return core::ptr::null_mut();
    };
    // SAFETY: `handle` is the caller's out-parameter, valid for writes.
    unsafe { *handle = dma };
    cpu_addr.as_ptr()
}

/// The `free` op of slot `R`.
///
/// # Safety
///
/// Called by the DMA core only, under the DMA API contract above.
unsafe extern "C" fn free<const R: usize>(
    d: *mut bindings::device,
    size: usize,
    vaddr: *mut c_void,
    handle: bindings::dma_addr_t,
    _attrs: c_ulong,
) {
    // SAFETY: See above.
    let dev = unsafe { dev(d) };
    with_backend::<R, _>(|r| r.free(dev, size, vaddr, handle, AllocKind::Coherent));
}

/// The `alloc_pages_op` op of slot `R`.
///
/// # Safety
///
/// Called by the DMA core only, under the DMA API contract above.
unsafe extern "C" fn alloc_pages_op<const R: usize>(
    d: *mut bindings::device,
    size: usize,
    handle: *mut bindings::dma_addr_t,
    _dir: bindings::dma_data_direction,
    gfp: bindings::gfp_t,
) -> *mut bindings::page {
    // SAFETY: See above.
    let dev = unsafe { dev(d) };
    // Pages need a linear-map alias: only regions without `no-map` have one.
    let Some((cpu_addr, dma)) = with_backend::<R, _>(|r| {
        r.linear()
            .then(|| r.alloc(dev, size, AllocKind::Pages, may_warn(gfp)))
            .flatten()
    })
    .flatten() else {
        return core::ptr::null_mut();
    };
    // SAFETY: `handle` is the caller's out-parameter, valid for writes.
    unsafe { *handle = dma };
    // SAFETY: `cpu_addr` is the region's linear-map alias (checked by
    // `linear`), so it has a `struct page`.
    unsafe { bindings::rdma_virt_to_page(cpu_addr.as_ptr()) }
}

/// The `free_pages` op of slot `R`.
///
/// # Safety
///
/// Called by the DMA core only, under the DMA API contract above.
unsafe extern "C" fn free_pages<const R: usize>(
    d: *mut bindings::device,
    size: usize,
    page: *mut bindings::page,
    handle: bindings::dma_addr_t,
    _dir: bindings::dma_data_direction,
) {
    // SAFETY: See above: `page` is what `alloc_pages_op` returned.
    let (dev, vaddr) = unsafe {
        (
            dev(d),
            bindings::rdma_phys_to_virt(bindings::rdma_page_to_phys(page)),
        )
    };
    with_backend::<R, _>(|r| r.free(dev, size, vaddr, handle, AllocKind::Pages));
}

/// The `map_resource` op of slot `R`.
///
/// # Safety
///
/// Called by the DMA core only, under the DMA API contract above.
unsafe extern "C" fn map_resource<const R: usize>(
    d: *mut bindings::device,
    phys: bindings::phys_addr_t,
    size: usize,
    _dir: bindings::dma_data_direction,
    _attrs: c_ulong,
) -> bindings::dma_addr_t {
    // SAFETY: See above.
    let dev = unsafe { dev(d) };
    crate::dma_ops::refuse_resource(dev, phys, size);
    MAPPING_ERROR
}

/// The `dma_supported` op of slot `R`.
///
/// # Safety
///
/// Called by the DMA core only, under the DMA API contract above.
unsafe extern "C" fn dma_supported<const R: usize>(d: *mut bindings::device, mask: u64) -> c_int {
    // SAFETY: See above.
    let dev = unsafe { dev(d) };
    with_backend::<R, _>(|r| r.dma_supported(dev, mask)).unwrap_or(false) as c_int
}

/// The `get_required_mask` op of slot `R`.
///
/// # Safety
///
/// Called by the DMA core only, under the DMA API contract above.
unsafe extern "C" fn get_required_mask<const R: usize>(d: *mut bindings::device) -> u64 {
    // SAFETY: See above.
    let dev = unsafe { dev(d) };
    with_backend::<R, _>(|r| r.required_mask(dev)).unwrap_or(0)
}

/// The `max_mapping_size` op of slot `R`.
///
/// # Safety
///
/// Called by the DMA core only, under the DMA API contract above.
unsafe extern "C" fn max_mapping_size<const R: usize>(d: *mut bindings::device) -> usize {
    // SAFETY: See above.
    let dev = unsafe { dev(d) };
    with_backend::<R, _>(|r| r.max_mapping_size(dev)).unwrap_or(0)
}

/// The ops table of slot `R`.
const fn ops<const R: usize>() -> bindings::dma_map_ops {
    bindings::dma_map_ops {
        alloc: Some(alloc::<R>),
        free: Some(free::<R>),
        alloc_pages_op: Some(alloc_pages_op::<R>),
        free_pages: Some(free_pages::<R>),
        mmap: None,
        get_sgtable: None,
        map_page: Some(map_page::<R>),
        unmap_page: Some(unmap_page::<R>),
        map_sg: Some(map_sg::<R>),
        unmap_sg: Some(unmap_sg::<R>),
        map_resource: Some(map_resource::<R>),
        unmap_resource: None,
        sync_single_for_cpu: Some(sync_single::<R, false>),
        sync_single_for_device: Some(sync_single::<R, true>),
        sync_sg_for_cpu: Some(sync_sg::<R, false>),
        sync_sg_for_device: Some(sync_sg::<R, true>),
        cache_sync: None,
        dma_supported: Some(dma_supported::<R>),
        get_required_mask: Some(get_required_mask::<R>),
        max_mapping_size: Some(max_mapping_size::<R>),
        opt_mapping_size: None,
        get_merge_boundary: None,
    }
}

/// One ops table per region slot.
static OPS: [bindings::dma_map_ops; MAX_REGIONS] = [
    ops::<0>(),
    ops::<1>(),
    ops::<2>(),
    ops::<3>(),
    ops::<4>(),
    ops::<5>(),
    ops::<6>(),
    ops::<7>(),
];

/// A slot that never holds a region: `with_backend` finds nothing there, so every
/// op of its table fails.
const REFUSE_SLOT: usize = usize::MAX;

/// Refuses every request: for devices behind a region we could not claim.
static REFUSE_OPS: bindings::dma_map_ops = ops::<REFUSE_SLOT>();
