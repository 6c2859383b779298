// SPDX-License-Identifier: GPL-2.0
/*
 * C helpers of restricted_dma: each stands in for a static inline function or
 * a macro that Rust cannot call, and does nothing more than that one call.
 */
#include <linux/amba/bus.h>
#include <linux/dma-direct.h>
#include <linux/dma-map-ops.h>
#include <linux/dma-mapping.h>
#include <linux/io.h>
#include <linux/iommu.h>
#include <linux/ioport.h>
#include <linux/kref.h>
#include <linux/kmemleak.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/of.h>
#include <linux/of_address.h>
#include <linux/pci.h>
#include <linux/platform_device.h>
#include <linux/ratelimit.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/scatterlist.h>
#include <linux/smp.h>
#include <linux/string.h>
#include <linux/sysfs.h>
#include <linux/spinlock.h>
#include <linux/virtio.h>
#include <linux/virtio_anchor.h>
#include <linux/virtio_config.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>
#include <asm/fixmap.h>
#ifdef CONFIG_ARM_PKVM_GUEST
#include <linux/arm-smccc.h>
#include <asm/hypervisor.h>
#endif
#include <linux/set_memory.h>
#include <linux/unaligned.h>

#include "helpers.h"

struct device_node *rsdma_of_node_get(struct device_node *np) { return of_node_get(np); }
void rsdma_of_node_put(struct device_node *np) { of_node_put(np); }
bool rsdma_of_node_is_type(const struct device_node *np, const char *type)
{
	return of_node_is_type(np, type);
}

struct device_node *rsdma_of_parse_phandle(const struct device_node *np,
					   const char *name, int index)
{
	return of_parse_phandle(np, name, index);
}

const char *rsdma_dev_name(const struct device *dev) { return dev_name(dev); }
bool rsdma_dev_is_dma_coherent(struct device *dev) { return dev_is_dma_coherent(dev); }

/*
 * Our ops go on before the driver's first DMA call and are what the DMA core
 * must call from then on: a stale dma_skip_sync (left by dma-direct on a
 * coherent device) would skip our syncs, and dma_iommu would send the DMA
 * through the IOMMU around them. dma_skip_sync is recomputed only by
 * dma_set_mask(), which a driver need not call again.
 */
void rsdma_install_dma_ops(struct device *dev, const struct dma_map_ops *ops)
{
	set_dma_ops(dev, ops);
	dev->dma_skip_sync = false;
#ifdef CONFIG_IOMMU_DMA
	dev->dma_iommu = false;
#endif
}

/*
 * Which device has which of our tables (sys/dma/tables.rs), keyed by the
 * device's address (not a reference), the table's address as the entry.
 * Only devices we gave a table are here: a driver that copies our pointer
 * to a device of its own changes nothing here, so an entry is withdrawn
 * exactly when no device we gave its tables has one (they all lose it
 * before the module goes). A record that could not be stored (no memory)
 * leaves rsdma_users_lost set: no entry is withdrawn after it.
 */
static DEFINE_XARRAY(rsdma_users);
static bool rsdma_users_lost;

void rsdma_users_set(struct device *dev, const struct dma_map_ops *ops)
{
	if (xa_is_err(xa_store(&rsdma_users, (unsigned long)dev, (void *)ops, GFP_KERNEL)))
		WRITE_ONCE(rsdma_users_lost, true);
}

void rsdma_users_clear(struct device *dev) { xa_erase(&rsdma_users, (unsigned long)dev); }
bool rsdma_users_has(struct device *dev) { return xa_load(&rsdma_users, (unsigned long)dev); }

/* How many devices have @a or @b; -1 if a record was lost. */
long rsdma_users_of(const struct dma_map_ops *a, const struct dma_map_ops *b)
{
	unsigned long index;
	long n = 0;
	void *ops;

	if (READ_ONCE(rsdma_users_lost))
		return -1;
	xa_for_each(&rsdma_users, index, ops)
		n += ops == a || ops == b;
	return n;
}

/* Back to what the platform gave the device: what iommu_setup_dma_ops() says. */
void rsdma_remove_dma_ops(struct device *dev)
{
	set_dma_ops(dev, NULL);
#ifdef CONFIG_IOMMU_DMA
	if (device_iommu_mapped(dev))
		dev->dma_iommu = iommu_is_dma_domain(iommu_get_domain_for_dev(dev));
#endif
}

const struct dma_map_ops *rsdma_get_dma_ops(struct device *dev) { return dev->dma_ops; }
bool rsdma_dev_iommu_mapped(struct device *dev) { return device_iommu_mapped(dev); }
struct device_node *rsdma_dev_of_node(struct device *dev) { return READ_ONCE(dev->of_node); }
/*
 * @dev's parent while @dev is registered: it holds a reference on it from
 * device_add() to device_del(). NULL once it is not.
 */
struct device *rsdma_dev_parent(struct device *dev)
{
	return device_is_registered(dev) ? dev->parent : NULL;
}

/*
 * The DT node that configures @dev's DMA: its own, or for a PCI device its
 * host bridge's parent, the pcie@... node (what pci_dma_configure() passes
 * to of_dma_configure()).
 */
struct device_node *rsdma_dma_config_node(struct device *dev)
{
#ifdef CONFIG_PCI
	if (dev_is_pci(dev)) {
		struct pci_bus *bus = to_pci_dev(dev)->bus;

		while (bus->parent)
			bus = bus->parent;
		return bus->bridge && bus->bridge->parent ? bus->bridge->parent->of_node : NULL;
	}
#endif
	return dev->of_node;
}

bool rsdma_dev_is_pci(struct device *dev) { return dev_is_pci(dev); }
/* The bus @dev is on: set before device_add(), never changed after. */
const struct bus_type *rsdma_dev_bus(struct device *dev) { return dev->bus; }

/*
 * A PCI bridge (a root port, a switch port): a bridge header *and* a bridge
 * class, and no driver but a port driver. The host writes header and class,
 * and the PCI core accepts a bridge header of any class, which virtio_pci
 * (matching on the vendor alone) would drive, as it does a function in a
 * bridge header and class that pcieport's probe turned down: none of these
 * makes a device that does no DMA. The driver is the kernel's own word
 * (at BUS_NOTIFY_BIND_DRIVER, the one being bound).
 */
