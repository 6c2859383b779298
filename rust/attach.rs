// SPDX-License-Identifier: GPL-2.0

//! Which devices get a region's pool, and when.
//!
//! A platform or AMBA device whose DT node names a restricted region in
//! `memory-region`, or a PCI device whose host bridge's node does, gets that
//! region's DMA ops at `BUS_NOTIFY_BIND_DRIVER`:
//! the bus has run `dma_configure` by then and the driver has not probed, so
//! every allocation and mapping the driver makes goes through the pool.
//!
//! The full ops stay until the driver core has released everything the
//! driver held, which is later than the notifier that says the driver is
//! gone (`drivers/base/dd.c`, `core.c`); then the device keeps the region's
//! *draining* ops for as long as it can hold a block ([`lifetime`]):
//!
//! ```text
//! bind:    dma_configure -> BIND_DRIVER (full ops on) -> probe
//!          probe fails: DRIVER_NOT_BOUND -> devres released (dmam_* frees)
//! unbind:  UNBIND_DRIVER -> remove() -> devres released -> UNBOUND_DRIVER (draining ops)
//! delete:  DEL_DEVICE -> remove(), devres -> REMOVED_DEVICE (draining ops while it
//!          holds blocks, then none)
//! ```
//!
//! So after a failed probe the full ops stay on (the next bind puts fresh
//! ones on). A free that reached dma-direct instead would hand region pages
//! to the page allocator. Each switch of ops is one store, so a late free
//! racing with it always finds ops of ours.
//!
//! A device must never run around its pool. So a device that names a
//! restricted region we could not claim, or more than one, that is not cache
//! coherent (the pool copies with the CPU and does no cache maintenance),
//! that is behind an IOMMU (the DMA core would send its DMA there), or that
//! cannot reach its region through its `dma-ranges`, gets ops that refuse
//! everything. So does a PCI bridge behind a restricted host bridge (port
//! drivers make no DMA API calls; a bridge is one only by its header *and*
//! its class, which the host writes). A device that names another memory
//! pool beside its region (`dev->dma_mem` would serve its coherent
//! allocations before any ops are asked) never probes at all: it is held
//! behind the wall (`sys::gate`). While the loadable module is out, every
//! device that names a restricted region is fenced off: a device link to a
//! supplier with no driver defers any probe of it (`sys::gate`).

use crate::lifetime::{self, Deleted, Gone, Reaper};
use crate::region::{self, Region};
use crate::sys::bus::{self, Bus, BusEvent, BusListener, BusNotifier};
use crate::sys::device::Device;
use crate::sys::dma::{self, Registered, Table};
#[cfg(MODULE)]
use crate::sys::gate;
use crate::sys::gate::Wall;
use crate::sys::of::{EarlyVerdict, OfNode};
use crate::sys::virtio::MemAccHook;
use crate::sys::work::Deferred;
#[cfg(MODULE)]
use crate::sys::ModulePin;
use crate::sys::{wait_until, Errno};
use crate::virtio;
use core::sync::atomic::Ordering;
use kernel::c_str;
use kernel::prelude::*;
use kernel::sync::Arc;

