// SPDX-License-Identifier: GPL-2.0

//! A device keeps its region for its whole life, not for one binding.
//!
//! A driver may free a coherent block, or unmap a mapping, after its binding
//! is gone: videobuf2 frees at the last `close()`, DRM GEM objects after
//! `drm_dev_unplug()`, and any driver may park a buffer in a refcounted
//! object. Had the device gone back to dma-direct, that free would hand
//! region pages to the page allocator (`__free_pages()` does not check
//! `PG_reserved` without `CONFIG_DEBUG_VM`), and the window the host can
//! read would hold kernel data. Mainline keeps `dev->dma_io_tlb_mem` for the
//! device's whole life for the same reason.
//!
//! So when a device's driver is gone (unbound, or the device deleted), the
//! device keeps its region's *draining* ops (`sys::dma`), which refuse new
//! mappings and allocations and take back what it still holds. If it holds
//! anything (the pool counts by owner: [`owner_of`]), it becomes a
//! [`Holder`](crate::region::Holder) of its region (which keeps the record):
//! it keeps a reference on the device and, for the loadable module, on the
//! module, so that `rmmod` fails while the device holds a block. Each late
//! free kicks the deferred task ([`Reaper`]), which lets go of every holder
//! whose last block is back. Unload itself unbinds devices: one that still
//! holds blocks then makes unload wait for them ([`wait_for_holders`]),
//! saying which device holds how many, since only the module's code can
//! take them back.

use crate::region::{owner_of, Holders, Region};
use crate::sys::device::Device;
use crate::sys::dma::{self, Registered, Table};
use crate::sys::slot::{Publication, Slot};
use crate::sys::work::{Deferred, Task};
use crate::sys::{wait_until, ModulePin};
use core::sync::atomic::{AtomicBool, Ordering};
use kernel::prelude::*;
use kernel::sync::Arc;

/// Set while the module unloads: a device that binds then gets the refusing
/// ops, and a holder let go of loses its ops.
static CLOSING: AtomicBool = AtomicBool::new(false);

/// Whether the module is unloading.
pub(crate) fn closing() -> bool {
    CLOSING.load(Ordering::Acquire)
}

/// Says that the module starts (`false`) or unloads (`true`, before
/// unload's sweeps).
pub(crate) fn set_closing(closing: bool) {
    CLOSING.store(closing, Ordering::Release);
}

/// The region of the table `dev` has now, if it is one of a region's.
pub(crate) fn region_of(dev: &Device) -> Option<(Table, Arc<Region>)> {
    let t = dma::installed::<Region>(dev)?;
    let k = t.entry()?;
    Region::registry().find(|r| r.table == k).map(|r| (t, r))
}

/// What the driver core did to a device: why its driver is gone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Gone {
    /// Its driver was unbound (it stays on its bus).
    Unbound,
    /// The device was deleted.
    Deleted,
}

impl Gone {
    fn words(self) -> &'static str {
        match self {
            Gone::Unbound => "driver gone",
            Gone::Deleted => "device deleted",
        }
    }
}

/// Deleted devices that hold nothing, with the refusing ops (whoever still
/// holds their `struct device` must not reach dma-direct with it): unload
/// takes the ops back once nothing but our reference holds each. Published
/// from load to unload ([`Deleted`]).
static DELETED: Slot<Holders> = Slot::new();

/// The list of deleted devices that keep the refusing ops, from load to
/// unload. Dropping it waits, naming each, until nothing but it references
/// them, then takes their ops back (before the module's text goes).
pub(crate) struct Deleted(Option<Publication<Holders>>);

impl Deleted {
    /// An empty list, published for [`driver_gone`].
    pub(crate) fn new() -> Result<Self> {
        Ok(Self(Some(
            DELETED.publish(KBox::new(Holders::new()?, GFP_KERNEL)?)?,
        )))
    }
}

impl Drop for Deleted {
    fn drop(&mut self) {
        let Some(list) = self.0.take().map(Publication::withdraw) else {
            return;
        };
        while let Some(h) = list.take(|_| true) {
            // Ours is the last reference: no one can make a DMA call for it.
            wait_until(
                10_000,
                || h.dev.refs() <= 1,
                || {
                    pr_warn!(
                        "{}: deleted, but still referenced: restricted_dma waits until it is released before it unloads\n",
                        h.dev.name()
                    )
                },
            );
            dma::uninstall::<Region>(&h.dev);
        }
    }
}

