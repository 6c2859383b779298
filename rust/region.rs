// SPDX-License-Identifier: GPL-2.0

//! Finding, validating and claiming `restricted-dma-region` nodes (and, in a
//! kernel without mainline's pool, `restricted-dma-pool` ones: [`DROP_IN`]).
//!
//! The early reserved-memory code (`drivers/of/of_reserved_mem.c`) has already
//! taken every static `/reserved-memory` child out of the page allocator at
//! boot, whatever its compatible: a node no built-in handler knows stays
//! reserved and is still found by `of_reserved_mem_lookup()`. So a module can
//! "handle" such a node late: it looks the nodes up at load, checks each one
//! against what a restricted region must be, and claims the good ones (maps
//! them for the CPU, shares them with the host). A bad node is reported by name
//! with its reason and nothing of it is claimed; the good nodes beside it are.

use crate::bounce::{self, Pool};
use crate::pool::{Constraints, Owner, Receive};
use crate::sys::device::{Device, DeviceRef};
use crate::sys::dma::{self, DmaOps, Registered, Registry, Tables};
use crate::sys::lock::IrqSpinLock;
use crate::sys::memory::{self, IomemClaim, Memremap, Owned, ShareError, Shared, PAGE_SIZE};
use crate::sys::of::{self, EarlyVerdict, OfNode};
use crate::sys::{bus, keep_forever, possible_cpus, Errno, ModulePin};
use core::fmt;
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use kernel::c_str;
use kernel::prelude::*;
use kernel::str::{CStr, CString};
use kernel::sync::Arc;

/// The compatible string of the nodes this module handles.
pub(crate) const COMPATIBLE: &CStr = c_str!("restricted-dma-region");

/// The fewest pages a region may have. A mapping may take at most a
/// quarter of a pool's smallest area ([`crate::pool::Pool::max_mapping_size`]),
/// and a small pool is one area: below four pages the largest mapping the
/// DMA API would report is under a page, which the block layer refuses with
/// a kernel warning (`blk_validate_limits()`), a panic under `panic_on_warn`.
const MIN_PAGES: u64 = 4;

/// Mainline's compatible for a restricted pool, which VMMs write (crosvm
/// through pvmfw, Firecracker): claimed too, under the same rules, in a
/// kernel without mainline's pool ([`DROP_IN`]).
pub(crate) const POOL_COMPATIBLE: &CStr = c_str!("restricted-dma-pool");

/// Whether this build claims [`POOL_COMPATIBLE`] nodes: in a kernel with
/// `CONFIG_DMA_RESTRICTED_POOL=n`, where nothing else would and their
/// devices would run unrestricted. Built in, from early boot; loadable, from
/// load, as its own nodes. Beside mainline's pool the node is that pool's.
pub(crate) const DROP_IN: bool = !cfg!(CONFIG_DMA_RESTRICTED_POOL);

/// Whether `node` is one this build handles: [`COMPATIBLE`], or with
/// [`DROP_IN`] also [`POOL_COMPATIBLE`].
pub(crate) fn is_region_node(node: &OfNode) -> bool {
    node.is_compatible(COMPATIBLE) || (DROP_IN && node.is_compatible(POOL_COMPATIBLE))
}

/// The property unload adds to a region's node when it has to keep the
/// region mapped (slots still in use: a device may still write there). The
/// node outlives the module, so every later load sees it and refuses the
/// region until reboot, rather than hand out slots that are still live.
pub(crate) const LEAKED: &CStr = c_str!("restricted-dma-leaked");

/// The property by which a region opts into mainline swiotlb's copy of a
/// receive buffer's old contents into the window (`pool::Receive`).
pub(crate) const COPY_RECEIVE: &CStr = c_str!("copy-receive-buffers");

/// The most regions one guest may have: each gets a DMA ops table of its own
/// (see `sys::dma`), so their number is fixed at build time.
pub(crate) const MAX_REGIONS: usize = dma::MAX_TABLES;

