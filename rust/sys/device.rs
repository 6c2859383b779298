// SPDX-License-Identifier: GPL-2.0

//! Devices: a borrowed `struct device` and an owned reference to one.

use super::of::OfNode;
use crate::ffi as bindings;
use crate::pool::Constraints;
use core::ops::Deref;
use core::ptr::addr_of;
use core::ptr::NonNull;
use kernel::error::{to_result, Result};
use kernel::str::CStr;
use kernel::types::Opaque;

/// `DMA_MAPPING_ERROR`, which `phys_to_dma()` returns for an address outside
/// every `dma-ranges` entry.
const MAPPING_ERROR: u64 = u64::MAX;

/// A `struct device` that is alive while this reference is.
///
/// The C side changes a device under any Rust reference to it (its driver,
/// its DMA fields), so the struct is [`Opaque`]: Rust never reads it as
/// plain data, only through the kernel's accessors, or, for the DMA fields
/// the map path reads on every call, with the volatile word loads their
/// inline accessors amount to ([`Device::dma_constraints`]).
///
/// # Invariants
///
/// A `&Device` is only made from a pointer to a live device (see
/// [`Device::from_raw`]), so `self.0` is valid for the borrow's lifetime.
#[repr(transparent)]
pub(crate) struct Device(Opaque<bindings::device>);

/// Which of a device's masks applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MaskKind {
    /// `dma_mask`, for streaming mappings.
    Streaming,
    /// `coherent_dma_mask`, for allocations.
    Coherent,
}

impl Device {
    /// Borrows a device from a raw pointer.
    ///
    /// # Safety
    ///
    /// `ptr` points to a device that stays alive for `'a`.
    pub(crate) unsafe fn from_raw<'a>(ptr: *mut bindings::device) -> &'a Device {
        // SAFETY: The caller guarantees validity for `'a`; the type is
        // `repr(transparent)` over `Opaque<struct device>`, which has the
        // layout of `struct device`.
        unsafe { &*ptr.cast::<Device>() }
    }

    /// The raw pointer, for wrappers that pass the device to C.
    pub(crate) fn as_raw(&self) -> *mut bindings::device {
        self.0.get()
    }

    /// How many references the device has (1: only the caller's).
    pub(crate) fn refs(&self) -> u32 {
        // SAFETY: The device is alive (type invariant); reading its
        // reference count has no other precondition.
        unsafe { bindings::rsdma_device_refs(self.as_raw()) }
    }

    /// The device's identity: its address, the same for as long as it
    /// lives (and possibly another device's after that).
    pub(crate) fn id(&self) -> usize {
        self.as_raw() as usize
    }

    /// The device's name, as in `a003e00.virtio_mmio`.
    pub(crate) fn name(&self) -> &CStr {
        // SAFETY: The device is alive (type invariant); `dev_name` returns a
        // NUL-terminated string owned by it.
        unsafe { CStr::from_char_ptr(bindings::rsdma_dev_name(self.as_raw())) }
    }

    /// The device's DT node, if it has one.
    ///
    /// Call it with the device locked: in a binding notifier (the driver
    /// core holds the lock) or inside [`Device::locked`].
    pub(crate) fn of_node(&self) -> Option<OfNode> {
        // Why the node cannot go between the read and the reference: in 6.12
        // a device's node changes only in its own driver's probe
        // (`device_set_of_node_from_dev()`, under the device lock, which our
        // callers hold) or at its release (excluded by the caller's reference
        // on the device); without `CONFIG_OF_DYNAMIC` nodes are never freed.
        // SAFETY: The device is alive (type invariant) and holds a reference
        // on its node, read once; `from_borrowed` takes one of its own.
        unsafe { OfNode::from_borrowed(bindings::rsdma_dev_of_node(self.as_raw())) }
    }

    /// The device's parent, if it has one and the device is registered:
    /// `device_add()` takes a reference on the parent that `device_del()`
    /// drops. Call it only on a device that stays registered for the borrow
    /// (in a binding notifier, where the driver core holds it and its lock),
    /// not up a chain: an ancestor's own registration is not promised.
    pub(crate) fn parent(&self) -> Option<&Device> {
        // SAFETY: The device is alive (type invariant); the helper reads its
        // parent pointer only while it is registered.
        let parent = unsafe { bindings::rsdma_dev_parent(self.as_raw()) };
        // SAFETY: The device stays registered for the borrow (the caller's
        // promise, above), and a registered device holds a reference on its
        // parent, which keeps the parent alive as long.
        (!parent.is_null()).then(|| unsafe { Device::from_raw(parent) })
    }

    /// Runs `f` with the device locked (`device_lock`; may sleep). Not from
    /// a binding notifier, where the driver core holds the lock already.
    pub(crate) fn locked<R>(&self, f: impl FnOnce() -> R) -> R {
        // SAFETY: The device is alive (type invariant); the lock is released
        // below, on the same device, before returning.
        unsafe { bindings::rsdma_device_lock(self.as_raw()) };
        let r = f();
        // SAFETY: Taken just above.
        unsafe { bindings::rsdma_device_unlock(self.as_raw()) };
        r
    }

