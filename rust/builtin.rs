// SPDX-License-Identifier: GPL-2.0

//! Built into the kernel: judged at early boot, started before any driver.
//!
//! A loadable module arrives after the kernel has probed every device once,
//! without a pool: by then a virtio driver has negotiated features and set
//! up its rings outside the window, which a protected guest's host cannot
//! reach. Built in, `ffi/early.c` makes the module the reserved-memory
//! handler of `restricted-dma-region` nodes, which judges each node while
//! the tree is still flat ([`early_check`], the same rules and messages as
//! [`region::check`] at load), and starts the module at `arch_initcall`
//! ([`start`]), before drivers register: every restricted device gets its
//! pool at its first bind, and nothing is re-probed. Should the start fail,
//! every device behind a region is refused instead ([`fail_closed`],
//! [`RefuseAll`]). The module state is kept for good. Drivers that call
//! `of_reserved_mem_device_init()` get the region's ops from
//! [`device_init`].

use crate::attach::{
    added, device_verdict, is_restricted, one_offset, refuse_if_below_ours, restricted_bridge,
    unservable, wall_existing, Verdict,
};
use crate::region::{self, NodeFacts, Region, Reject, DEFAULT_POOLS};
use crate::sys::builtin::{Early, EarlyOps, FlatNodeFacts};
use crate::sys::bus::{self, Bus, BusEvent, BusListener, StaticNotifier};
use crate::sys::device::Device;
use crate::sys::dma::{self, Registered, Table};
use crate::sys::gate::Wall;
use crate::sys::memory;
use crate::sys::virtio::MemAccHook;
use crate::sys::Errno;
use crate::virtio;
use crate::RestrictedDma;
use core::sync::atomic::Ordering;
use kernel::c_str;
use kernel::prelude::*;
use kernel::str::CStr;

/// What `ffi/early.c` calls.
#[no_mangle]
static RSDMA_EARLY: EarlyOps = EarlyOps::new::<Builtin>();

/// The built-in module's early boot.
struct Builtin;

impl Early for Builtin {
    fn check(facts: &FlatNodeFacts<'_>, name: &CStr) -> bool {
        early_check(facts, name)
    }

    fn start() -> Result {
        start()
    }

    fn device_init(base: u64, dev: &Device) -> Result {
        attach_by_driver(dev, base)
    }

    fn fail_closed(err: Error) {
        fail_closed(err)
    }

    fn recheck() {
        recheck()
    }
}

/// A driver asked for the region at `base` for `dev`, which it is probing
/// (`of_reserved_mem_device_init()`). A device on a bus we watch has the
/// region's ops already, from its bind; one on another bus gets them now,
/// under the same rules.
fn attach_by_driver(dev: &Device, base: u64) -> Result {
    let r = Region::registry().find(|r| r.base == base).ok_or(ENODEV)?;
    match dma::installed::<Region>(dev) {
        Some(Table::Entry(k)) if k == r.table && !r.withdrawn.load(Ordering::Acquire) => {
            return Ok(())
        }
        Some(_) => return Err(EINVAL),
        None => {}
    }
    // Its pages may be the page allocator's now: no device takes it again.
    let withdrawn = r
        .withdrawn
        .load(Ordering::Acquire)
        .then_some("names a restricted region that was withdrawn");
    if let Some(why) = withdrawn
        .or_else(|| unservable(dev, &r))
        .or_else(|| one_offset(dev, &r))
    {
        pr_err!(
            "{}: {} ({}); all its DMA will be refused\n",
            dev.name(),
            why,
            r.node.name()
        );
        dma::install::<Region>(dev, Table::Refuse);
        return Err(EINVAL);
    }
    dma::install::<Region>(dev, Table::Entry(r.table));
    pr_info!(
        "{}: DMA restricted to {} (its driver asked)\n",
        dev.name(),
        &*r.name
    );
    Ok(())
}

/// Judges node `name` at early boot; false, after reporting why, to leave it
/// unclaimed (and still reserved).
fn early_check(flat: &FlatNodeFacts<'_>, name: &CStr) -> bool {
    let (reg, more_ranges) = flat.reg();
    let [size_prop, reusable, cma_default, dma_default, no_map] = flat.flags();
    let facts = NodeFacts {
        reg,
        more_ranges,
        // The boot code hands this handler only nodes whose `reg` it read
        // as whole pairs, each with the entry it saved for that node; the
        // start judges the unflattened nodes again, names and all.
        reg_not_pairs: false,
        bad_cells: false,
        same_name: false,
        twin_parent: false,
        size_prop,
        placed_at_boot: region::DROP_IN && flat.placed_at_boot(),
        // No hook has registered this early (pKVM's does in setup_arch(),
        // after the reserved memory): the start judges the node again.
        sharing_hook: true,
        reusable,
        default_pool: [cma_default, dma_default]
            .into_iter()
            .zip(DEFAULT_POOLS)
            .find_map(|(has, p)| has.then_some(p)),
        no_map,
        // A fresh boot: no earlier load can have left a mark.
        leaked: false,
        reserved: Some(flat.reserved()),
        owned: flat.owned(),
    };
    match region::check(&facts) {
        Ok(()) => true,
        Err(why) => {
            region::report(name, &why);
            false
        }
    }
}