/// Why a node was not claimed. Each reason is printed with the node's path.
#[derive(Debug)]
pub(crate) enum Reject {
    /// No `reg`: a restricted region must sit at an address both VMs agree on,
    /// so a dynamically placed (`size`/`alloc-ranges`) node cannot be one.
    NoReg,
    /// More than one `reg` entry: a region is one contiguous window.
    ManyRanges,
    /// `size` beside `reg`: a dynamic placement request has no place on a
    /// region whose address both VMs must agree on.
    SizeProperty,
    /// A `restricted-dma-pool` placed at boot (`size`, no `reg`) with no
    /// sharing hook: nothing would tell the host where its window is.
    Unshared,
    /// `reg` runs past the end of the physical address space.
    Wraps(u64, u64),
    /// `reg` gives a size of zero.
    ZeroSize,
    /// Smaller than [`MIN_PAGES`] pages: its pool could not take a mapping
    /// of a page.
    TooSmall(u64),
    /// Base or size is not a multiple of the page size.
    Unaligned(u64, u64),
    /// `reusable`: the OS may hand the memory to others, which would put
    /// foreign data inside the window the device can see.
    Reusable,
    /// A `linux,*-default` property: this region must not become a global pool.
    DefaultPool(&'static CStr),
    /// The kernel did not reserve the range at boot (`of_reserved_mem_lookup`
    /// has no entry: for example it overlapped memory already in use).
    NotReserved,
    /// `reg` is not whole (address, size) pairs: the boot code skipped the
    /// node, and reserved nothing for it.
    RegNotPairs,
    /// `/reserved-memory`'s `#address-cells` or `#size-cells` is not 1 or 2:
    /// an address or size of more cells does not fit 64 bits.
    Cells,
    /// Another `/reserved-memory` child has the same name: the boot code's
    /// record of what it reserved is found by name, and cannot tell them
    /// apart.
    SameName,
    /// Another child of the root is named `reserved-memory` (with a unit
    /// address, or a second): boot reserved the first one's children, which
    /// need not be the nodes this module reads (`rsdma_root_child_ambiguous`).
    TwinParent,
    /// The reservation made at boot differs from `reg`.
    Mismatch(u64, u64),
    /// The range overlaps a region already claimed, or another
    /// `/reserved-memory` node.
    Overlaps(CString),
    /// A node outside `/memory` and `/reserved-memory` describes memory of
    /// the range in its `reg` (ramoops, phram, a framebuffer): whatever
    /// takes it would write there (its name).
    DescribedBy(CString),
    /// Memory of the range belongs to someone else: sharing it would hand
    /// the host what is not the window's.
    NotOurs(Owned),
    /// Another reserved-memory handler owns the node.
    Foreign,
    /// More than [`MAX_REGIONS`] regions.
    TooMany,
    /// An earlier load left the region mapped with slots still in use
    /// ([`LEAKED`]).
    Leaked,
    /// The window meets another resource in `/proc/iomem`: cuts across it,
    /// lies inside one that is not RAM, or contains one (the kernel image,
    /// a device's MMIO). The name of what it meets, if known.
    Iomem(Option<CString>),
    /// Sharing with the host failed at a page; what was shared before it was
    /// made private again (`Stuck`: a page could not be, and stays shared).
    Share(ShareError),
    /// `memremap` or an allocation failed.
    Claim(Error),
}

impl Reject {
    /// The errno this reason stands for.
    pub(crate) fn errno(&self) -> Errno {
        Errno(match self {
            Reject::NotReserved
            | Reject::SameName
            | Reject::TwinParent
            | Reject::Overlaps(_)
            | Reject::DescribedBy(_)
            | Reject::NotOurs(_)
            | Reject::Foreign
            | Reject::Leaked => EBUSY,
            Reject::TooMany => ENOSPC,
            Reject::Iomem(_) => EBUSY,
            Reject::Share(ShareError::Page { err, .. } | ShareError::Stuck { err, .. }) => *err,
            Reject::Claim(e) => *e,
            _ => EINVAL,
        })
    }
}

impl fmt::Display for Reject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reject::NoReg => write!(f, "no 'reg' property (a restricted region must be static)"),
            Reject::ManyRanges => write!(f, "'reg' has more than one range"),
            Reject::SizeProperty => write!(f, "'size' is not allowed beside 'reg'"),
            Reject::Unshared => write!(
                f,
                "placed at boot ('size', no 'reg') with no sharing hook to tell the host where"
            ),
            Reject::Wraps(base, size) => {
                write!(
                    f,
                    "base {:#x} + size {:#x} runs past the address space",
                    base, size
                )
            }
            Reject::ZeroSize => write!(f, "'reg' size is zero"),
            Reject::TooSmall(size) => write!(
                f,
                "size {:#x} is smaller than {} pages, too small for a mapping of a page",
                size, MIN_PAGES
            ),
            Reject::Unaligned(base, size) => {
                write!(
                    f,
                    "base {:#x} or size {:#x} is not page aligned",
                    base, size
                )
            }
            Reject::Reusable => write!(f, "'reusable' is not allowed on a restricted region"),
            Reject::DefaultPool(p) => write!(f, "'{}' is not allowed on a restricted region", p),
            Reject::NotReserved => write!(f, "the range was not reserved at boot"),
            Reject::RegNotPairs => write!(
                f,
                "'reg' is not whole (address, size) pairs, so boot reserved nothing for it"
            ),
            Reject::Cells => write!(
                f,
                "/reserved-memory's #address-cells or #size-cells is not 1 or 2, so its 'reg' cannot be read"
            ),
            Reject::SameName => write!(
                f,
                "another /reserved-memory node has the same name, and what boot reserved for each cannot be told apart"
            ),
            Reject::TwinParent => write!(
                f,
                "another child of the root is named reserved-memory, and what boot reserved need not be what this module reads"
            ),
            Reject::Mismatch(base, size) => {
                write!(
                    f,
                    "boot reserved {:#x}+{:#x}, which is not what 'reg' says",
                    base, size
                )
            }
            Reject::Overlaps(other) => write!(f, "overlaps region {}", &**other),
            Reject::DescribedBy(other) => write!(
                f,
                "node {} describes memory of it in its 'reg', and whatever takes that node would use it",
                &**other
            ),
            Reject::NotOurs(o) => {
                write!(f, "memory that is not ours to share: ")?;
                match *o {
                    Owned::KernelImage(a) => write!(f, "the kernel image (at {:#x})", a),
                    Owned::Initrd(a) => write!(f, "the initrd (at {:#x})", a),
                    Owned::Dtb(a) => write!(f, "the device tree blob (at {:#x})", a),
                    Owned::MemReserve(a) => write!(f, "a /memreserve/ entry (at {:#x})", a),
                    Owned::PageInUse(a) => {
                        write!(f, "page {:#x} is in use by the kernel (not reserved)", a)
                    }
                    Owned::NoMapNotTaken(a) => write!(
                        f,
                        "page {:#x} is in the linear map: 'no-map' did not take (the range overlaps memory reserved before it)",
                        a
                    ),
                    Owned::OtherNoMap(a) => {
                        write!(f, "page {:#x} is another reservation's no-map memory", a)
                    }
                    Owned::ImaBuffer(a) => write!(
                        f,
                        "IMA's kexec buffer (/chosen linux,ima-kexec-buffer at {:#x}), which the kernel frees",
                        a
                    ),
                    Owned::ElfCoreHdr(a) => write!(
                        f,
                        "the crash dump's ELF core header (/chosen linux,elfcorehdr at {:#x})",
                        a
                    ),
                    Owned::NotUsable(a) => write!(
                        f,
                        "page {:#x} is outside /chosen linux,usable-memory-range",
                        a
                    ),
                    Owned::Efi(a) => {
                        write!(f, "the EFI memory map or system table (at {:#x})", a)
                    }
                    Owned::ChosenMalformed(p) => write!(
                        f,
                        "/chosen {} is not whole (address, size) pairs, and the kernel may read it as naming any memory",
                        p
                    ),
                    Owned::ChosenUnreadable(why) => {
                        write!(f, "/chosen cannot be read as the kernel reads it: {}", why)
                    }
                }
            }
            Reject::Iomem(what) => write!(
                f,
                "it meets {} in /proc/iomem",
                what.as_deref().map_or(c_str!("another resource"), |w| w)
            ),
            Reject::Share(ShareError::Invalid) => write!(f, "could not share it with the host"),
            Reject::Share(ShareError::Page { at, .. }) => write!(
                f,
                "could not share page {} of it with the host; the pages before it were made private again",
                at
            ),
            Reject::Share(ShareError::Stuck { at, .. }) => write!(
                f,
                "could not share page {} of it with the host, nor make every page before it private again: some stay shared; never use it",
                at
            ),
            Reject::TooMany => write!(f, "more than {} restricted regions", MAX_REGIONS),
            Reject::Foreign => write!(f, "another reserved-memory handler owns it"),
            Reject::Leaked => write!(
                f,
                "an earlier load left slots of it still in use; refused until reboot"
            ),
            Reject::Claim(e) => write!(f, "could not map it or set up its pool ({e:?})"),
        }
    }
}

