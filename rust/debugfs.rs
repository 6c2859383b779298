// SPDX-License-Identifier: GPL-2.0

//! What the module publishes in debugfs, under `restricted_dma/<region>/`.
//!
//! Counter names follow mainline swiotlb's (`io_tlb_nslabs`, `io_tlb_used`,
//! `io_tlb_used_hiwater`) where they mean the same, so existing tooling reads
//! them; the rest are ours. Every file is read-only text computed on read.

use crate::region::Region;
use crate::sys::bus;
use crate::sys::debugfs::{Dir, RegionDir, SeqFile};
use crate::sys::dma::Ops;
use core::fmt::Write;
use core::sync::atomic::Ordering;
use kernel::c_str;
use kernel::prelude::*;
use kernel::str::CStr;
use kernel::sync::Arc;

/// The files of a region's directory; the index is the file's `which`.
const FILES: [&CStr; 20] = [
    c_str!("base"),                // 0: physical base, hex
    c_str!("size"),                // 1: size in bytes, hex
    c_str!("consumers"),           // 2: DT nodes naming the region
    c_str!("devices"),             // 3: devices with the region's ops now
    c_str!("io_tlb_nslabs"),       // 4: slots (2 KiB each)
    c_str!("io_tlb_used"),         // 5: slots in use
    c_str!("io_tlb_used_hiwater"), // 6: high-water mark of slots in use
    c_str!("areas"),               // 7: areas (locks) of the pool
    c_str!("maps"),                // 8: streaming maps
    c_str!("unmaps"),              // 9: streaming unmaps
    c_str!("bytes_to_device"),     // 10: bytes bounced into the region
    c_str!("bytes_from_device"),   // 11: bytes bounced back out
    c_str!("failed_maps"),         // 12: maps refused for lack of room
    c_str!("allocs"),              // 13: coherent allocations
    c_str!("frees"),               // 14: coherent frees
    c_str!("failed_allocs"),       // 15: allocations refused for lack of room
    c_str!("bad_unmaps"),          // 16: refused unmaps/frees of non-mappings
    c_str!("bad_syncs"),           // 17: refused syncs
    c_str!("virtio_refused"),      // 18: virtio devices refused (no ACCESS_PLATFORM)
    c_str!("shared"),              // 19: shared with the host by us (1) or not (0: no-map)
];

/// Creates `parent/<region name>/` with all of the region's files.
pub(crate) fn publish(parent: &Dir, region: &Arc<Region>) -> Result<RegionDir> {
    RegionDir::new(parent, region.clone(), &FILES)
}

/// Writes file `which` of `region` to `out`; called on every read.
pub(crate) fn show(region: &Region, which: u32, out: &mut SeqFile) -> core::fmt::Result {
    let s = region.pool.stats();
    let value = match which {
        0 => return writeln!(out, "{:#x}", region.base),
        1 => return writeln!(out, "{:#x}", region.size),
        2 => {
            return region
                .consumers
                .iter()
                .try_for_each(|np| writeln!(out, "{}", np.name()))
        }
        3 => {
            let mut r = Ok(());
            bus::for_each_platform_device(|d| {
                if r.is_ok() && Ops::of(d) == Some(Ops::Region(region.index)) {
                    r = writeln!(out, "{}", d.name());
                }
            });
            return r;
        }
        4 => s.nslots as u64,
        5 => s.used as u64,
        6 => s.used_hiwater as u64,
        7 => s.nareas as u64,
        8 => s.maps as u64,
        9 => s.unmaps as u64,
        10 => s.bytes_to_device,
        11 => s.bytes_from_device,
        12 => s.failed_maps as u64,
        13 => s.allocs as u64,
        14 => s.frees as u64,
        15 => s.failed_allocs as u64,
        16 => s.bad_unmaps as u64,
        17 => s.bad_syncs as u64,
        18 => region.refusals.load(Ordering::Relaxed) as u64,
        19 => region.claim.is_shared() as u64,
        _ => return Ok(()),
    };
    writeln!(out, "{}", value)
}
