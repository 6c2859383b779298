// SPDX-License-Identifier: GPL-2.0
/*
 * What only a built-in restricted_dma has: an early boot.
 *
 * Built in (CONFIG_RESTRICTED_DMA=y), restricted_dma is the reserved-memory
 * handler of "restricted-dma-region" nodes: unflatten_device_tree() calls
 * rsdma_rmem_init() for each while the kernel still runs on memblock, and
 * the node is judged there, by the same rules as a loadable module applies
 * at load (rust/region.rs), with the same messages. Then the module starts
 * at arch_initcall: before drivers register (most at device_initcall, some
 * at subsys_initcall), so that every device behind a region gets its pool
 * from its first probe.
 * And of_reserved_mem_device_init() works for any driver that calls it.
 *
 * A loadable module (MODULE) has none of this: it claims the regions and
 * starts watching the buses when it loads, and protects devices from then
 * on. rsdma_early_verdict() is all it keeps: "not seen", or "another handler
 * owns the node" (a built-in handler of another of its compatibles).
 */
#include <linux/init.h>
#include <linux/initrd.h>
#include <linux/libfdt.h>
#include <linux/memblock.h>
#include <linux/of.h>
#include <linux/of_fdt.h>
#include <linux/of_reserved_mem.h>
#include <linux/panic.h>
#include <linux/string.h>
#include <asm/sections.h>
#include <asm/setup.h>

#include "helpers.h"

#ifndef MODULE

/* The Rust side: defined in rust/builtin.rs, built by rust/sys/builtin.rs. */
extern const struct rsdma_early_ops RSDMA_EARLY;

static int rsdma_rmem_device_init(struct reserved_mem *rmem, struct device *dev)
{
	return RSDMA_EARLY.device_init(rmem->base, dev);
}

/*
 * Nothing to do: a device on the platform or PCI bus loses our ops when the
 * driver core has released everything its driver held (the bus notifiers),
 * which is later than a driver's release of its reserved memory; a device
 * on another bus keeps them, bouncing or refusing, for as long as it lives
 * (built in, the module never goes).
 */
static void rsdma_rmem_device_release(struct reserved_mem *rmem, struct device *dev)
{
}

static const struct reserved_mem_ops rsdma_rmem_ops = {
	.device_init = rsdma_rmem_device_init,
	.device_release = rsdma_rmem_device_release,
};

static bool __init flat_has(unsigned long node, const char *name)
{
	return of_get_flat_dt_prop(node, name, NULL);
}

/* Whether [base, base + size) meets [b, b + s); @b and @s come from the host. */
static bool __init overlaps(u64 base, u64 size, u64 b, u64 s)
{
	u64 b_last = b + s - 1 < b ? U64_MAX : b + s - 1;

	return size && s && base <= b_last && b <= base + size - 1;
}

/* helpers.c's rsdma_root_child_ambiguous(), on the flat tree. */
static bool __init rsdma_early_root_child_ambiguous(const char *name)
{
	const void *fdt = initial_boot_params;
	size_t len = strlen(name);
	bool odd = false;
	int node, n = 0;

	if (!fdt)
		return false;
	fdt_for_each_subnode(node, fdt, 0) {
		const char *s = fdt_get_name(fdt, node, NULL);

		if (!s || strncmp(s, name, len) || (s[len] && s[len] != '@'))
			continue;
		n++;
		odd |= s[len] == '@';
	}
	return n > 1 || odd;
}

/*
 * What /chosen says of memory (helpers.c's rsdma_chosen_owner() on the live
 * tree, the same rules): ranges the kernel reads or frees later, and the
 * only ranges a crash kernel may use.
 */