/// What a device's `memory-region` says about restriction.
pub(crate) enum Verdict {
    /// It names no restricted region: not ours.
    Unrestricted,
    /// It names exactly one, claimed region.
    Region(Arc<Region>),
    /// It names restricted regions, but no single usable one (the reason).
    Refuse(&'static str, Option<OfNode>),
    /// It names a memory pool that another handler serves, beside its
    /// restricted region or as it (a region node that also says
    /// `shared-dma-pool`, which that pool's handler took first): a driver
    /// that calls `of_reserved_mem_device_init()` on it would have its
    /// coherent allocations served there (`dev->dma_mem`), before any ops
    /// are asked. It must never probe.
    Wall(Option<OfNode>),
}

/// Decides what `np`'s `memory-region` asks for.
pub(crate) fn verdict(np: &OfNode) -> Verdict {
    let prop = c_str!("memory-region");
    let mut restricted = np.phandles(prop).filter(region::is_region_node);
    let Some(target) = restricted.next() else {
        return Verdict::Unrestricted;
    };
    if np
        .phandles(prop)
        .any(|t| !region::is_region_node(&t) || t.early_verdict() == EarlyVerdict::Foreign)
    {
        return Verdict::Wall(Some(target));
    }
    if restricted.next().is_some() {
        return Verdict::Refuse("names more than one restricted region", Some(target));
    }
    match region::lookup(&target) {
        Some(r) if r.withdrawn.load(Ordering::Acquire) => {
            Verdict::Refuse("names a restricted region that was withdrawn", Some(target))
        }
        Some(r) => Verdict::Region(r),
        None => Verdict::Refuse(
            "names a restricted region that was not claimed",
            Some(target),
        ),
    }
}

/// Why a device held behind the wall is.
const WALLED: &str = "names a memory pool that another handler serves, beside its restricted region or as it, which would serve its coherent allocations around the region";

/// The DT node whose `memory-region` says whether `dev` is restricted: its
/// own when it has one with that property, else the node that configures
/// its DMA (for a PCI device, its host bridge's `pcie@...` node), as
/// mainline's `of_dma_set_restricted_buffer()` decides.
///
/// A PCI host bridge's node (`device_type = "pci"`) speaks for the devices
/// behind the bridge, not for the bridge's own platform device, which does
/// no DMA: restricting (and at unload, fencing) that one would tear down the
/// whole hierarchy. It gets the refusing ops instead ([`restricted_bridge`]),
/// since the host writes `device_type`: any device's node can say it.
///
/// A PCI bridge (a root port, a switch port) is not restricted this way
/// ([`restricted_bridge`]): it gets the refusing ops, but no fence and no
/// re-probe, and unload never unbinds it. It does no DMA of its own (its
/// MSIs are not DMA API mappings), and unbinding it before the devices
/// behind it, in the bus's order, would run `pcie_portdrv_remove()` ->
/// `pci_disable_device()`, which clears the port's Bus Master Enable while
/// the devices behind it are still bound: on real PCIe their DMA in flight
/// would stop, and a child's `remove()` could wait for it for ever (QEMU
/// ignores a bridge's BME, so no test here can show it).
fn restriction_node(dev: &Device) -> Option<OfNode> {
    if dev.is_pci_bridge() {
        return None;
    }
    let own = dev.of_node();
    if !dev.is_pci() && own.as_ref().is_some_and(|np| np.is_type(c_str!("pci"))) {
        return None;
    }
    // A `memory-region` of no whole entry (empty, or a length not a
    // multiple of a cell) names nothing: fall back, as mainline's
    // of_dma_set_restricted_buffer() does (it counts the entries).
    own.filter(|np| {
        let len = np.property_len(c_str!("memory-region")).unwrap_or(0);
        len > 0 && len % core::mem::size_of::<u32>() == 0
    })
    .or_else(|| dev.dma_config_node())
}

/// What `dev`'s device tree says of its restriction: the [`verdict`] of its
/// [`restriction_node`]. A PCI function whose own node names memory, but no
/// restricted region, behind a host bridge whose node names one is held
/// behind the wall: its driver could take that memory as a pool of its own
/// (`dev->dma_mem`), which the DMA core serves before any ops, and the host,
/// which writes both nodes, must not unrestrict a function by giving it a
/// node of its own.
pub(crate) fn device_verdict(dev: &Device) -> Verdict {
    let Some(np) = restriction_node(dev) else {
        return Verdict::Unrestricted;
    };
    match verdict(&np) {
        Verdict::Unrestricted if dev.is_pci() => match dev.dma_config_node() {
            Some(bridge) if bridge != np => match verdict(&bridge) {
                Verdict::Unrestricted => Verdict::Unrestricted,
                _ => Verdict::Wall(Some(np)),
            },
            _ => Verdict::Unrestricted,
        },
        v => v,
    }
}

/// Whether `dev` is a PCI bridge (by its header and its class) behind a
/// host bridge whose node names a restricted region, or the platform device
/// of a node that says it is a PCI host bridge and names one
/// ([`restricted_host`]): it gets the refusing ops.
pub(crate) fn restricted_bridge(dev: &Device) -> bool {
    let restricted = |np: OfNode| !matches!(verdict(&np), Verdict::Unrestricted);
    if dev.is_pci_bridge() {
        dev.dma_config_node().is_some_and(restricted)
    } else {
        restricted_host(dev).is_some_and(restricted)
    }
}

/// The node of `dev`, not a PCI device, if it says the device is a PCI
/// host bridge (`device_type = "pci"`) and has a `memory-region`.
fn restricted_host(dev: &Device) -> Option<OfNode> {
    if dev.is_pci() {
        return None;
    }
    dev.of_node().filter(|np| {
        np.is_type(c_str!("pci")) && np.property_len(c_str!("memory-region")).unwrap_or(0) > 0
    })
}

/// Whether `dev`'s node says it is a PCI host bridge, and names a restricted
/// region, but its driver did not make it one (no PCI root bus below it): a
/// device of any kind the host dressed as a host bridge. It is re-probed at
/// load and fenced, as a restricted device is, and unbound at unload. With
/// the device locked, as [`Device::of_node`] asks.
fn poses_as_host(dev: &Device) -> bool {
    restricted_host(dev).is_some_and(|np| !matches!(verdict(&np), Verdict::Unrestricted))
        && !dev.hosts_pci()
}

/// Whether `dev` is a device whose ops are ours to manage: one behind a
/// restricted region, a restricted bridge, or one we gave a table some other
/// way (refused below a device of ours: [`restricted_above`]). Others that
/// have our tables had them copied by a driver (`wait_for_copies`).
fn is_ours_locked(dev: &Device) -> bool {
    is_restricted_locked(dev) || restricted_bridge(dev) || dma::given(dev)
}

/// Holds `dev`, which names a memory pool that another handler serves, behind
/// the wall: it never probes. Says so once, when it is linked.
fn wall(dev: &Device, target: Option<&OfNode>) {
    match Wall::link(dev) {
        Ok(()) => pr_err!(
            "{}: {} ({}): it is held back from probing\n",
            dev.name(),
            WALLED,
            target.map_or(c_str!("-"), |t| t.name())
        ),
        Err(e) => pr_err!(
            "{}: {} ({}), and cannot be held back ({}): all its DMA ops will be refused\n",
            dev.name(),
            WALLED,
            target.map_or(c_str!("-"), |t| t.name()),
            Errno(e)
        ),
    }
}

/// Whether `dev`, which the caller has not locked (a bus walk), is behind
/// a restricted region (claimed or not).
pub(crate) fn is_restricted(dev: &Device) -> bool {
    dev.locked(|| is_restricted_locked(dev))
}

/// [`is_restricted`] for a device that the driver core has locked for us (a
/// bus event), or that nothing else holds yet.
fn is_restricted_locked(dev: &Device) -> bool {
    !matches!(device_verdict(dev), Verdict::Unrestricted)
}

/// Makes `dev`, which names a restricted region, unable to probe while the
/// loadable module is out (`sys::gate`). If that fails, the module must
/// never go: it takes a reference on itself that it never drops.
#[cfg(MODULE)]
fn fence(dev: &Device) {
    let Err(e) = gate::link(dev) else {
        return;
    };
    match ModulePin::take() {
        Some(pin) => {
            core::mem::forget(pin);
            pr_err!(
                "{}: cannot be fenced for when restricted_dma is out ({}): restricted_dma stays loaded until reboot\n",
                dev.name(),
                Errno(e)
            );
        }
        None => pr_err!(
            "{}: cannot be fenced ({}) while restricted_dma unloads: do not bind it until it loads again\n",
            dev.name(),
            Errno(e)
        ),
    }
}

/// Built in, the module never goes: there is nothing to fence against.
#[cfg(not(MODULE))]
fn fence(_dev: &Device) {}

/// Why `dev`, behind `r`, cannot be served by its pool, if it cannot.
pub(crate) fn unservable(dev: &Device, r: &Region) -> Option<&'static str> {
    if lifetime::closing() {
        Some("probing while the module unloads")
    } else if !dev.is_dma_coherent() {
        Some("is not dma-coherent, and the pool does no cache maintenance")
    } else if dev.is_iommu_mapped() {
        Some("is behind an IOMMU, which the DMA core would use around the pool")
    } else if dev.dma_span(r.base, r.size).is_none() {
        Some("cannot reach the region as one run through its dma-ranges")
    } else {
        None
    }
}

