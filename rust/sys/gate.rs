// SPDX-License-Identifier: GPL-2.0

//! Holding devices back from probing: device links to devices of our own.
//!
//! What the driver core checks, under the device lock, at the start of every
//! probe, is the device's suppliers (`really_probe()` ->
//! `device_links_check_suppliers()`): a managed device link to a supplier
//! that has no driver defers the probe, whichever driver and whatever
//! started it. So a device is held back by making it a consumer of a device
//! of ours:
//!
//! - the *wall* ([`Wall`]), which no driver ever binds: its consumers never
//!   probe, whether or not the module is loaded. What the module refuses
//!   outright, because even refusing DMA ops would not hold it (a device
//!   with a memory pool of its own beside its region).
//! - the *gate* (loadable module only), which a driver of ours is bound to
//!   while the module is loaded. While the module is out, no device that
//!   names a region may bind, and a `driver_override` cannot promise that:
//!   `__driver_attach()` (a driver registering, its probe maybe
//!   asynchronous) and `bind_store()` (a bind by hand) match a driver
//!   without the device lock and never match again, and `platform_probe()`
//!   does not look at the override, so a probe that matched before the fence
//!   went up binds after it; and setting an override allocates. Unload
//!   unregisters the gate's driver, and the driver core first unbinds every
//!   consumer of the gate (waiting for probes in flight,
//!   `device_links_unbind_consumers()`) and from then on defers every probe of
//!   one, "supplier restricted_dma_gate... not ready", until the module loads
//!   and binds the gate again. The links are made when a device appears and
//!   at load, so unload allocates nothing.
//!
//! Both devices, and the links, stay when the module goes: their code is the
//! driver core's. A DT node can make a platform device of any name, so ours
//! are told apart by what no DT node gives a device (`helpers.c`), and our
//! gate driver binds nothing else.

use super::device::Device;
use crate::ffi as bindings;
use core::sync::atomic::{AtomicPtr, Ordering};
use kernel::error::{from_err_ptr, to_result};
use kernel::prelude::*;

/// One of our devices, found where an earlier load left it or made, and
/// referenced for good (it is never unregistered).
struct Own(AtomicPtr<bindings::device>);

impl Own {
    const fn new() -> Self {
        Self(AtomicPtr::new(core::ptr::null_mut()))
    }

    /// Finds or makes it with `get` (`rsdma_wall_get`, `rsdma_gate_get`).
    fn init(&self, get: unsafe extern "C" fn() -> *mut bindings::device) -> Result {
        if !self.0.load(Ordering::Acquire).is_null() {
            return Ok(());
        }
        // SAFETY: No preconditions; it returns a referenced device or an error.
        let dev = from_err_ptr(unsafe { get() })?;
        // The reference is kept for good: the device is never unregistered.
        if self
            .0
            .compare_exchange(
                core::ptr::null_mut(),
                dev,
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .is_err()
        {
            // SAFETY: `dev` is referenced by `get`'s call above, and another
            // call's reference is the one we keep.
            unsafe { bindings::put_device(dev) };
        }
        Ok(())
    }

    /// Makes `dev` a consumer of it. Asking again for a linked device
    /// allocates nothing.
    fn link(&self, dev: &Device) -> Result {
        let own = self.0.load(Ordering::Acquire);
        if own.is_null() {
            return Err(ENODEV);
        }
        // SAFETY: `own` is a registered device we hold a reference on for
        // good; `dev` is a live device. The helper takes neither device's
        // lock: the caller may hold `dev`'s, as a driver that adds a link
        // from its probe does.
        to_result(unsafe { bindings::rsdma_link_to(dev.as_raw(), own) })
    }
}

/// The wall.
static WALL: Own = Own::new();

/// The wall: its consumers never probe.
pub(crate) struct Wall;

impl Wall {
    /// Finds the wall where an earlier load left it, or makes it. Called
    /// before devices are linked to it.
    pub(crate) fn init() -> Result {
        WALL.init(bindings::rsdma_wall_get)
    }

    /// Holds `dev` back from every probe from now on, for good.
    pub(crate) fn link(dev: &Device) -> Result {
        WALL.link(dev)
    }
}

/// The gate.
#[cfg(MODULE)]
static GATE: Own = Own::new();

/// Finds the gate device where an earlier load left it, or makes it. Called
/// at load, before devices are linked to it.
#[cfg(MODULE)]
pub(crate) fn init() -> Result {
    GATE.init(bindings::rsdma_gate_get)
}

/// Makes `dev` a consumer of the gate: from now on it can probe only while
/// the gate is [`Open`]. Asking again for a linked device allocates nothing.
#[cfg(MODULE)]
pub(crate) fn link(dev: &Device) -> Result {
    GATE.link(dev)
}

/// The gate, open: our driver is bound to it, so its consumers may probe.
/// Dropping it closes the gate: its consumers are unbound, and their probes
/// deferred.
#[cfg(MODULE)]
pub(crate) struct Open(());

#[cfg(MODULE)]
impl Open {
    /// Binds our driver to the gate device ([`init`] first), and checks that
    /// ours is what bound it. Consumers whose probe was deferred while it
    /// was closed are probed again by the driver core, so the caller must
    /// be ready to restrict them.
    pub(crate) fn new() -> Result<Self> {
        let gate = GATE.0.load(Ordering::Acquire);
        if gate.is_null() {
            return Err(ENODEV);
        }
        // SAFETY: `gate` is a registered device we hold a reference on.
        to_result(unsafe { bindings::rsdma_gate_open(gate) })?;
        Ok(Self(()))
    }
}

#[cfg(MODULE)]
impl Drop for Open {
    fn drop(&mut self) {
        // SAFETY: Our driver is registered (`new` succeeded); unregistering
        // it unbinds the gate, after its consumers, and waits for them.
        unsafe { bindings::rsdma_gate_close() };
    }
}