static int __init rsdma_early_chosen_owner(u64 base, u64 size, u64 *at)
{
	int node = of_get_flat_dt_subnode_by_name(of_get_flat_dt_root(), "chosen");
	int t_len = (dt_root_addr_cells + dt_root_size_cells) * sizeof(__be32);
	const __be32 *prop, *end;
	bool inside = false;
	int len, i;
	u64 b, s;

	if (rsdma_early_root_child_ambiguous("chosen")) {
		*at = RSDMA_CHOSEN_TWIN;
		return RSDMA_OWNED_CHOSEN_UNREADABLE;
	}
	if (node < 0)
		return RSDMA_OWNED_NONE;
	if (dt_root_addr_cells < 1 || dt_root_addr_cells > 2 ||
	    dt_root_size_cells < 1 || dt_root_size_cells > 2) {
		*at = RSDMA_CHOSEN_CELLS;
		return RSDMA_OWNED_CHOSEN_UNREADABLE;
	}
	for (i = 0; i < ARRAY_SIZE(rsdma_chosen_pairs); i++) {
		prop = of_get_flat_dt_prop(node, rsdma_chosen_pairs[i], &len);
		if (!prop)
			continue;
		if (len != t_len) {
			*at = i;
			return RSDMA_OWNED_CHOSEN_MALFORMED;
		}
		b = dt_mem_next_cell(dt_root_addr_cells, &prop);
		s = dt_mem_next_cell(dt_root_size_cells, &prop);
		if (overlaps(base, size, b, s)) {
			*at = b;
			return rsdma_chosen_pair_owners[i];
		}
	}
	for (i = 0; i < ARRAY_SIZE(rsdma_chosen_efi); i++) {
		const void *start = of_get_flat_dt_prop(node, rsdma_chosen_efi[i][0], &len), *sz = NULL;
		int sz_len = 0;

		if (rsdma_chosen_efi[i][1])
			sz = of_get_flat_dt_prop(node, rsdma_chosen_efi[i][1], &sz_len);
		if (rsdma_efi_range(i, start, len, sz, sz_len, &b, &s) && overlaps(base, size, b, s)) {
			*at = b;
			return RSDMA_OWNED_EFI;
		}
	}
	/* The kernel uses the first two ranges (MAX_USABLE_RANGES). */
	prop = of_get_flat_dt_prop(node, "linux,usable-memory-range", &len);
	if (!prop)
		return RSDMA_OWNED_NONE;
	if (len <= 0 || len % t_len) {
		*at = RSDMA_CHOSEN_USABLE;
		return RSDMA_OWNED_CHOSEN_MALFORMED;
	}
	end = prop + len / sizeof(__be32);
	for (i = 0; i < 2 && prop < end; i++) {
		b = dt_mem_next_cell(dt_root_addr_cells, &prop);
		s = dt_mem_next_cell(dt_root_size_cells, &prop);
		inside |= s && base >= b && base + size - 1 - b <= s - 1;
	}
	if (inside)
		return RSDMA_OWNED_NONE;
	*at = base;
	return RSDMA_OWNED_NOT_USABLE;
}

/*
 * What only early boot can see of [base, base + size): the kernel image,
 * the initrd (freed to the page allocator later), the DTB, /memreserve/
 * entries, and whether a no-map region's nomap marking took (it does not
 * when the range overlapped a reservation made before it).
 */
static int __init rsdma_early_owner(u64 base, u64 size, bool no_map, u64 *at)
{
	u64 b, s;
	int n;

	*at = __pa_symbol(_text);
	if (overlaps(base, size, *at, __pa_symbol(_end) - *at))
		return RSDMA_OWNED_KERNEL_IMAGE;
#ifdef CONFIG_BLK_DEV_INITRD
	*at = phys_initrd_start;
	if (overlaps(base, size, phys_initrd_start, phys_initrd_size))
		return RSDMA_OWNED_INITRD;
#endif
#ifdef CONFIG_ARM64
	*at = __fdt_pointer;
	if (initial_boot_params &&
	    overlaps(base, size, __fdt_pointer, fdt_totalsize(initial_boot_params)))
		return RSDMA_OWNED_DTB;
#endif
	for (n = 0; initial_boot_params; n++) {
		fdt_get_mem_rsv(initial_boot_params, n, &b, &s);
		if (!s)
			break;
		*at = b;
		if (overlaps(base, size, b, s))
			return RSDMA_OWNED_MEMRESERVE;
	}
	for (b = base; no_map && b < base + size; b += PAGE_SIZE) {
		*at = b;
		if (memblock_is_memory(b) && memblock_is_map_memory(b))
			return RSDMA_OWNED_NOMAP_NOT_TAKEN;
	}
	return rsdma_early_chosen_owner(base, size, at);
}

/*
 * initcall_blacklist= (init/main.c) skips initcalls by name, and the host
 * writes the command line: naming one of ours would leave every device
 * behind a region to probe on dma-direct (no start: no listener, no virtio
 * rule, no refusing ops; no recheck: a window the kernel freed into stays
 * shared), and nothing of ours would run to refuse them. The boot stops at
 * the first region instead: a host can always stop its guest, but must not
 * unconfine it. An entry that contains one of our names anywhere counts:
 * the kernel compares each entry with the symbol its initcall table names,
 * which is ours, ours with a suffix the compiler may give a local symbol
 * (".llvm.N"), or, under LTO, a stub named around ours
 * ("__initstub__kmod_..._rsdma_builtin_init3"). A name the kernel would not
 * match only stops a boot that a host could stop anyway.
 *
 * Not seen here: an initcall_blacklist that a bootconfig in the initrd
 * carries (CONFIG_BOOT_CONFIG), which the kernel parses after every early
 * parameter. See the Kconfig help.
 */
static const char *const rsdma_initcalls[] __initconst = {
	"rsdma_builtin_init", "rsdma_builtin_recheck",
};
static const char *rsdma_blacklisted __initdata;

static int __init rsdma_blacklist_setup(char *list)
{
	size_t i, n;

	for (; list && *list; list += n + !!list[n]) {
		n = strcspn(list, ",");
		for (i = 0; i < ARRAY_SIZE(rsdma_initcalls); i++)
			if (strnstr(list, rsdma_initcalls[i], n))
				rsdma_blacklisted = rsdma_initcalls[i];
	}
	return 0;
}
early_param("initcall_blacklist", rsdma_blacklist_setup);

