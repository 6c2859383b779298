// SPDX-License-Identifier: GPL-2.0

//! The platform bus: a notifier on its binding events, and a walk over its
//! devices.

use super::device::Device;
use crate::ffi as bindings;
use core::ffi::{c_int, c_ulong, c_void};
use kernel::error::to_result;
use kernel::prelude::*;
use kernel::types::Opaque;

/// A binding event of a platform device, as the notifier reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BusEvent {
    /// A driver is about to probe: after the bus's `dma_configure`, before
    /// the driver's `probe`. DMA ops set now are the ones the driver uses.
    Bind,
    /// The driver's probe failed. Sent before the driver core releases the
    /// driver's devres (`dmam_*` frees still come after it).
    NotBound,
    /// The driver was unbound: its `remove()` and its devres have run.
    Unbound,
    /// The device was deleted: its driver, if any, was released before.
    /// (`BUS_NOTIFY_DEL_DEVICE` comes before that, so it is not reported.)
    Removed,
}

impl BusEvent {
    fn from_raw(action: c_ulong) -> Option<Self> {
        match action {
            bindings::BUS_NOTIFY_BIND_DRIVER => Some(Self::Bind),
            bindings::BUS_NOTIFY_DRIVER_NOT_BOUND => Some(Self::NotBound),
            bindings::BUS_NOTIFY_UNBOUND_DRIVER => Some(Self::Unbound),
            bindings::BUS_NOTIFY_REMOVED_DEVICE => Some(Self::Removed),
            _ => None,
        }
    }
}

/// A registered notifier on the platform bus that calls
/// [`crate::attach::on_bus_event`]; unregistered on drop.
///
/// # Invariants
///
/// `nb` is registered with the platform bus from construction to drop, and
/// pinned in its box (the bus links to it).
pub(crate) struct PlatformBusNotifier {
    nb: Pin<KBox<Opaque<bindings::notifier_block>>>,
}

// SAFETY: The notifier block is only touched by the bus's notifier chain,
// which has its own locking; we hold no other state.
unsafe impl Send for PlatformBusNotifier {}
// SAFETY: See `Send`: `&self` gives no access to anything.
unsafe impl Sync for PlatformBusNotifier {}

/// The notifier's callback.
///
/// # Safety
///
/// Called by the platform bus's notifier chain, with `data` the device an
/// event is about.
unsafe extern "C" fn notify(
    _nb: *mut bindings::notifier_block,
    action: c_ulong,
    data: *mut c_void,
) -> c_int {
    let Some(event) = BusEvent::from_raw(action) else {
        return bindings::NOTIFY_DONE as c_int;
    };
    // SAFETY: For these events the bus passes the live device concerned,
    // which it holds a reference on for the call.
    let dev = unsafe { Device::from_raw(data.cast()) };
    crate::attach::on_bus_event(event, dev);
    bindings::NOTIFY_OK as c_int
}

impl PlatformBusNotifier {
    /// Registers the notifier.
    pub(crate) fn register() -> Result<Self> {
        let nb = KBox::pin_init(
            Opaque::ffi_init(|slot: *mut bindings::notifier_block| {
                // SAFETY: `slot` is valid for writes; a zeroed block with a
                // callback is a valid unregistered notifier block.
                unsafe {
                    core::ptr::write_bytes(slot, 0, 1);
                    (*slot).notifier_call = Some(notify);
                }
            }),
            GFP_KERNEL,
        )?;
        // SAFETY: `platform_bus_type` is a static bus; `nb` is pinned and
        // stays registered no longer than it lives (unregistered in `drop`).
        to_result(unsafe {
            bindings::bus_register_notifier(&bindings::platform_bus_type, nb.get())
        })?;
        // INVARIANT: registered just above, pinned in its box.
        Ok(Self { nb })
    }
}

impl Drop for PlatformBusNotifier {
    fn drop(&mut self) {
        // SAFETY: `nb` is registered (type invariant); after this returns the
        // chain no longer calls it (the chain's rwsem waits for callers).
        unsafe { bindings::bus_unregister_notifier(&bindings::platform_bus_type, self.nb.get()) };
    }
}

/// The callback of [`for_each_platform_device`]'s walk.
///
/// # Safety
///
/// Called by `bus_for_each_dev` with a live device and the `data` passed to it.
unsafe extern "C" fn collect_one(dev: *mut bindings::device, data: *mut c_void) -> c_int {
    // SAFETY: `data` is the `&mut dyn FnMut` passed by `platform_devices`,
    // alive for the whole walk; `dev` is a live device of the bus.
    let f = unsafe { &mut *data.cast::<&mut dyn FnMut(&Device)>() };
    // SAFETY: The walk holds a reference on `dev` during the callback.
    f(unsafe { Device::from_raw(dev) });
    0
}

/// Calls `f` for every device on the platform bus, in process context.
///
/// The walk holds a reference on the device `f` is given and no lock, so
/// `f` may bind or unbind its driver (as the driver core's own
/// `driver_attach()` does in the same walk); it must not sleep for long.
pub(crate) fn for_each_platform_device(mut f: impl FnMut(&Device)) {
    let mut f: &mut dyn FnMut(&Device) = &mut f;
    let data = core::ptr::from_mut(&mut f).cast::<c_void>();
    // SAFETY: `data` points to `f`, alive for the call; `collect_one` matches
    // the callback type and never fails the walk.
    unsafe {
        bindings::bus_for_each_dev(
            &bindings::platform_bus_type,
            core::ptr::null_mut(),
            data,
            Some(collect_one),
        )
    };
}
