// SPDX-License-Identifier: GPL-2.0

//! debugfs directories and read-only files whose contents Rust computes.
//!
//! A file is identified by its owner's address and a small index (`which`);
//! reading it calls `rdma_debugfs_show` in `crate::debugfs`, which knows the owner's type.

use crate::ffi as bindings;
use crate::region::Region;
use core::ffi::c_void;
use core::fmt;
use kernel::error::{code::*, Result};
use kernel::str::CStr;
use kernel::sync::Arc;

/// How many files of each kind one owner can have (`RDMA_DEBUGFS_MAX_FILES`).
pub(crate) const MAX_FILES: u32 = 24;

/// A debugfs directory, removed with everything in it on drop.
///
/// # Invariants
///
/// `self.0` is a dentry returned by `debugfs_create_dir`, or an error pointer
/// (debugfs disabled or failed), which every debugfs function accepts.
pub(crate) struct Dir(*mut bindings::dentry);

// SAFETY: debugfs functions may be called from any thread.
unsafe impl Send for Dir {}
// SAFETY: `&Dir` only allows creating entries, which debugfs serialises.
unsafe impl Sync for Dir {}

/// A failed debugfs call is not an error for us: debugfs is optional, and its
/// functions accept error pointers as parents. This only logs it.
fn check(what: &CStr, d: *mut bindings::dentry) -> *mut bindings::dentry {
    if kernel::error::from_err_ptr(d).is_err() {
        kernel::pr_warn!("debugfs entry {} not created\n", what);
    }
    d
}

impl Dir {
    /// Creates directory `name` under `parent`, or at the debugfs root.
    pub(crate) fn new(name: &CStr, parent: Option<&Dir>) -> Self {
        let parent = parent.map_or(core::ptr::null_mut(), |p| p.0);
        // SAFETY: `name` is NUL-terminated; `parent` is null or a dentry of
        // ours (type invariant), alive while `&Dir` is.
        let d = unsafe { bindings::debugfs_create_dir(name.as_char_ptr(), parent) };
        // INVARIANT: a dentry or an error pointer, from `debugfs_create_dir`.
        Self(check(name, d))
    }

    /// Creates a file `name` whose text `rdma_debugfs_show(m, data, which)` prints.
    /// (Only [`RegionDir`] makes these: it keeps `data` alive.)
    ///
    /// # Safety
    ///
    /// `data` must stay valid, as the type that callback expects, until this
    /// directory is dropped (dropping it waits for readers to finish).
    unsafe fn text_file(&self, name: &CStr, data: *const c_void, which: u32) -> Result {
        if which >= MAX_FILES {
            return Err(EINVAL);
        }
        // SAFETY: `name` is NUL-terminated, `self.0` is ours; `data` outlives
        // the file by the caller's guarantee.
        check(name, unsafe {
            bindings::rdma_debugfs_text(name.as_char_ptr(), self.0, data.cast_mut(), which)
        });
        Ok(())
    }
}

/// A region's debugfs directory, whose files read the region on each read.
///
/// # Invariants
///
/// `_dir`'s files point at the region `_region` holds a reference on, and the
/// directory (with its files, waiting for readers) goes before the reference.
pub(crate) struct RegionDir {
    // Field order is drop order.
    _dir: Dir,
    _region: Arc<Region>,
}

impl RegionDir {
    /// Creates `parent/<region name>/` with one file per name in `files`;
    /// file `i` reads as `crate::debugfs::show(region, i)`.
    pub(crate) fn new<'a>(
        parent: &Dir,
        region: Arc<Region>,
        files: impl IntoIterator<Item = &'a CStr>,
    ) -> Result<Self> {
        let dir = Dir::new(&region.name, Some(parent));
        let data = core::ptr::from_ref::<Region>(&region).cast::<c_void>();
        for (which, name) in files.into_iter().enumerate() {
            let which = u32::try_from(which).map_err(|_| EINVAL)?;
            // SAFETY: `data` is the region our `Arc` keeps alive and in place
            // until after `dir` (and so the file) is removed (type invariant).
            unsafe { dir.text_file(name, data, which)? };
        }
        // INVARIANT: the files point at `region`, which we keep.
        Ok(Self {
            _dir: dir,
            _region: region,
        })
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        // SAFETY: `self.0` is ours (type invariant); `debugfs_remove` accepts
        // error pointers, removes the whole tree, and waits for open readers.
        unsafe { bindings::debugfs_remove(self.0) };
    }
}

/// The `seq_file` a text file's contents are printed to, as a [`fmt::Write`].
pub(crate) struct SeqFile(*mut bindings::seq_file);

impl SeqFile {
    /// Wraps the `seq_file` passed to a show callback.
    ///
    /// # Safety
    ///
    /// `m` is the live `seq_file` of a show callback that runs while this
    /// value exists.
    pub(crate) unsafe fn from_raw(m: *mut bindings::seq_file) -> Self {
        Self(m)
    }
}

impl fmt::Write for SeqFile {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        // SAFETY: `self.0` is a live seq_file (constructor's requirement) and
        // `s` is valid for `s.len()` bytes; seq_write copies them.
        unsafe { bindings::seq_write(self.0, s.as_ptr().cast(), s.len()) };
        Ok(())
    }
}

/// Prints file `which` of the region at `data`; called by the C show routine
/// of the file (see `helpers.c`).
///
/// # Safety
///
/// `m` is a live `seq_file` and `data` the region a [`RegionDir`] made the
/// file for, which outlives its files.
#[no_mangle]
unsafe extern "C" fn rdma_debugfs_show(m: *mut bindings::seq_file, data: *mut c_void, which: u32) {
    // SAFETY: `data` is a live region (function's safety requirement).
    let region = unsafe { &*data.cast::<Region>() };
    // SAFETY: `m` is live for this call (function's safety requirement).
    let mut out = unsafe { SeqFile::from_raw(m) };
    // seq_file grows its buffer and calls us again on overflow, and our
    // writer never fails, so there is no error to report.
    let _ = crate::debugfs::show(region, which, &mut out);
}
