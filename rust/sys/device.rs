// SPDX-License-Identifier: GPL-2.0

//! Devices: a borrowed `struct device` and an owned reference to one.

use super::of::OfNode;
use crate::ffi as bindings;
use core::ops::Deref;
use core::ptr::NonNull;
use kernel::error::{to_result, Result};
use kernel::str::CStr;

/// A `struct device` that is alive while this reference is.
///
/// # Invariants
///
/// A `&Device` is only made from a pointer to a live device (see
/// [`Device::from_raw`]), so `self.0` is valid for the borrow's lifetime.
#[repr(transparent)]
pub(crate) struct Device(bindings::device);

impl Device {
    /// Borrows a device from a raw pointer.
    ///
    /// # Safety
    ///
    /// `ptr` points to a device that stays alive for `'a`.
    pub(crate) unsafe fn from_raw<'a>(ptr: *mut bindings::device) -> &'a Device {
        // SAFETY: The caller guarantees validity for `'a`; the type is
        // `repr(transparent)` over `struct device`.
        unsafe { &*ptr.cast::<Device>() }
    }

    /// The raw pointer, for wrappers that pass the device to C.
    pub(crate) fn as_raw(&self) -> *mut bindings::device {
        core::ptr::from_ref(&self.0).cast_mut()
    }

    /// The device's name, as in `a003e00.virtio_mmio`.
    pub(crate) fn name(&self) -> &CStr {
        // SAFETY: The device is alive (type invariant); `dev_name` returns a
        // NUL-terminated string owned by it.
        unsafe { CStr::from_char_ptr(bindings::rdma_dev_name(self.as_raw())) }
    }

    /// The device's DT node, if it has one.
    pub(crate) fn of_node(&self) -> Option<OfNode> {
        // SAFETY: The device is alive and holds a reference on its node.
        unsafe { OfNode::from_borrowed(self.0.of_node) }
    }

    /// Whether a driver is bound to the device.
    pub(crate) fn is_bound(&self) -> bool {
        !self.0.driver.is_null()
    }

    /// Whether the device snoops CPU caches (`dma-coherent`).
    pub(crate) fn is_dma_coherent(&self) -> bool {
        // SAFETY: The device is alive (type invariant).
        unsafe { bindings::rdma_dev_is_dma_coherent(self.as_raw()) }
    }

    /// The DMA address at which the device sees physical address `phys`
    /// (honours the bus's `dma-ranges`).
    pub(crate) fn phys_to_dma(&self, phys: u64) -> u64 {
        // SAFETY: The device is alive (type invariant).
        unsafe { bindings::rdma_phys_to_dma(self.as_raw(), phys) }
    }

    /// The physical address behind DMA address `dma` of this device.
    pub(crate) fn dma_to_phys(&self, dma: u64) -> u64 {
        // SAFETY: The device is alive (type invariant).
        unsafe { bindings::rdma_dma_to_phys(self.as_raw(), dma) }
    }

    /// The device's `min_align_mask` (0 when it has none).
    pub(crate) fn min_align_mask(&self) -> u64 {
        // SAFETY: The device is alive (type invariant).
        unsafe { bindings::rdma_dma_min_align_mask(self.as_raw()) }
    }

    /// Sets the device's `driver_override`: only a driver of that name may
    /// bind to it from now on. An empty name clears it.
    pub(crate) fn set_driver_override(&self, name: &CStr) -> Result {
        // SAFETY: The device is alive (type invariant); `name` is
        // NUL-terminated; the callee copies it and takes the device's locks.
        to_result(unsafe { bindings::rdma_set_driver_override(self.as_raw(), name.as_char_ptr()) })
    }

    /// Whether the device's `driver_override` is `name`.
    pub(crate) fn driver_override_is(&self, name: &CStr) -> bool {
        // SAFETY: The device is alive (type invariant); `name` is
        // NUL-terminated; the callee reads the override under its lock.
        unsafe { bindings::rdma_driver_override_is(self.as_raw(), name.as_char_ptr()) }
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

/// A counted reference to a device (`get_device`/`put_device`).
///
/// # Invariants
///
/// Holds one reference on the device behind `self.0`, dropped on drop.
pub(crate) struct DeviceRef(NonNull<Device>);

// SAFETY: A device reference may be taken and dropped on any thread.
unsafe impl Send for DeviceRef {}
// SAFETY: `&DeviceRef` only gives `&Device`, whose methods are thread-safe.
unsafe impl Sync for DeviceRef {}

impl DeviceRef {
    /// Takes a reference on `dev`.
    pub(crate) fn new(dev: &Device) -> Self {
        // SAFETY: `dev` is alive (type invariant of `Device`).
        unsafe { bindings::get_device(dev.as_raw()) };
        // INVARIANT: we took a reference just above.
        Self(NonNull::from(dev))
    }
}

impl Deref for DeviceRef {
    type Target = Device;

    fn deref(&self) -> &Device {
        // SAFETY: Our reference keeps the device alive (type invariant).
        unsafe { self.0.as_ref() }
    }
}

impl Drop for DeviceRef {
    fn drop(&mut self) {
        // SAFETY: We own one reference (type invariant).
        unsafe { bindings::put_device(self.0.as_ptr().cast()) };
    }
}
