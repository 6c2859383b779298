// SPDX-License-Identifier: GPL-2.0

//! What the module publishes for operators, per region: its values in sysfs,
//! `/sys/class/restricted_dma/<region>/` (one value a file, for production
//! kernels that do not mount debugfs), and the same values with the lists of
//! devices and holders in debugfs, `restricted_dma/<region>/`.
//!
//! Counter names follow mainline swiotlb's (`io_tlb_nslabs`, `io_tlb_used`,
//! `io_tlb_used_hiwater`) where they mean the same, so existing tooling reads
//! them; the rest are ours. Every file is read-only text computed on read.

use crate::pool::Receive;
use crate::region::{owner_of, Region};
use crate::sys::bus;
use crate::sys::debugfs::{Dir, Files};
use crate::sys::device::Device;
use crate::sys::dma::{self, Table};
use crate::sys::sysfs::Class;
use crate::sys::Show;
use core::sync::atomic::Ordering;
use kernel::c_str;
use kernel::prelude::*;
use kernel::str::CStr;
use kernel::sync::Arc;

/// A region's values, one a file: name and what it prints.
const VALUES: [(&CStr, Show<Region>); 20] = [
    // The region itself.
    (c_str!("base"), |r, o| writeln!(o, "{:#x}", r.base)),
    (c_str!("size"), |r, o| writeln!(o, "{:#x}", r.size)),
    // Shared with the host by us (1), or not (0: no-map).
    (c_str!("shared"), |r, o| {
        writeln!(o, "{}", r.claim.is_shared() as u8)
    }),
    // What a receive buffer's slots hold at map: "zero", or "copy" where the
    // node opts into swiotlb's copy of the old contents.
    (c_str!("receive"), |r, o| {
        writeln!(
            o,
            "{}",
            match r.pool.receive() {
                Receive::Zero => "zero",
                Receive::CopyOriginal => "copy",
            }
        )
    }),
    // The pool, with mainline swiotlb's names for its first three.
    (c_str!("io_tlb_nslabs"), |r, o| {
        writeln!(o, "{}", r.pool.stats().nslots)
    }),
    (c_str!("io_tlb_used"), |r, o| {
        writeln!(o, "{}", r.pool.stats().used)
    }),
    (c_str!("io_tlb_used_hiwater"), |r, o| {
        writeln!(o, "{}", r.pool.stats().used_hiwater)
    }),
    (c_str!("areas"), |r, o| {
        writeln!(o, "{}", r.pool.stats().nareas)
    }),
    (c_str!("maps"), |r, o| {
        writeln!(o, "{}", r.pool.stats().maps)
    }),
    (c_str!("unmaps"), |r, o| {
        writeln!(o, "{}", r.pool.stats().unmaps)
    }),
    (c_str!("failed_maps"), |r, o| {
        writeln!(o, "{}", r.pool.stats().failed_maps)
    }),
    (c_str!("bytes_to_device"), |r, o| {
        writeln!(o, "{}", r.pool.stats().bytes_to_device)
    }),
    (c_str!("bytes_from_device"), |r, o| {
        writeln!(o, "{}", r.pool.stats().bytes_from_device)
    }),
    // Receive buffers' bytes zeroed in the window instead of copied in.
    (c_str!("bytes_zeroed"), |r, o| {
        writeln!(o, "{}", r.pool.stats().bytes_zeroed)
    }),
    (c_str!("allocs"), |r, o| {
        writeln!(o, "{}", r.pool.stats().allocs)
    }),
    (c_str!("frees"), |r, o| {
        writeln!(o, "{}", r.pool.stats().frees)
    }),
    (c_str!("failed_allocs"), |r, o| {
        writeln!(o, "{}", r.pool.stats().failed_allocs)
    }),
    // Refused calls for things that are not live mappings.
    (c_str!("bad_unmaps"), |r, o| {
        writeln!(o, "{}", r.pool.stats().bad_unmaps)
    }),
    (c_str!("bad_syncs"), |r, o| {
        writeln!(o, "{}", r.pool.stats().bad_syncs)
    }),
    // Virtio devices refused for lack of ACCESS_PLATFORM.
    (c_str!("virtio_refused"), |r, o| {
        writeln!(o, "{}", r.refusals.load(Ordering::Relaxed))
    }),
];

