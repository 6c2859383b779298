// SPDX-License-Identifier: GPL-2.0

//! A device class of our own in sysfs: one device per owner, one read-only
//! value a file, computed by Rust on every read.
//!
//! Production kernels often do not mount debugfs, and an operator still needs
//! to see a pool fill. So the counters are also under
//! `/sys/class/<class>/<owner>/<file>`, as sysfs wants them (one value a
//! file, `Documentation/filesystems/sysfs.rst`).
//!
//! Every device of a class has the same files, the class's attribute group,
//! made once. A file's `show` finds its owner in the device's driver data,
//! and which file it is from the attribute it was called for, which is the
//! first field of one of our `Attr`s.

use super::memory::PAGE_SIZE;
use super::Show;
use crate::ffi as bindings;
use core::ffi::{c_char, c_void};
use core::fmt;
use core::marker::PhantomData;
use kernel::prelude::*;
use kernel::str::CStr;
use kernel::sync::Arc;

/// One file: the C attribute, and the `Show<T>` that prints it.
#[repr(C)]
struct Attr {
    /// First, so that a pointer to it is a pointer to the `Attr`.
    dev_attr: bindings::device_attribute,
    show: *const (),
}

/// The class's files, as the driver core wants them: the attributes, a
/// NULL-terminated array of pointers to them, the group that holds that
/// array, and a NULL-terminated array of groups.
///
/// # Invariants
///
/// Once [`Group::new`] returns, the pointers point into memory the same
/// `Group` owns: itself, boxed, and its vectors' buffers, none of which
/// moves or changes again.
struct Group {
    attrs: KVec<Attr>,
    ptrs: KVec<*mut bindings::attribute>,
    group: bindings::attribute_group,
    groups: [*const bindings::attribute_group; 2],
}

impl Group {
    fn new<T>(files: &'static [(&'static CStr, Show<T>)]) -> Result<KBox<Self>> {
        let mut g = KBox::new(
            Group {
                attrs: KVec::with_capacity(files.len(), GFP_KERNEL)?,
                ptrs: KVec::new(),
                // SAFETY: All-zero is a valid `attribute_group`: no name, no
                // callbacks, no attributes yet.
                group: unsafe { core::mem::zeroed() },
                groups: [core::ptr::null(); 2],
            },
            GFP_KERNEL,
        )?;
        for (name, show) in files {
            // SAFETY: All-zero is a valid `device_attribute`: no name, mode 0
            // and no callbacks; the fields that matter are set below.
            let mut dev_attr: bindings::device_attribute = unsafe { core::mem::zeroed() };
            dev_attr.attr.name = name.as_char_ptr();
            // Root only, as debugfs is: a read takes every area lock in turn, and
            // how busy a device is is nothing for other users to watch.
            dev_attr.attr.mode = 0o400;
            dev_attr.show = Some(show_attr::<T>);
            g.attrs.push(
                Attr {
                    dev_attr,
                    show: *show as *const (),
                },
                GFP_KERNEL,
            )?;
        }
        // The attributes are all in place and never move again (their vector
        // is full and never grows): only now are pointers to them taken.
        let mut ptrs = KVec::with_capacity(files.len() + 1, GFP_KERNEL)?;
        for a in g.attrs.iter_mut() {
            // SAFETY: `a.dev_attr.attr` is a live attribute that nothing else
            // uses yet; the helper only sets its lockdep key.
            unsafe { bindings::rsdma_sysfs_attr_init(&mut a.dev_attr.attr) };
            ptrs.push(core::ptr::from_mut(&mut a.dev_attr.attr), GFP_KERNEL)?;
        }
        ptrs.push(core::ptr::null_mut(), GFP_KERNEL)?;
        g.ptrs = ptrs;
        g.group.attrs = g.ptrs.as_mut_ptr();
        g.groups[0] = core::ptr::from_ref(&g.group);
        // INVARIANT: every pointer points into `*g` (boxed) or a buffer it
        // owns, and nothing changes them from here on.
        Ok(g)
    }
}

/// Writes a file's value into the page sysfs gives `show`.
struct Page<'a> {
    page: &'a mut [u8],
    len: usize,
}

impl fmt::Write for Page<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        // Keep one byte: sysfs wants a NUL-terminated page.
        let end = self.len + s.len();
        if end >= self.page.len() {
            return Err(fmt::Error);
        }
        self.page[self.len..end].copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// The `show` of every attribute of a `Class<T>`.