bool rsdma_dev_is_pci_bridge(struct device *dev)
{
#ifdef CONFIG_PCI
	const struct device_driver *drv = READ_ONCE(dev->driver);
	struct pci_dev *pdev;

	if (!dev_is_pci(dev))
		return false;
	if (drv && strcmp(drv->name, "pcieport") && strcmp(drv->name, "shpchp"))
		return false;
	pdev = to_pci_dev(dev);
	switch (pdev->hdr_type) {
	case PCI_HEADER_TYPE_BRIDGE:
		return pdev->class >> 8 == PCI_CLASS_BRIDGE_PCI;
	case PCI_HEADER_TYPE_CARDBUS:
		return pdev->class >> 8 == PCI_CLASS_BRIDGE_CARDBUS;
	default:
		return false;
	}
#else
	return false;
#endif
}

/*
 * Whether @dev is the parent of a PCI root bus's host bridge: a platform
 * device whose driver made it a PCI host bridge, not one whose node only
 * says so (device_type = "pci", which the host writes).
 */
bool rsdma_dev_hosts_pci(struct device *dev)
{
#ifdef CONFIG_PCI
	struct pci_bus *bus = NULL;

	while ((bus = pci_find_next_bus(bus)))
		if (bus->bridge && bus->bridge->parent == dev)
			return true;
#endif
	return false;
}

const struct bus_type *rsdma_amba_bus_type(void)
{
#ifdef CONFIG_ARM_AMBA
	return &amba_bustype;
#else
	return NULL;
#endif
}

const struct bus_type *rsdma_pci_bus_type(void)
{
#ifdef CONFIG_PCI
	return &pci_bus_type;
#else
	return NULL;
#endif
}

bool rsdma_dev_is_bound(struct device *dev) { return READ_ONCE(dev->driver); }

/* Whether @dev's driver is one that must never be unbound (it says so). */
bool rsdma_driver_is_sticky(struct device *dev)
{
	const struct device_driver *drv = READ_ONCE(dev->driver);

	return drv && drv->suppress_bind_attrs;
}
void rsdma_device_lock(struct device *dev) { device_lock(dev); }
void rsdma_device_unlock(struct device *dev) { device_unlock(dev); }
/*
 * The device's DMA addresses of [base, base + size): false unless both ends
 * translate (dma-ranges), the range stays one contiguous run for it, and its
 * offset from the physical addresses is whole pages (the pool's alignment
 * rules assume so).
 */
bool rsdma_dma_span(struct device *dev, phys_addr_t base, u64 size, u64 *first, u64 *last)
{
	dma_addr_t a = phys_to_dma(dev, base), b = phys_to_dma(dev, base + size - 1);

	if (!size || a == DMA_MAPPING_ERROR || b == DMA_MAPPING_ERROR || b < a ||
	    b - a != size - 1 || !PAGE_ALIGNED(a - base))
		return false;
	*first = a;
	*last = b;
	return true;
}

/*
 * The DMA ops read a device without dma-ranges as DMA address == physical
 * address (rust/sys/device.rs), as the generic phys_to_dma() is when no
 * memory encryption bit is set.
 */
#if defined(CONFIG_ARCH_HAS_PHYS_TO_DMA) || defined(CONFIG_AMD_MEM_ENCRYPT)
#error "restricted_dma reads DMA addresses as physical ones where a device has no dma-ranges"
#endif

dma_addr_t rsdma_phys_to_dma(struct device *dev, phys_addr_t paddr)
{
	return phys_to_dma(dev, paddr);
}

phys_addr_t rsdma_page_to_phys(struct page *page) { return page_to_phys(page); }
void *rsdma_phys_to_virt(phys_addr_t paddr) { return phys_to_virt(paddr); }

/*
 * What phys_to_virt() adds to an address of the linear map: the copies of
 * every map and unmap make the original's pointer with one addition rather
 * than a call (Memremap::copy_in). On arm64 __phys_to_virt(x) is
 * (x - PHYS_OFFSET) | PAGE_OFFSET; for x in the linear map, x - PHYS_OFFSET
 * is below the linear map's size, under 2^VA_BITS, and PAGE_OFFSET's low
 * VA_BITS bits are 0, so the OR adds. Elsewhere, where __va() adds too.
 */
unsigned long rsdma_linear_offset(void)
{
#ifdef CONFIG_ARM64
	return PAGE_OFFSET - PHYS_OFFSET;
#else
	return (unsigned long)__va(0);
#endif
}

/*
 * Whether [paddr, paddr + len) is RAM in the linear map, so that
 * phys_to_virt() gives a usable address for it. Checks the first and last
 * page: a DMA buffer is one physically contiguous allocation. On arm64 a
 * no-map region or ZONE_DEVICE memory has a valid pfn but no linear alias,
 * hence pfn_is_map_memory() there.
 */
static bool rsdma_phys_in_linear_map(phys_addr_t paddr, size_t len)
{
	phys_addr_t last = paddr + (len ? len - 1 : 0);

	if (last < paddr)
		return false;
#ifdef CONFIG_ARM64
	/* Each lookup is a binary search of memblock: one when one page holds it. */
	return pfn_is_map_memory(PHYS_PFN(paddr)) &&
	       (PHYS_PFN(last) == PHYS_PFN(paddr) || pfn_is_map_memory(PHYS_PFN(last)));
#else
	return pfn_valid(PHYS_PFN(paddr)) && pfn_valid(PHYS_PFN(last)) &&
	       !PageHighMem(pfn_to_page(PHYS_PFN(paddr))) &&
	       !PageHighMem(pfn_to_page(PHYS_PFN(last)));
#endif
}
struct page *rsdma_virt_to_page(const void *vaddr) { return virt_to_page(vaddr); }