/// Why `dev` cannot have `r`'s ops for the DMA address it sees `r` at, if
/// it cannot: every device of a region must see it at one (see
/// [`Region::fix_dma_offset`]); the first device given its ops fixes it.
pub(crate) fn one_offset(dev: &Device, r: &Region) -> Option<&'static str> {
    let Some((first, _)) = dev.dma_span(r.base, r.size) else {
        return Some("cannot reach the region as one run through its dma-ranges");
    };
    r.fix_dma_offset(first.wrapping_sub(r.base)).err().map(|_| {
        "sees the region at another DMA address than the region's other devices do (dma-ranges)"
    })
}

/// The parent of `dev`, which has none of our ops, if the parent has one of
/// our tables: `dev` is then a device its driver made below its own (a PCI
/// function's platform child, as dwc2's glue makes; an MFD cell), which
/// would do its DMA on dma-direct. Refused, it has our refusing table, so
/// the rule reaches its own children in turn. One that has our ops (a copy,
/// as `remoteproc_virtio.c` gives its device) keeps them.
fn restricted_above(dev: &Device) -> Option<&Device> {
    if dma::installed::<Region>(dev).is_some() {
        return None;
    }
    dev.parent()
        .filter(|p| dma::installed::<Region>(p).is_some())
}

/// Refuses `dev`, about to be probed and restricted by no node, if it was
/// made below a device of ours ([`restricted_above`]).
pub(crate) fn refuse_if_below_ours(dev: &Device) {
    let Some(above) = restricted_above(dev) else {
        return;
    };
    pr_err!(
        "{}: made below {}, whose DMA is restricted, and names no region of its own; all its DMA will be refused\n",
        dev.name(),
        above.name()
    );
    dma::install::<Region>(dev, Table::Refuse);
}