/// Starts the module for good: claims the regions the early handler
/// accepted and starts watching the buses.
fn start() -> Result {
    let this = RestrictedDma::start()?;
    crate::sys::keep_forever(this);
    Ok(())
}

/// The refusing listeners of a failed start, one block per bus.
static REFUSE: [StaticNotifier; Bus::ALL.len()] = [
    StaticNotifier::new::<RefuseAll>(),
    StaticNotifier::new::<RefuseAll>(),
    StaticNotifier::new::<RefuseAll>(),
];

/// The start failed (an allocation, a notifier): the module has no
/// regions and no listeners, and the devices behind a region would probe
/// on dma-direct. Refuse them instead, from their next bind, with listeners
/// in static storage (nothing to allocate); those already bound are bound
/// again through them. A device that names a memory pool another handler
/// serves is held behind the wall, as after a good start: refusing ops would
/// not stop its coherent allocations from that pool (`dev->dma_mem`).
fn fail_closed(err: Error) {
    pr_err!(
        "could not start ({}): every device behind a restricted region is refused\n",
        Errno(err)
    );
    // The start may have failed before it found or made the wall; a device
    // that cannot be linked to it is named when it is added.
    if let Err(e) = Wall::init() {
        pr_err!(
            "no wall ({}): a device that names a memory pool another handler serves is NOT held back\n",
            Errno(e)
        );
    }
    // The virtio rule too: a restricted virtio device without
    // ACCESS_PLATFORM would bypass the DMA API, and with it the refusing
    // ops. The hook is static; it stays for good.
    core::mem::forget(MemAccHook::<virtio::Policy>::install());
    for (block, bus) in REFUSE.iter().zip(Bus::ALL) {
        if !block.register_forever(bus) && bus == Bus::Platform {
            pr_err!("cannot listen on the platform bus: its restricted devices are NOT refused\n");
        }
    }
    refuse_bound();
}

/// The listener of a built-in module that failed to start: every device
/// behind a region gets the refusing ops at its bind; one that names another
/// memory pool beside it is held behind the wall when it is added.
struct RefuseAll;

impl BusListener for RefuseAll {
    fn event(event: BusEvent, dev: &Device) {
        if event == BusEvent::Added {
            added(dev);
        }
        if event != BusEvent::Bind {
            return;
        }
        if restricted_bridge(dev) {
            dma::install::<Region>(dev, Table::Refuse);
            return;
        }
        let region = match device_verdict(dev) {
            Verdict::Unrestricted => {
                refuse_if_below_ours(dev);
                return;
            }
            Verdict::Refuse(_, target) | Verdict::Wall(target) => target,
            Verdict::Region(r) => Some(r.node.clone()),
        };
        pr_err!(
            "{}: restricted_dma did not start ({}); all its DMA will be refused\n",
            dev.name(),
            region.as_ref().map_or(c_str!("-"), |t| t.name())
        );
        dma::install::<Region>(dev, Table::Refuse);
    }
}

/// After a failed start: holds back the devices behind the wall that were
/// added before, and binds again, through [`RefuseAll`], the others behind
/// a region that were bound before (there are few at `arch_initcall`).
fn refuse_bound() {
    bus::for_each_device(|dev| {
        if wall_existing(dev) {
            return;
        }
        if dev.is_bound() && is_restricted(dev) {
            dev.release_driver();
            if let Err(e) = dev.attach() {
                pr_err!("{}: re-probe failed ({})\n", dev.name(), Errno(e));
            }
        }
    });
}

/// At `late_initcall_sync`: a window that lost a page since it was claimed
/// (the kernel freed memory there late: IMA's kexec buffer was one) is
/// withdrawn for good: every device that has its ops gets the refusing
/// ones, no device binds through it again, and its pages are made private.
fn recheck() {
    Region::registry().for_each(|r| {
        let Some(owner) = memory::range_owner(r.base, r.size, r.no_map) else {
            return;
        };
        r.withdrawn.store(true, Ordering::Release);
        region::report(&r.name, &Reject::NotOurs(owner));
        refuse_region(r);
        if let Err(e) = r.claim.take_back() {
            pr_err!(
                "{}: could not make its pages private again ({})\n",
                &*r.name,
                Errno(e)
            );
        }
    });
}

/// A region withdrawn after it was claimed (at `late_initcall_sync`):
/// every device that has one of its tables, or one copied from it, gets the
/// refusing ones, in one store each. (New binds are refused by [`verdict`].)
fn refuse_region(r: &Region) {
    let refuse = |d: &Device| {
        if dma::installed::<Region>(d).and_then(Table::entry) == Some(r.table) {
            dma::install::<Region>(d, Table::Refuse);
            pr_err!(
                "{}: its region {} was withdrawn: all its DMA is refused\n",
                d.name(),
                &*r.name
            );
        }
    };
    bus::for_each_device(|d| {
        refuse(d);
        bus::for_each_descendant(d, refuse);
    });
}
