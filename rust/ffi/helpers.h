/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One-line C helpers for what Rust cannot call directly: static inline
 * functions and macros (no symbol to link against). Each is in helpers.c.
 *
 * Everything here is named rsdma_ (RSDMA_ for constants): built in, these
 * are global symbols, and rdma_ belongs to the RDMA subsystem.
 */
#ifndef RSDMA_HELPERS_H
#define RSDMA_HELPERS_H

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

struct device_node *rsdma_of_node_get(struct device_node *np);
bool rsdma_of_node_is_type(const struct device_node *np, const char *type);
void rsdma_of_node_put(struct device_node *np);
struct device_node *rsdma_of_parse_phandle(const struct device_node *np,
					   const char *name, int index);
const char *rsdma_dev_name(const struct device *dev);
bool rsdma_dev_is_dma_coherent(struct device *dev);
void rsdma_install_dma_ops(struct device *dev, const struct dma_map_ops *ops);
void rsdma_remove_dma_ops(struct device *dev);
void rsdma_users_set(struct device *dev, const struct dma_map_ops *ops);
void rsdma_users_clear(struct device *dev);
bool rsdma_users_has(struct device *dev);
long rsdma_users_of(const struct dma_map_ops *a, const struct dma_map_ops *b);
const struct dma_map_ops *rsdma_get_dma_ops(struct device *dev);
bool rsdma_dev_iommu_mapped(struct device *dev);
struct device_node *rsdma_dev_of_node(struct device *dev);
struct device *rsdma_dev_parent(struct device *dev);
struct device_node *rsdma_dma_config_node(struct device *dev);
bool rsdma_dev_is_pci(struct device *dev);
const struct bus_type *rsdma_dev_bus(struct device *dev);
bool rsdma_dev_is_pci_bridge(struct device *dev);
bool rsdma_dev_hosts_pci(struct device *dev);
const struct bus_type *rsdma_pci_bus_type(void);
const struct bus_type *rsdma_amba_bus_type(void);
bool rsdma_dev_is_bound(struct device *dev);
bool rsdma_driver_is_sticky(struct device *dev);
void rsdma_device_lock(struct device *dev);
void rsdma_device_unlock(struct device *dev);
bool rsdma_dma_span(struct device *dev, phys_addr_t base, u64 size, u64 *first, u64 *last);

dma_addr_t rsdma_phys_to_dma(struct device *dev, phys_addr_t paddr);
phys_addr_t rsdma_page_to_phys(struct page *page);
void *rsdma_phys_to_virt(phys_addr_t paddr);
unsigned long rsdma_linear_offset(void);
bool rsdma_sharing_hook(void);
struct page *rsdma_virt_to_page(const void *vaddr);
/* What rsdma_page_phys() tells of a buffer, returned in two registers. */
enum rsdma_buf_state {
	RSDMA_BUF_NONE, /* no buffer: no page, or its address wraps */
	RSDMA_BUF_LINEAR, /* RAM in the linear map */
	RSDMA_BUF_NOT_LINEAR,
};
struct rsdma_buffer {
	phys_addr_t phys;
	unsigned long state; /* enum rsdma_buf_state, a whole register */
};
struct rsdma_buffer rsdma_page_phys(struct page *page, unsigned long offset, size_t len);
struct rsdma_buffer rsdma_sg_buffer(struct scatterlist *sg);
unsigned int rsdma_sg_len(struct scatterlist *sg);
void rsdma_sg_set_dma(struct scatterlist *sg, dma_addr_t addr, unsigned int len);
dma_addr_t rsdma_sg_dma_address(struct scatterlist *sg);
unsigned int rsdma_sg_dma_len(struct scatterlist *sg);
unsigned int rsdma_cpu(void);
unsigned int rsdma_nr_cpu_ids(void);
void rsdma_spin_lock_init(spinlock_t *lock);
void rsdma_spin_lock_init_outer(spinlock_t *lock);
unsigned long rsdma_spin_lock_irqsave(spinlock_t *lock);
void rsdma_spin_unlock_irqrestore(spinlock_t *lock, unsigned long flags);
bool rsdma_ratelimit(void);
void rsdma_wait_for_callers(void);
void rsdma_kmemleak_not_leak(const void *ptr);
int rsdma_of_mark(struct device_node *np, const char *name, const char *value);
bool rsdma_module_pin(void);
void rsdma_module_unpin(void);
void rsdma_defer_set(void (*fn)(void));
void rsdma_defer_kick(void);
void rsdma_defer_flush(void);
typedef bool (*rsdma_mem_acc_fn)(struct virtio_device *);
rsdma_mem_acc_fn rsdma_virtio_hook_swap(rsdma_mem_acc_fn old, rsdma_mem_acc_fn new);
rsdma_mem_acc_fn rsdma_virtio_hook_get(void);
bool rsdma_virtio_has_feature(const struct virtio_device *vdev, unsigned int fbit);
struct device *rsdma_virtio_transport(struct virtio_device *vdev);
const char *rsdma_virtio_name(struct virtio_device *vdev);
u32 rsdma_virtio_device_id(const struct virtio_device *vdev);
void rsdma_virtio_decline_feature(struct virtio_device *vdev, unsigned int fbit);
bool rsdma_virtio_has_shm(struct virtio_device *vdev);

