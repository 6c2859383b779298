// SPDX-License-Identifier: GPL-2.0

//! The CPU's view of a restricted region: `memremap` and sharing with the host.

use crate::ffi as bindings;
use core::ffi::{c_ulong, c_void};
use core::ptr::NonNull;
use kernel::error::{code::*, Result};
use kernel::prelude::*;
use kernel::str::{CStr, CString};

/// The kernel's page size (arm64 with 4 KiB pages in our configuration).
pub(crate) const PAGE_SIZE: u64 = bindings::PAGE_SIZE;

/// A buffer handed to a map op: where it is, how long, and whether it is RAM
/// in the kernel's linear map, where [`Memremap::copy_in`] and
/// [`Memremap::copy_out`] reach it. Memory without a linear alias (a `no-map`
/// region, device memory) cannot be bounced; the DMA ops refuse to map it.
///
/// # Invariants
///
/// `linear` is true only if `phys..phys + len` is RAM in the linear map.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Original {
    phys: u64,
    len: usize,
    linear: bool,
}

impl Original {
    /// `len` bytes from `offset` into `page`; `None` when the address wraps
    /// or `page` is null.
    ///
    /// # Safety
    ///
    /// `page` is null or a valid `struct page` (as the DMA core passes to
    /// `map_page`).
    pub(crate) unsafe fn of_page(
        page: *mut bindings::page,
        offset: usize,
        len: usize,
    ) -> Option<Self> {
        // SAFETY: `page` is null, which the helper refuses, or valid (the
        // caller's requirement). The helper only reads the page's flags and,
        // for what they cannot answer, memblock.
        let b = unsafe { bindings::rsdma_page_phys(page, offset as _, len) };
        Self::of_buffer(b, len)
    }

    /// What the helper told of a buffer of `len` bytes.
    #[inline(always)]
    fn of_buffer(b: bindings::rsdma_buffer, len: usize) -> Option<Self> {
        // INVARIANT: the helper says linear only for RAM in the linear map.
        const LINEAR: c_ulong = bindings::rsdma_buf_state_RSDMA_BUF_LINEAR as c_ulong;
        const NOT_LINEAR: c_ulong = bindings::rsdma_buf_state_RSDMA_BUF_NOT_LINEAR as c_ulong;
        let linear = match b.state {
            LINEAR => true,
            NOT_LINEAR => false,
            _ => return None,
        };
        Some(Self {
            phys: b.phys,
            len,
            linear,
        })
    }

    /// The buffer of a live scatterlist entry; `None` when its address wraps
    /// or it has no page.
    ///
    /// # Safety
    ///
    /// `sg` points to a live `struct scatterlist` entry (its page null, or
    /// valid).
    pub(crate) unsafe fn of_sg(sg: *mut bindings::scatterlist) -> Option<Self> {
        // SAFETY: `sg` is live (the caller's requirement); as in `of_page`.
        let b = unsafe { bindings::rsdma_sg_buffer(sg) };
        // SAFETY: As above: the entry is live.
        let len = unsafe { (*sg).length } as usize;
        Self::of_buffer(b, len)
    }

    /// Physical address of the first byte.
    pub(crate) fn phys(&self) -> u64 {
        self.phys
    }

    /// Length in bytes.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Whether all of it is RAM in the linear map.
    pub(crate) fn is_linear(&self) -> bool {
        self.linear
    }
}

/// Whether sharing a page (`set_memory_decrypted`) reaches a hypervisor,
/// which then tells the host where the page is: pKVM's guest services, or
/// the selftests' ledger. Known from `setup_arch()` on (see the helper).
pub(crate) fn sharing_hook() -> bool {
    // SAFETY: The helper only asks the firmware what it offers.
    unsafe { bindings::rsdma_sharing_hook() }
}

