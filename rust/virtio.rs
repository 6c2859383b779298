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

use crate::region::Region;
use crate::sys::dma::{self, Registered, Table};
use crate::sys::virtio::{
    MemAccess, MemAccessPolicy, VirtioDevice, F_ACCESS_PLATFORM, F_VERSION_1,
};
use core::sync::atomic::Ordering;
use kernel::prelude::*;

/// The policy of our virtio hook (`sys::virtio`).
pub(crate) struct Policy;

impl MemAccessPolicy for Policy {
    /// Claims the devices behind our regions, so that the virtio core
    /// requires restricted memory access of them; logs and counts each one
    /// of them that lacks a feature the core will then require.
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
        if let Some((_, feature)) = missing {
            match table {
                // (A draining table cannot be there: a probe replaced it.)
                Table::Entry(k) | Table::Drain(k) => {
                    let region = Region::registry().find(|r| r.table == k);
                    if let Some(r) = &region {
                        r.refusals.fetch_add(1, Ordering::Relaxed);
                    }
                    pr_err!(
                        "{} on {}: refused: did not negotiate {}, and its DMA is restricted to {}\n",
                        vdev.name(),
                        transport.name(),
                        feature,
                        region
                            .as_ref()
                            .map_or("?", |r| r.name.to_str().unwrap_or("?"))
                    );
                }
                Table::Refuse => pr_err!(
                    "{} on {}: refused: did not negotiate {}, and its restricted region is unusable\n",
                    vdev.name(),
                    transport.name(),
                    feature
                ),
            }
        }
        MemAccess::Restricted
    }
}