/*
 * Who else owns memory of a region (RSDMA_OWNED_NONE: nobody), and where:
 * rsdma_range_owner() as the running kernel sees it; early.c fills the same
 * into rsdma_node_facts from what only early boot knows.
 */
enum rsdma_owned {
	RSDMA_OWNED_NONE,
	RSDMA_OWNED_KERNEL_IMAGE,	/* _text.._end */
	RSDMA_OWNED_INITRD,		/* the initrd (early) */
	RSDMA_OWNED_DTB,			/* the flattened device tree (early) */
	RSDMA_OWNED_MEMRESERVE,		/* a /memreserve/ entry (early) */
	RSDMA_OWNED_PAGE_IN_USE,		/* a page of RAM that is not reserved */
	RSDMA_OWNED_NOMAP_NOT_TAKEN,	/* no-map, but the page is in the linear map */
	RSDMA_OWNED_OTHER_NOMAP,		/* mapped, but the page is no-map memory */
	RSDMA_OWNED_IMA_BUFFER,		/* /chosen linux,ima-kexec-buffer (freed late) */
	RSDMA_OWNED_ELFCOREHDR,		/* /chosen linux,elfcorehdr (read by kdump) */
	RSDMA_OWNED_NOT_USABLE,		/* outside /chosen linux,usable-memory-range */
	RSDMA_OWNED_EFI,			/* /chosen's EFI memory map or system table */
	RSDMA_OWNED_CHOSEN_MALFORMED,	/* a /chosen range property of another length;
					 * at: which (enum rsdma_chosen_range) */
	RSDMA_OWNED_CHOSEN_UNREADABLE,	/* /chosen cannot be read as the kernel
					 * reads it; at: why (enum rsdma_chosen_unreadable) */
};

/* Why /chosen cannot be read as the kernel reads it. */
enum rsdma_chosen_unreadable {
	RSDMA_CHOSEN_TWIN,		/* another root child is named chosen (@...) */
	RSDMA_CHOSEN_CELLS,		/* the root's cells are not 1 or 2 */
};

/* The /chosen properties that name one or more ranges of memory. */
enum rsdma_chosen_range {
	RSDMA_CHOSEN_IMA_BUFFER,	/* linux,ima-kexec-buffer */
	RSDMA_CHOSEN_ELFCOREHDR,	/* linux,elfcorehdr */
	RSDMA_CHOSEN_USABLE,		/* linux,usable-memory-range */
};
/*
 * The first two, of one (address, size) pair each, and whose memory each
 * names; the EFI memory map's and system table's (address, size or NULL).
 */
