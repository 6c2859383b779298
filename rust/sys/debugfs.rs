// SPDX-License-Identifier: GPL-2.0

//! debugfs directories and read-only files whose contents Rust computes.
//!
//! A file is a `(owner, show)` pair: reading it calls `show(&owner, out)`.
//! All files share one `file_operations` built on `single_open`; the file's
//! `i_private` points to its pair, which the directory keeps alive, and the
//! pair's trampoline, monomorphised for the owner's type, gives `show` its
//! typed owner back.

use super::Show;
use crate::ffi as bindings;
use core::ffi::{c_int, c_void};
use core::fmt;
use kernel::prelude::*;
use kernel::str::CStr;
use kernel::sync::Arc;

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
        pr_warn!("debugfs entry {} not created\n", what);
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
}

impl Drop for Dir {
    fn drop(&mut self) {
        // SAFETY: `self.0` is ours (type invariant); `debugfs_remove` accepts
        // error pointers, removes the whole tree, and waits for open readers.
        unsafe { bindings::debugfs_remove(self.0) };
    }
}

/// One file: its owner, its `show`, and the trampoline that joins them.
struct File {
    owner: *const c_void,
    show: *const (),
    call: unsafe fn(*const c_void, *const (), &mut SeqFile) -> fmt::Result,
}

// SAFETY: `owner` points to a `T: Send + Sync` that `Files` keeps alive, and
// `show` is a function pointer: the pair may move to and be shared with any
// thread (debugfs readers run anywhere).
unsafe impl Send for File {}
// SAFETY: See `Send`; `&File` only reads them.
unsafe impl Sync for File {}

/// Calls the `Show<T>` at `show` on the `T` at `owner`.
///
/// # Safety
///
/// `owner` points to a live `T` and `show` is a `Show<T>`, as [`Files::new`]
/// pairs them.
unsafe fn call<T>(owner: *const c_void, show: *const (), out: &mut SeqFile) -> fmt::Result {
    // SAFETY: `show` was a `Show<T>` (the function's requirement); function
    // pointers round-trip through `*const ()`.
    let show = unsafe { core::mem::transmute::<*const (), Show<T>>(show) };
    // SAFETY: A live `T` (the function's requirement).
    show(unsafe { &*owner.cast::<T>() }, out)
}

/// A directory of files that show parts of one owner `T`.
///
/// # Invariants
///
/// Each file's `i_private` points to one of `files`, which are boxed (they
/// do not move) and point at the `T` that `owner` keeps alive; the
/// directory, and with it the files, goes first (field order), waiting for
/// readers.
pub(crate) struct Files<T> {
    _dir: Dir,
    _files: KVec<KBox<File>>,
    _owner: Arc<T>,
}

impl<T: Send + Sync> Files<T> {
    /// Creates `parent/name/` with one file per `(name, show)` of each of
    /// `files`, reading as `show(&owner, ..)`.
    pub(crate) fn new(
        parent: &Dir,
        name: &CStr,
        owner: Arc<T>,
        files: &[&[(&CStr, Show<T>)]],
    ) -> Result<Self> {
        // Before `dir`: on an error return the directory, and with it every
        // file made so far, goes before the boxes those files point at.
        let mut boxes = KVec::with_capacity(files.iter().map(|f| f.len()).sum(), GFP_KERNEL)?;
        let dir = Dir::new(name, Some(parent));
        for (fname, show) in files.iter().copied().flatten() {
            let file = KBox::new(
                File {
                    owner: core::ptr::from_ref::<T>(&owner).cast(),
                    show: *show as *const (),
                    call: call::<T>,
                },
                GFP_KERNEL,
            )?;
            let data = core::ptr::from_ref::<File>(&file)
                .cast_mut()
                .cast::<c_void>();
            // SAFETY: `fname` is NUL-terminated, `dir.0` is ours; `data`
            // stays valid until after the file is removed (type invariant).
            check(fname, unsafe {
                bindings::debugfs_create_file(fname.as_char_ptr(), 0o444, dir.0, data, &SHOW_FOPS.0)
            });
            boxes.push(file, GFP_KERNEL)?;
        }
        // INVARIANT: the files point at the boxes and at `owner`, which we
        // keep; `dir` is dropped first.
        Ok(Self {
            _dir: dir,
            _files: boxes,
            _owner: owner,
        })
    }
}

/// The `seq_file` a file's contents are printed to, as a [`fmt::Write`].
struct SeqFile(*mut bindings::seq_file);

impl fmt::Write for SeqFile {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        // SAFETY: `self.0` is the live seq_file of the show callback that
        // made us (see `show`), and `s` is valid for `s.len()` bytes;
        // seq_write copies them.
        unsafe { bindings::seq_write(self.0, s.as_ptr().cast(), s.len()) };
        Ok(())
    }
}

/// `single_open`'s show: prints the file's pair.
///
/// # Safety
///
/// Called by seq_file with a live `m` whose `private` is the `File` that
/// `open` passed.
unsafe extern "C" fn show(m: *mut bindings::seq_file, _v: *mut c_void) -> c_int {
    // SAFETY: `private` is the file's `File`, alive while the file is
    // (invariant of `Files`).
    let file = unsafe { &*(*m).private.cast::<File>() };
    let mut out = SeqFile(m);
    // seq_file grows its buffer and calls us again on overflow, and our
    // writer never fails, so there is no error to report.
    // SAFETY: `Files::new` paired `owner`, `show` and `call` for one `T`.
    let _ = unsafe { (file.call)(file.owner, file.show, &mut out) };
    0
}

/// Opens a file: `single_open` with the file's pair.
///
/// # Safety
///
/// Called by the VFS with a live inode and file of ours.
unsafe extern "C" fn open(inode: *mut bindings::inode, file: *mut bindings::file) -> c_int {
    // SAFETY: A live inode and file (the caller's requirement); `i_private`
    // is what `Files::new` passed to `debugfs_create_file`.
    unsafe { bindings::single_open(file, Some(show), (*inode).i_private) }
}

/// The `file_operations` of every file, which holds only function pointers
/// and the module's address.
struct Fops(bindings::file_operations);

// SAFETY: Immutable, and only function pointers that any thread may call and
// the address of the module, which the kernel owns and synchronises.
unsafe impl Sync for Fops {}

// Only its address is taken. Without lockdep, `struct module` holds an
// empty `lockdep_map`, which the lint calls not FFI-safe.
#[cfg(MODULE)]
#[allow(improper_ctypes)]
extern "C" {
    /// The module's own `struct module` (as `module!` declares it).
    static __this_module: bindings::module;
}

/// The files' owner. debugfs's proxy takes a reference on it for each open
/// file (`fops_get`) and reads these `file_operations` again at the last
/// close: unload must wait for that close (`rmmod` answers `EBUSY` while a
/// file is open). Built in, there is no module, and nothing unloads.
#[cfg(MODULE)]
const OWNER: *mut bindings::module = (&raw const __this_module).cast_mut();
#[cfg(not(MODULE))]
const OWNER: *mut bindings::module = core::ptr::null_mut();

static SHOW_FOPS: Fops = Fops(bindings::file_operations {
    owner: OWNER,
    open: Some(open),
    read: Some(bindings::seq_read),
    llseek: Some(bindings::seq_lseek),
    release: Some(bindings::single_release),
    // SAFETY: All other fields are optional operations or plain values, for
    // which zero means "none".
    ..unsafe { core::mem::zeroed() }
});
