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
//! every device behind a region is refused instead ([`fail_closed`]). The
//! module state is kept for good. Drivers that call
//! `of_reserved_mem_device_init()` get the region's ops from
//! [`device_init`].

use crate::attach;
use crate::region::{self, NodeFacts, Region, Reject, DEFAULT_POOLS};
use crate::sys::builtin::{Early, EarlyOps, FlatNodeFacts};
use crate::sys::bus::{Bus, StaticNotifier};
use crate::sys::device::Device;
use crate::sys::dma::Registered;
use crate::sys::memory;
use crate::sys::virtio::MemAccHook;
use crate::sys::Errno;
use crate::virtio;
use crate::RestrictedDma;
use core::sync::atomic::Ordering;
use kernel::prelude::*;
use kernel::str::CStr;

/// What `ffi/early.c` calls.
#[no_mangle]
static RDMA_EARLY: EarlyOps = EarlyOps::new::<Builtin>();

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
        attach::attach_by_driver(dev, base)
    }

    fn fail_closed(err: Error) {
        fail_closed(err)
    }

    fn recheck() {
        recheck()
    }
}

/// Judges node `name` at early boot; false, after reporting why, to leave it
/// unclaimed (and still reserved).
fn early_check(flat: &FlatNodeFacts<'_>, name: &CStr) -> bool {
    let (reg, more_ranges) = flat.reg();
    let [size_prop, reusable, cma_default, dma_default, no_map] = flat.flags();
    let facts = NodeFacts {
        reg,
        more_ranges,
        size_prop,
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
static REFUSE: [StaticNotifier; 2] = [
    StaticNotifier::new::<attach::RefuseAll>(),
    StaticNotifier::new::<attach::RefuseAll>(),
];

/// The start failed (an allocation, debugfs, a notifier): the module has no
/// regions and no listeners, and the devices behind a region would probe
/// on dma-direct. Refuse them instead, from their next bind, with listeners
/// in static storage (nothing to allocate); those already bound are bound
/// again through them.
fn fail_closed(err: Error) {
    pr_err!(
        "could not start ({}): every device behind a restricted region is refused\n",
        Errno(err)
    );
    // The virtio rule too: a restricted virtio device without
    // ACCESS_PLATFORM would bypass the DMA API, and with it the refusing
    // ops. The hook is static; it stays for good.
    core::mem::forget(MemAccHook::<virtio::Policy>::install());
    for (block, bus) in REFUSE.iter().zip(Bus::ALL) {
        if !block.register_forever(bus) && bus == Bus::Platform {
            pr_err!("cannot listen on the platform bus: its restricted devices are NOT refused\n");
        }
    }
    attach::refuse_bound();
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
        attach::refuse_region(r);
        if let Err(e) = r.claim.take_back() {
            pr_err!(
                "{}: could not make its pages private again ({})\n",
                &*r.name,
                Errno(e)
            );
        }
    });
}