/// Installs the right ops on `dev`, about to be probed, in place of any of
/// ours it has (one store: a late free racing with it still finds ours).
/// A device with no restriction of its own keeps what it has if that is one
/// of our tables: a driver may have given a child device its region's ops
/// (`of_reserved_mem_device_init_by_idx(child, parent_np, i)`); one with
/// none, below a device of ours, is refused ([`restricted_above`]).
fn attach(dev: &Device) {
    if restricted_bridge(dev) {
        if let Some(np) = restricted_host(dev) {
            pr_info!(
                "{}: its node says it is a PCI host bridge ({}): its own DMA will be refused\n",
                dev.name(),
                np.name()
            );
        }
        lifetime::refuse(dev);
        return;
    }
    let refuse = |why: &str, target: Option<&OfNode>| {
        pr_err!(
            "{}: {} ({}); all its DMA will be refused\n",
            dev.name(),
            why,
            target.map_or(c_str!("-"), |t| t.name())
        );
        lifetime::refuse(dev);
    };
    match device_verdict(dev) {
        Verdict::Unrestricted => refuse_if_below_ours(dev),
        Verdict::Refuse(why, target) => refuse(why, target.as_ref()),
        // Held behind the wall since it was added; should a probe come all
        // the same (the link could not be made), nothing of it is served.
        Verdict::Wall(target) => refuse(WALLED, target.as_ref()),
        Verdict::Region(r) => match unservable(dev, &r).or_else(|| one_offset(dev, &r)) {
            Some(why) => refuse(why, Some(&r.node)),
            None => {
                r.restart_usage(dev);
                dma::install::<Region>(dev, Table::Entry(r.table));
                r.failures_at_probe.store(r.failures(), Ordering::Relaxed);
                pr_info!("{}: DMA restricted to {}\n", dev.name(), &*r.name);
                // Unload could only unbind it, which its driver forbids.
                if dev.driver_is_sticky() && cfg!(MODULE) {
                    let pinned = r.sticky.add(dev, false);
                    pr_warn!(
                        "{}: its driver cannot be unbound (suppress_bind_attrs): restricted_dma {} while it is bound\n",
                        dev.name(),
                        if pinned { "cannot unload" } else { "must not be unloaded (not recorded: out of memory)" }
                    );
                }
                if !MemAccHook::<virtio::Policy>::is_first() {
                    pr_err!(
                        "{}: virtio_check_mem_acc_cb is not restricted_dma's: a virtio device here is held to VIRTIO_F_ACCESS_PLATFORM only if the callback in front calls ours\n",
                        dev.name()
                    );
                }
            }
        },
    }
}

