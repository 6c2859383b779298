// SPDX-License-Identifier: GPL-2.0

//! Device-tree nodes: an owned, reference-counted `struct device_node`.

use crate::ffi as bindings;
use core::ptr::NonNull;
use kernel::error::{to_result, Result};
use kernel::str::CStr;

/// What the built-in module's early reserved-memory handler made of a node
/// (`early.c`): a loadable module has no early boot and never sees one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EarlyVerdict {
    /// The early handler did not see the node (loadable module, or a node
    /// the boot code did not reserve).
    NotSeen,
    /// It accepted the node.
    Accepted,
    /// It rejected the node and said why.
    Rejected,
    /// Another reserved-memory handler owns the node.
    Foreign,
}

/// A counted reference to a device-tree node.
///
/// # Invariants
///
/// `self.0` points to a live `struct device_node` on which this value holds one
/// reference (taken by `of_node_get` or handed over by an OF lookup function),
/// dropped in [`Drop`].
pub(crate) struct OfNode(NonNull<bindings::device_node>);

// SAFETY: `struct device_node` is reference counted and its accessors used here
// take no thread-affine state, so the reference may move between threads.
unsafe impl Send for OfNode {}
// SAFETY: All methods take `&self` and only read immutable node data or call
// OF functions that do their own locking.
unsafe impl Sync for OfNode {}

impl OfNode {
    /// Takes ownership of a reference returned by an OF lookup function.
    ///
    /// # Safety
    ///
    /// `ptr` is null or a node pointer whose reference the caller hands over.
    unsafe fn from_owned(ptr: *mut bindings::device_node) -> Option<Self> {
        // INVARIANT: By the safety requirement, a non-null `ptr` carries a reference.
        NonNull::new(ptr).map(Self)
    }

    /// Takes a new reference on a node the caller only borrows.
    ///
    /// # Safety
    ///
    /// `ptr` is null or points to a node that stays alive during this call.
    pub(crate) unsafe fn from_borrowed(ptr: *mut bindings::device_node) -> Option<Self> {
        // SAFETY: `ptr` is null or live (safety requirement); `of_node_get`
        // accepts null and returns its argument with a reference taken.
        let ptr = unsafe { bindings::rsdma_of_node_get(ptr) };
        // SAFETY: `of_node_get` gave us a reference of our own.
        unsafe { Self::from_owned(ptr) }
    }

    /// Looks a node up by its full path, for example `/reserved-memory`.
    pub(crate) fn find_by_path(path: &CStr) -> Option<Self> {
        // SAFETY: `path` is a valid NUL-terminated string; the function
        // returns null or a node with a reference taken for the caller.
        unsafe {
            Self::from_owned(bindings::of_find_node_opts_by_path(
                path.as_char_ptr(),
                core::ptr::null_mut(),
            ))
        }
    }

    /// The raw pointer, for wrappers that pass the node to C.
    pub(crate) fn as_raw(&self) -> *mut bindings::device_node {
        self.0.as_ptr()
    }