    /// Whether the device is a PCI device.
    pub(crate) fn is_pci(&self) -> bool {
        // SAFETY: The device is alive (type invariant).
        unsafe { bindings::rsdma_dev_is_pci(self.as_raw()) }
    }

    /// The bus the device is on (null for none), to compare with a bus's
    /// `struct bus_type` ([`super::bus::Bus`]).
    pub(super) fn bus_type(&self) -> *const bindings::bus_type {
        // SAFETY: The device is alive (type invariant); the helper reads one
        // pointer, which the driver core sets before the device is added
        // and never changes.
        unsafe { bindings::rsdma_dev_bus(self.as_raw()) }
    }

    /// Whether the device is a PCI bridge (a root port, a switch's port).
    pub(crate) fn is_pci_bridge(&self) -> bool {
        // SAFETY: The device is alive (type invariant).
        unsafe { bindings::rsdma_dev_is_pci_bridge(self.as_raw()) }
    }

    /// Whether the device is a PCI host bridge's own device: the parent of a
    /// root bus's bridge (what its driver made of it, not what its node says).
    pub(crate) fn hosts_pci(&self) -> bool {
        // SAFETY: The device is alive (type invariant); the helper only
        // compares it with the root buses' bridges' parents.
        unsafe { bindings::rsdma_dev_hosts_pci(self.as_raw()) }
    }

    /// The DT node that configures the device's DMA: its own, or for a PCI
    /// device its host bridge's parent (the `pcie@...` node).
    pub(crate) fn dma_config_node(&self) -> Option<OfNode> {
        // SAFETY: The device is alive (type invariant), and so are its
        // ancestors, whose node the helper returns without a reference;
        // `from_borrowed` takes one.
        unsafe { OfNode::from_borrowed(bindings::rsdma_dma_config_node(self.as_raw())) }
    }

    /// Whether a driver is bound to the device (a snapshot: only the device
    /// lock, which the driver core holds while binding, makes it stable).
    pub(crate) fn is_bound(&self) -> bool {
        // SAFETY: The device is alive (type invariant); the helper reads
        // one pointer.
        unsafe { bindings::rsdma_dev_is_bound(self.as_raw()) }
    }

    /// Whether the driver bound to the device says it must never be
    /// unbound (`suppress_bind_attrs`: no unbind through sysfs either).
    /// Ask under the device lock (or in a bind event, which holds it): it
    /// keeps the driver bound, and so its module in, while its flag is read.
    pub(crate) fn driver_is_sticky(&self) -> bool {
        // SAFETY: The device is alive (type invariant); the helper reads its
        // driver pointer once. Every caller holds the device lock (a bind
        // event runs under it; `attach::left_alone` takes it), so that
        // driver stays bound, and its module in, while its flag is read.
        unsafe { bindings::rsdma_driver_is_sticky(self.as_raw()) }
    }

    /// Whether the device snoops CPU caches (`dma-coherent`).
    pub(crate) fn is_dma_coherent(&self) -> bool {
        // SAFETY: The device is alive (type invariant).
        unsafe { bindings::rsdma_dev_is_dma_coherent(self.as_raw()) }
    }

    /// Whether the device is behind an IOMMU (it has an IOMMU group).
    pub(crate) fn is_iommu_mapped(&self) -> bool {
        // SAFETY: The device is alive (type invariant).
        unsafe { bindings::rsdma_dev_iommu_mapped(self.as_raw()) }
    }

    /// The device's DMA addresses of the first and last byte of
    /// `base..base + size`, or `None` unless it reaches all of that range as
    /// one contiguous run (through its `dma-ranges`).
    pub(crate) fn dma_span(&self, base: u64, size: u64) -> Option<(u64, u64)> {
        let (mut first, mut last) = (0, 0);
        // SAFETY: The device is alive (type invariant); the out pointers are
        // valid for writes.
        unsafe { bindings::rsdma_dma_span(self.as_raw(), base, size, &mut first, &mut last) }
            .then_some((first, last))
    }

    /// The device's `dma-ranges` translation; null when DMA addresses are
    /// physical addresses (the helpers refuse to build for an architecture
    /// where they are not, such as one with memory encryption bits).
    fn dma_ranges(&self) -> *const bindings::bus_dma_region {
        // SAFETY: The device is alive (type invariant), so the field is
        // valid for reads; a volatile load of one word sees the old or the
        // new pointer, as `dma_to_phys()` does in C.
        unsafe { addr_of!((*self.as_raw()).dma_range_map).read_volatile() }
    }