#ifdef CONFIG_ARM64
/*
 * Whether @page answers for itself that it is in the linear map: arm64 has
 * no highmem, and each page with a struct page but no linear alias is
 * PageReserved (no-map memblock memory by memmap_init_reserved_pages(),
 * holes by init_unavailable_range(), ZONE_DEVICE by
 * __init_zone_device_page()). A reserved page is asked of memblock.
 */
static bool rsdma_page_is_linear(struct page *page)
{
	return !PageReserved(page) && !is_zone_device_page(page);
}
#endif

/* rsdma_page_phys() where the first page's flags do not answer alone. */
static noinline struct rsdma_buffer rsdma_page_phys_slow(struct page *page, unsigned long offset,
							 size_t len, phys_addr_t phys,
							 phys_addr_t last)
{
	struct rsdma_buffer b = { .phys = phys, .state = RSDMA_BUF_LINEAR };

#ifdef CONFIG_ARM64
	/* Pages other than @page may have no struct page: pfn_valid() first. */
	if ((offset < PAGE_SIZE ? rsdma_page_is_linear(page) :
	     pfn_valid(PHYS_PFN(phys)) && rsdma_page_is_linear(phys_to_page(phys))) &&
	    (PHYS_PFN(last) == PHYS_PFN(phys) ||
	     (pfn_valid(PHYS_PFN(last)) && rsdma_page_is_linear(phys_to_page(last)))))
		return b;
#endif
	if (!rsdma_phys_in_linear_map(phys, len))
		b.state = RSDMA_BUF_NOT_LINEAR;
	return b;
}

/*
 * @offset bytes into @page: the physical address (RSDMA_BUF_NONE when it
 * wraps, or when there is no @page), and whether @len bytes from there are
 * RAM in the linear map, as rsdma_phys_in_linear_map() answers, from the
 * first and the last page's flags where they can tell. A buffer inside
 * @page, whose flags say linear, is the common case, answered without a
 * call. A driver can pass a NULL page: 6.12's virtio_net does, for an
 * AF_XDP zero-copy receive buffer (sg_fill_dma() sets only the DMA address
 * of its scatterlist entry), which dma-direct maps as a bogus address.
 */
struct rsdma_buffer rsdma_page_phys(struct page *page, unsigned long offset, size_t len)
{
	struct rsdma_buffer b = { .state = RSDMA_BUF_NONE };
	phys_addr_t last;

	if (unlikely(!page))
		return b;
	if (check_add_overflow(page_to_phys(page), (phys_addr_t)offset, &b.phys) ||
	    check_add_overflow(b.phys, (phys_addr_t)(len ? len - 1 : 0), &last))
		return b;
#ifdef CONFIG_ARM64
	if (offset < PAGE_SIZE && PHYS_PFN(last) == PHYS_PFN(b.phys) &&
	    rsdma_page_is_linear(page)) {
		b.state = RSDMA_BUF_LINEAR;
		return b;
	}
#endif
	return rsdma_page_phys_slow(page, offset, len, b.phys, last);
}

/*
 * Whether set_memory_decrypted() reaches a hypervisor that shares pages with
 * the host, which then learns where a window is from the calls. arm64 6.12
 * has no way to ask arm64_mem_crypt_ops whether anyone registered them, so
 * this asks what would have: pKVM's guest driver registers them from
 * setup_arch() when the hypervisor offers these three services (CCA's realm
 * support is not in 6.12); the selftests' ledger
 * (CONFIG_RESTRICTED_DMA_TEST_LEDGER, a carried patch no production kernel
 * has) registers them at early_initcall, unless told to be absent.
 */
#ifdef CONFIG_RESTRICTED_DMA_TEST_LEDGER
bool restricted_dma_ledger_registered(void);
#endif
bool rsdma_sharing_hook(void)
{
#ifdef CONFIG_RESTRICTED_DMA_TEST_LEDGER
	return restricted_dma_ledger_registered();
#elif defined(CONFIG_ARM_PKVM_GUEST)
	return kvm_arm_hyp_service_available(ARM_SMCCC_KVM_FUNC_HYP_MEMINFO) &&
	       kvm_arm_hyp_service_available(ARM_SMCCC_KVM_FUNC_MEM_SHARE) &&
	       kvm_arm_hyp_service_available(ARM_SMCCC_KVM_FUNC_MEM_UNSHARE);
#else
	return false;
#endif
}

#ifdef CONFIG_ARM64
/*
 * The physical address the kernel's page tables map @va to, as the CPU
 * translates it (AT S1E1R); false if nothing is mapped there. Not
 * vmalloc_to_page(): it takes only vmalloc and module addresses (which
 * CONFIG_DEBUG_VIRTUAL enforces with a BUG), and the fixmap is neither.
 * Interrupts are off so that no handler's translation overwrites PAR_EL1
 * in between, as arm64's is_spurious_el1_translation_fault() does it.
 */
static bool rsdma_kva_to_phys(unsigned long va, phys_addr_t *pa)
{
	unsigned long flags;
	u64 par;

	local_irq_save(flags);
	asm volatile("at s1e1r, %0" : : "r"(va));
	isb();
	par = read_sysreg_par();
	local_irq_restore(flags);
	if (par & SYS_PAR_EL1_F)
		return false;
	*pa = (par & SYS_PAR_EL1_PA & PAGE_MASK) | (va & ~PAGE_MASK);
	return true;
}
#endif

/*
 * Whether @pfn is a page of the kernel image. On arm64 the image is mapped,
 * besides its linear alias, at its physical address + kimage_voffset (the
 * inverse of __pa_symbol()); a page is the image's exactly when that mapping
 * leads back to it. (The names of "Kernel code" and "Kernel data" in
 * /proc/iomem are out of reach: the resource walk stops at System RAM.)
 */
static bool rsdma_pfn_is_kernel_image(unsigned long pfn)
{
#ifdef CONFIG_ARM64
	phys_addr_t pa;

	return rsdma_kva_to_phys(PFN_PHYS(pfn) + kimage_voffset, &pa) && pa == PFN_PHYS(pfn);
#else
	return false;
#endif
}