    /// The children of this node, each with a reference of its own.
    pub(crate) fn children(&self) -> Children<'_> {
        Children {
            parent: self,
            prev: None,
        }
    }

    /// Every node in the tree that has property `name`.
    pub(crate) fn all_with_property(name: &'static CStr) -> WithProperty {
        WithProperty { name, prev: None }
    }

    /// The node's name with its unit address, as in `restricted@50000000`.
    pub(crate) fn name(&self) -> &CStr {
        // SAFETY: The node is alive (type invariant) and its `full_name` is a
        // NUL-terminated string that lives as long as the node.
        unsafe { CStr::from_char_ptr((*self.as_raw()).full_name) }
    }

    /// The node's parent, if it has one (the root has none).
    pub(crate) fn parent(&self) -> Option<OfNode> {
        // SAFETY: The node is alive (type invariant); the result is null or
        // a node with a reference taken for us.
        unsafe { Self::from_owned(bindings::of_get_parent(self.as_raw())) }
    }

    /// Whether the node's `device_type` is `ty` (as `"pci"`).
    pub(crate) fn is_type(&self, ty: &CStr) -> bool {
        // SAFETY: The node is alive (type invariant), `ty` is NUL-terminated.
        unsafe { bindings::rsdma_of_node_is_type(self.as_raw(), ty.as_char_ptr()) }
    }

    /// Whether the node's `compatible` lists `compat`.
    pub(crate) fn is_compatible(&self, compat: &CStr) -> bool {
        // SAFETY: The node is alive (type invariant), `compat` is NUL-terminated.
        unsafe { bindings::of_device_is_compatible(self.as_raw(), compat.as_char_ptr()) > 0 }
    }

    /// Whether the node's `status` is absent, "okay" or "ok".
    pub(crate) fn is_available(&self) -> bool {
        // SAFETY: The node is alive (type invariant).
        unsafe { bindings::of_device_is_available(self.as_raw()) }
    }

    /// Whether the node has property `name` (with or without a value).
    pub(crate) fn has_property(&self, name: &CStr) -> bool {
        // SAFETY: The node is alive (type invariant), `name` is NUL-terminated;
        // a null length pointer is allowed.
        !unsafe {
            bindings::of_find_property(self.as_raw(), name.as_char_ptr(), core::ptr::null_mut())
        }
        .is_null()
    }

    /// Entry `index` of the node's `reg` as (address, size), read raw as
    /// the boot code reads a `/reserved-memory` child's (`rsdma_of_reg`):
    /// `ENOENT` without one, `EDOM` when the parent's cells are not 1 or 2,
    /// `EINVAL` when it is not whole pairs, `ERANGE` past its last.
    pub(crate) fn reg(&self, index: i32) -> Result<(u64, u64)> {
        let (mut addr, mut size) = (0u64, 0u64);
        // SAFETY: The node is alive (type invariant); the out pointers are valid.
        to_result(unsafe { bindings::rsdma_of_reg(self.as_raw(), index, &mut addr, &mut size) })?;
        Ok((addr, size))
    }

    /// The (base, size) the boot code reserved for this `/reserved-memory`
    /// node (`of_reserved_mem_lookup`), if it reserved anything.
    pub(crate) fn reserved_mem(&self) -> Option<(u64, u64)> {
        // SAFETY: The node is alive (type invariant); the lookup reads the
        // boot-time table of reserved regions, which is never freed, so the
        // entry may be read after the call.
        let rmem = unsafe { bindings::of_reserved_mem_lookup(self.as_raw()).as_ref() }?;
        Some((rmem.base, rmem.size))
    }

    /// What the built-in module's early handler made of this node.
    pub(crate) fn early_verdict(&self) -> EarlyVerdict {
        // SAFETY: The node is alive (type invariant); the helper only looks
        // the node up in the boot-time table of reserved regions.
        match unsafe { bindings::rsdma_early_verdict(self.as_raw()) } {
            1 => EarlyVerdict::Accepted,
            0 => EarlyVerdict::Rejected,
            2 => EarlyVerdict::Foreign,
            _ => EarlyVerdict::NotSeen,
        }
    }

    /// The node that entry `index` of phandle-list property `name` points to.
    pub(crate) fn phandle(&self, name: &CStr, index: i32) -> Option<OfNode> {
        // SAFETY: The node is alive (type invariant), `name` is NUL-terminated;
        // the result is null or a node with a reference taken for us.
        unsafe {
            Self::from_owned(bindings::rsdma_of_parse_phandle(
                self.as_raw(),
                name.as_char_ptr(),
                index,
            ))
        }
    }

    /// The length in bytes of property `name`, if the node has it.
    pub(crate) fn property_len(&self, name: &CStr) -> Option<usize> {
        let mut len: core::ffi::c_int = 0;
        // SAFETY: The node is alive (type invariant), `name` is NUL-terminated
        // and `len` is valid for writes.
        let prop =
            unsafe { bindings::of_find_property(self.as_raw(), name.as_char_ptr(), &mut len) };
        (!prop.is_null()).then(|| usize::try_from(len).unwrap_or(0))
    }

    /// Every node that phandle-list property `name` (one cell an entry, as
    /// `memory-region`) points to, in order. An empty (0) or dangling entry
    /// is skipped, not taken for the end of the list, as
    /// `of_reserved_mem_device_init_by_idx` walks it by index.
    pub(crate) fn phandles<'a>(&'a self, name: &'a CStr) -> impl Iterator<Item = OfNode> + 'a {
        let count = self.property_len(name).unwrap_or(0) / core::mem::size_of::<u32>();
        (0..count).filter_map(move |i| self.phandle(name, i32::try_from(i).ok()?))
    }

    /// Adds property `name` with string `value` to the node, for good (it
    /// outlives this module: see `rsdma_of_mark`).
    pub(crate) fn mark(&self, name: &CStr, value: &CStr) -> Result {
        // SAFETY: The node is alive (type invariant); both strings are
        // NUL-terminated, and the callee copies them.
        to_result(unsafe {
            bindings::rsdma_of_mark(self.as_raw(), name.as_char_ptr(), value.as_char_ptr())
        })
    }
}