    /// What the device asks of the DMA addresses of memory at physical
    /// address `base` and above, under its `kind` of mask: its `dma-ranges`
    /// offset, `min_align_mask`, segment boundary, and the lower of that mask
    /// and its bus limit (0 when it cannot reach the memory at all).
    ///
    /// Read afresh on every call, as `dma_direct_map_page()` does: a driver
    /// sets its masks and `dma_parms` with inline stores no op sees, so
    /// nothing of this can be cached. Each field is a volatile load of one
    /// word (what the kernel's inline accessors, `dma_get_min_align_mask()`
    /// and the others, compile to); only `dma-ranges` calls into C.
    pub(crate) fn dma_constraints(&self, base: u64, kind: MaskKind) -> Constraints {
        let d = self.as_raw();
        // SAFETY: The device is alive (type invariant), so its fields are
        // valid for reads, and so are `dma_mask` and `dma_parms` when not
        // null: they point into the device or its bus device (a platform or
        // PCI device embeds both), which live as long as it. Each load is one
        // word, volatile: a driver changing its mask meanwhile is seen before
        // or after, as the C accessors see it.
        let (mask, bus_limit, parms) = unsafe {
            let mask = match kind {
                MaskKind::Coherent => addr_of!((*d).coherent_dma_mask).read_volatile(),
                MaskKind::Streaming => {
                    let p = addr_of!((*d).dma_mask).read_volatile();
                    if p.is_null() {
                        0
                    } else {
                        p.read_volatile()
                    }
                }
            };
            let bus_limit = addr_of!((*d).bus_dma_limit).read_volatile();
            let parms = addr_of!((*d).dma_parms).read_volatile();
            let parms = if parms.is_null() {
                None
            } else {
                Some((
                    addr_of!((*parms).min_align_mask).read_volatile(),
                    addr_of!((*parms).segment_boundary_mask).read_volatile(),
                ))
            };
            (mask, bus_limit, parms)
        };
        let dma = if self.dma_ranges().is_null() {
            base
        } else {
            // SAFETY: The device is alive (type invariant).
            unsafe { bindings::rsdma_phys_to_dma(d, base) }
        };
        // `dma_get_min_align_mask()` and `dma_get_seg_boundary()`: with no
        // `dma_parms` no alignment is asked, and a boundary of 0 is none.
        let (min_align_mask, seg_boundary) = match parms {
            Some((align, 0)) => (align, u64::MAX),
            Some(p) => p,
            None => (0, u64::MAX),
        };
        Constraints {
            dma_offset: dma.wrapping_sub(base),
            min_align_mask: min_align_mask.into(),
            seg_boundary,
            // A base the device cannot reach leaves it nothing. Otherwise
            // `min_not_zero(mask, bus_dma_limit)`.
            dma_limit: match (dma, bus_limit) {
                (MAPPING_ERROR, _) => 0,
                (_, 0) => mask,
                (_, limit) if mask == 0 => limit,
                (_, limit) => mask.min(limit),
            },
        }
    }

    /// Unbinds the device's driver, if any (takes the device lock; may sleep).
    pub(crate) fn release_driver(&self) {
        // SAFETY: The device is alive (type invariant); the function locks it.
        unsafe { bindings::device_release_driver(self.as_raw()) };
    }

    /// Tries to bind a driver to the device (takes the device lock; may sleep).
    pub(crate) fn attach(&self) -> Result<bool> {
        // SAFETY: The device is alive (type invariant); the function locks it.
        let ret = unsafe { bindings::device_attach(self.as_raw()) };
        to_result(ret)?;
        Ok(ret > 0)
    }
}

/// A reference on a device (`get_device`), dropped with `put_device`: the
/// `struct device` stays alive while this lives, bound or not, even after
/// it was deleted.
///
/// # Invariants
///
/// `self.0` points to a device on which this value owns one reference.
pub(crate) struct DeviceRef(NonNull<bindings::device>);

// SAFETY: A device reference may be dropped on any thread (`put_device` is
// thread-safe), and `&Device` is shared by the C side anyway.
unsafe impl Send for DeviceRef {}
// SAFETY: As above: `&DeviceRef` gives only a `&Device`.
unsafe impl Sync for DeviceRef {}

impl DeviceRef {
    /// Takes a new reference on `dev`.
    pub(crate) fn new(dev: &Device) -> Self {
        // SAFETY: `dev` is alive (type invariant of `Device`); `get_device`
        // returns it with one more reference.
        let raw = unsafe { bindings::get_device(dev.as_raw()) };
        // INVARIANT: we own the reference just taken; a live device's
        // pointer is not null (and `get_device` returns its argument).
        Self(NonNull::new(raw).unwrap_or_else(|| NonNull::from(dev).cast()))
    }
}

impl Deref for DeviceRef {
    type Target = Device;

    fn deref(&self) -> &Device {
        // SAFETY: Our reference keeps the device alive while `self` lives
        // (type invariant).
        unsafe { Device::from_raw(self.0.as_ptr()) }
    }
}

impl Drop for DeviceRef {
    fn drop(&mut self) {
        // SAFETY: We own one reference (type invariant), given back here.
        unsafe { bindings::put_device(self.0.as_ptr()) };
    }
}
