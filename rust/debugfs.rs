// SPDX-License-Identifier: GPL-2.0

//! What the module publishes in debugfs, under `restricted_dma/<region>/`.
//!
//! Counter names follow mainline swiotlb's (`io_tlb_nslabs`, `io_tlb_used`,
//! `io_tlb_used_hiwater`) where they mean the same, so existing tooling reads
//! them; the rest are ours.

use crate::region::Region;
use crate::sys::debugfs::{Dir, SeqFile};
use core::ffi::c_void;
use core::fmt::Write;
use kernel::c_str;
use kernel::prelude::*;
use kernel::str::CStr;

/// The files of a region's directory, by index (`which`).
#[derive(Clone, Copy)]
#[repr(u32)]
enum File {
    Base,
    Size,
    Consumers,
}

const FILES: [(File, &CStr); 3] = [
    (File::Base, c_str!("base")),
    (File::Size, c_str!("size")),
    (File::Consumers, c_str!("consumers")),
];

/// Creates `parent/<region name>/` with all of the region's files.
pub fn publish(parent: &Dir, region: &Region) -> Result<Dir> {
    let dir = Dir::new(&region.name, Some(parent));
    let data = core::ptr::from_ref(region).cast::<c_void>();
    for (file, name) in FILES {
        // SAFETY: The caller keeps `region` alive and in place until the
        // returned `Dir` is dropped (`RestrictedDma` drops the directories
        // before the regions), which is what the files need.
        unsafe { dir.text_file(name, data, file as u32)? };
    }
    Ok(dir)
}

/// Prints file `which` of the region at `data`; called by the C show routine.
///
/// # Safety
///
/// `m` is a live `seq_file` and `data` the `Region` given to [`publish`],
/// which outlives its files.
#[no_mangle]
unsafe extern "C" fn rdma_debugfs_show(m: *mut crate::ffi::seq_file, data: *mut c_void, which: u32) {
    // SAFETY: `data` is a live `Region` (function's safety requirement).
    let region = unsafe { &*data.cast::<Region>() };
    // SAFETY: `m` is live for this call (function's safety requirement).
    let mut out = unsafe { SeqFile::from_raw(m) };
    let Some((file, _)) = FILES.iter().find(|(f, _)| *f as u32 == which) else { return };
    // seq_file grows its buffer and calls us again on overflow, so a write
    // error cannot happen here; ignoring the result is correct.
    let _ = match file {
        File::Base => writeln!(out, "{:#x}", region.base),
        File::Size => writeln!(out, "{:#x}", region.size),
        File::Consumers => region.consumers.iter().try_for_each(|np| writeln!(out, "{}", np.name())),
    };
}
