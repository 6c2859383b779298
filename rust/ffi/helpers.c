// SPDX-License-Identifier: GPL-2.0
/*
 * C helpers of restricted_dma: each stands in for a static inline function or
 * a macro that Rust cannot call, and does nothing more than that one call.
 */
#include <linux/dma-direct.h>
#include <linux/dma-map-ops.h>
#include <linux/dma-mapping.h>
#include <linux/io.h>
#include <linux/iommu.h>
#include <linux/kmemleak.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/of.h>
#include <linux/pci.h>
#include <linux/platform_device.h>
#include <linux/ratelimit.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/scatterlist.h>
#include <linux/smp.h>
#include <linux/string.h>
#include <linux/spinlock.h>
#include <linux/virtio.h>
#include <linux/virtio_anchor.h>
#include <linux/virtio_config.h>
#include <linux/vmalloc.h>
#include <linux/workqueue.h>

#include "helpers.h"

struct device_node *rdma_of_node_get(struct device_node *np) { return of_node_get(np); }
void rdma_of_node_put(struct device_node *np) { of_node_put(np); }
bool rdma_of_node_is_type(const struct device_node *np, const char *type) { return of_node_is_type(np, type); }

struct device_node *rdma_of_parse_phandle(const struct device_node *np,
					  const char *name, int index)
{
	return of_parse_phandle(np, name, index);
}

const char *rdma_dev_name(const struct device *dev) { return dev_name(dev); }
bool rdma_dev_is_dma_coherent(struct device *dev) { return dev_is_dma_coherent(dev); }

/*
 * Our ops go on before the driver's first DMA call and are what the DMA core
 * must call from then on: a stale dma_skip_sync (left by dma-direct on a
 * coherent device) would skip our syncs, and dma_iommu would send the DMA
 * through the IOMMU around them. dma_skip_sync is recomputed only by
 * dma_set_mask(), which a driver need not call again.
 */
void rdma_install_dma_ops(struct device *dev, const struct dma_map_ops *ops)
{
	set_dma_ops(dev, ops);
	dev->dma_skip_sync = false;
#ifdef CONFIG_IOMMU_DMA
	dev->dma_iommu = false;
#endif
}

/* Back to what the platform gave the device: what iommu_setup_dma_ops() says. */
void rdma_remove_dma_ops(struct device *dev)
{
	set_dma_ops(dev, NULL);
#ifdef CONFIG_IOMMU_DMA
	if (device_iommu_mapped(dev))
		dev->dma_iommu = iommu_is_dma_domain(iommu_get_domain_for_dev(dev));
#endif
}

const struct dma_map_ops *rdma_get_dma_ops(struct device *dev) { return dev->dma_ops; }
bool rdma_dev_iommu_mapped(struct device *dev) { return device_iommu_mapped(dev); }
struct device_node *rdma_dev_of_node(struct device *dev) { return READ_ONCE(dev->of_node); }

/*
 * The DT node that configures @dev's DMA: its own, or for a PCI device its
 * host bridge's parent, the pcie@... node (what pci_dma_configure() passes
 * to of_dma_configure()).
 */
struct device_node *rdma_dma_config_node(struct device *dev)
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

bool rdma_dev_is_pci(struct device *dev) { return dev_is_pci(dev); }
bool rdma_dev_is_platform(struct device *dev) { return dev_is_platform(dev); }

bool rdma_dev_is_pci_bridge(struct device *dev)
{
#ifdef CONFIG_PCI
	return dev_is_pci(dev) && pci_is_bridge(to_pci_dev(dev));
#else
	return false;
#endif
}

const struct bus_type *rdma_pci_bus_type(void)
{
#ifdef CONFIG_PCI
	return &pci_bus_type;
#else
	return NULL;
#endif
}
bool rdma_dev_is_bound(struct device *dev) { return READ_ONCE(dev->driver); }