/// A region's lists, a line an entry (debugfs only).
const LISTS: [(&CStr, Show<Region>); 4] = [
    // DT nodes naming the region, and devices that have its ops now.
    (c_str!("consumers"), |r, o| {
        r.consumers
            .iter()
            .try_for_each(|np| writeln!(o, "{}", np.name()))
    }),
    (c_str!("devices"), |r, o| {
        let mut result = Ok(());
        bus::for_each_device(|d| {
            if result.is_ok() && dma::installed::<Region>(d) == Some(Table::Entry(r.table)) {
                result = writeln!(o, "{}", d.name());
            }
        });
        result
    }),
    // What each device with the region's ops takes of it: "NAME BUCKET
    // USED HIWATER LARGEST", slots now and at most since its driver began
    // to probe, and its largest map in bytes. Devices of one BUCKET are
    // counted together.
    (c_str!("sizing"), |r, o| {
        let mut result = Ok(());
        bus::for_each_device(|d| {
            if result.is_ok() && dma::installed::<Region>(d) == Some(Table::Entry(r.table)) {
                let owner = owner_of(d);
                let u = r.pool.usage(owner);
                result = writeln!(
                    o,
                    "{} {} {} {} {}",
                    d.name(),
                    owner.bucket(),
                    u.used,
                    u.hiwater,
                    u.largest
                );
            }
        });
        result
    }),
    // Devices whose driver is gone that still hold blocks, and how many.
    (c_str!("holders"), |r, o| {
        r.holders.each(r, |d, n| writeln!(o, "{} {}", d.name(), n))
    }),
];

/// Creates `parent/<region name>/` in debugfs with the region's values and
/// lists.
pub(crate) fn debugfs(parent: &Dir, region: &Arc<Region>) -> Result<Files<Region>> {
    Files::new(parent, &region.name, region.clone(), &[&VALUES, &LISTS])
}

/// Creates `/sys/class/restricted_dma/` with a device per region, its files
/// the regions' values. An operator's view only: if it cannot be made, the
/// module goes on without it and says so.
pub(crate) fn sysfs<'a>(regions: impl Iterator<Item = &'a Arc<Region>>) -> Option<Class<Region>> {
    let made = Class::new(c_str!("restricted_dma"), &VALUES).and_then(|mut class| {
        for r in regions {
            class.add(&r.name, r.clone())?;
        }
        Ok(class)
    });
    made.inspect_err(|e| pr_warn!("no counters in sysfs: error {:?}\n", e))
        .ok()
}

/// The owner of the files about devices rather than regions.
pub(crate) struct AllDevices;

/// Files about devices, whatever their region.
const DEVICE_FILES: [(&CStr, Show<AllDevices>); 1] = [
    // Devices that have the refusing ops (on the buses we watch, and below
    // them): refused for a reason the log gave, and PCI bridges.
    (c_str!("refused"), |_, o| {
        let mut result = Ok(());
        let mut show = |d: &Device| {
            if result.is_ok() && dma::installed::<Region>(d) == Some(Table::Refuse) {
                result = writeln!(o, "{}", d.name());
            }
        };
        bus::for_each_device(|d| {
            show(d);
            bus::for_each_descendant(d, &mut show);
        });
        result
    }),
];

/// Creates `parent/devices/` with the files about devices.
pub(crate) fn debugfs_devices(parent: &Dir) -> Result<Files<AllDevices>> {
    Files::new(
        parent,
        c_str!("devices"),
        Arc::new(AllDevices, GFP_KERNEL)?,
        &[&DEVICE_FILES],
    )
}