/*
 * Entry @index of @np's `reg`, read as the boot code reads a /reserved-memory
 * child's: raw (address, size) pairs of the parent's cells, with no bus
 * translation (of_property_read_reg() would read `assigned-addresses` under
 * a parent that says it is a PCI bus). -ENOENT without `reg`, -EDOM when the
 * parent's cells are not 1 or 2 (the host writes them: a huge count would
 * wrap the pair's length below and read far past the property; more than
 * two would not fit a u64), -EINVAL when it is not whole pairs (the boot
 * code skips such a node: nothing of it is reserved), -ERANGE past its last
 * pair.
 */
int rsdma_of_reg(struct device_node *np, int index, u64 *base, u64 *size)
{
	int na = of_n_addr_cells(np), ns = of_n_size_cells(np), len, pair;
	const __be32 *prop = of_get_property(np, "reg", &len);

	if (!prop)
		return -ENOENT;
	if (na < 1 || na > 2 || ns < 1 || ns > 2)
		return -EDOM;
	pair = (na + ns) * sizeof(__be32);
	if (len <= 0 || len % pair)
		return -EINVAL;
	if (index < 0 || index >= len / pair)
		return -ERANGE;
	prop += index * (na + ns);
	*base = of_read_number(prop, na);
	*size = of_read_number(prop + na, ns);
	return 0;
}

/* Whether [a, a + as) and [b, b + bs) meet; @b and @bs come from the host. */
static bool rsdma_overlaps(u64 a, u64 as, u64 b, u64 bs)
{
	u64 b_last = b + bs - 1 < b ? U64_MAX : b + bs - 1;

	return as && bs && a <= b_last && b <= a + as - 1;
}

/*
 * A /chosen EFI property's value as the kernel reads it (efi_get_fdt_prop()):
 * four bytes, or else eight, whatever the length. Shorter than eight but for
 * four, the kernel reads past the property: false, nothing to compare with.
 */
static bool rsdma_efi_number(const void *prop, int len, u64 *val)
{
	if (!prop)
		return false;
	if (len == 4)
		*val = be32_to_cpup(prop);
	else if (len >= 8)
		*val = get_unaligned_be64(prop);
	else
		return false;
	return true;
}

/*
 * The range entry @i of rsdma_chosen_efi names, from its properties as either
 * reader found them (@size NULL for one without a size: a page); false when
 * the kernel would not read one.
 */
bool rsdma_efi_range(int i, const void *start, int start_len, const void *size, int size_len,
		     u64 *base, u64 *len)
{
	if (!rsdma_efi_number(start, start_len, base))
		return false;
	*len = PAGE_SIZE;
	if (!rsdma_chosen_efi[i][1])
		return true;
	if (!rsdma_efi_number(size, size_len, len))
		return false;
	/* The kernel keeps the map's size in 32 bits, saturated. */
	*len = min_t(u64, *len, U32_MAX);
	return true;
}

/* The /chosen properties both readers look at (this file's, and early.c's). */
const char *const rsdma_chosen_pairs[RSDMA_CHOSEN_PAIRS] = {
	[RSDMA_CHOSEN_IMA_BUFFER] = "linux,ima-kexec-buffer",
	[RSDMA_CHOSEN_ELFCOREHDR] = "linux,elfcorehdr",
};
const int rsdma_chosen_pair_owners[RSDMA_CHOSEN_PAIRS] = {
	[RSDMA_CHOSEN_IMA_BUFFER] = RSDMA_OWNED_IMA_BUFFER,
	[RSDMA_CHOSEN_ELFCOREHDR] = RSDMA_OWNED_ELFCOREHDR,
};
const char *const rsdma_chosen_efi[RSDMA_CHOSEN_EFI][2] = {
	{ "linux,uefi-mmap-start", "linux,uefi-mmap-size" },
	{ "xen,uefi-mmap-start", "xen,uefi-mmap-size" },
	{ "linux,uefi-system-table", NULL },
	{ "xen,uefi-system-table", NULL },
};

/*
 * A (base, size) pair of root cells at @prop: 1 if it is one, 0 if there is
 * no property, -1 if it has any other length. The kernel's own parsers read
 * some of those anyway (IMA's any length from one pair up, kdump's from
 * ac + sc bytes): the callers refuse the region rather than guess.
 */
static int rsdma_chosen_range(const __be32 *prop, int len, int ac, int sc, u64 *base, u64 *size)
{
	if (!prop)
		return 0;
	if (len != (ac + sc) * (int)sizeof(__be32))
		return -1;
	*base = of_read_number(prop, ac);
	*size = of_read_number(prop + ac, sc);
	return 1;
}

/*
 * The first node, outside the /memory nodes and /reserved-memory's own
 * children, one of whose 'reg' entries translates to CPU physical addresses
 * that meet [base, base + size); NULL if none (else referenced). Such a node
 * says that something of the guest uses that memory by its address: ramoops
 * and phram map theirs from their node with no /proc/iomem request and no
 * change to the pages' flags, so no other check of the claim sees them. A
 * /memory node is what boot reads as one (a root child with device_type
 * "memory"), and has no compatible: a ramoops node that also says
 * device_type = "memory" is still ramoops's.
 */
struct device_node *rsdma_node_describing(u64 base, u64 size)
{
	struct device_node *np, *rmem = of_find_node_by_path("/reserved-memory");
	struct resource res;
	int i;

	for (np = of_find_all_nodes(NULL); np; np = of_find_all_nodes(np)) {
		if ((np->parent == of_root && of_node_is_type(np, "memory") &&
		     !of_property_present(np, "compatible")) ||
		    (rmem && (np == rmem || np->parent == rmem)))
			continue;
		for (i = 0; !of_address_to_resource(np, i, &res); i++) {
			if (rsdma_overlaps(base, size, res.start, resource_size(&res))) {
				of_node_put(rmem);
				return np;
			}
		}
	}
	of_node_put(rmem);
	return NULL;
}

