// SPDX-License-Identifier: GPL-2.0

//! The fence that holds while the loadable module is out: a device link.
//!
//! While the module is out, no device that names a region may bind, whatever
//! started its probe. A `driver_override` cannot promise that:
//! `__driver_attach()` (a driver registering, its probe maybe asynchronous)
//! and `bind_store()` (a bind by hand) match a driver without the device lock
//! and never match again, and `platform_probe()` does not look at the
//! override, so a probe that matched before the fence went up binds after it;
//! and setting an override allocates. What the driver core does check, under
//! the device lock, at the start of every probe, is the device's suppliers
//! (`really_probe()` -> `device_links_check_suppliers()`): a managed device
//! link to a supplier that has no driver defers the probe.
//!
//! So each such device is made a consumer of one platform device, the gate,
//! which a driver of ours is bound to while the module is loaded. Unload
//! unregisters that driver, and the driver core first unbinds every consumer
//! of the gate (waiting for probes in flight, `device_links_unbind_consumers()`)
//! and from then on defers every probe of one, "supplier
//! restricted_dma_gate not ready", until the module loads and binds the gate
//! again. The links are made when a device appears and at load, so unload
//! allocates nothing. The gate device and the links stay when the module goes:
//! their code is the driver core's. Loadable module only: a built-in one never
//! goes.

use super::device::Device;
use crate::ffi as bindings;
use core::sync::atomic::{AtomicPtr, Ordering};
use kernel::error::{from_err_ptr, to_result};
use kernel::prelude::*;

/// The gate device, once [`init`] found or made it; never released (it stays
/// registered for good, and we keep our reference).
static GATE: AtomicPtr<bindings::device> = AtomicPtr::new(core::ptr::null_mut());

/// Finds the gate device where an earlier load left it, or makes it. Called
/// at load, before devices are linked to it.
pub(crate) fn init() -> Result {
    // SAFETY: No preconditions; it returns a referenced device or an error.
    let gate = from_err_ptr(unsafe { bindings::rdma_gate_get() })?;
    // The reference is kept for good: the device is never unregistered.
    GATE.store(gate, Ordering::Release);
    Ok(())
}

/// Makes `dev` a consumer of the gate: from now on it can probe only while
/// the gate is [`Open`]. Asking again for a linked device allocates nothing.
pub(crate) fn link(dev: &Device) -> Result {
    let gate = GATE.load(Ordering::Acquire);
    if gate.is_null() {
        return Err(ENODEV);
    }
    // SAFETY: `gate` is a registered device we hold a reference on for good;
    // `dev` is a live device. Neither lock of theirs is ours to hold here.
    to_result(unsafe { bindings::rdma_gate_link(dev.as_raw(), gate) })
}

/// The gate, open: our driver is bound to it, so its consumers may probe.
/// Dropping it closes the gate: its consumers are unbound, and their probes
/// deferred.
pub(crate) struct Open(());

impl Open {
    /// Binds our driver to the gate device ([`init`] first). Consumers whose
    /// probe was deferred while it was closed are probed again by the driver
    /// core, so the caller must be ready to restrict them.
    pub(crate) fn new() -> Result<Self> {
        let gate = GATE.load(Ordering::Acquire);
        if gate.is_null() {
            return Err(ENODEV);
        }
        // SAFETY: `gate` is a registered device we hold a reference on.
        to_result(unsafe { bindings::rdma_gate_open(gate) })?;
        Ok(Self(()))
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        // SAFETY: Our driver is registered (`new` succeeded); unregistering
        // it unbinds the gate, after its consumers, and waits for them.
        unsafe { bindings::rdma_gate_close() };
    }
}
