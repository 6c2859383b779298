// SPDX-License-Identifier: GPL-2.0

//! The buses whose devices the module restricts (platform, AMBA and PCI): a
//! notifier on their binding events, and a walk over their devices.

use super::device::Device;
use crate::ffi as bindings;
use core::ffi::{c_int, c_ulong, c_void};
use core::marker::PhantomData;
use kernel::error::to_result;
use kernel::prelude::*;
use kernel::types::Opaque;

/// A bus the module watches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Bus {
    /// `platform_bus_type`: DT devices such as virtio-mmio transports.
    Platform,
    /// `pci_bus_type`: devices behind a PCI host bridge (absent without
    /// `CONFIG_PCI`).
    Pci,
    /// `amba_bustype`: ARM PrimeCells (`arm,primecell` nodes, such as a
    /// PL330 DMA controller), which `of_platform_populate()` makes instead
    /// of platform devices (absent without `CONFIG_ARM_AMBA`).
    Amba,
}

impl Bus {
    /// Every bus the module watches.
    pub(crate) const ALL: [Bus; 3] = [Bus::Platform, Bus::Pci, Bus::Amba];

    /// The watched bus `dev` is on, if it is on one.
    fn of(dev: &Device) -> Option<Bus> {
        let on = dev.bus_type();
        Bus::ALL
            .into_iter()
            .find(|b| !on.is_null() && b.raw() == on)
    }

    /// The bus's `struct bus_type`, or null when the kernel has none.
    fn raw(self) -> *const bindings::bus_type {
        match self {
            Bus::Platform => core::ptr::addr_of!(bindings::platform_bus_type),
            // SAFETY: The helper only returns the address of a static.
            Bus::Pci => unsafe { bindings::rsdma_pci_bus_type() },
            // SAFETY: As above.
            Bus::Amba => unsafe { bindings::rsdma_amba_bus_type() },
        }
    }
}

/// A binding event of a device, as the bus notifier reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BusEvent {
    /// The device was added: it is on the bus's list, and no driver has
    /// probed it yet. The driver core does not lock the device for it.
    Added,
    /// A driver is about to probe: after the bus's `dma_configure`, before
    /// the driver's `probe`. DMA ops set now are the ones the driver uses.
    Bind,
    /// The driver's probe succeeded: the device is bound.
    Bound,
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
            bindings::BUS_NOTIFY_ADD_DEVICE => Some(Self::Added),
            bindings::BUS_NOTIFY_BIND_DRIVER => Some(Self::Bind),
            bindings::BUS_NOTIFY_BOUND_DRIVER => Some(Self::Bound),
            bindings::BUS_NOTIFY_DRIVER_NOT_BOUND => Some(Self::NotBound),
            bindings::BUS_NOTIFY_UNBOUND_DRIVER => Some(Self::Unbound),
            bindings::BUS_NOTIFY_REMOVED_DEVICE => Some(Self::Removed),
            _ => None,
        }
    }
}

/// What listens to a bus's binding events through a [`BusNotifier`].
pub(crate) trait BusListener: 'static {
    /// Called for each binding event of a device on the bus, in process
    /// context, with the device locked by the driver core (but for
    /// [`BusEvent::Added`]).
    fn event(event: BusEvent, dev: &Device);
}

/// A notifier registered on one bus that calls `L::event`; unregistered on
/// drop.
///
/// # Invariants
///
/// `nb` is registered with the bus `bus` (a static `bus_type`) from
/// construction to drop, and pinned in its box (the bus links to it).
pub(crate) struct BusNotifier<L> {
    nb: Pin<KBox<Opaque<bindings::notifier_block>>>,
    bus: *const bindings::bus_type,
    _listener: PhantomData<L>,
}

// SAFETY: The notifier block is only touched by the bus's notifier chain,
// which has its own locking; `bus` points to a static.
unsafe impl<L> Send for BusNotifier<L> {}
// SAFETY: See `Send`: `&self` gives no access to anything.
unsafe impl<L> Sync for BusNotifier<L> {}

/// The notifier's callback.
///
/// # Safety
///
/// Called by a bus's notifier chain, with `data` the device an event is
/// about.
unsafe extern "C" fn notify<L: BusListener>(
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
    L::event(event, dev);
    bindings::NOTIFY_OK as c_int
}

impl<L: BusListener> BusNotifier<L> {
    /// Registers a notifier on `bus`; `None` when this kernel has no such
    /// bus.
    pub(crate) fn register(bus: Bus) -> Result<Option<Self>> {
        let bus = bus.raw();
        if bus.is_null() {
            return Ok(None);
        }
        let nb = KBox::pin_init(
            Opaque::ffi_init(|slot: *mut bindings::notifier_block| {
                // SAFETY: `slot` is valid for writes; a zeroed block with a
                // callback is a valid unregistered notifier block.
                unsafe {
                    core::ptr::write_bytes(slot, 0, 1);
                    (*slot).notifier_call = Some(notify::<L>);
                }
            }),
            GFP_KERNEL,
        )?;
        // SAFETY: `bus` is a static bus type (checked non-null); `nb` is
        // pinned and stays registered no longer than it lives (unregistered
        // in `drop`).
        to_result(unsafe { bindings::bus_register_notifier(bus, nb.get()) })?;
        // INVARIANT: registered just above, pinned in its box.
        Ok(Some(Self {
            nb,
            bus,
            _listener: PhantomData,
        }))
    }
}