#define RSDMA_CHOSEN_PAIRS 2
#define RSDMA_CHOSEN_EFI 4
extern const char *const rsdma_chosen_pairs[RSDMA_CHOSEN_PAIRS];
extern const int rsdma_chosen_pair_owners[RSDMA_CHOSEN_PAIRS];
extern const char *const rsdma_chosen_efi[RSDMA_CHOSEN_EFI][2];
bool rsdma_efi_range(int i, const void *start, int start_len, const void *size, int size_len,
		     u64 *base, u64 *len);
int rsdma_range_owner(u64 base, u64 size, bool no_map, u64 *at);
bool rsdma_root_child_ambiguous(const char *name);
struct device_node *rsdma_node_describing(u64 base, u64 size);
int rsdma_of_reg(struct device_node *np, int index, u64 *base, u64 *size);

/*
 * early.c: what only a built-in restricted_dma has. The facts of a
 * /reserved-memory node as the early handler reads them from the flat tree
 * (rust/region.rs's NodeFacts), and what that handler made of a node
 * (1 accepted, 0 rejected, -1 not seen, 2 another handler owns it).
 */
struct rsdma_node_facts {
	bool has_reg, more_ranges, size_prop, reusable, cma_default, dma_default, no_map;
	bool placed_at_boot;	/* a restricted-dma-pool the drop-in may place */
	u64 reg_base, reg_size, reserved_base, reserved_size;
	int owned;	/* enum rsdma_owned, at owned_at */
	u64 owned_at;
};
int rsdma_early_verdict(struct device_node *np);

/* What early.c calls on the Rust side (rust/builtin.rs defines RSDMA_EARLY). */
struct rsdma_early_ops {
	int (*check)(const struct rsdma_node_facts *facts, const char *name);
	int (*start)(void);
	void (*fail_closed)(int err);
	int (*device_init)(u64 base, struct device *dev);
	void (*recheck)(void);
};

struct resource;
struct resource *rsdma_iomem_claim(u64 base, u64 size, const char *name, char *what,
				   size_t what_len);
void rsdma_iomem_release(struct resource *res);
int rsdma_share_pages(unsigned long vaddr, int pages, int *failed_at);
int rsdma_unshare_pages(unsigned long vaddr, int pages);
unsigned int rsdma_device_refs(struct device *dev);
void rsdma_quiesce(void);

struct device *rsdma_gate_get(void);
int rsdma_gate_open(struct device *gate);
void rsdma_gate_close(void);
int rsdma_link_to(struct device *dev, struct device *supplier);
struct device *rsdma_wall_get(void);

struct attribute;
struct attribute_group;
struct class;
void rsdma_sysfs_attr_init(struct attribute *attr);
struct device *rsdma_device_create(const struct class *cls, void *drvdata,
				   const struct attribute_group **groups,
				   const char *name);
void *rsdma_dev_get_drvdata(const struct device *dev);

/* The trace events (trace.h, trace.c): which op an event reports. */
enum rsdma_trace_event {
	RSDMA_TRACE_MAP,
	RSDMA_TRACE_UNMAP,
	RSDMA_TRACE_SYNC_FOR_CPU,
	RSDMA_TRACE_SYNC_FOR_DEVICE,
	RSDMA_TRACE_ALLOC,
	RSDMA_TRACE_FREE,
};
/* How many of the events are enabled now. */
extern atomic_t rsdma_trace_users;
void rsdma_trace_op(enum rsdma_trace_event event, struct device *dev, const char *region,
		    u64 dma, size_t size, int dir, unsigned int used, unsigned int nslots);
void rsdma_trace_fail(struct device *dev, const char *region, const char *op, size_t op_len,
		      u64 dma, size_t size, int dir, const char *why, size_t why_len,
		      unsigned int used, unsigned int nslots);

#endif /* RSDMA_HELPERS_H */