/// The listener on the platform, AMBA and PCI buses' binding events.
pub(crate) struct Attach;

impl BusListener for Attach {
    fn event(event: BusEvent, dev: &Device) {
        on_bus_event(event, dev);
    }
}

/// What each binding event of a device means for its ops.
fn on_bus_event(event: BusEvent, dev: &Device) {
    match event {
        BusEvent::Added => added(dev),
        // Ops left by a failed probe or an earlier driver are replaced by
        // what the device gets now. Full ops also take back the blocks an
        // earlier driver left.
        BusEvent::Bind => attach(dev),
        // The driver core releases a failed driver's devres after this
        // event: its `dmam_*` frees must still reach the pool, so the ops
        // stay ours. What the device keeps at rest, or ran out of, is said
        // here.
        BusEvent::Bound | BusEvent::NotBound => {
            let bound = event == BusEvent::Bound;
            if let Some((Table::Entry(_), r)) = lifetime::region_of(dev) {
                r.probe_ended(dev, bound);
                if bound {
                    lifetime::rebound(dev);
                }
            }
            // A driver that cannot be unbound pinned the module at the bind;
            // a probe that failed left nothing bound to keep it in for.
            if !bound {
                Region::registry().for_each(|r| drop(r.sticky.remove(dev)));
                lifetime::probe_failed(dev);
            }
        }
        // Only for devices whose ops are ours: a table a driver copied to a
        // device of its own is that driver's to drop.
        BusEvent::Unbound => {
            if !is_ours_locked(dev) {
                return;
            }
            if lifetime::closing() && is_restricted_locked(dev) {
                pr_info!(
                    "{}: unbound, and fenced off until restricted_dma loads again\n",
                    dev.name()
                );
            }
            lifetime::driver_gone(dev, Gone::Unbound);
        }
        BusEvent::Removed => {
            if is_ours_locked(dev) {
                lifetime::driver_gone(dev, Gone::Deleted);
            }
        }
    }
}

/// `dev` was added (nothing can hold it yet: its node is stable unlocked):
/// one that names a region is fenced, or held behind the wall. Also what a
/// built-in module that failed to start does (where the fence is nothing).
pub(crate) fn added(dev: &Device) {
    match walled(dev) {
        Some(target) => wall(dev, target.as_ref()),
        None if is_restricted_locked(dev) => fence(dev),
        None => {}
    }
}