/*
 * Whether more than one child of the root is named @name, with or without a
 * unit address, or the one that is has one. Boot reads the first such child
 * of the flat tree (fdt_path_offset() matches "name@..." too), the kernel's
 * of_chosen the one named exactly "chosen" (else "chosen@0"), and this
 * module the one named exactly @name: only a single child named exactly
 * @name is the same node to all of them. A host that writes two can show
 * each reader another, so every region is refused then.
 */
bool rsdma_root_child_ambiguous(const char *name)
{
	struct device_node *np;
	bool odd = false;
	int n = 0;

	for_each_child_of_node(of_root, np) {
		if (!of_node_name_eq(np, name))
			continue;
		n++;
		odd |= strcmp(kbasename(np->full_name), name) != 0;
	}
	return n > 1 || odd;
}

/*
 * What /chosen says of memory, in the running kernel's tree: ranges the
 * kernel reads or frees later (IMA's kexec buffer, which IMA's late_initcall
 * hands to the page allocator; kdump's ELF core header; the EFI memory map
 * and system table), and the only ranges a crash kernel may use. A range
 * property of a length other than whole pairs makes every region refused
 * (RSDMA_OWNED_CHOSEN_MALFORMED): the kernel may read it as naming any
 * memory. early.c applies the same rules to the flat tree.
 */
static int rsdma_chosen_owner(u64 base, u64 size, u64 *at)
{
	struct device_node *chosen = of_find_node_by_path("/chosen");
	int ac, sc, len, i, ret = RSDMA_OWNED_NONE;
	const __be32 *prop;
	u64 b, s, start, last;
	bool inside = false;

	if (rsdma_root_child_ambiguous("chosen")) {
		*at = RSDMA_CHOSEN_TWIN;
		ret = RSDMA_OWNED_CHOSEN_UNREADABLE;
		goto out;
	}
	if (!chosen)
		return RSDMA_OWNED_NONE;
	ac = of_n_addr_cells(chosen);
	sc = of_n_size_cells(chosen);
	/* Other counts wrap the parsers' arithmetic (a pair's bytes, an int). */
	if (ac < 1 || ac > 2 || sc < 1 || sc > 2) {
		*at = RSDMA_CHOSEN_CELLS;
		ret = RSDMA_OWNED_CHOSEN_UNREADABLE;
		goto out;
	}
	for (i = 0; i < ARRAY_SIZE(rsdma_chosen_pairs); i++) {
		prop = of_get_property(chosen, rsdma_chosen_pairs[i], &len);
		switch (rsdma_chosen_range(prop, len, ac, sc, &b, &s)) {
		case -1:
			*at = i;
			ret = RSDMA_OWNED_CHOSEN_MALFORMED;
			goto out;
		case 1:
			if (rsdma_overlaps(base, size, b, s)) {
				*at = b;
				ret = rsdma_chosen_pair_owners[i];
				goto out;
			}
		}
	}
	for (i = 0; i < ARRAY_SIZE(rsdma_chosen_efi); i++) {
		const void *start = of_get_property(chosen, rsdma_chosen_efi[i][0], &len), *sz = NULL;
		int sz_len = 0;

		if (rsdma_chosen_efi[i][1])
			sz = of_get_property(chosen, rsdma_chosen_efi[i][1], &sz_len);
		if (rsdma_efi_range(i, start, len, sz, sz_len, &b, &s) &&
		    rsdma_overlaps(base, size, b, s)) {
			*at = b;
			ret = RSDMA_OWNED_EFI;
			goto out;
		}
	}
	/* The kernel uses the first two ranges (MAX_USABLE_RANGES). */
	prop = of_get_property(chosen, "linux,usable-memory-range", &len);
	if (prop && (len <= 0 || len % ((ac + sc) * sizeof(__be32)))) {
		*at = RSDMA_CHOSEN_USABLE;
		ret = RSDMA_OWNED_CHOSEN_MALFORMED;
		goto out;
	}
	if (prop) {
		for (i = 0; i < 2 && i * (ac + sc) * (int)sizeof(__be32) < len; i++) {
			b = of_read_number(prop + i * (ac + sc), ac);
			s = of_read_number(prop + i * (ac + sc) + ac, sc);
			start = base;
			last = base + size - 1;
			inside |= s && start >= b && last - b <= s - 1;
		}
		if (!inside) {
			*at = base;
			ret = RSDMA_OWNED_NOT_USABLE;
		}
	}
out:
	of_node_put(chosen);
	return ret;
}

#ifdef CONFIG_ARM64
/*
 * The flattened device tree stays mapped read-only at the FIX_FDT fixmap
 * slots, from the page that holds its start (arch/arm64/mm/fixmap.c:
 * fixmap_remap_fdt()): a loadable module finds every page of it, and the
 * /memreserve/ entries of its header, there. Its physical address itself is
 * __initdata.
 */
static int rsdma_fdt_owner(u64 base, u64 size, u64 *at)
{
	unsigned long va = __fix_to_virt(FIX_FDT), end = __fix_to_virt(FIX_FDT_END);
	const u8 *hdr;
	size_t mapped = 0, off;
	u32 total, rsv;
	phys_addr_t pa;
	u64 b, s;

	for (; va < end; va += PAGE_SIZE, mapped += PAGE_SIZE) {
		if (!rsdma_kva_to_phys(va, &pa))
			break;
		if (rsdma_overlaps(base, size, pa, PAGE_SIZE)) {
			*at = pa;
			return RSDMA_OWNED_DTB;
		}
	}
	/*
	 * The header sits at an 8-byte aligned offset of the first page, and
	 * the mapping ends with the last page of the blob: a candidate's
	 * totalsize ends in that page. Every candidate's entries are read: a
	 * header the host planted before the real one, with an empty map,
	 * must not hide the real one's.
	 */
	for (off = 0; mapped && off < PAGE_SIZE; off += 8) {
		hdr = (const u8 *)__fix_to_virt(FIX_FDT) + off;
		if (get_unaligned_be32(hdr) != 0xd00dfeed)
			continue;
		total = get_unaligned_be32(hdr + 4);
		if (total < 40 || off + total > mapped || off + total <= mapped - PAGE_SIZE)
			continue;
		rsv = get_unaligned_be32(hdr + 16);
		for (; rsv <= total - 16 && rsv >= 40; rsv += 16) {
			b = get_unaligned_be64(hdr + rsv);
			s = get_unaligned_be64(hdr + rsv + 8);
			if (!b && !s)
				break;
			if (rsdma_overlaps(base, size, b, s)) {
				*at = b;
				return RSDMA_OWNED_MEMRESERVE;
			}
		}
	}
	return RSDMA_OWNED_NONE;
}
#endif