impl<L> Drop for BusNotifier<L> {
    fn drop(&mut self) {
        // SAFETY: `nb` is registered on `bus` (type invariant); after this
        // returns the chain no longer calls it (the chain's rwsem waits for
        // callers).
        unsafe { bindings::bus_unregister_notifier(self.bus, self.nb.get()) };
    }
}

/// A notifier block in static storage that calls `L::event`: for a
/// listener that must be registered where nothing may be allocated (a
/// built-in module that failed to start), and never unregistered. One block
/// per bus (a block sits on one chain). Built in only.
#[cfg(not(MODULE))]
pub(crate) struct StaticNotifier(Opaque<bindings::notifier_block>);

// SAFETY: Only the bus's notifier chain touches the block, under its own
// locking; `&StaticNotifier` gives no access to it otherwise.
#[cfg(not(MODULE))]
unsafe impl Sync for StaticNotifier {}

#[cfg(not(MODULE))]
impl StaticNotifier {
    /// An unregistered block whose callback calls `L::event`.
    pub(crate) const fn new<L: BusListener>() -> Self {
        Self(Opaque::new(bindings::notifier_block {
            notifier_call: Some(notify::<L>),
            next: core::ptr::null_mut(),
            priority: 0,
        }))
    }

    /// Registers the block on `bus` for good; false when this kernel has no
    /// such bus (or the bus is not registered yet).
    pub(crate) fn register_forever(&'static self, bus: Bus) -> bool {
        let bus = bus.raw();
        // SAFETY: `bus` is a static bus type (checked non-null); the block is
        // static, so it outlives the chain's use of it; registering does not
        // allocate.
        !bus.is_null() && unsafe { bindings::bus_register_notifier(bus, self.0.get()) } == 0
    }
}

/// The callback of [`for_each_device`]'s walk.
///
/// # Safety
///
/// Called by `bus_for_each_dev` with a live device and the `data` passed to it.
unsafe extern "C" fn visit(dev: *mut bindings::device, data: *mut c_void) -> c_int {
    // SAFETY: `data` is the `&mut dyn FnMut` passed by `for_each_device`,
    // alive for the whole walk; `dev` is a live device of the bus.
    let f = unsafe { &mut *data.cast::<&mut dyn FnMut(&Device)>() };
    // SAFETY: The walk holds a reference on `dev` during the callback.
    f(unsafe { Device::from_raw(dev) });
    0
}

/// The callback of [`for_each_descendant`]'s walk.
///
/// # Safety
///
/// Called by `device_for_each_child` with a live child device and the `data`
/// passed to it.
unsafe extern "C" fn visit_child(dev: *mut bindings::device, data: *mut c_void) -> c_int {
    // SAFETY: `data` is the `&mut dyn FnMut` passed by `walk_children`,
    // alive for the whole walk.
    let f = unsafe { &mut *data.cast::<&mut dyn FnMut(&Device)>() };
    // SAFETY: The walk holds a reference on `dev` during the callback.
    let child = unsafe { Device::from_raw(dev) };
    if Bus::of(child).is_some() {
        // Walked from its bus, not from here.
        return 0;
    }
    f(child);
    walk_children(child, &mut **f);
    0
}

/// Calls `f` for each child of `dev` off the watched buses, and below it.
fn walk_children(dev: &Device, f: &mut dyn FnMut(&Device)) {
    let mut f: &mut dyn FnMut(&Device) = f;
    let data = core::ptr::from_mut(&mut f).cast::<c_void>();
    // SAFETY: `dev` is alive; `data` points to `f`, alive for the call;
    // `visit_child` matches the callback type and never fails the walk.
    unsafe { bindings::device_for_each_child(dev.as_raw(), data, Some(visit_child)) };
}

/// Calls `f` for every descendant of `dev` that is not on a bus the module
/// watches, nor below one that is (a walk of [`for_each_device`] meets
/// those), in process context.
pub(crate) fn for_each_descendant(dev: &Device, mut f: impl FnMut(&Device)) {
    walk_children(dev, &mut f);
}

/// Calls `f` for every device on every bus the module watches, in process
/// context.
///
/// The walk holds a reference on the device `f` is given and no lock, so
/// `f` may bind or unbind its driver (as the driver core's own
/// `driver_attach()` does in the same walk).
pub(crate) fn for_each_device(mut f: impl FnMut(&Device)) {
    let mut f: &mut dyn FnMut(&Device) = &mut f;
    let data = core::ptr::from_mut(&mut f).cast::<c_void>();
    for bus in Bus::ALL.map(Bus::raw) {
        if bus.is_null() {
            continue;
        }
        // SAFETY: `bus` is a static bus type; `data` points to `f`, alive
        // for the call; `visit` matches the callback type and never fails
        // the walk.
        unsafe { bindings::bus_for_each_dev(bus, core::ptr::null_mut(), data, Some(visit)) };
    }
}