/// What a node's `reg` and properties say, checked.
struct Checked {
    base: u64,
    size: u64,
    no_map: bool,
}

/// What the rules look at in a node: its `reg`, some properties, and what
/// the boot code reserved for it. Read from the unflattened tree
/// ([`NodeFacts::of`]) or, built in, from the flat tree at early boot
/// (`builtin.rs`), so that both apply the same rules with the same words.
pub(crate) struct NodeFacts {
    /// The first `reg` entry, if the node has one.
    pub(crate) reg: Option<(u64, u64)>,
    /// Whether `reg` has more than one entry.
    pub(crate) more_ranges: bool,
    /// Whether the node has `size`.
    pub(crate) size_prop: bool,
    /// Whether the node may be placed at boot (`size`, no `reg`): a
    /// `restricted-dma-pool` of the [`DROP_IN`] where pages are shared
    /// through a hook ([`memory::sharing_hook`]), which tells the host where
    /// they are. Early boot, before any hook registers, assumes one: the
    /// start judges the node again.
    pub(crate) placed_at_boot: bool,
    /// Whether a sharing hook is there (see `placed_at_boot`).
    pub(crate) sharing_hook: bool,
    /// Whether `reg` is there but not whole (address, size) pairs.
    pub(crate) reg_not_pairs: bool,
    /// Whether the parent's cells are not 1 or 2 ([`Reject::Cells`]).
    pub(crate) bad_cells: bool,
    /// Whether another `/reserved-memory` child has the node's name.
    pub(crate) same_name: bool,
    /// Whether the root has another child named `reserved-memory`
    /// ([`Reject::TwinParent`]).
    pub(crate) twin_parent: bool,
    /// Whether the node has `reusable`.
    pub(crate) reusable: bool,
    /// The `linux,*-default` property the node has, if any.
    pub(crate) default_pool: Option<&'static CStr>,
    /// Whether the node has `no-map`.
    pub(crate) no_map: bool,
    /// Whether an earlier load left the region in use ([`LEAKED`]).
    pub(crate) leaked: bool,
    /// What the boot code reserved for the node, if anything.
    pub(crate) reserved: Option<(u64, u64)>,
    /// Who else owns memory of the range, as far as the reader knows (early
    /// boot: the kernel image, the initrd, the DTB...).
    pub(crate) owned: Option<Owned>,
}

/// The `linux,*-default` properties a restricted region must not have.
pub(crate) const DEFAULT_POOLS: [&CStr; 2] =
    [c_str!("linux,cma-default"), c_str!("linux,dma-default")];

impl NodeFacts {
    /// The facts of an unflattened node.
    fn of(node: &OfNode) -> Self {
        let first = node.reg(0);
        Self {
            reg: first.ok(),
            more_ranges: node.reg(1).is_ok(),
            reg_not_pairs: first == Err(EINVAL),
            bad_cells: first == Err(EDOM),
            same_name: node.parent().is_some_and(|p| {
                p.children()
                    .any(|n| n != *node && n.name().as_bytes() == node.name().as_bytes())
            }),
            twin_parent: of::root_child_ambiguous(c_str!("reserved-memory")),
            size_prop: node.has_property(c_str!("size")),
            placed_at_boot: DROP_IN
                && node.is_compatible(POOL_COMPATIBLE)
                && !node.is_compatible(COMPATIBLE),
            sharing_hook: memory::sharing_hook(),
            reusable: node.has_property(c_str!("reusable")),
            default_pool: DEFAULT_POOLS.into_iter().find(|p| node.has_property(p)),
            no_map: node.has_property(c_str!("no-map")),
            leaked: node.has_property(LEAKED),
            reserved: node.reserved_mem(),
            // What early boot saw is gone; `Region::claim` asks the running
            // kernel.
            owned: None,
        }
    }
}