/*
 * Whether memory of [base, base + size) belongs to someone else, as the
 * running kernel sees it: what /chosen names, the DTB and its /memreserve/
 * entries (above). No page may be the kernel image's. A page of RAM
 * (pfn_valid) of a mapped region must
 * be reserved (PG_reserved: never handed to the page allocator, as an initrd
 * freed after boot or a CMA area is) and in the linear map; a no-map
 * region's pages must all be out of it (else its nomap marking failed at
 * boot: it overlapped a reservation made before it). Pages that are not RAM
 * belong to no allocator.
 */
int rsdma_range_owner(u64 base, u64 size, bool no_map, u64 *at)
{
	unsigned long pfn;
	int owner = rsdma_chosen_owner(base, size, at);

	if (owner != RSDMA_OWNED_NONE)
		return owner;
#ifdef CONFIG_ARM64
	owner = rsdma_fdt_owner(base, size, at);
	if (owner != RSDMA_OWNED_NONE)
		return owner;
#endif

	for (pfn = PHYS_PFN(base); pfn < PHYS_PFN(base + size); pfn++) {
		*at = PFN_PHYS(pfn);
		if (!pfn_valid(pfn))
			continue;
		if (rsdma_pfn_is_kernel_image(pfn))
			return RSDMA_OWNED_KERNEL_IMAGE;
#ifdef CONFIG_ARM64
		if (no_map && pfn_is_map_memory(pfn))
			return RSDMA_OWNED_NOMAP_NOT_TAKEN;
		if (!no_map && !pfn_is_map_memory(pfn))
			return RSDMA_OWNED_OTHER_NOMAP;
#endif
		if (!no_map && !PageReserved(pfn_to_page(pfn)))
			return RSDMA_OWNED_PAGE_IN_USE;
	}
	return RSDMA_OWNED_NONE;
}
struct rsdma_buffer rsdma_sg_buffer(struct scatterlist *sg)
{
	return rsdma_page_phys(sg_page(sg), sg->offset, sg->length);
}
unsigned int rsdma_sg_len(struct scatterlist *sg) { return sg->length; }

void rsdma_sg_set_dma(struct scatterlist *sg, dma_addr_t addr, unsigned int len)
{
	sg_dma_address(sg) = addr;
	sg_dma_len(sg) = len;
}

dma_addr_t rsdma_sg_dma_address(struct scatterlist *sg) { return sg_dma_address(sg); }
unsigned int rsdma_sg_dma_len(struct scatterlist *sg) { return sg_dma_len(sg); }
unsigned int rsdma_cpu(void) { return raw_smp_processor_id(); }
unsigned int rsdma_nr_cpu_ids(void) { return nr_cpu_ids; }
void rsdma_spin_lock_init(spinlock_t *lock) { spin_lock_init(lock); }

/*
 * The same, in a lockdep class of its own: lockdep tells lock classes apart
 * by where spin_lock_init() is written, and a lock taken outside the pool's
 * area locks (a region's holders) must not look like one of them.
 */
void rsdma_spin_lock_init_outer(spinlock_t *lock) { spin_lock_init(lock); }

unsigned long rsdma_spin_lock_irqsave(spinlock_t *lock)
{
	unsigned long flags;

	spin_lock_irqsave(lock, flags);
	return flags;
}

void rsdma_spin_unlock_irqrestore(spinlock_t *lock, unsigned long flags)
{
	spin_unlock_irqrestore(lock, flags);
}

bool rsdma_ratelimit(void)
{
	static DEFINE_RATELIMIT_STATE(rs, DEFAULT_RATELIMIT_INTERVAL, DEFAULT_RATELIMIT_BURST);

	return __ratelimit(&rs);
}

/*
 * Waits until no task can still be inside, or about to enter, a callback we
 * just unhooked (see sys/virtio.rs). RCU Tasks waits for every task to pass a
 * voluntary context switch, which covers one preempted between loading the
 * callback's address and running it; without preemption, a task in that
 * window cannot be scheduled out at all, and synchronize_rcu() (what
 * synchronize_rcu_tasks() is then) waits for every CPU to schedule.
 */
#if defined(MODULE) && defined(CONFIG_PREEMPTION) && !defined(CONFIG_TASKS_RCU)
#error "unloading restricted_dma safely on a preemptible kernel needs CONFIG_TASKS_RCU (FORCE_TASKS_RCU)"
#endif
void rsdma_wait_for_callers(void)
{
	synchronize_rcu_tasks();
}

void rsdma_kmemleak_not_leak(const void *ptr) { kmemleak_not_leak(ptr); }

/*
 * Adds property @name = @value to @np for good: the property outlives the
 * module (it is how a region left mapped at unload stays refused until
 * reboot), so it is allocated here and never freed.
 */
int rsdma_of_mark(struct device_node *np, const char *name, const char *value)
{
	struct property *prop = kzalloc(sizeof(*prop), GFP_KERNEL);
	int ret;

	if (!prop)
		return -ENOMEM;
	prop->name = kstrdup(name, GFP_KERNEL);
	prop->value = kstrdup(value, GFP_KERNEL);
	prop->length = value ? strlen(value) + 1 : 0;
	if (!prop->name || !prop->value) {
		kfree(prop->name);
		kfree(prop->value);
		kfree(prop);
		return -ENOMEM;
	}
	ret = of_add_property(np, prop);
	if (ret) {
		kfree(prop->name);
		kfree(prop->value);
		kfree(prop);
	}
	return ret;
}