/// Keeps the refusing ops on `dev`, deleted while holding nothing, and
/// records it for unload. Built in, it keeps them for good.
fn keep_refusing(dev: &Device) {
    dma::install::<Region>(dev, Table::Refuse);
    if cfg!(MODULE) && DELETED.with(|list| list.add_deleted(dev)) != Some(true) {
        // Unload could not take the ops back: the module must stay.
        pin_for_good();
        pr_err!(
            "{}: deleted, not recorded (out of memory): restricted_dma stays loaded until reboot\n",
            dev.name()
        );
    }
}

/// Keeps the loadable module in until reboot; returns whether it could
/// (not once it is unloading).
fn pin_for_good() -> bool {
    ModulePin::take().map(core::mem::forget).is_some()
}

/// `dev`'s driver is gone, after the driver core released all it held
/// (`BUS_NOTIFY_UNBOUND_DRIVER`, `BUS_NOTIFY_REMOVED_DEVICE`, or unload's
/// own unbind). A device of a region keeps the region's draining ops; one
/// that holds nothing and was deleted gets the refusing ones.
pub(crate) fn driver_gone(dev: &Device, how: Gone) {
    // A driver that could not be unbound is gone after all (its device was
    // deleted): the module may go again.
    Region::registry().for_each(|r| drop(r.sticky.remove(dev)));
    let Some((t, r)) = region_of(dev) else {
        // The refusing ops stay, on a device on its bus and on a deleted one
        // alike: it must never run unrestricted.
        if how == Gone::Deleted && dma::installed::<Region>(dev) == Some(Table::Refuse) {
            keep_refusing(dev);
        }
        return;
    };
    let k = r.table;
    if t != Table::Drain(k) {
        dma::install::<Region>(dev, Table::Drain(k));
    }
    let held = r.pool.held_by(owner_of(dev));
    if held == 0 {
        if how == Gone::Deleted {
            r.holders.remove(dev);
            keep_refusing(dev);
            pr_info!(
                "{}: device deleted, detached from {}: its DMA is refused from now on\n",
                dev.name(),
                &*r.name
            );
        }
        return;
    }
    let recorded = r.holders.add(dev, how == Gone::Deleted);
    // Off its bus, a deleted device that is no holder is out of unload's
    // reach, and its late free would call module text that is gone: the
    // module must stay, as for one that holds nothing (`keep_refusing`).
    let pinned = !recorded && how == Gone::Deleted && cfg!(MODULE) && pin_for_good();
    // A late free between the count above and the record would have found
    // no holder to let go of: look again.
    kick();
    pr_warn!(
        "{}: {} while holding {} block(s) of {}: only their frees are served from now on{}\n",
        dev.name(),
        how.words(),
        held,
        &*r.name,
        if pinned {
            " (not recorded: out of memory); restricted_dma stays loaded until reboot"
        } else if !recorded {
            " (not recorded: out of memory)"
        } else if closing() {
            "; unload waits for them"
        } else if cfg!(MODULE) {
            "; restricted_dma cannot unload until they are freed"
        } else {
            ""
        }
    );
}

/// Unload has unbound `dev` (or found it unbound): a device of a region
/// that holds nothing loses our ops; one that holds blocks keeps draining
/// ops and is a holder, which unload waits for. Should it not be recorded
/// (no memory), unload waits for it here.
pub(crate) fn unloading(dev: &Device) {
    let Some((t, r)) = region_of(dev) else {
        dma::uninstall::<Region>(dev);
        return;
    };
    if t != Table::Drain(r.table) {
        dma::install::<Region>(dev, Table::Drain(r.table));
    }
    // (A late free racing with the record is seen by unload's wait, which
    // looks at every holder again.)
    if r.pool.held_by(owner_of(dev)) != 0 && !r.holders.add(dev, false) {
        let held = || r.pool.held_by(owner_of(dev));
        wait_until(
            10_000,
            || held() == 0,
            || {
                // The blocks may have come back since `done` looked.
                let n = held();
                if n != 0 {
                    pr_warn!(
                        "{}: still holds {} block(s) of {}: restricted_dma waits for them before it unloads\n",
                        dev.name(),
                        n,
                        &*r.name
                    );
                }
            },
        );
    }
    if r.pool.held_by(owner_of(dev)) == 0 {
        r.holders.remove(dev);
        dma::uninstall::<Region>(dev);
    }
}

