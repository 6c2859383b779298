// SPDX-License-Identifier: GPL-2.0

//! Which devices get a region's pool, and when.
//!
//! A platform device whose DT node names a restricted region in
//! `memory-region` gets that region's DMA ops at `BUS_NOTIFY_BIND_DRIVER`:
//! the bus has run `dma_configure` by then and the driver has not probed, so
//! every allocation and mapping the driver makes goes through the pool. When
//! the driver goes, so do the ops.
//!
//! A device must never run around its pool. So a device that names a
//! restricted region we could not claim, or more than one, or that is not
//! cache coherent (the pool copies with the CPU and does no cache
//! maintenance), gets ops that refuse everything, and the module's unload
//! unbinds every device it served and leaves it unbound.

use crate::region::{self, Errno, Region, COMPATIBLE};
use crate::sys::bus::{self, BusEvent};
use crate::sys::device::Device;
use crate::sys::dma::{self, Ops};
use crate::sys::of::OfNode;
use core::sync::atomic::{AtomicBool, Ordering};
use kernel::c_str;
use kernel::prelude::*;
use kernel::str::CStr;
use kernel::sync::Arc;

/// Set while the module unloads: binding devices then get refusing ops.
static CLOSING: AtomicBool = AtomicBool::new(false);

/// The `driver_override` that unload leaves on the devices it unbinds: no
/// driver has this name, so none binds to them, by hand or automatically,
/// until the module loads again and clears it.
const FENCE: &CStr = c_str!("restricted_dma-not-loaded");

/// What a device's `memory-region` says about restriction.
enum Verdict {
    /// It names no restricted region: not ours.
    Unrestricted,
    /// It names exactly one, claimed region.
    Region(Arc<Region>),
    /// It names restricted regions, but no single claimed one (the reason).
    Refuse(&'static str, Option<OfNode>),
}

/// Decides what `np`'s `memory-region` asks for.
fn verdict(np: &OfNode) -> Verdict {
    let prop = c_str!("memory-region");
    let mut restricted = np.phandles(prop).filter(|t| t.is_compatible(COMPATIBLE));
    let Some(target) = restricted.next() else {
        return Verdict::Unrestricted;
    };
    if restricted.next().is_some() {
        return Verdict::Refuse("names more than one restricted region", Some(target));
    }
    match region::lookup(&target) {
        Some(r) => Verdict::Region(r),
        None => Verdict::Refuse(
            "names a restricted region that was not claimed",
            Some(target),
        ),
    }
}

/// Whether `dev` is behind a restricted region (claimed or not).
pub(crate) fn is_restricted(dev: &Device) -> bool {
    dev.of_node()
        .is_some_and(|np| !matches!(verdict(&np), Verdict::Unrestricted))
}

/// Installs the right ops on `dev`, about to be probed.
fn attach(dev: &Device) {
    let Some(np) = dev.of_node() else { return };
    let refuse = |why: &str, target: Option<OfNode>| {
        pr_err!(
            "{}: {} ({}); all its DMA will be refused\n",
            dev.name(),
            why,
            target.as_ref().map_or(c_str!("-"), |t| t.name())
        );
        dma::install(dev, Ops::Refuse);
    };
    match verdict(&np) {
        Verdict::Unrestricted => {}
        Verdict::Refuse(why, target) => refuse(why, target),
        Verdict::Region(_) if CLOSING.load(Ordering::Acquire) => {
            refuse("probing while the module unloads", None)
        }
        Verdict::Region(r) if !dev.is_dma_coherent() => refuse(
            "is not dma-coherent, and the pool does no cache maintenance",
            Some(r.node.clone()),
        ),
        Verdict::Region(r) => {
            dma::install(dev, Ops::Region(r.index));
            pr_info!("{}: DMA restricted to {}\n", dev.name(), &*r.name);
        }
    }
}

/// Called by the platform bus notifier for each binding event.
pub(crate) fn on_bus_event(event: BusEvent, dev: &Device) {
    match event {
        BusEvent::Bind => {
            // A device unbound with our ops still on (should not happen) is
            // given fresh ones.
            dma::uninstall(dev);
            attach(dev);
        }
        BusEvent::NotBound | BusEvent::Unbound | BusEvent::Removed => match dma::uninstall(dev) {
            Some(Ops::Region(_)) => {
                pr_info!("{}: driver gone, detached from its pool\n", dev.name())
            }
            Some(Ops::Refuse) => pr_info!("{}: driver gone, refusing ops removed\n", dev.name()),
            None => {}
        },
    }
}

/// Re-probes the devices behind our regions that were bound before the
/// module loaded, so that they come back through their pools.
pub(crate) fn reprobe_existing() -> Result {
    let devices = bus::platform_devices(|d| Ops::of(d).is_none() && is_restricted(d))?;
    for dev in devices.iter() {
        if dev.driver_override_is(FENCE) {
            // Fenced by our last unload: it may bind again, through its pool.
            if let Err(e) = dev.set_driver_override(c_str!("")) {
                pr_err!(
                    "{}: cannot lift our driver_override ({})\n",
                    dev.name(),
                    Errno(e)
                );
                continue;
            }
        } else if dev.is_bound() {
            pr_info!(
                "{}: was bound before the module loaded: re-probing it\n",
                dev.name()
            );
            dev.release_driver();
        }
        if let Err(e) = dev.attach() {
            pr_err!("{}: re-probe failed ({})\n", dev.name(), Errno(e));
        }
    }
    Ok(())
}

/// Unbinds every device that has our ops and takes the ops away. The devices
/// stay unbound, fenced with a `driver_override` no driver matches: a
/// restricted device must not run without its pool.
fn release_all() {
    let Ok(devices) = bus::platform_devices(|d| Ops::of(d).is_some()) else {
        pr_err!("out of memory listing attached devices at unload\n");
        return;
    };
    for dev in devices.iter() {
        // Fence first, so that nothing binds it between the unbind and now.
        let fenced = dev.set_driver_override(FENCE);
        if dev.is_bound() {
            dev.release_driver();
        }
        dma::uninstall(dev);
        match fenced {
            Ok(()) => pr_info!(
                "{}: unbound, and fenced off until restricted_dma loads again\n",
                dev.name()
            ),
            Err(e) => pr_err!(
                "{}: unbound, but not fenced off ({}): do not bind it by hand\n",
                dev.name(),
                Errno(e)
            ),
        }
    }
}

/// The attachment machinery, live from load to unload.
pub(crate) struct Attacher {
    notifier: Option<bus::PlatformBusNotifier>,
}

impl Attacher {
    /// Starts watching the platform bus and re-probes devices already bound.
    pub(crate) fn start() -> Result<Self> {
        CLOSING.store(false, Ordering::Release);
        let this = Self {
            notifier: Some(bus::PlatformBusNotifier::register()?),
        };
        reprobe_existing()?;
        Ok(this)
    }
}

impl Drop for Attacher {
    fn drop(&mut self) {
        // Devices that bind while we release get refusing ops (CLOSING), and
        // the second sweep, after the notifier is gone, catches them.
        CLOSING.store(true, Ordering::Release);
        release_all();
        self.notifier = None;
        release_all();
    }
}