/*
 * A reference on this module, so that it cannot be unloaded (delete_module
 * answers -EWOULDBLOCK). Built in, THIS_MODULE is NULL: always taken, and
 * the module never goes anyway.
 */
bool rsdma_module_pin(void) { return try_module_get(THIS_MODULE); }
void rsdma_module_unpin(void) { module_put(THIS_MODULE); }

/*
 * One deferred task (sys/work.rs): a static work item that runs the function
 * set last. Kicking it is safe in any context; flushing it, at unload, waits
 * for a run in progress, so that none outlives the module's text.
 */
static void (*rsdma_deferred_fn)(void);

static void rsdma_deferred_run(struct work_struct *work)
{
	void (*fn)(void) = READ_ONCE(rsdma_deferred_fn);

	if (fn)
		fn();
}
static DECLARE_WORK(rsdma_deferred, rsdma_deferred_run);

void rsdma_defer_set(void (*fn)(void)) { WRITE_ONCE(rsdma_deferred_fn, fn); }
void rsdma_defer_kick(void) { schedule_work(&rsdma_deferred); }
void rsdma_defer_flush(void) { flush_work(&rsdma_deferred); }

/*
 * The virtio core's memory-access callback, swapped from @old to @new in one
 * atomic step (it returns what was there: @old when the swap happened).
 */
rsdma_mem_acc_fn rsdma_virtio_hook_swap(rsdma_mem_acc_fn old, rsdma_mem_acc_fn new)
{
	return cmpxchg(&virtio_check_mem_acc_cb, old, new);
}

rsdma_mem_acc_fn rsdma_virtio_hook_get(void)
{
	return READ_ONCE(virtio_check_mem_acc_cb);
}

bool rsdma_virtio_has_feature(const struct virtio_device *vdev, unsigned int fbit)
{
	return virtio_has_feature(vdev, fbit);
}

struct device *rsdma_virtio_transport(struct virtio_device *vdev) { return vdev->dev.parent; }
const char *rsdma_virtio_name(struct virtio_device *vdev) { return dev_name(&vdev->dev); }
u32 rsdma_virtio_device_id(const struct virtio_device *vdev) { return vdev->id.device; }

/*
 * Takes @fbit out of the features the driver accepted, as a driver's own
 * validate() does; called before the core writes FEATURES_OK.
 */
void rsdma_virtio_decline_feature(struct virtio_device *vdev, unsigned int fbit)
{
	__virtio_clear_bit(vdev, fbit);
}

/*
 * Whether the device offers a shared memory region (of any of the 256 ids a
 * transport can name) with a length: memory of the host's that the driver
 * would map and use without the DMA API.
 */
bool rsdma_virtio_has_shm(struct virtio_device *vdev)
{
	struct virtio_shm_region region;
	unsigned int id;

	for (id = 0; id < 256; id++)
		if (virtio_get_shm_region(vdev, &region, id) && region.len)
			return true;
	return false;
}

/*
 * Marks [base, base + size) busy in /proc/iomem as @name for as long as the
 * region is claimed, so that nothing else is placed over it later: memory
 * hot-add (a window outside the memory the kernel uses), a driver's
 * request_mem_region(), a PCI BAR. Refused, with what it meets copied into
 * @what (@what_len bytes, truncated) while the walk still sees it, when the
 * window cuts across another resource, when it lies inside anything
 * but RAM ("System RAM" and the "reserved" ranges arm64 records in it), or
 * when it contains anything but such "reserved" ranges: a device's MMIO,
 * or the kernel image ("Kernel code" and "Kernel data" span all of it, the
 * pages no mapping shows included).
 *
 * The tree is read after insert_resource() without resource_lock, which is
 * not exported: our new resource's parent and children are what the insert
 * left, and resources are only added and removed by boot code and hot-plug.
 */
static bool rsdma_iomem_ram(const struct resource *r)
{
	/*
	 * A device's resource is named by its DT node (`reg-names`), which the
	 * host writes: "System RAM" counts only with the flag that arm64 gives
	 * RAM alone. ("reserved" carries no such flag; a window inside a
	 * device's range of that name is still refused by the page checks
	 * unless it is no-map, and then only the guest's own device suffers.)
	 */
	return r->name && ((!strcmp(r->name, "System RAM") && (r->flags & IORESOURCE_SYSRAM)) ||
			   !strcmp(r->name, "reserved"));
}

struct resource *rsdma_iomem_claim(u64 base, u64 size, const char *name, char *what,
				   size_t what_len)
{
	struct resource *res = kzalloc(sizeof(*res), GFP_KERNEL), *r;

	if (!res)
		return ERR_PTR(-ENOMEM);
	res->name = name;
	res->start = base;
	res->end = base + size - 1;
	res->flags = IORESOURCE_MEM | IORESOURCE_BUSY;
	if (insert_resource(&iomem_resource, res)) {
		kfree(res);
		strscpy(what, "a resource in /proc/iomem that it cuts across", what_len);
		return ERR_PTR(-EBUSY);
	}
	for (r = READ_ONCE(res->parent); r && r != &iomem_resource; r = READ_ONCE(r->parent))
		if (!rsdma_iomem_ram(r))
			goto busy;
	for (r = READ_ONCE(res->child); r; r = READ_ONCE(r->sibling))
		if (!rsdma_iomem_ram(r))
			goto busy;
	return res;
busy:
	/* Before ours goes: a name is not read after the walk. */
	strscpy(what, r->name ? r->name : "a resource with no name", what_len);
	release_resource(res);
	kfree(res);
	return ERR_PTR(-EBUSY);
}

void rsdma_iomem_release(struct resource *res)
{
	release_resource(res);
	kfree(res);
}

/*
 * Shares @pages pages at the linear-map address @vaddr with the host one page
 * at a time (pKVM makes one hypercall a page anyway). If page k fails, the k
 * pages before it are made private again and *@failed_at is k: a partial
 * share leaves nothing shared. A page that cannot be made private again
 * stays shared; the error says so (-EIO) and the caller must never reuse
 * the region.
 */