/* Whether @dev's driver is one that must never be unbound (it says so). */
bool rdma_driver_is_sticky(struct device *dev)
{
	const struct device_driver *drv = READ_ONCE(dev->driver);

	return drv && drv->suppress_bind_attrs;
}
void rdma_device_lock(struct device *dev) { device_lock(dev); }
void rdma_device_unlock(struct device *dev) { device_unlock(dev); }
phys_addr_t rdma_dma_to_phys(struct device *dev, dma_addr_t daddr) { return dma_to_phys(dev, daddr); }

/*
 * The device's DMA addresses of [base, base + size): false unless both ends
 * translate (dma-ranges), the range stays one contiguous run for it, and its
 * offset from the physical addresses is whole pages (the pool's alignment
 * rules assume so).
 */
bool rdma_dma_span(struct device *dev, phys_addr_t base, u64 size, u64 *first, u64 *last)
{
	dma_addr_t a = phys_to_dma(dev, base), b = phys_to_dma(dev, base + size - 1);

	if (!size || a == DMA_MAPPING_ERROR || b == DMA_MAPPING_ERROR || b < a ||
	    b - a != size - 1 || !PAGE_ALIGNED(a - base))
		return false;
	*first = a;
	*last = b;
	return true;
}

void rdma_dma_constraints(struct device *dev, phys_addr_t base, bool coherent,
			  struct rdma_dma_constraints *out)
{
	u64 mask = coherent ? dev->coherent_dma_mask : (dev->dma_mask ? *dev->dma_mask : 0);
	dma_addr_t dma = phys_to_dma(dev, base);

	out->dma_offset = dma - base;
	out->min_align_mask = dma_get_min_align_mask(dev);
	out->seg_boundary = dma_get_seg_boundary(dev);
	/* A base the device cannot reach leaves it nothing (limit 0). */
	out->dma_limit = dma == DMA_MAPPING_ERROR ? 0 : min_not_zero(mask, dev->bus_dma_limit);
}

phys_addr_t rdma_page_to_phys(struct page *page) { return page_to_phys(page); }
void *rdma_phys_to_virt(phys_addr_t paddr) { return phys_to_virt(paddr); }

/*
 * Whether [paddr, paddr + len) is RAM in the linear map, so that
 * phys_to_virt() gives a usable address for it. Checks the first and last
 * page: a DMA buffer is one physically contiguous allocation. On arm64 a
 * no-map region or ZONE_DEVICE memory has a valid pfn but no linear alias,
 * hence pfn_is_map_memory() there.
 */
bool rdma_phys_in_linear_map(phys_addr_t paddr, size_t len)
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
struct page *rdma_virt_to_page(const void *vaddr) { return virt_to_page(vaddr); }

/*
 * Whether @pfn is a page of the kernel image. On arm64 the image is mapped,
 * besides its linear alias, at its physical address + kimage_voffset (the
 * inverse of __pa_symbol()); a page is the image's exactly when that mapping
 * leads back to it. (The names of "Kernel code" and "Kernel data" in
 * /proc/iomem are out of reach: the resource walk stops at System RAM.)
 */
static bool rdma_pfn_is_kernel_image(unsigned long pfn)
{
#ifdef CONFIG_ARM64
	return vmalloc_to_page((void *)(PFN_PHYS(pfn) + kimage_voffset)) == pfn_to_page(pfn);
#else
	return false;
#endif
}

/*
 * Whether memory of [base, base + size) belongs to someone else, as the
 * running kernel sees it. No page may be the kernel image's. A page of RAM
 * (pfn_valid) of a mapped region must
 * be reserved (PG_reserved: never handed to the page allocator, as an initrd
 * freed after boot or a CMA area is) and in the linear map; a no-map
 * region's pages must all be out of it (else its nomap marking failed at
 * boot: it overlapped a reservation made before it). Pages that are not RAM
 * belong to no allocator.
 */