/// Says what becomes of a `restricted-dma-pool` node this build does not
/// claim (see [`DROP_IN`]).
fn left_alone(node: &OfNode) {
    if node.early_verdict() == EarlyVerdict::Foreign {
        pr_info!(
            "/reserved-memory/{}: a {} that mainline's pool has: left alone\n",
            node.name(),
            POOL_COMPATIBLE
        );
    } else {
        pr_warn!(
            "/reserved-memory/{}: a {} that no pool has claimed: its devices are not restricted\n",
            node.name(),
            POOL_COMPATIBLE
        );
    }
}

/// Checks everything about a node that does not depend on other regions
/// (built in, at early boot).
#[cfg(not(MODULE))]
pub(crate) fn check(f: &NodeFacts) -> Result<(), Reject> {
    check_facts(f).map(|_| ())
}

fn check_facts(f: &NodeFacts) -> Result<Checked, Reject> {
    if f.bad_cells {
        return Err(Reject::Cells);
    }
    if f.reg_not_pairs {
        return Err(Reject::RegNotPairs);
    }
    if f.twin_parent {
        return Err(Reject::TwinParent);
    }
    if f.same_name {
        return Err(Reject::SameName);
    }
    let (base, size) = match f.reg {
        Some(reg) => reg,
        // Where the boot code placed it: the window the hook shares.
        None if f.size_prop && f.placed_at_boot && f.sharing_hook => {
            f.reserved.ok_or(Reject::NotReserved)?
        }
        None if f.size_prop && f.placed_at_boot => return Err(Reject::Unshared),
        None => return Err(Reject::NoReg),
    };
    if f.more_ranges {
        return Err(Reject::ManyRanges);
    }
    if f.size_prop && f.reg.is_some() {
        return Err(Reject::SizeProperty);
    }
    if size == 0 {
        return Err(Reject::ZeroSize);
    }
    if size < MIN_PAGES * PAGE_SIZE {
        return Err(Reject::TooSmall(size));
    }
    if base.checked_add(size).is_none() {
        return Err(Reject::Wraps(base, size));
    }
    if base % PAGE_SIZE != 0 || size % PAGE_SIZE != 0 {
        return Err(Reject::Unaligned(base, size));
    }
    if f.reusable {
        return Err(Reject::Reusable);
    }
    if let Some(p) = f.default_pool {
        return Err(Reject::DefaultPool(p));
    }
    if f.leaked {
        return Err(Reject::Leaked);
    }
    let (rbase, rsize) = f.reserved.ok_or(Reject::NotReserved)?;
    if rbase != base || rsize != size {
        return Err(Reject::Mismatch(rbase, rsize));
    }
    if let Some(o) = f.owned {
        return Err(Reject::NotOurs(o));
    }
    Ok(Checked {
        base,
        size,
        no_map: f.no_map,
    })
}

/// Logs why node `name` was rejected; nothing of it was claimed.
pub(crate) fn report(name: &CStr, why: &Reject) {
    pr_err!(
        "/reserved-memory/{}: rejected: {} ({}); nothing claimed\n",
        name,
        why,
        why.errno()
    );
}

/// The CPU-side claim on a region's memory, released in reverse on drop.
pub(crate) struct Claim {
    // Field order is drop order: unshare before unmapping, and the window
    // stays busy in /proc/iomem until it is neither.
    shared: Option<Shared>,
    memory: Memremap,
    _iomem: IomemClaim,
}

impl Claim {
    /// Marks the window busy in `/proc/iomem` as `name`, maps it, zeroes it
    /// and, unless it is `no-map`, shares it with the host.
    fn new(c: &Checked, name: &CStr) -> Result<Self, Reject> {
        let size = usize::try_from(c.size).map_err(|_| Reject::Claim(EINVAL))?;
        let iomem = IomemClaim::new(c.base, c.size, name).map_err(|(e, what)| {
            let image = [c_str!("Kernel code"), c_str!("Kernel data")];
            match e {
                // arm64 names the image's two resources so: all of it, the
                // pages that no mapping of it shows included.
                e if e == EBUSY
                    && what
                        .as_deref()
                        .is_some_and(|w| image.iter().any(|i| i.as_bytes() == w.as_bytes())) =>
                {
                    Reject::NotOurs(Owned::KernelImage(c.base))
                }
                e if e == EBUSY => Reject::Iomem(what),
                e => Reject::Claim(e),
            }
        })?;
        let memory = Memremap::new(c.base, size).map_err(Reject::Claim)?;
        // Whatever the window held (left there by the host, or by the
        // firmware) is nothing the guest gives; and what the pool hands out
        // starts from zeros.
        if !memory.zero(c.base, size) {
            return Err(Reject::Claim(EINVAL));
        }
        // A mapped region is shared with the host through its linear alias. A
        // `no-map` region has none, so it cannot be shared that way: such a
        // region must be memory the host already shares (see the binding).
        let shared = if c.no_map || !memory.is_linear_alias() {
            None
        } else {
            Some(Shared::new(&memory).map_err(Reject::Share)?)
        };
        Ok(Self {
            shared,
            memory,
            _iomem: iomem,
        })
    }

