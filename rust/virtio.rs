// SPDX-License-Identifier: GPL-2.0

//! Virtio devices behind a region must use the DMA API.
//!
//! A virtio driver that did not negotiate VIRTIO_F_ACCESS_PLATFORM bypasses
//! the DMA API: it hands the device guest-physical addresses of buffers
//! anywhere in memory, which a device restricted to its region either cannot
//! reach or must never see. So for a device whose transport has one of our
//! ops tables, the answer to the virtio core's memory-access question is
//! "restricted": the core then refuses it, before its driver allocates
//! anything, unless it negotiated ACCESS_PLATFORM (and VERSION_1). We log the
//! refusal with the device and its region and count it in debugfs.
//!
//! Some device types reach memory by other means than the DMA API: a
//! balloon tells the host which guest pages it gave up (page numbers, as
//! data, of memory outside any window), virtio-mem and virtio-pmem map host
//! memory into the guest, and a device with a shared memory region (a
//! virtio-fs DAX window, virtio-gpu's host-visible memory) has its driver
//! use host memory directly. The pool cannot confine any of that, so behind
//! a region they are refused too: we decline ACCESS_PLATFORM on their
//! behalf, and the core then refuses them just as it refuses a device that
//! never offered it, before their drivers run.

use crate::region::Region;
use crate::sys::dma::{self, Registered, Table};
use crate::sys::virtio::{
    MemAccess, MemAccessPolicy, VirtioDevice, F_ACCESS_PLATFORM, F_VERSION_1, ID_BALLOON, ID_MEM,
    ID_PMEM,
};
use core::sync::atomic::Ordering;
use kernel::c_str;
use kernel::prelude::*;

/// Why a device that uses the DMA API may still not run behind a window: its
/// type hands the host guest memory, or maps host memory into the guest, by
/// other means than the DMA API, so the pool would not confine it. `None`:
/// its DMA API use is all there is.
fn unconfinable(vdev: &VirtioDevice) -> Option<&'static str> {
    match vdev.device_id() {
        ID_BALLOON => Some("a balloon tells the host the page numbers of guest memory"),
        ID_MEM => Some("virtio-mem would plug host memory into the page allocator"),
        ID_PMEM => Some("virtio-pmem maps host memory into the guest"),
        _ if vdev.has_shared_memory() => {
            Some("it has a shared memory region, host memory its driver maps into the guest")
        }
        _ => None,
    }
}

/// The policy of our virtio hook (`sys::virtio`).
pub(crate) struct Policy;

impl MemAccessPolicy for Policy {
    /// Claims the devices behind our regions, so that the virtio core
    /// requires restricted memory access of them; refuses, logs and counts
    /// each one of them that lacks a feature the core will then require, or
    /// whose type reaches memory outside the DMA API.
    fn decide(vdev: &VirtioDevice) -> MemAccess {
        let Some(transport) = vdev.transport() else {
            return MemAccess::Unclaimed;
        };
        let Some(table) = dma::installed::<Region>(transport) else {
            return MemAccess::Unclaimed;
        };
        let missing = [
            (F_ACCESS_PLATFORM, "VIRTIO_F_ACCESS_PLATFORM"),
            (F_VERSION_1, "VIRTIO_F_VERSION_1"),
        ]
        .into_iter()
        .find(|(bit, _)| !vdev.has_feature(*bit));
        let why: Option<(&str, &str)> = match missing {
            Some((_, feature)) => Some(("did not negotiate ", feature)),
            None => unconfinable(vdev).map(|reason| {
                // The core refuses a restricted device without this feature,
                // before its driver's probe runs: nothing of the driver's
                // reaches the host.
                vdev.decline(F_ACCESS_PLATFORM);
                ("", reason)
            }),
        };
        if let Some((what, reason)) = why {
            match table {
                // (A draining table cannot be there: a probe replaced it.)
                Table::Entry(k) | Table::Drain(k) => {
                    let region = Region::registry().find(|r| r.table == k);
                    if let Some(r) = &region {
                        r.refusals.fetch_add(1, Ordering::Relaxed);
                    }
                    pr_err!(
                        "{} on {}: refused: {}{}, and its DMA is restricted to {}\n",
                        vdev.name(),
                        transport.name(),
                        what,
                        reason,
                        // Through `CStr`'s `Display`, which escapes what
                        // is not printable: the host wrote the name.
                        region.as_ref().map_or(c_str!("?"), |r| &*r.name)
                    );
                }
                Table::Refuse => pr_err!(
                    "{} on {}: refused: {}{}, and its restricted region is unusable\n",
                    vdev.name(),
                    transport.name(),
                    what,
                    reason
                ),
            }
        }
        MemAccess::Restricted
    }
}