static int __init rsdma_rmem_init(struct reserved_mem *rmem)
{
	int t_len = (dt_root_addr_cells + dt_root_size_cells) * sizeof(__be32);
	unsigned long node = rmem->fdt_node;
	struct rsdma_node_facts f = {
		.size_prop = flat_has(node, "size"),
		.reusable = flat_has(node, "reusable"),
		.cma_default = flat_has(node, "linux,cma-default"),
		.dma_default = flat_has(node, "linux,dma-default"),
		.no_map = flat_has(node, "no-map"),
		.placed_at_boot = !of_flat_dt_is_compatible(node, "restricted-dma-region"),
		.reserved_base = rmem->base,
		.reserved_size = rmem->size,
	};
	const __be32 *reg;
	int len;

	/* Both names are the host's: escaped, as the module's Rust prints are. */
	if (rsdma_blacklisted)
		panic("restricted_dma: initcall_blacklist names %*pE: the devices behind %*pE would run unrestricted",
		      (int)strlen(rsdma_blacklisted), rsdma_blacklisted,
		      (int)strlen(rmem->name), rmem->name);
	reg = of_get_flat_dt_prop(node, "reg", &len);
	if (reg && len >= t_len) {
		f.has_reg = true;
		f.reg_base = dt_mem_next_cell(dt_root_addr_cells, &reg);
		f.reg_size = dt_mem_next_cell(dt_root_size_cells, &reg);
		f.more_ranges = len > t_len;
	}
	f.owned = rsdma_early_owner(rmem->base, rmem->size, f.no_map, &f.owned_at);
	/*
	 * A rejected node answers -ENOENT, as if no handler knew it: with any
	 * other error fdt_init_reserved_mem_node() frees the range to the page
	 * allocator, and a window the host can see would then hold any kernel
	 * data. The range stays reserved and unused instead.
	 */
	if (RSDMA_EARLY.check(&f, rmem->name))
		return -ENOENT;
	rmem->ops = &rsdma_rmem_ops;
	return 0;
}
RESERVEDMEM_OF_DECLARE(restricted_dma, "restricted-dma-region", rsdma_rmem_init);
/*
 * Without mainline's pool, the nodes VMMs write for it are ours too (the
 * drop-in, rust/region.rs DROP_IN), from early boot: the boot code has
 * placed a dynamic one (size, alignment, alloc-ranges) before it calls us.
 */
#ifndef CONFIG_DMA_RESTRICTED_POOL
RESERVEDMEM_OF_DECLARE(restricted_dma_pool, "restricted-dma-pool", rsdma_rmem_init);
#endif

/*
 * For the selftests' kernels only (CONFIG_RESTRICTED_DMA_TEST_HOOKS, which
 * no production config sets: the host writes the command line):
 * "restricted_dma.test_fail_start" makes the start fail as an allocation
 * failure would, to show that no device behind a region then runs
 * unrestricted.
 */
static bool rsdma_test_fail_start __initdata;

#ifdef CONFIG_RESTRICTED_DMA_TEST_HOOKS
static int __init rsdma_test_fail_start_setup(char *s)
{
	rsdma_test_fail_start = true;
	return 1;
}
__setup("restricted_dma.test_fail_start", rsdma_test_fail_start_setup);
#endif

/*
 * At arch_initcall: the platform bus exists from driver_init(), the PCI bus
 * from postcore_initcall, debugfs from core_initcall; drivers register from
 * then on (most at device_initcall). A failed start must not leave the
 * devices behind a region to probe on dma-direct: fail_closed() refuses
 * them, with nothing to allocate.
 */
static int __init rsdma_builtin_init(void)
{
	int ret = rsdma_test_fail_start ? -ENOMEM : RSDMA_EARLY.start();

	if (ret)
		RSDMA_EARLY.fail_closed(ret);
	return ret;
}
arch_initcall(rsdma_builtin_init);

/*
 * After every late_initcall: memory the kernel frees late (IMA's kexec
 * buffer is one, at late_initcall) is in the page allocator by now. Every
 * page of every claimed window is checked again, and a window that lost one
 * is withdrawn: its devices refused, its pages made private again.
 */
static int __init rsdma_builtin_recheck(void)
{
	RSDMA_EARLY.recheck();
	return 0;
}
late_initcall_sync(rsdma_builtin_recheck);

int rsdma_early_verdict(struct device_node *np)
{
	struct reserved_mem *rmem = of_reserved_mem_lookup(np);

	if (!rmem)
		return -1;
	if (rmem->ops && rmem->ops != &rsdma_rmem_ops)
		return 2;
	return rmem->ops == &rsdma_rmem_ops;
}

#else /* MODULE */

/* A loadable module judges every node itself, but one a handler owns. */
int rsdma_early_verdict(struct device_node *np)
{
	struct reserved_mem *rmem = of_reserved_mem_lookup(np);

	return rmem && rmem->ops ? 2 : -1;
}

#endif /* MODULE */