/// The region node `dev` names beside another handler's pool, if it must be held
/// behind the wall: by its [`device_verdict`], or as a node that says it is
/// a PCI host bridge ([`restricted_host`]).
fn walled(dev: &Device) -> Option<Option<OfNode>> {
    let host = || restricted_host(dev).map(|np| verdict(&np));
    match device_verdict(dev) {
        Verdict::Wall(target) => Some(target),
        Verdict::Unrestricted => match host() {
            Some(Verdict::Wall(target)) => Some(target),
            _ => None,
        },
        _ => None,
    }
}

/// Holds `dev`, found on a bus walk, behind the wall if it names another
/// memory pool beside its region, unbinding it if it is bound, and asks for
/// a probe, which the driver core defers and lists (`devices_deferred`);
/// returns whether it did.
pub(crate) fn wall_existing(dev: &Device) -> bool {
    let Some(target) = dev.locked(|| walled(dev)) else {
        return false;
    };
    // Under the lock, as `fence_unbound` links: a link made while a probe
    // is under way (an asynchronous one at load) trips the driver core's
    // WARN when that probe binds.
    dev.locked(|| wall(dev, target.as_ref()));
    if dev.is_bound() {
        dev.release_driver();
    }
    // Deferred by the wall, whatever the error says.
    let _ = dev.attach();
    true
}

/// Fences the restricted devices and binds again those that were bound
/// before the module loaded, so that they come back through their pools
/// (those fenced by our last unload probe again by themselves when the gate
/// opens, or here). Cannot fail: a device it cannot help is logged and left.
fn reprobe_existing() {
    bus::for_each_device(|dev| {
        if left_alone(dev) {
            return;
        }
        if wall_existing(dev) {
            return;
        }
        // A bridge is not re-probed (see `restriction_node`): its port
        // driver makes no DMA API calls, so the refusing ops can go on now.
        // A device that only says it is a host bridge is.
        if dev.locked(|| poses_as_host(dev)) {
            fence(dev);
            if dma::installed::<Region>(dev).is_none() {
                probe_again(dev, POSES);
            }
            return;
        }
        if dev.locked(|| restricted_bridge(dev)) {
            dma::install::<Region>(dev, Table::Refuse);
            return;
        }
        if !is_restricted(dev) {
            return;
        }
        let ours = dma::installed::<Region>(dev).is_some();
        fence(dev);
        if ours {
            // Bound again through us when the gate opened.
            return;
        }
        probe_again(dev, "");
    });
}

/// Why the load unbinds or fences a device that poses as a PCI host bridge.
const POSES: &str = ", and its node says it is a PCI host bridge, which it is not";

/// Whether `dev`, found at load, is bound to a driver that cannot be unbound
/// (`suppress_bind_attrs`: an interrupt controller's, a clock's) and is one
/// that [`reprobe_existing`] would unbind or fence: held behind the wall,
/// posing as a host bridge, or restricted and not bound through us.
/// Unbinding such a driver, or fencing its device (the gate unbinds its
/// consumers at unload), may take the system down: the load leaves it
/// alone, saying so and why it would have acted. Decided under the device
/// lock, which keeps the driver bound while its flag is read.
fn left_alone(dev: &Device) -> bool {
    let why = dev.locked(|| {
        if !(dev.is_bound() && dev.driver_is_sticky()) {
            None
        } else if walled(dev).is_some() {
            Some(", and it names a memory pool that another handler serves")
        } else if poses_as_host(dev) {
            Some(POSES)
        } else if !restricted_bridge(dev)
            && is_restricted_locked(dev)
            && dma::installed::<Region>(dev).is_none()
        {
            Some("")
        } else {
            None
        }
    });
    let Some(why) = why else {
        return false;
    };
    pr_err!(
        "{}: was bound before the module loaded to a driver that cannot be unbound (suppress_bind_attrs){}: left alone, NOT restricted\n",
        dev.name(),
        why
    );
    true
}