/// Who else owns memory of a range, and the first address where it does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Owned {
    /// The kernel image.
    KernelImage(u64),
    /// The initrd, which the kernel frees to the page allocator after boot
    /// (seen at early boot).
    Initrd(u64),
    /// The flattened device tree (seen at early boot).
    Dtb(u64),
    /// A `/memreserve/` entry of the DTB header (seen at early boot).
    MemReserve(u64),
    /// A page of RAM that is not reserved: the page allocator has it.
    PageInUse(u64),
    /// A `no-map` range with a page in the linear map: its `no-map` did not
    /// take (it overlapped a reservation made before it).
    NoMapNotTaken(u64),
    /// A mapped range with a page of `no-map` memory (another reservation's).
    OtherNoMap(u64),
    /// IMA's kexec buffer (`/chosen` `linux,ima-kexec-buffer`), which IMA
    /// hands to the page allocator at `late_initcall`.
    ImaBuffer(u64),
    /// kdump's ELF core header (`/chosen` `linux,elfcorehdr`).
    ElfCoreHdr(u64),
    /// A page outside `/chosen` `linux,usable-memory-range`: a crash
    /// kernel's window would be the crashed kernel's memory.
    NotUsable(u64),
    /// The EFI memory map or system table that `/chosen` names.
    Efi(u64),
    /// A `/chosen` property naming ranges of memory (its name) that is not
    /// whole ranges: the kernel may read it as naming any memory.
    ChosenMalformed(&'static str),
    /// `/chosen` cannot be read as the kernel reads it (why).
    ChosenUnreadable(&'static str),
}

impl Owned {
    /// Converts `enum rsdma_owned` and its address; `None` for nobody.
    pub(crate) fn from_raw(code: i32, at: u64) -> Option<Self> {
        let code = u32::try_from(code).ok()?;
        Some(match code {
            bindings::rsdma_owned_RSDMA_OWNED_KERNEL_IMAGE => Self::KernelImage(at),
            bindings::rsdma_owned_RSDMA_OWNED_INITRD => Self::Initrd(at),
            bindings::rsdma_owned_RSDMA_OWNED_DTB => Self::Dtb(at),
            bindings::rsdma_owned_RSDMA_OWNED_MEMRESERVE => Self::MemReserve(at),
            bindings::rsdma_owned_RSDMA_OWNED_PAGE_IN_USE => Self::PageInUse(at),
            bindings::rsdma_owned_RSDMA_OWNED_NOMAP_NOT_TAKEN => Self::NoMapNotTaken(at),
            bindings::rsdma_owned_RSDMA_OWNED_OTHER_NOMAP => Self::OtherNoMap(at),
            bindings::rsdma_owned_RSDMA_OWNED_IMA_BUFFER => Self::ImaBuffer(at),
            bindings::rsdma_owned_RSDMA_OWNED_ELFCOREHDR => Self::ElfCoreHdr(at),
            bindings::rsdma_owned_RSDMA_OWNED_NOT_USABLE => Self::NotUsable(at),
            bindings::rsdma_owned_RSDMA_OWNED_EFI => Self::Efi(at),
            bindings::rsdma_owned_RSDMA_OWNED_CHOSEN_MALFORMED => {
                Self::ChosenMalformed(match u32::try_from(at) {
                    Ok(bindings::rsdma_chosen_range_RSDMA_CHOSEN_IMA_BUFFER) => {
                        "linux,ima-kexec-buffer"
                    }
                    Ok(bindings::rsdma_chosen_range_RSDMA_CHOSEN_ELFCOREHDR) => "linux,elfcorehdr",
                    _ => "linux,usable-memory-range",
                })
            }
            bindings::rsdma_owned_RSDMA_OWNED_CHOSEN_UNREADABLE => {
                Self::ChosenUnreadable(match u32::try_from(at) {
                    Ok(bindings::rsdma_chosen_unreadable_RSDMA_CHOSEN_TWIN) => {
                        "another child of the root is named chosen (chosen@..., or a second), and boot, the kernel and this module may each read another"
                    }
                    _ => "the root's #address-cells or #size-cells is not 1 or 2",
                })
            }
            _ => return None,
        })
    }
}

/// Who else owns memory of `[base, base + size)`, as the running kernel
/// sees it: nothing `/chosen` names, not the DTB nor a `/memreserve/` entry,
/// no page of the kernel image; a page of a mapped range must be reserved RAM
/// in the linear map, a `no-map` range must be out of it (see
/// `rsdma_range_owner()`). `None`: nobody. `size` must not be 0 and the
/// range must not wrap.
pub(crate) fn range_owner(base: u64, size: u64, no_map: bool) -> Option<Owned> {
    let mut at = 0;
    // SAFETY: The helper only looks pages and resources up; any range is
    // allowed; `at` is valid for writes.
    let code = unsafe { bindings::rsdma_range_owner(base, size, no_map, &mut at) };
    Owned::from_raw(code, at)
}

/// A physical range mapped write-back for the CPU with `memremap`.
///
/// Works whether or not the region has `no-map`: a region in the linear map is
/// returned as its linear alias, a `no-map` one gets a mapping of its own.
///
/// # Invariants
///
/// `vaddr` is the start of a live `memremap` mapping of `size` bytes at `phys`,
/// owned by this value and unmapped in [`Drop`].
pub(crate) struct Memremap {
    vaddr: NonNull<u8>,
    phys: u64,
    size: usize,
    /// What `phys_to_virt` adds to an address of the linear map
    /// (`rsdma_linear_offset`), for the originals of the copies.
    linear: u64,
}

// SAFETY: The mapping is plain memory, usable from any CPU; what is written
// where is arbitrated by the pool's per-area locks.
unsafe impl Send for Memremap {}
// SAFETY: See `Send`; `&Memremap` only hands out copies in and out of it.
unsafe impl Sync for Memremap {}

impl Memremap {
    /// Maps `size` bytes of physical memory at `phys`.
    pub(crate) fn new(phys: u64, size: usize) -> Result<Self> {
        // SAFETY: `memremap` validates its arguments itself and returns null on
        // failure; the range is a reserved-memory region nobody else maps WB.
        let vaddr = unsafe { bindings::memremap(phys, size, bindings::MEMREMAP_WB as _) };
        let vaddr = NonNull::new(vaddr.cast::<u8>()).ok_or(ENOMEM)?;
        // SAFETY: No preconditions: arithmetic on two constants of the boot.
        let linear = unsafe { bindings::rsdma_linear_offset() } as u64;
        // INVARIANT: `memremap` succeeded for exactly this range.
        Ok(Self {
            vaddr,
            phys,
            size,
            linear,
        })
    }

    /// The mapping's kernel virtual address.
    pub(crate) fn vaddr(&self) -> *mut u8 {
        self.vaddr.as_ptr()
    }

    /// Whether the mapping is the linear map's alias of the range (what
    /// `memremap` returns for RAM that has one), as sharing needs.
    pub(crate) fn is_linear_alias(&self) -> bool {
        // SAFETY: `phys_to_virt` is arithmetic on the address; it has no
        // preconditions when its result is only compared, never used.
        let linear = unsafe { bindings::rsdma_phys_to_virt(self.phys) };
        linear.cast::<u8>() == self.vaddr.as_ptr()
    }

    /// Whether `[phys, phys + len)` lies inside this mapping.
    pub(crate) fn covers(&self, phys: u64, len: usize) -> bool {
        phys >= self.phys
            && (phys - self.phys)
                .checked_add(len as u64)
                .is_some_and(|end| end <= self.size as u64)
    }

    /// The kernel virtual address of `phys`, which must be covered.
    fn virt(&self, phys: u64, len: usize) -> Option<*mut u8> {
        // The offset is below `size`, so the pointer stays in the mapping.
        self.covers(phys, len).then(|| {
            self.vaddr
                .as_ptr()
                .wrapping_add((phys - self.phys) as usize)
        })
    }

    /// Copies `len` bytes from the linear map at `from` (an original buffer
    /// handed to the DMA API) to `to` inside this mapping. Returns false,
    /// copying nothing, when `to` is not covered.
    ///
    /// `from..from + len` must lie in an [`Original`] that is linear: the DMA
    /// ops check each original when they map it, and the pool only ever
    /// passes back parts of originals it recorded.
    #[inline(always)]
    pub(crate) fn copy_in(&self, from: u64, to: u64, len: usize) -> bool {
        let Some(dst) = self.virt(to, len) else {
            return false;
        };
        // The two may overlap: an original inside a mapped region is only
        // checked to be linear, and a driver that maps freed pool memory
        // hands one that covers free slots. `copy` is memmove, which on
        // arm64 is the same routine as memcpy.
        // SAFETY: `dst..dst+len` is inside our live mapping (checked above);
        // `from..from+len` is in a mapped original, which was linear at map
        // time and the driver keeps while mapped, so its linear address
        // (`phys_to_virt`, which for the linear map adds `self.linear`) is
        // readable for all of it.
        unsafe { core::ptr::copy(self.linear_ptr(from), dst, len) };
        true
    }

    /// The linear map's address of `phys`, which must be in it.
    #[inline(always)]
    fn linear_ptr(&self, phys: u64) -> *mut u8 {
        phys.wrapping_add(self.linear) as usize as *mut u8
    }

    /// Copies `len` bytes from `from` inside this mapping to the linear map at
    /// `to`; see [`Memremap::copy_in`].
    #[inline(always)]
    pub(crate) fn copy_out(&self, from: u64, to: u64, len: usize) -> bool {
        let Some(src) = self.virt(from, len) else {
            return false;
        };
        // SAFETY: As in `copy_in`, with the roles of the two buffers swapped
        // (which may overlap, as there).
        unsafe { core::ptr::copy(src, self.linear_ptr(to), len) };
        true
    }

    /// Zeroes `len` bytes at `phys` inside this mapping.
    pub(crate) fn zero(&self, phys: u64, len: usize) -> bool {
        let Some(dst) = self.virt(phys, len) else {
            return false;
        };
        // SAFETY: `dst..dst+len` is inside our live mapping (checked above).
        unsafe { core::ptr::write_bytes(dst, 0, len) };
        true
    }

    /// The CPU address of `phys` inside the mapping, for coherent allocations.
    pub(crate) fn cpu_addr(&self, phys: u64, len: usize) -> Option<NonNull<c_void>> {
        self.virt(phys, len).and_then(|p| NonNull::new(p.cast()))
    }

    /// The physical address of a CPU address inside the mapping.
    pub(crate) fn phys_of(&self, vaddr: *const c_void, len: usize) -> Option<u64> {
        let off = (vaddr as usize).checked_sub(self.vaddr.as_ptr() as usize)? as u64;
        let phys = self.phys.checked_add(off)?;
        self.covers(phys, len).then_some(phys)
    }
}

impl Drop for Memremap {
    fn drop(&mut self) {
        // SAFETY: We own the mapping (type invariant) and nothing uses it now:
        // `&self` borrows have ended.
        unsafe { bindings::memunmap(self.vaddr.as_ptr().cast()) };
    }
}

/// Pages of the linear map shared with the host (`set_memory_decrypted`),
/// made private again on drop.
///
/// Protected guests (pKVM, CCA) keep all memory private to the guest unless it
/// is shared; `set_memory_decrypted` asks the hypervisor to share it, and is a
/// no-op on other guests. Its hooks work on linear-map addresses only, which is
/// why a `no-map` region (no linear alias) is never shared this way.
///
/// # Invariants
///
/// `vaddr` is a page-aligned linear-map address of `pages` pages that were
/// successfully shared.
pub(crate) struct Shared {
    vaddr: usize,
    pages: i32,
}

/// Why [`Shared::new`] shared nothing.
#[derive(Clone, Copy, Debug)]
pub(crate) enum ShareError {
    /// The mapping is not a linear alias, or too large to count in pages.
    Invalid,
    /// Page `at` (counted from the start) could not be shared (`err`); the
    /// pages before it were made private again.
    Page { at: i32, err: Error },
    /// As `Page`, but a page before it could not be made private again: it
    /// stays shared, and the region must never be used.
    Stuck { at: i32, err: Error },
}

impl Shared {
    /// Shares the linear-map pages of `mapping`, which must be their linear
    /// alias ([`Memremap::is_linear_alias`]), one page at a time: a share that
    /// fails part way leaves nothing shared (or says which page it could not
    /// take back).
    pub(crate) fn new(mapping: &Memremap) -> Result<Self, ShareError> {
        if !mapping.is_linear_alias() {
            return Err(ShareError::Invalid);
        }
        let pages =
            i32::try_from(mapping.size as u64 / PAGE_SIZE).map_err(|_| ShareError::Invalid)?;
        let vaddr = mapping.vaddr() as usize;
        let mut at = 0;
        // SAFETY: `vaddr` is the page-aligned linear alias of `pages` pages of
        // our reserved region, which nothing else uses yet; `at` is valid for
        // writes.
        let ret = unsafe { bindings::rsdma_share_pages(vaddr as _, pages, &mut at) };
        match ret {
            0 => {
                // INVARIANT: sharing succeeded for exactly these pages.
                Ok(Self { vaddr, pages })
            }
            e if e == EIO.to_errno() => Err(ShareError::Stuck {
                at,
                err: Error::from_errno(e),
            }),
            e => Err(ShareError::Page {
                at,
                err: Error::from_errno(e),
            }),
        }
    }
}

impl Shared {
    /// Makes the pages private again now, for a region withdrawn for good
    /// (built in, where it is never dropped): whatever still maps or writes
    /// them, the host no longer sees them. Returns the first error.
    #[cfg(not(MODULE))]
    pub(crate) fn take_back(&self) -> Result {
        // SAFETY: These pages were shared (type invariant); unsharing has no
        // memory-safety precondition, it only ends the host's access.
        kernel::error::to_result(unsafe {
            bindings::rsdma_unshare_pages(self.vaddr as _, self.pages)
        })
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        // SAFETY: These pages were shared (type invariant) and are no longer
        // used for DMA (the owner drops us only once the pool is idle).
        let ret = unsafe { bindings::rsdma_unshare_pages(self.vaddr as _, self.pages) };
        if ret != 0 {
            // Pages we cannot make private again must never be reused; they
            // stay reserved memory, which nobody else allocates from.
            pr_err!(
                "could not unshare some of {} pages ({}), left shared\n",
                self.pages,
                ret
            );
        }
    }
}

/// A claimed window marked busy in `/proc/iomem` (`rsdma_iomem_claim()`), so
/// that memory hot-add, a driver or a PCI BAR is never placed over it;
/// released on drop.
///
/// # Invariants
///
/// `res` is a resource `rsdma_iomem_claim` inserted, owned by this value,
/// whose name is `name`'s buffer.
pub(crate) struct IomemClaim {
    res: NonNull<bindings::resource>,
    // Dropped after `res` is released: /proc/iomem prints it until then.
    name: CString,
}

// SAFETY: The resource is only released, once, on drop, which any thread may do.
unsafe impl Send for IomemClaim {}
// SAFETY: `&IomemClaim` gives no access to the resource.
unsafe impl Sync for IomemClaim {}

impl IomemClaim {
    /// Marks `[base, base + size)` busy, named `name`. On refusal, the error
    /// and (if known) what the window meets (a resource's name, or a description):
    /// another resource it cuts across, a parent that is not RAM, or a
    /// resource inside it (the kernel image, a device's MMIO).
    pub(crate) fn new(base: u64, size: u64, name: &CStr) -> Result<Self, (Error, Option<CString>)> {
        let name = name.to_cstring().map_err(|_| (ENOMEM, None))?;
        let mut what = [0u8; 64];
        // SAFETY: `name` is NUL-terminated and lives in a heap buffer that we
        // keep until the resource is released; `what` is valid for writes of
        // its length.
        let res = unsafe {
            bindings::rsdma_iomem_claim(
                base,
                size,
                name.as_char_ptr(),
                what.as_mut_ptr().cast(),
                what.len(),
            )
        };
        match kernel::error::from_err_ptr(res) {
            Ok(res) => match NonNull::new(res) {
                // INVARIANT: inserted by `rsdma_iomem_claim`, ours now.
                Some(res) => Ok(Self { res, name }),
                None => Err((ENOMEM, None)),
            },
            Err(e) => {
                // What it met, copied by the helper (NUL-terminated when
                // written; empty when not).
                let what = what
                    .iter()
                    .position(|&b| b == 0)
                    .filter(|&nul| nul > 0)
                    .and_then(|nul| CStr::from_bytes_with_nul(&what[..=nul]).ok())
                    .and_then(|w| w.to_cstring().ok());
                Err((e, what))
            }
        }
    }
}

impl Drop for IomemClaim {
    fn drop(&mut self) {
        // SAFETY: We own the resource (type invariant); nothing else frees it.
        unsafe { bindings::rsdma_iomem_release(self.res.as_ptr()) };
        let _ = &self.name;
    }
}
