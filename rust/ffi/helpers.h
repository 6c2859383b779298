/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One-line C helpers for what Rust cannot call directly: static inline
 * functions and macros (no symbol to link against). Each is in helpers.c.
 */
#ifndef RDMA_HELPERS_H
#define RDMA_HELPERS_H

#include <linux/spinlock_types.h>
#include <linux/types.h>

struct bus_type;
struct dentry;
struct device;
struct device_node;
struct dma_map_ops;
struct page;
struct scatterlist;
struct virtio_device;

struct device_node *rdma_of_node_get(struct device_node *np);
bool rdma_of_node_is_type(const struct device_node *np, const char *type);
void rdma_of_node_put(struct device_node *np);
struct device_node *rdma_of_parse_phandle(const struct device_node *np,
					  const char *name, int index);
const char *rdma_dev_name(const struct device *dev);
bool rdma_dev_is_dma_coherent(struct device *dev);
void rdma_install_dma_ops(struct device *dev, const struct dma_map_ops *ops);
void rdma_remove_dma_ops(struct device *dev);
void rdma_users_set(struct device *dev, const struct dma_map_ops *ops);
void rdma_users_clear(struct device *dev);
long rdma_users_of(const struct dma_map_ops *a, const struct dma_map_ops *b);
const struct dma_map_ops *rdma_get_dma_ops(struct device *dev);
bool rdma_dev_iommu_mapped(struct device *dev);
struct device_node *rdma_dev_of_node(struct device *dev);
struct device_node *rdma_dma_config_node(struct device *dev);
bool rdma_dev_is_pci(struct device *dev);
bool rdma_dev_is_platform(struct device *dev);
bool rdma_dev_is_pci_bridge(struct device *dev);
const struct bus_type *rdma_pci_bus_type(void);
bool rdma_dev_is_bound(struct device *dev);
bool rdma_driver_is_sticky(struct device *dev);
void rdma_device_lock(struct device *dev);
void rdma_device_unlock(struct device *dev);
phys_addr_t rdma_dma_to_phys(struct device *dev, dma_addr_t daddr);
bool rdma_dma_span(struct device *dev, phys_addr_t base, u64 size, u64 *first, u64 *last);

/* What a device asks of the DMA addresses of a region at @base. */
struct rdma_dma_constraints {
	u64 dma_offset;
	u64 min_align_mask;
	u64 seg_boundary;
	u64 dma_limit;
};
void rdma_dma_constraints(struct device *dev, phys_addr_t base, bool coherent,
			  struct rdma_dma_constraints *out);
phys_addr_t rdma_page_to_phys(struct page *page);
void *rdma_phys_to_virt(phys_addr_t paddr);
bool rdma_phys_in_linear_map(phys_addr_t paddr, size_t len);
struct page *rdma_virt_to_page(const void *vaddr);
phys_addr_t rdma_sg_phys(struct scatterlist *sg);
unsigned int rdma_sg_len(struct scatterlist *sg);
void rdma_sg_set_dma(struct scatterlist *sg, dma_addr_t addr, unsigned int len);
dma_addr_t rdma_sg_dma_address(struct scatterlist *sg);
unsigned int rdma_sg_dma_len(struct scatterlist *sg);
unsigned int rdma_cpu(void);
unsigned int rdma_nr_cpu_ids(void);
void rdma_spin_lock_init(spinlock_t *lock);
void rdma_spin_lock_init_outer(spinlock_t *lock);
unsigned long rdma_spin_lock_irqsave(spinlock_t *lock);
void rdma_spin_unlock_irqrestore(spinlock_t *lock, unsigned long flags);
bool rdma_ratelimit(void);
void rdma_wait_for_callers(void);
void rdma_kmemleak_not_leak(const void *ptr);
int rdma_of_mark(struct device_node *np, const char *name, const char *value);
bool rdma_module_pin(void);
void rdma_module_unpin(void);
void rdma_defer_set(void (*fn)(void));
void rdma_defer_kick(void);
void rdma_defer_flush(void);
typedef bool (*rdma_mem_acc_fn)(struct virtio_device *);
rdma_mem_acc_fn rdma_virtio_hook_swap(rdma_mem_acc_fn old, rdma_mem_acc_fn new);
rdma_mem_acc_fn rdma_virtio_hook_get(void);
bool rdma_virtio_has_feature(const struct virtio_device *vdev, unsigned int fbit);
struct device *rdma_virtio_transport(struct virtio_device *vdev);
const char *rdma_virtio_name(struct virtio_device *vdev);
u32 rdma_virtio_device_id(const struct virtio_device *vdev);
void rdma_virtio_decline_feature(struct virtio_device *vdev, unsigned int fbit);
bool rdma_virtio_has_shm(struct virtio_device *vdev);