/// Unbinds `dev` if it was bound before the module loaded (saying so, and
/// `why`), and probes it again, through the module.
fn probe_again(dev: &Device, why: &str) {
    if dev.is_bound() {
        pr_info!(
            "{}: was bound before the module loaded{}: re-probing it\n",
            dev.name(),
            why
        );
        dev.release_driver();
    }
    if let Err(e) = dev.attach() {
        pr_err!("{}: re-probe failed ({})\n", dev.name(), Errno(e));
    }
}

/// Unbinds every device that still has our ops and takes them away from
/// those that hold nothing (the others keep draining ops, and unload waits
/// for them: [`lifetime::wait_for_holders`]). Closing the gate unbound the
/// restricted devices; one bound here is a device our ops reached some other
/// way. Cannot fail part way: the work is done device by device inside the
/// walk.
fn release_all() {
    bus::for_each_device(|dev| {
        if dma::installed::<Region>(dev).is_none() {
            // None of our ops, and no driver: a function in a bridge's
            // dress behind a restricted host bridge, or a device added
            // since load whose node poses as one, would be restricted by a
            // bind now and unrestricted by one with the module out.
            if !dev.is_bound() && dev.locked(|| restricted_bridge(dev) || poses_as_host(dev)) {
                fence_unbound(dev);
            }
            return;
        }
        // One that only says it is a host bridge goes as a restricted
        // device: unbound, and fenced (one added after load was not: its
        // node restricts nothing).
        if dev.locked(|| poses_as_host(dev)) {
            fence_and_unbind(dev);
            dma::uninstall::<Region>(dev);
            return;
        }
        // A bridge stays bound (see `restriction_node`); its port driver
        // makes no DMA API calls, so its refusing ops can go at once. One
        // with no driver is fenced: in a bridge's dress, a driver that is
        // not a port driver would make it a device of ours. A function in a
        // bridge's dress whose driver had its region's ops is one of the
        // region's: it may still hold blocks.
        if dev.locked(|| restricted_bridge(dev)) {
            fence_unbound(dev);
            if lifetime::region_of(dev).is_some() {
                lifetime::unloading(dev);
            } else {
                dma::uninstall::<Region>(dev);
            }
            return;
        }
        // A table a driver copied is that driver's: `wait_for_copies`. One
        // we gave a device refused below one of ours goes with its driver,
        // and is fenced: on dma-direct its DMA would leave the window.
        if !is_restricted(dev) {
            if dma::given(dev) {
                fence_and_unbind(dev);
                dma::uninstall::<Region>(dev);
            }
            return;
        }
        // Fenced too, if it is not yet: a function the host dressed as a
        // bridge was none of ours when it was added or at load, only by the
        // driver it bound later.
        fence_and_unbind(dev);
        lifetime::unloading(dev);
    });
}

/// Fences `dev`, then unbinds it if it is bound. The fence comes first, under
/// the device's lock (a probe under way ends before the link is made): the
/// gate is closed, so a bind racing with unload from then on defers, and
/// the device cannot be bound again by the time its ops are taken away.
fn fence_and_unbind(dev: &Device) {
    dev.locked(|| fence(dev));
    if dev.is_bound() {
        dev.release_driver();
        pr_info!("{}: unbound, restricted_dma unloads\n", dev.name());
    }
}

/// Fences `dev`, which unload leaves unbound, if it is: under its lock, so
/// that no probe is under way as the link is made.
fn fence_unbound(dev: &Device) {
    dev.locked(|| {
        if !dev.is_bound() {
            fence(dev);
        }
    });
}