/// Gives `dev`, about to be probed but refused, the refusing ops, or the
/// draining ops of the region whose table it has if it still holds blocks
/// of it: full ones (left by a failed probe) or draining ones. The refusing
/// ops would refuse its late frees too, and unload, finding no region's
/// ops, would take them off and leave those frees to dma-direct, which
/// hands region pages to the page allocator. Installed anew either way: the
/// store also clears what `dma_configure()` may have set for this probe
/// (`dma_iommu`, for a device found behind an IOMMU since its last bind),
/// which the DMA core would obey before any ops.
pub(crate) fn refuse(dev: &Device) {
    let Some((_, r)) = region_of(dev) else {
        dma::install::<Region>(dev, Table::Refuse);
        return;
    };
    let held = r.pool.held_by(owner_of(dev));
    if held == 0 {
        dma::install::<Region>(dev, Table::Refuse);
        return;
    }
    dma::install::<Region>(dev, Table::Drain(r.table));
    // A holder already (unbound since), or made one by a failed probe that
    // left blocks behind.
    let recorded = r.holders.add(dev, false);
    kick();
    pr_warn!(
        "{}: keeps the draining ops of {} for the {} block(s) it holds{}\n",
        dev.name(),
        &*r.name,
        held,
        if recorded {
            ""
        } else {
            " (not recorded: out of memory)"
        }
    );
}

/// A driver bound `dev` through its region's full ops: it is no holder any
/// more (its blocks come back through them, with its driver). Not at the
/// bind event: a probe may fail.
pub(crate) fn rebound(dev: &Device) {
    Region::registry().for_each(|r| drop(r.holders.remove(dev)));
}

/// A probe of `dev` failed. A holder, whose earlier driver's blocks are
/// still out, stays one (so the loadable module stays in) and gets its
/// draining ops back in place of the full ones the probe had; the failed
/// driver's devres, which the driver core releases after this, is freed
/// through them too.
pub(crate) fn probe_failed(dev: &Device) {
    if let Some((Table::Entry(k), r)) = region_of(dev) {
        if r.holders.has(dev) {
            dma::install::<Region>(dev, Table::Drain(k));
        }
    }
}

/// Lets go of every holder of `r` whose last block is back (`unloading`:
/// taking its ops off, whether or not it is still on its bus); returns how
/// many are left.
fn reap(r: &Region, unloading: bool) -> usize {
    while let Some(h) = r.holders.take(|h| r.pool.held_by(owner_of(&h.dev)) == 0) {
        if h.deleted {
            keep_refusing(&h.dev);
        } else if unloading {
            // Only if unbound, under the device's lock: unload says it
            // closes before its gate closes, and a probe in between (or one
            // the gate's closing waits for) may have bound the device with
            // the draining ops. A bound one keeps them; the gate unbinds it
            // and unload's sweep takes them off. Built in, nothing unloads.
            h.dev.locked(|| {
                if !h.dev.is_bound() {
                    dma::uninstall::<Region>(&h.dev);
                }
            });
        }
        pr_info!("{}: its last block of {} is back\n", h.dev.name(), &*r.name);
        // Drops the device reference, then the module pin.
        drop(h);
    }
    let mut left = 0;
    let _ = r.holders.each(r, |_, _| {
        left += 1;
        Ok(())
    });
    left
}

/// The deferred task that late frees kick.
pub(crate) struct Reaper;

impl Task for Reaper {
    fn run() {
        // While unloading, a holder let go of loses its ops here too.
        let unloading = closing();
        Region::registry().for_each(|r| {
            reap(r, unloading);
        });
    }
}

/// Tells the reaper a late free happened (any context).
pub(crate) fn kick() {
    Deferred::<Reaper>::kick();
}

/// At unload, after every device was unbound: waits until no device holds
/// a block of any region, naming those that do every ten seconds. The
/// module's code is all that can take their blocks back.
pub(crate) fn wait_for_holders() {
    wait_until(
        10_000,
        || {
            let mut left = 0;
            Region::registry().for_each(|r| left += reap(r, true));
            left == 0
        },
        || {
            Region::registry().for_each(|r| {
                let _ = r.holders.each(r, |dev, n| {
                    pr_warn!(
                        "{}: still holds {} block(s) of {}: restricted_dma waits for them before it unloads\n",
                        dev.name(),
                        n,
                        &*r.name
                    );
                    Ok(())
                });
            })
        },
    );
}