    /// The CPU's mapping of the region.
    pub(crate) fn memory(&self) -> &Memremap {
        &self.memory
    }

    /// Whether the region was shared with the host at claim time.
    pub(crate) fn is_shared(&self) -> bool {
        self.shared.is_some()
    }

    /// Ends the host's access to a region withdrawn for good (built in).
    #[cfg(not(MODULE))]
    pub(crate) fn take_back(&self) -> Result {
        self.shared.as_ref().map_or(Ok(()), Shared::take_back)
    }
}

/// [`Region::dma_offset`] before any device of the region has its ops: no
/// offset is this one, as offsets are whole pages.
const NO_OFFSET: u64 = u64::MAX;

/// The pool's owner tag for `dev`'s mappings and blocks: a fold of its
/// address. Two devices may share a tag; their blocks are then counted
/// together, which can only keep a device a holder for longer.
pub(crate) fn owner_of(dev: &Device) -> Owner {
    // Devices are at least 8-byte aligned: the low bits say nothing.
    let a = (dev.id() >> 3) as u64;
    Owner::new((a ^ (a >> 12) ^ (a >> 24) ^ (a >> 36)) as u16)
}

/// A device whose driver is gone and which still holds blocks of a region.
pub(crate) struct Holder {
    /// The device, kept alive.
    pub(crate) dev: DeviceRef,
    /// Whether the device was deleted (it is no longer on its bus, so
    /// unload's sweep cannot find it to take its ops off).
    pub(crate) deleted: bool,
    /// Keeps the loadable module in (none once it is unloading).
    _pin: Option<ModulePin>,
}

/// A region's holders: slots that are reused (the 6.12 kernel's vector
/// cannot remove an element), under a lock taken with interrupts off.
pub(crate) struct Holders(Pin<KBox<IrqSpinLock<KVec<Option<Holder>>>>>);

impl Holders {
    /// An empty list.
    pub(crate) fn new() -> Result<Self> {
        // Held while the pool's area locks are taken (`held_by`).
        Ok(Self(KBox::pin_init(
            IrqSpinLock::new_outer(KVec::new()),
            GFP_KERNEL,
        )?))
    }

    /// Records `dev` as a holder (or, if it is one, that it was `deleted`),
    /// keeping the loadable module in while it is one. Returns false if it
    /// could not be recorded (no memory).
    pub(crate) fn add(&self, dev: &Device, deleted: bool) -> bool {
        self.record(dev, deleted, ModulePin::take())
    }

    /// Records `dev`, deleted, without keeping the module in: unload waits
    /// for it instead (`lifetime::Deleted`).
    pub(crate) fn add_deleted(&self, dev: &Device) -> bool {
        self.record(dev, true, None)
    }

    fn record(&self, dev: &Device, deleted: bool, pin: Option<ModulePin>) -> bool {
        // Made outside the lock; if unused, dropped outside it too.
        let fresh = Holder {
            dev: DeviceRef::new(dev),
            deleted,
            _pin: pin,
        };
        let (recorded, unused) = self.0.with(|list| {
            if let Some(h) = list.iter_mut().flatten().find(|h| h.dev.id() == dev.id()) {
                h.deleted |= deleted;
                return (true, Some(fresh));
            }
            if let Some(slot) = list.iter_mut().find(|s| s.is_none()) {
                *slot = Some(fresh);
                return (true, None);
            }
            if list.reserve(1, GFP_ATOMIC).is_err() {
                return (false, Some(fresh));
            }
            // Room was reserved: the push does not allocate, cannot fail.
            (list.push(Some(fresh), GFP_ATOMIC).is_ok(), None)
        });
        drop(unused);
        recorded
    }

    /// Takes out the first holder for which `which` holds.
    pub(crate) fn take(&self, which: impl Fn(&Holder) -> bool) -> Option<Holder> {
        self.0.with(|list| {
            list.iter_mut()
                .find(|s| s.as_ref().is_some_and(&which))
                .and_then(Option::take)
        })
    }

    /// Whether `dev` is a holder.
    pub(crate) fn has(&self, dev: &Device) -> bool {
        self.0
            .with(|list| list.iter().flatten().any(|h| h.dev.id() == dev.id()))
    }

    /// Takes `dev` out, if it is a holder.
    pub(crate) fn remove(&self, dev: &Device) -> Option<Holder> {
        self.take(|h| h.dev.id() == dev.id())
    }

    /// Calls `f` with each holder's device and how many blocks of `r` it
    /// holds (under the lock: `f` must not sleep).
    pub(crate) fn each(
        &self,
        r: &Region,
        mut f: impl FnMut(&Device, usize) -> fmt::Result,
    ) -> fmt::Result {
        self.0.with(|list| {
            list.iter()
                .flatten()
                .try_for_each(|h| f(&h.dev, r.pool.held_by(owner_of(&h.dev))))
        })
    }
}