/// Waits until no device has one of our tables that we did not give it: a
/// driver that copied its parent's ops pointer (`remoteproc_virtio.c` does
/// `set_dma_ops(dev, get_dma_ops(parent))`) would call our text after the
/// module is gone. Our own tables go only on devices of the buses we watch;
/// a copy is found below one of them. Says which every 10 s.
fn wait_for_copies() {
    wait_until(
        10_000,
        || copies(|_, _| {}) == 0,
        || {
            copies(|dev, below| {
                pr_warn!(
                    "{}: has restricted_dma's DMA ops, copied {}{}: restricted_dma waits until it is gone before it unloads\n",
                    dev.name(),
                    if below.is_some() { "below " } else { "by a driver" },
                    below.map_or(c_str!(""), |parent| parent.name())
                );
            });
        },
    );
}

/// Calls `f` on each device that has one of our tables that we did not give
/// it, with the device of a bus we watch that it was found below (none if
/// it is one); returns how many there are.
fn copies(mut f: impl FnMut(&Device, Option<&Device>)) -> usize {
    let mut n = 0;
    bus::for_each_device(|parent| {
        // Devices of ours that still have a table hold blocks: unload
        // waits for those next (`lifetime::wait_for_holders`).
        let mut copy = |dev: &Device, below: Option<&Device>| {
            if dma::installed::<Region>(dev).is_some() && !dev.locked(|| is_ours_locked(dev)) {
                n += 1;
                f(dev, below);
            }
        };
        copy(parent, None);
        bus::for_each_descendant(parent, |d| copy(d, Some(parent)));
    });
    n
}

/// The attachment machinery, live from load to unload.
pub(crate) struct Attacher {
    notifiers: KVec<BusNotifier<Attach>>,
    /// Open while the module is loaded; closed first at unload.
    #[cfg(MODULE)]
    gate: Option<gate::Open>,
    // After the notifiers: it waits for a run in progress.
    _reaper: Deferred<Reaper>,
    // Last: once no run of the reaper can add to it, it waits for the
    // deleted devices with the refusing ops and takes their ops back.
    _deleted: Deleted,
}

impl Attacher {
    /// Starts watching the platform, AMBA and PCI buses and re-probes devices
    /// already bound.
    pub(crate) fn start() -> Result<Self> {
        lifetime::set_closing(false);
        // Before the notifiers, which link every device added from then on.
        #[cfg(MODULE)]
        gate::init()?;
        Wall::init()?;
        // On an error return, `this` is dropped: its notifiers go and the
        // sweeps run, as at unload.
        let mut this = Self {
            notifiers: KVec::new(),
            #[cfg(MODULE)]
            gate: None,
            _reaper: Deferred::start(),
            _deleted: Deleted::new()?,
        };
        for b in Bus::ALL {
            if let Some(n) = BusNotifier::<Attach>::register(b)? {
                this.notifiers.push(n, GFP_KERNEL)?;
            }
        }
        // After the notifiers: devices fenced by our last unload probe as
        // soon as it opens, and must find us there.
        #[cfg(MODULE)]
        {
            this.gate = Some(gate::Open::new()?);
        }
        reprobe_existing();
        Ok(this)
    }
}

impl Drop for Attacher {
    fn drop(&mut self) {
        // Devices that bind while we release get refusing ops.
        lifetime::set_closing(true);
        // The driver core unbinds every restricted device, waiting for
        // probes in flight, and defers every later probe of one.
        #[cfg(MODULE)]
        drop(self.gate.take());
        release_all();
        // The listeners stay while unload waits, which may be for ever: a
        // device added meanwhile must still be fenced, and one that binds
        // must still get refusing ops.
        wait_for_copies();
        // Blocks of devices that were unbound above, or earlier by a
        // module that was unloading, come back only through our ops.
        lifetime::wait_for_holders();
        // So is the wait for the virtio hook, which the next field takes
        // out: a module that replaced it may keep it for ever.
        MemAccHook::<virtio::Policy>::wait_until_first();
        // The second sweep, after the listeners are gone, catches a device
        // bound in between; it adds no holder (every bind since the first
        // was refused), so its waits end at once.
        self.notifiers = KVec::new();
        release_all();
        wait_for_copies();
        lifetime::wait_for_holders();
    }
}