/*
 * Who else owns memory of a region (RDMA_OWNED_NONE: nobody), and where:
 * rdma_range_owner() as the running kernel sees it; early.c fills the same
 * into rdma_node_facts from what only early boot knows.
 */
enum rdma_owned {
	RDMA_OWNED_NONE,
	RDMA_OWNED_KERNEL_IMAGE,	/* _text.._end */
	RDMA_OWNED_INITRD,		/* the initrd (early) */
	RDMA_OWNED_DTB,			/* the flattened device tree (early) */
	RDMA_OWNED_MEMRESERVE,		/* a /memreserve/ entry (early) */
	RDMA_OWNED_PAGE_IN_USE,		/* a page of RAM that is not reserved */
	RDMA_OWNED_NOMAP_NOT_TAKEN,	/* no-map, but the page is in the linear map */
	RDMA_OWNED_OTHER_NOMAP,		/* mapped, but the page is no-map memory */
	RDMA_OWNED_IMA_BUFFER,		/* /chosen linux,ima-kexec-buffer (freed late) */
	RDMA_OWNED_ELFCOREHDR,		/* /chosen linux,elfcorehdr (read by kdump) */
	RDMA_OWNED_NOT_USABLE,		/* outside /chosen linux,usable-memory-range */
	RDMA_OWNED_EFI,			/* /chosen's EFI memory map or system table */
};
int rdma_range_owner(u64 base, u64 size, bool no_map, u64 *at);

/*
 * early.c: what only a built-in restricted_dma has. The facts of a
 * /reserved-memory node as the early handler reads them from the flat tree
 * (rust/region.rs's NodeFacts), and what that handler made of a node
 * (1 accepted, 0 rejected, -1 not seen, 2 another handler owns it).
 */
struct rdma_node_facts {
	bool has_reg, more_ranges, size_prop, reusable, cma_default, dma_default, no_map;
	u64 reg_base, reg_size, reserved_base, reserved_size;
	int owned;	/* enum rdma_owned, at owned_at */
	u64 owned_at;
};
int rdma_early_verdict(struct device_node *np);

/* What early.c calls on the Rust side (rust/builtin.rs defines RDMA_EARLY). */
struct rdma_early_ops {
	int (*check)(const struct rdma_node_facts *facts, const char *name);
	int (*start)(void);
	void (*fail_closed)(int err);
	int (*device_init)(u64 base, struct device *dev);
	void (*recheck)(void);
};

struct resource;
struct resource *rdma_iomem_claim(u64 base, u64 size, const char *name, const char **what);
void rdma_iomem_release(struct resource *res);
int rdma_share_pages(unsigned long vaddr, int pages, int *failed_at);
int rdma_unshare_pages(unsigned long vaddr, int pages);
unsigned int rdma_device_refs(struct device *dev);
void rdma_quiesce(void);

struct device *rdma_gate_get(void);
int rdma_gate_open(struct device *gate);
void rdma_gate_close(void);
int rdma_link_to(struct device *dev, struct device *supplier);
struct device *rdma_wall_get(void);

#endif /* RDMA_HELPERS_H */