int rdma_range_owner(u64 base, u64 size, bool no_map, u64 *at)
{
	unsigned long pfn;

	for (pfn = PHYS_PFN(base); pfn < PHYS_PFN(base + size); pfn++) {
		*at = PFN_PHYS(pfn);
		if (!pfn_valid(pfn))
			continue;
		if (rdma_pfn_is_kernel_image(pfn))
			return RDMA_OWNED_KERNEL_IMAGE;
#ifdef CONFIG_ARM64
		if (no_map && pfn_is_map_memory(pfn))
			return RDMA_OWNED_NOMAP_NOT_TAKEN;
		if (!no_map && !pfn_is_map_memory(pfn))
			return RDMA_OWNED_OTHER_NOMAP;
#endif
		if (!no_map && !PageReserved(pfn_to_page(pfn)))
			return RDMA_OWNED_PAGE_IN_USE;
	}
	return RDMA_OWNED_NONE;
}
phys_addr_t rdma_sg_phys(struct scatterlist *sg) { return sg_phys(sg); }
unsigned int rdma_sg_len(struct scatterlist *sg) { return sg->length; }

void rdma_sg_set_dma(struct scatterlist *sg, dma_addr_t addr, unsigned int len)
{
	sg_dma_address(sg) = addr;
	sg_dma_len(sg) = len;
}

dma_addr_t rdma_sg_dma_address(struct scatterlist *sg) { return sg_dma_address(sg); }
unsigned int rdma_sg_dma_len(struct scatterlist *sg) { return sg_dma_len(sg); }
unsigned int rdma_cpu(void) { return raw_smp_processor_id(); }
unsigned int rdma_nr_cpu_ids(void) { return nr_cpu_ids; }
void rdma_spin_lock_init(spinlock_t *lock) { spin_lock_init(lock); }

/*
 * The same, in a lockdep class of its own: lockdep tells lock classes apart
 * by where spin_lock_init() is written, and a lock taken outside the pool's
 * area locks (a region's holders) must not look like one of them.
 */
void rdma_spin_lock_init_outer(spinlock_t *lock) { spin_lock_init(lock); }

unsigned long rdma_spin_lock_irqsave(spinlock_t *lock)
{
	unsigned long flags;

	spin_lock_irqsave(lock, flags);
	return flags;
}

void rdma_spin_unlock_irqrestore(spinlock_t *lock, unsigned long flags)
{
	spin_unlock_irqrestore(lock, flags);
}

bool rdma_ratelimit(void)
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
void rdma_wait_for_callers(void)
{
	synchronize_rcu_tasks();
}

void rdma_kmemleak_not_leak(const void *ptr) { kmemleak_not_leak(ptr); }

/*
 * Adds property @name = @value to @np for good: the property outlives the
 * module (it is how a region left mapped at unload stays refused until
 * reboot), so it is allocated here and never freed.
 */
int rdma_of_mark(struct device_node *np, const char *name, const char *value)
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
bool rdma_module_pin(void) { return try_module_get(THIS_MODULE); }
void rdma_module_unpin(void) { module_put(THIS_MODULE); }

/*
 * One deferred task (sys/work.rs): a static work item that runs the function
 * set last. Kicking it is safe in any context; flushing it, at unload, waits
 * for a run in progress, so that none outlives the module's text.
 */
static void (*rdma_deferred_fn)(void);

static void rdma_deferred_run(struct work_struct *work)
{
	void (*fn)(void) = READ_ONCE(rdma_deferred_fn);

	if (fn)
		fn();
}
static DECLARE_WORK(rdma_deferred, rdma_deferred_run);

void rdma_defer_set(void (*fn)(void)) { WRITE_ONCE(rdma_deferred_fn, fn); }
void rdma_defer_kick(void) { schedule_work(&rdma_deferred); }
void rdma_defer_flush(void) { flush_work(&rdma_deferred); }