/// One claimed restricted region.
pub(crate) struct Region {
    /// The node's name, as in `restricted@50000000`: also its debugfs name.
    pub(crate) name: CString,
    /// The reserved-memory node.
    pub(crate) node: OfNode,
    /// Physical base address.
    pub(crate) base: u64,
    /// Size in bytes.
    pub(crate) size: u64,
    /// Whether the node has `no-map`.
    pub(crate) no_map: bool,
    /// The DT nodes whose `memory-region` names this region.
    pub(crate) consumers: KVec<OfNode>,
    /// Which ops table (and registry entry) of `sys::dma` is this region's.
    pub(crate) table: usize,
    /// The bounce pool over the region's memory.
    pub(crate) pool: Pool,
    /// Whether a refused unmap/sync/free was reported already (once only).
    pub(crate) bad_call_reported: AtomicBool,
    /// Virtio devices refused for not negotiating ACCESS_PLATFORM.
    pub(crate) refusals: AtomicUsize,
    /// Set when a page of the window went to someone else after the claim
    /// (built in, at `late_initcall_sync`): its devices are refused.
    pub(crate) withdrawn: AtomicBool,
    /// How far the region's DMA addresses are from its physical ones, for
    /// every device of it ([`Region::fix_dma_offset`]); [`NO_OFFSET`] until
    /// the first device is given its ops.
    dma_offset: AtomicU64,
    /// [`Region::failures`] when a driver last began to probe a device of
    /// the region: what ran out while it probed is the difference.
    pub(crate) failures_at_probe: AtomicUsize,
    /// Devices whose driver is gone that still hold blocks of the pool.
    pub(crate) holders: Holders,
    /// Devices bound through the pool to a driver that must never be
    /// unbound: the loadable module stays while they are bound.
    pub(crate) sticky: Holders,
    // Last, so dropped last: nothing may use the memory after it is unmapped.
    /// The region's memory, mapped (and shared).
    pub(crate) claim: Claim,
}

impl Region {
    /// Makes `offset` (a device's DMA address of the region's base, less
    /// the base) the region's, for good; refused, with the region's, when
    /// it has another. Every device of a region must see it at one DMA
    /// address: an unmap, sync or free finds its block by the DMA address
    /// less this offset, without the device's `dma-ranges`, which the
    /// driver core frees at unbind (`device_unbind_cleanup()`), before the
    /// late frees that must still reach the pool.
    pub(crate) fn fix_dma_offset(&self, offset: u64) -> Result<(), u64> {
        match self.dma_offset.compare_exchange(
            NO_OFFSET,
            offset,
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            Ok(_) => Ok(()),
            Err(had) if had == offset => Ok(()),
            Err(had) => Err(had),
        }
    }

    /// Whether constraints `c`, a device's, put the region at its one DMA
    /// offset. A device given a copy of a region's ops by its driver, with
    /// `dma-ranges` of its own, need not: its unmaps would look their
    /// blocks up at the wrong address, so its maps and allocations are
    /// refused.
    #[inline]
    pub(crate) fn at_its_offset(&self, c: &Constraints) -> bool {
        c.dma_offset == self.dma_offset.load(Ordering::Acquire)
    }

    /// The physical address behind DMA address `dma` of a device of the
    /// region (see [`Region::fix_dma_offset`]).
    #[inline]
    pub(crate) fn phys_of_dma(&self, dma: u64) -> u64 {
        dma.wrapping_sub(self.dma_offset.load(Ordering::Acquire))
    }

    /// Validates `node` against the regions already claimed and claims it.
    pub(crate) fn claim(node: OfNode, claimed: &[Arc<Region>]) -> Result<Self, Reject> {
        let c = check_facts(&NodeFacts::of(&node))?;
        if let Some(other) = claimed
            .iter()
            .find(|r| c.base < r.base + r.size && r.base < c.base + c.size)
        {
            let name = CString::try_from(&*other.name).map_err(|_| Reject::Claim(ENOMEM))?;
            return Err(Reject::Overlaps(name));
        }
        if let Some(other) = overlapped_node(&node, c.base, c.size) {
            let name = other
                .name()
                .to_cstring()
                .map_err(|_| Reject::Claim(ENOMEM))?;
            return Err(Reject::Overlaps(name));
        }
        if let Some(other) = of::node_describing(c.base, c.size) {
            let name = other
                .name()
                .to_cstring()
                .map_err(|_| Reject::Claim(ENOMEM))?;
            return Err(Reject::DescribedBy(name));
        }
        if let Some(o) = memory::range_owner(c.base, c.size, c.no_map) {
            return Err(Reject::NotOurs(o));
        }
        if claimed.len() >= MAX_REGIONS {
            return Err(Reject::TooMany);
        }
        let name = node
            .name()
            .to_cstring()
            .map_err(|_| Reject::Claim(ENOMEM))?;
        let claim = Claim::new(&c, &name).inspect_err(|why| {
            // Pages left shared: no later load may hand them out again.
            if matches!(why, Reject::Share(ShareError::Stuck { .. })) {
                let _ = node.mark(LEAKED, c_str!("pages left shared"));
            }
        })?;
        // The host writes the node: it may ask for the copy, never make it.
        let receive = if !node.has_property(COPY_RECEIVE) {
            Receive::Zero
        } else if cfg!(CONFIG_RESTRICTED_DMA_COPY_RECEIVE) {
            pr_warn!(
                "/reserved-memory/{}: '{}': a receive buffer's old contents are copied into the window, which leaks them to the host\n",
                node.name(),
                COPY_RECEIVE
            );
            Receive::CopyOriginal
        } else {
            pr_warn!(
                "/reserved-memory/{}: '{}' ignored: this kernel lets no node turn off the zeroing of receive buffers (CONFIG_RESTRICTED_DMA_COPY_RECEIVE)\n",
                node.name(),
                COPY_RECEIVE
            );
            Receive::Zero
        };
        let pool = bounce::new_pool(c.base, c.size, possible_cpus())
            .map_err(Reject::Claim)?
            .with_receive(receive);
        Ok(Self {
            name,
            node,
            base: c.base,
            size: c.size,
            no_map: c.no_map,
            consumers: KVec::new(),
            table: claimed.len(),
            pool,
            bad_call_reported: AtomicBool::new(false),
            refusals: AtomicUsize::new(0),
            withdrawn: AtomicBool::new(false),
            dma_offset: AtomicU64::new(NO_OFFSET),
            failures_at_probe: AtomicUsize::new(0),
            holders: Holders::new().map_err(Reject::Claim)?,
            sticky: Holders::new().map_err(Reject::Claim)?,
            claim,
        })
    }