int rsdma_share_pages(unsigned long vaddr, int pages, int *failed_at)
{
	int i, ret, undo = 0;

	for (i = 0; i < pages; i++) {
		ret = set_memory_decrypted(vaddr + i * PAGE_SIZE, 1);
		if (ret) {
			*failed_at = i;
			while (i--)
				undo |= set_memory_encrypted(vaddr + i * PAGE_SIZE, 1);
			return undo ? -EIO : ret;
		}
	}
	return 0;
}

/* Makes them private again; the first error, having tried every page. */
int rsdma_unshare_pages(unsigned long vaddr, int pages)
{
	int i, ret = 0;

	for (i = 0; i < pages; i++) {
		int r = set_memory_encrypted(vaddr + i * PAGE_SIZE, 1);

		ret = ret ?: r;
	}
	return ret;
}

/* How many references @dev has: 1 means only the caller's. */
unsigned int rsdma_device_refs(struct device *dev) { return kref_read(&dev->kobj.kref); }

/*
 * Waits until no CPU or task can still be inside one of our DMA ops or
 * deferred work: every op that started before our last table change has
 * returned (ops run with preemption off, in interrupts, or in tasks that
 * RCU Tasks waits for), and the work it kicked has run.
 */
void rsdma_quiesce(void)
{
	synchronize_rcu();
	synchronize_rcu_tasks();
	flush_work(&rsdma_deferred);
}

/*
 * Devices of ours on the platform bus: the gate and the wall. A DT node can
 * make a platform device of any name, so ours are told apart by what no DT
 * node has: no OF node, and platform data that is this cookie. They are
 * made with automatic ids, so that a device a DT names like ours does not
 * even take the name.
 */
struct rsdma_own_device {
	char magic[24];
};
static const struct rsdma_own_device rsdma_cookie = { .magic = "restricted_dma's own" };

static bool rsdma_is_own(const struct device *dev)
{
	return dev_is_platform(dev) && !dev->of_node && !dev_fwnode(dev) && dev->platform_data &&
	       !memcmp(dev->platform_data, &rsdma_cookie, sizeof(rsdma_cookie));
}

/*
 * The name first: rsdma_is_own() compares the cookie's size of any platform
 * data, and only a device of one of our names may be assumed to have that much.
 */
static int rsdma_match_own(struct device *dev, const void *name)
{
	return dev_is_platform(dev) && !strcmp(to_platform_device(dev)->name, name) &&
	       rsdma_is_own(dev);
}

/* Ours named @name, found where an earlier load left it, or made; referenced. */
static struct device *rsdma_own_device(const char *name)
{
	struct platform_device *pdev;
	struct device *dev = bus_find_device(&platform_bus_type, NULL, name, rsdma_match_own);

	if (dev)
		return dev;
	pdev = platform_device_register_data(NULL, name, PLATFORM_DEVID_AUTO,
					     &rsdma_cookie, sizeof(rsdma_cookie));
	if (IS_ERR(pdev))
		return ERR_CAST(pdev);
	return get_device(&pdev->dev);
}

/*
 * The wall: a device no driver ever binds. A device linked to it as a
 * consumer never probes (really_probe() defers it, "supplier ... not
 * ready"), whichever driver, and whether or not the module is loaded: what
 * restricted_dma refuses outright.
 */
struct device *rsdma_wall_get(void) { return rsdma_own_device("restricted_dma_wall"); }

#ifdef MODULE
/*
 * The gate (sys/gate.rs): a device of ours that outlives the module (its
 * release is the driver core's) and a driver of ours bound to it while the
 * module is loaded. No one can bind or unbind it by hand.
 */
#define RSDMA_GATE_NAME "restricted_dma_gate"

/* Only ours: a device a DT named like the gate is not the gate. */
static int rsdma_gate_probe(struct platform_device *pdev)
{
	return rsdma_is_own(&pdev->dev) ? 0 : -ENODEV;
}

static struct platform_driver rsdma_gate_driver = {
	.probe = rsdma_gate_probe,
	.driver = {
		.name = RSDMA_GATE_NAME,
		.suppress_bind_attrs = true,
		/* Bound before rsdma_gate_open() returns, even with async_probe=1. */
		.probe_type = PROBE_FORCE_SYNCHRONOUS,
	},
};

struct device *rsdma_gate_get(void) { return rsdma_own_device(RSDMA_GATE_NAME); }

/* Binds our driver to @gate; -EBUSY if ours is not what bound it. */
int rsdma_gate_open(struct device *gate)
{
	int ret = platform_driver_register(&rsdma_gate_driver);

	if (ret)
		return ret;
	if (READ_ONCE(gate->driver) != &rsdma_gate_driver.driver) {
		platform_driver_unregister(&rsdma_gate_driver);
		return -EBUSY;
	}
	return 0;
}

/* Unbinds it: the driver core unbinds the gate's consumers first. */
void rsdma_gate_close(void) { platform_driver_unregister(&rsdma_gate_driver); }
#endif

/*
 * Makes @dev a consumer of @supplier, the gate or the wall (a managed link,
 * kept until either device goes; asking again returns the link there is).
 * NULL means no memory, or a dependency loop, which a device named in the
 * DT and our own devices cannot form.
 */
int rsdma_link_to(struct device *dev, struct device *supplier)
{
	return device_link_add(dev, supplier, 0) ? 0 : -ENOMEM;
}

/*
 * sysfs (rust/sys/sysfs.rs). Attributes made at run time need a lockdep key
 * of their own; the macro declares one static key for all of ours.
 */
void rsdma_sysfs_attr_init(struct attribute *attr) { sysfs_attr_init(attr); }

/* A device of our class, its files given as groups so that they exist
 * before its uevent announces it; device_create is variadic. */
struct device *rsdma_device_create(const struct class *cls, void *drvdata,
				   const struct attribute_group **groups,
				   const char *name)
{
	return device_create_with_groups(cls, NULL, MKDEV(0, 0), drvdata,
					 groups, "%s", name);
}

void *rsdma_dev_get_drvdata(const struct device *dev) { return dev_get_drvdata(dev); }
