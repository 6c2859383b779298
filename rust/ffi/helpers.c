// SPDX-License-Identifier: GPL-2.0
/*
 * C helpers of restricted_dma: each stands in for a static inline function or
 * a macro that Rust cannot call, and does nothing more than that one call.
 */
#include <linux/debugfs.h>
#include <linux/dma-direct.h>
#include <linux/dma-map-ops.h>
#include <linux/dma-mapping.h>
#include <linux/io.h>
#include <linux/mm.h>
#include <linux/of.h>
#include <linux/ratelimit.h>
#include <linux/scatterlist.h>
#include <linux/seq_file.h>
#include <linux/smp.h>
#include <linux/string.h>
#include <linux/spinlock.h>
#include <linux/virtio.h>
#include <linux/virtio_config.h>

#include "helpers.h"

struct device_node *rdma_of_node_get(struct device_node *np) { return of_node_get(np); }
void rdma_of_node_put(struct device_node *np) { of_node_put(np); }

struct device_node *rdma_of_parse_phandle(const struct device_node *np,
					  const char *name, int index)
{
	return of_parse_phandle(np, name, index);
}

const char *rdma_dev_name(const struct device *dev) { return dev_name(dev); }
bool rdma_dev_is_dma_coherent(struct device *dev) { return dev_is_dma_coherent(dev); }

int rdma_set_driver_override(struct device *dev, const char *name)
{
	return device_set_driver_override(dev, name);
}

bool rdma_driver_override_is(struct device *dev, const char *name)
{
	guard(spinlock)(&dev->driver_override.lock);
	return dev->driver_override.name && !strcmp(dev->driver_override.name, name);
}

void rdma_set_dma_ops(struct device *dev, const struct dma_map_ops *ops)
{
	set_dma_ops(dev, ops);
}

const struct dma_map_ops *rdma_get_dma_ops(struct device *dev) { return dev->dma_ops; }
u64 rdma_phys_to_dma(struct device *dev, phys_addr_t paddr) { return phys_to_dma(dev, paddr); }
phys_addr_t rdma_dma_to_phys(struct device *dev, dma_addr_t daddr) { return dma_to_phys(dev, daddr); }
u64 rdma_dma_min_align_mask(struct device *dev) { return dma_get_min_align_mask(dev); }
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
	return pfn_is_map_memory(PHYS_PFN(paddr)) && pfn_is_map_memory(PHYS_PFN(last));
#else
	return pfn_valid(PHYS_PFN(paddr)) && pfn_valid(PHYS_PFN(last)) &&
	       !PageHighMem(pfn_to_page(PHYS_PFN(paddr))) &&
	       !PageHighMem(pfn_to_page(PHYS_PFN(last)));
#endif
}
struct page *rdma_virt_to_page(const void *vaddr) { return virt_to_page(vaddr); }
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

bool rdma_virtio_has_feature(const struct virtio_device *vdev, unsigned int fbit)
{
	return virtio_has_feature(vdev, fbit);
}

struct device *rdma_virtio_transport(struct virtio_device *vdev) { return vdev->dev.parent; }
const char *rdma_virtio_name(struct virtio_device *vdev) { return dev_name(&vdev->dev); }

/*
 * debugfs: one file_operations per file index, so that a file needs no
 * allocation of its own to remember which value it shows.
 */
#define RDMA_FILE(n)								\
static int rdma_f##n##_show(struct seq_file *m, void *v)			\
{										\
	rdma_debugfs_show(m, m->private, n);					\
	return 0;								\
}										\
DEFINE_SHOW_ATTRIBUTE(rdma_f##n)

RDMA_FILE(0); RDMA_FILE(1); RDMA_FILE(2); RDMA_FILE(3);
RDMA_FILE(4); RDMA_FILE(5); RDMA_FILE(6); RDMA_FILE(7);
RDMA_FILE(8); RDMA_FILE(9); RDMA_FILE(10); RDMA_FILE(11);
RDMA_FILE(12); RDMA_FILE(13); RDMA_FILE(14); RDMA_FILE(15);
RDMA_FILE(16); RDMA_FILE(17); RDMA_FILE(18); RDMA_FILE(19);
RDMA_FILE(20); RDMA_FILE(21); RDMA_FILE(22); RDMA_FILE(23);

#define F(n) &rdma_f##n##_fops
static const struct file_operations *const rdma_text_fops[RDMA_DEBUGFS_MAX_FILES] = {
	F(0), F(1), F(2), F(3), F(4), F(5), F(6), F(7),
	F(8), F(9), F(10), F(11), F(12), F(13), F(14), F(15),
	F(16), F(17), F(18), F(19), F(20), F(21), F(22), F(23),
};
#undef F

struct dentry *rdma_debugfs_text(const char *name, struct dentry *parent,
				 void *data, unsigned int which)
{
	if (which >= RDMA_DEBUGFS_MAX_FILES)
		return ERR_PTR(-EINVAL);
	return debugfs_create_file(name, 0444, parent, data, rdma_text_fops[which]);
}