/*
 * The virtio core's memory-access callback, swapped from @old to @new in one
 * atomic step (it returns what was there: @old when the swap happened).
 */
rdma_mem_acc_fn rdma_virtio_hook_swap(rdma_mem_acc_fn old, rdma_mem_acc_fn new)
{
	return cmpxchg(&virtio_check_mem_acc_cb, old, new);
}

rdma_mem_acc_fn rdma_virtio_hook_get(void)
{
	return READ_ONCE(virtio_check_mem_acc_cb);
}

bool rdma_virtio_has_feature(const struct virtio_device *vdev, unsigned int fbit)
{
	return virtio_has_feature(vdev, fbit);
}

struct device *rdma_virtio_transport(struct virtio_device *vdev) { return vdev->dev.parent; }
const char *rdma_virtio_name(struct virtio_device *vdev) { return dev_name(&vdev->dev); }
u32 rdma_virtio_device_id(const struct virtio_device *vdev) { return vdev->id.device; }

/*
 * Takes @fbit out of the features the driver accepted, as a driver's own
 * validate() does; called before the core writes FEATURES_OK.
 */
void rdma_virtio_decline_feature(struct virtio_device *vdev, unsigned int fbit)
{
	__virtio_clear_bit(vdev, fbit);
}

/*
 * Whether the device offers a shared memory region (of any of the 256 ids a
 * transport can name) with a length: memory of the host's that the driver
 * would map and use without the DMA API.
 */
bool rdma_virtio_has_shm(struct virtio_device *vdev)
{
	struct virtio_shm_region region;
	unsigned int id;

	for (id = 0; id < 256; id++)
		if (virtio_get_shm_region(vdev, &region, id) && region.len)
			return true;
	return false;
}

#ifdef MODULE
/*
 * The gate (sys/gate.rs): a platform device that outlives the module (its
 * release is the driver core's) and a driver of ours bound to it while the
 * module is loaded. No one can bind or unbind it by hand.
 */
#define RDMA_GATE_NAME "restricted_dma_gate"

static int rdma_gate_probe(struct platform_device *pdev) { return 0; }

static struct platform_driver rdma_gate_driver = {
	.probe = rdma_gate_probe,
	.driver = {
		.name = RDMA_GATE_NAME,
		.suppress_bind_attrs = true,
		/* Bound before rdma_gate_open() returns, even with async_probe=1. */
		.probe_type = PROBE_FORCE_SYNCHRONOUS,
	},
};

/* The gate device, found where an earlier load left it, or made; referenced. */
struct device *rdma_gate_get(void)
{
	struct platform_device *pdev;
	struct device *gate;

	gate = bus_find_device_by_name(&platform_bus_type, NULL, RDMA_GATE_NAME);
	if (gate)
		return gate;
	pdev = platform_device_register_simple(RDMA_GATE_NAME, PLATFORM_DEVID_NONE, NULL, 0);
	if (IS_ERR(pdev))
		return ERR_CAST(pdev);
	return get_device(&pdev->dev);
}

/* Binds our driver to @gate; -EBUSY if it did not bind (a driver_override?). */
int rdma_gate_open(struct device *gate)
{
	int ret = platform_driver_register(&rdma_gate_driver);

	if (ret)
		return ret;
	if (!READ_ONCE(gate->driver)) {
		platform_driver_unregister(&rdma_gate_driver);
		return -EBUSY;
	}
	return 0;
}

/* Unbinds it: the driver core unbinds the gate's consumers first. */
void rdma_gate_close(void) { platform_driver_unregister(&rdma_gate_driver); }

/*
 * Makes @dev a consumer of @gate (a managed link, kept until either device
 * goes; asking again returns the link there is). NULL means no memory, or a
 * dependency loop, which a device named in the DT and the gate cannot form.
 */
int rdma_gate_link(struct device *dev, struct device *gate)
{
	return device_link_add(dev, gate, 0) ? 0 : -ENOMEM;
}
#endif