///
/// # Safety
///
/// Called by sysfs for a device of a `Class<T>` (its driver data is the
/// `T` that [`Class::add`] keeps alive while the device is registered) and
/// an attribute of that class's `Group`, with a page-sized `buf`.
unsafe extern "C" fn show_attr<T>(
    dev: *mut bindings::device,
    attr: *mut bindings::device_attribute,
    buf: *mut c_char,
) -> isize {
    // SAFETY: `attr` is the first field of an `Attr` (`repr(C)`) of the
    // class's `Group`, alive while any device of the class is.
    let a = unsafe { &*attr.cast::<Attr>() };
    // SAFETY: `Group::new` stored a `Show<T>` there for a `Class<T>`, whose
    // devices are the only ones to get this function; function pointers
    // round-trip through `*const ()`.
    let show = unsafe { core::mem::transmute::<*const (), Show<T>>(a.show) };
    // SAFETY: The driver data of a live device of a `Class<T>`: a `T` that
    // its `Entry` keeps alive until the device is unregistered, which waits
    // for this call to return.
    let owner = unsafe { &*bindings::rsdma_dev_get_drvdata(dev).cast::<T>() };
    // SAFETY: sysfs gives `show` a zeroed page of its own, `PAGE_SIZE` bytes.
    let page = unsafe { core::slice::from_raw_parts_mut(buf.cast::<u8>(), PAGE_SIZE as usize) };
    let mut out = Page { page, len: 0 };
    match show(owner, &mut out) {
        Ok(()) => out.len as isize,
        // More than a page: not one value.
        Err(_) => EFBIG.to_errno() as isize,
    }
}

/// One owner's device in the class, unregistered on drop.
///
/// # Invariants
///
/// `dev` is a device made by `rsdma_device_create` with `owner`'s `T` as
/// its driver data.
struct Entry<T> {
    dev: *mut bindings::device,
    _owner: Arc<T>,
}

impl<T> Drop for Entry<T> {
    fn drop(&mut self) {
        // SAFETY: Ours (type invariant). Unregistering removes the files and
        // waits for the reads under way, so no `show` sees `owner` after.
        unsafe { bindings::device_unregister(self.dev) };
    }
}

/// A class made by `class_create`, destroyed on drop.
struct RawClass(*mut bindings::class);

impl Drop for RawClass {
    fn drop(&mut self) {
        // SAFETY: Made by `class_create` (see `Class::new`); its devices
        // went first (`Class`'s field order).
        unsafe { bindings::class_destroy(self.0) };
    }
}

/// A class whose devices each show one owner `T` through the same files.
///
/// # Invariants
///
/// The class's devices are `entries`, whose files are `group`'s. Field
/// order is drop order: the devices (each waits for its readers), then the
/// class, then the files.
pub(crate) struct Class<T> {
    entries: KVec<Entry<T>>,
    class: RawClass,
    group: KBox<Group>,
    _owner: PhantomData<Arc<T>>,
}

// SAFETY: The raw pointers are the driver core's objects, usable from any
// thread, and the `Arc<T>`s of `T: Send + Sync` may move with them.
unsafe impl<T: Send + Sync> Send for Class<T> {}
// SAFETY: `&Class` allows nothing; the driver core serialises its own use.
unsafe impl<T: Send + Sync> Sync for Class<T> {}

impl<T: Send + Sync> Class<T> {
    /// Creates `/sys/class/<name>/`, whose devices will have one file per
    /// `(name, show)` of `files`.
    pub(crate) fn new(
        name: &'static CStr,
        files: &'static [(&'static CStr, Show<T>)],
    ) -> Result<Self> {
        let group = Group::new(files)?;
        // SAFETY: `name` is NUL-terminated and static, as the class keeps it.
        let class = unsafe { bindings::class_create(name.as_char_ptr()) };
        let class = RawClass(kernel::error::from_err_ptr(class)?);
        // INVARIANT: no devices yet.
        Ok(Self {
            entries: KVec::new(),
            class,
            group,
            _owner: PhantomData,
        })
    }

    /// Adds device `name` to the class, its files showing `owner`.
    pub(crate) fn add(&mut self, name: &CStr, owner: Arc<T>) -> Result {
        self.entries.reserve(1, GFP_KERNEL)?;
        let data = core::ptr::from_ref::<T>(&owner).cast_mut().cast::<c_void>();
        // SAFETY: `self.class` is ours, and `group.groups` is a
        // NULL-terminated array of groups that outlives the class's devices
        // (field order); `data` stays valid while the device is registered
        // (its `Entry` keeps `owner`); the name is copied.
        let dev = unsafe {
            bindings::rsdma_device_create(
                self.class.0,
                data,
                self.group.groups.as_ptr().cast_mut(),
                name.as_char_ptr(),
            )
        };
        let dev = kernel::error::from_err_ptr(dev)?;
        // INVARIANT: made by `rsdma_device_create` with `owner` as its data.
        // Room was reserved: the push does not allocate, cannot fail.
        self.entries
            .push(Entry { dev, _owner: owner }, GFP_KERNEL)?;
        Ok(())
    }
}