    /// Records every DT node whose `memory-region` names this region, and
    /// names those whose devices the module does not restrict.
    pub(crate) fn find_consumers(&mut self) -> Result {
        for np in OfNode::all_with_property(c_str!("memory-region")) {
            if np
                .phandles(c_str!("memory-region"))
                .any(|target| target == self.node)
            {
                if consumer_is_watched(&np) {
                    pr_info!("/reserved-memory/{}: used by {}\n", &*self.name, np.name());
                } else {
                    pr_warn!(
                        "/reserved-memory/{}: used by {}, whose device is neither a platform or AMBA device nor behind a PCI host bridge: restricted_dma does not restrict it\n",
                        &*self.name,
                        np.name()
                    );
                }
                self.consumers.push(np, GFP_KERNEL)?;
            }
        }
        Ok(())
    }

    /// Maps and allocations refused so far for want of room in the pool.
    pub(crate) fn failures(&self) -> usize {
        let s = self.pool.stats();
        s.failed_maps.wrapping_add(s.failed_allocs)
    }

    /// Restarts `dev`'s high-water mark and largest request, as a driver
    /// begins to probe it: the sizing line then says what the probe took.
    pub(crate) fn restart_usage(&self, dev: &Device) {
        self.pool.restart_usage(owner_of(dev));
    }

    /// The other devices of the region (with its ops, full or draining)
    /// whose use the pool counts with `dev`'s: their tags share its bucket.
    pub(crate) fn bucket_mates(&self, dev: &Device) -> usize {
        let bucket = owner_of(dev).bucket();
        let mut mates = 0;
        bus::for_each_device(|d| {
            if d.id() != dev.id()
                && owner_of(d).bucket() == bucket
                && dma::installed::<Region>(d).and_then(|t| t.entry()) == Some(self.table)
            {
                mates += 1;
            }
        });
        mates
    }

    /// Says, once a driver's probe of `dev` through the region ended, what
    /// `dev` keeps of the region at rest (if it `bound`), the most it held
    /// and its largest request while it probed, and whether the region ran
    /// out of room meanwhile or cannot hold that request: a region too
    /// small for a device is then named at bind, not found by a hang.
    pub(crate) fn probe_ended(&self, dev: &Device, bound: bool) {
        let failed = self
            .failures()
            .wrapping_sub(self.failures_at_probe.load(Ordering::Relaxed));
        let usage = self.pool.usage(owner_of(dev));
        if bound {
            let held = self.pool.held(owner_of(dev));
            let s = self.pool.stats();
            pr_info!(
                "{}: bound through {}: keeps {} slot(s) in {} mapping(s) and block(s) at rest, held at most {} while it probed, its largest map {} bytes; the region has {} of {} slots in use\n",
                dev.name(),
                &*self.name,
                held.slots,
                held.blocks,
                usage.hiwater,
                usage.largest,
                s.used,
                s.nslots
            );
            let mates = self.bucket_mates(dev);
            if mates != 0 {
                pr_info!(
                    "{}: what it held at most, and its largest map, count {} other device(s) of {} too, whose tags share its count\n",
                    dev.name(),
                    mates,
                    &*self.name
                );
            }
        }
        let most = self.max_mapping_size(dev);
        if usage.largest > most {
            pr_warn!(
                "{}: asked {} for a map of {} bytes, more than the {} one mapping there may take: the region is too small for it\n",
                dev.name(),
                &*self.name,
                usage.largest,
                most
            );
        }
        if failed != 0 {
            pr_warn!(
                "{}: {} map(s) or allocation(s) in {} failed for want of room while it probed{}: the region is too small for it beside its other users\n",
                dev.name(),
                failed,
                &*self.name,
                if bound { "" } else { ", and the probe failed" }
            );
        }
    }
}

/// The first other available `/reserved-memory` node, not one of ours,
/// any of whose ranges (what boot reserved for it, and every pair of its
/// `reg`) overlaps `base..base + size`. (Our own nodes are held to the
/// regions already claimed: the first claimed keeps its range. A node of our
/// compatible that another handler owns, for another of its compatibles, is
/// not ours.)
fn overlapped_node(me: &OfNode, base: u64, size: u64) -> Option<OfNode> {
    let root = OfNode::find_by_path(c_str!("/reserved-memory"))?;
    let meets = |(b, s): (u64, u64)| s != 0 && base < b.saturating_add(s) && b < base + size;
    root.children().find(|n| {
        if n == me
            || !n.is_available()
            || (is_region_node(n) && n.early_verdict() != EarlyVerdict::Foreign)
        {
            return false;
        }
        n.reserved_mem().is_some_and(meets) || (0..).map_while(|i| n.reg(i).ok()).any(meets)
    })
}