impl PartialEq for OfNode {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}

impl Clone for OfNode {
    fn clone(&self) -> Self {
        // SAFETY: The node is alive (type invariant); this takes the
        // reference the new value owns.
        unsafe { bindings::rsdma_of_node_get(self.as_raw()) };
        // INVARIANT: a reference was taken just above.
        Self(self.0)
    }
}

impl Drop for OfNode {
    fn drop(&mut self) {
        // SAFETY: We own one reference (type invariant) and give it back.
        unsafe { bindings::rsdma_of_node_put(self.as_raw()) };
    }
}

/// Iterator over a node's children; see [`OfNode::children`].
pub(crate) struct Children<'a> {
    parent: &'a OfNode,
    prev: Option<OfNode>,
}

impl Iterator for Children<'_> {
    type Item = OfNode;

    fn next(&mut self) -> Option<OfNode> {
        // `of_get_next_child` drops the reference on `prev` and takes one on
        // the child it returns, so hand it our clone of `prev`.
        let prev = self.prev.take().map_or(core::ptr::null_mut(), |p| {
            let raw = p.as_raw();
            core::mem::forget(p);
            raw
        });
        // SAFETY: The parent is alive; `prev` is null or one of its children
        // on which we pass our reference to the callee.
        let next =
            unsafe { OfNode::from_owned(bindings::of_get_next_child(self.parent.as_raw(), prev)) }?;
        self.prev = Some(next.clone());
        Some(next)
    }
}

/// Iterator over all nodes having a property; see [`OfNode::all_with_property`].
pub(crate) struct WithProperty {
    name: &'static CStr,
    prev: Option<OfNode>,
}

impl Iterator for WithProperty {
    type Item = OfNode;

    fn next(&mut self) -> Option<OfNode> {
        // Like `of_get_next_child`, the callee puts `from` and gets the result.
        let from = self.prev.take().map_or(core::ptr::null_mut(), |p| {
            let raw = p.as_raw();
            core::mem::forget(p);
            raw
        });
        // SAFETY: `from` is null or a node on which we hand over a reference;
        // `name` is NUL-terminated.
        let next = unsafe {
            OfNode::from_owned(bindings::of_find_node_with_property(
                from,
                self.name.as_char_ptr(),
            ))
        }?;
        self.prev = Some(next.clone());
        Some(next)
    }
}

/// Whether the root has more than one child named `name` (with or without a
/// unit address), or one with a unit address: then boot, the kernel and
/// this module may each read another node (`rsdma_root_child_ambiguous`).
pub(crate) fn root_child_ambiguous(name: &CStr) -> bool {
    // SAFETY: `name` is NUL-terminated; the helper walks the root's
    // children with the references the iterator takes.
    unsafe { bindings::rsdma_root_child_ambiguous(name.as_char_ptr()) }
}

/// The first node outside `/memory` and `/reserved-memory`'s children whose
/// `reg` (translated to CPU addresses) meets `base..base + size`, if any
/// (`rsdma_node_describing`).
pub(crate) fn node_describing(base: u64, size: u64) -> Option<OfNode> {
    // SAFETY: The helper takes any range; it returns null or a node with a
    // reference taken for the caller.
    unsafe { OfNode::from_owned(bindings::rsdma_node_describing(base, size)) }
}