/// Whether the device made for `np` is one the module watches: the devices
/// behind a PCI host bridge (`device_type = "pci"`), or a platform or AMBA
/// device, which `of_platform_populate()` makes for a child of the root or of
/// a bus it walks (`of_default_bus_match_table`, and `simple-pm-bus`, whose
/// driver walks its own); an AMBA one for an `arm,primecell` node. Anything
/// else (I2C, SPI, USB devices...) is on a bus the module has no notifier on.
fn consumer_is_watched(np: &OfNode) -> bool {
    if np.is_type(c_str!("pci")) {
        return true;
    }
    match np.parent() {
        None => false,
        Some(parent) => {
            parent.parent().is_none()
                || [
                    c_str!("simple-bus"),
                    c_str!("simple-mfd"),
                    c_str!("simple-pm-bus"),
                    c_str!("isa"),
                    c_str!("arm,amba-bus"),
                ]
                .iter()
                .any(|c| parent.is_compatible(c))
        }
    }
}

/// A region published for its ops table to find (`sys::dma`): withdrawn
/// when this is dropped, or kept for good, with the reason in the log, while
/// a device may still write to it.
pub(crate) struct Published(Arc<Region>);

impl Published {
    /// Publishes `region` in its table's registry entry.
    pub(crate) fn new(region: Arc<Region>) -> Result<Self> {
        Region::registry().publish(region.table, region.clone())?;
        Ok(Self(region))
    }

    /// The region.
    pub(crate) fn region(&self) -> &Arc<Region> {
        &self.0
    }
}

/// The published regions, region `k` behind ops table `k` (`sys::dma`).
static REGISTRY: Registry<Region> = Registry::new();

/// Their ops tables.
static TABLES: Tables = Tables::new::<Region>();

impl Registered for Region {
    fn registry() -> &'static Registry<Self> {
        &REGISTRY
    }

    fn tables() -> &'static Tables {
        &TABLES
    }
}

impl Drop for Published {
    fn drop(&mut self) {
        let r = &self.0;
        if let Err(n) = Region::registry().withdraw(r.table) {
            // The registry keeps its reference: the region stays mapped, and
            // later loads must not claim it again.
            match n {
                Some(n) => pr_err!(
                    "{}: {} device(s) still have its ops at unload: region kept reserved and mapped\n",
                    &*r.name,
                    n
                ),
                None => pr_err!(
                    "{}: which devices have its ops is not known (out of memory): region kept reserved and mapped\n",
                    &*r.name
                ),
            }
            mark_leaked(r);
            return;
        }
        let used = r.pool.stats().used;
        if used != 0 {
            pr_err!(
                "{}: {} slot(s) still in use at unload: region kept reserved and mapped\n",
                &*r.name,
                used
            );
            // A device may still write to the slots: keep the region (and
            // its mapping) for good, and mark its node so that later loads
            // do not claim it again.
            mark_leaked(r);
            keep_forever(r.clone());
        }
    }
}

/// Marks `r`'s node so that later loads refuse it until reboot.
fn mark_leaked(r: &Region) {
    if let Err(e) = r.node.mark(LEAKED, c_str!("in use at unload")) {
        pr_err!(
            "{}: cannot mark the node ({}): do not load restricted_dma again before reboot\n",
            &*r.name,
            Errno(e)
        );
    }
}

/// The claimed region whose node is `node`, if any.
pub(crate) fn lookup(node: &OfNode) -> Option<Arc<Region>> {
    Region::registry().find(|r| r.node == *node)
}

/// Finds and claims every available `restricted-dma-region` node under
/// `/reserved-memory`, logging each rejected node with its reason. Region
/// `i` of the result has slot `i`.
pub(crate) fn discover() -> Result<KVec<Arc<Region>>> {
    let mut regions = KVec::new();
    let Some(root) = OfNode::find_by_path(c_str!("/reserved-memory")) else {
        pr_info!("no /reserved-memory node\n");
        return Ok(regions);
    };
    for node in root.children() {
        if !is_region_node(&node) {
            if node.is_compatible(POOL_COMPATIBLE) && node.is_available() {
                left_alone(&node);
            }
            continue;
        }
        if !node.is_available() {
            pr_info!("/reserved-memory/{}: disabled, skipped\n", node.name());
            continue;
        }
        match node.early_verdict() {
            // Built in, the early handler has judged the node already and
            // said so: a node it rejected stays unclaimed, without a second
            // message.
            EarlyVerdict::Rejected => continue,
            // Another handler (of another of its compatibles) has it: it is
            // not ours to claim a second time.
            EarlyVerdict::Foreign => {
                report(node.name(), &Reject::Foreign);
                continue;
            }
            EarlyVerdict::Accepted | EarlyVerdict::NotSeen => {}
        }
        let shown = node.clone();
        match Region::claim(node, &regions) {
            Ok(mut region) => {
                region.find_consumers()?;
                pr_info!(
                    "/reserved-memory/{}: claimed {:#x}+{:#x}{}\n",
                    &*region.name,
                    region.base,
                    region.size,
                    if region.no_map {
                        " (no-map, not shared by us)"
                    } else {
                        ""
                    }
                );
                regions.push(Arc::new(region, GFP_KERNEL)?, GFP_KERNEL)?;
            }
            Err(why) => report(shown.name(), &why),
        }
    }
    Ok(regions)
}
