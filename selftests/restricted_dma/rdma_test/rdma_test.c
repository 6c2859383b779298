// SPDX-License-Identifier: GPL-2.0
/*
 * rdma_test: a companion driver for restricted_dma's kselftests.
 *
 * restricted_dma must keep a device on its pool from the first DMA call of
 * its driver to the last, and must keep the DMA API's promises while doing
 * so. The paths where that can go wrong are the ones real drivers take and
 * a virtio device rarely does: devm allocations released after a failed or
 * deferred probe, remove() freeing with dmam_*, a device deleted while
 * bound, order-aligned coherent blocks, dma_alloc_pages() with its syncs,
 * narrow masks, and plain misuse. This driver takes each of them on command,
 * so that a shell test can check what restricted_dma did about it.
 *
 * Devices: "rdma_test.N" is a platform device made by this module for the DT
 * node /rdma-test-N (a node without a compatible, so that nothing else binds
 * it; or rdma-test-N on a bus node whose dma-ranges it takes). Such a node
 * names a region in memory-region and is dma-coherent, like a restricted
 * virtio-mmio transport. The driver "rdma_test" binds them. The driver
 * "rdma_test_amba" binds the AMBA devices of /rdma-amba@... nodes (see
 * rdma_test_amba_probe()).
 *
 * debugfs, /sys/kernel/debug/rdma_test/:
 *   probe    how the next probes end: ok (the default), nomask (ok, without
 *            calling dma_set_mask), enodev, defer, pool (ok, after taking
 *            the second entry of memory-region as its own coherent pool with
 *            of_reserved_mem_device_init_by_idx()), large (ok, after one
 *            map of 512 KiB, more than any mapping of a pool may be: a
 *            driver whose largest request its region cannot hold), or nodma
 *            (ok at once, with no DMA: a parent's driver that only makes
 *            devices below it). Every other probe first
 *            allocates 16 KiB with dmam_alloc_coherent(); the failing ones
 *            then return their error, leaving the block to devres.
 *   cmd      one command per write; the write fails with the command's errno
 *            when a check fails, and `result` says what was seen:
 *              add N | del N        create | delete rdma_test.N (del works
 *                                   on a bound device: deletion while bound)
 *              window N LO SIZE     the DMA window device N must stay in
 *              coherent N           1..64-page coherent blocks: in the window,
 *                                   aligned to their order, zeroed
 *              dmapool N            a dma_pool of N's, as NVMe's and the USB
 *                                   host controllers' drivers keep: a free
 *                                   block shows no kernel address, and
 *                                   neither a host that rewrites free
 *                                   blocks nor a double free changes what
 *                                   dma_pool_alloc() gives next
 *              pages N              dma_alloc_pages() and
 *                                   dma_alloc_noncontiguous() with their syncs
 *              masks N              maps and allocations beyond a narrow
 *                                   dma_mask, coherent mask and bus limit
 *                                   fail; dma_set_mask() below the window
 *                                   fails, 64 bits works; required mask
 *              misuse N             double unmap, wrong size, wrong
 *                                   direction, sync past the end
 *              nopage N             a map of a NULL page fails
 *              stale N M            N's stale unmap and sync of an address
 *                                   M's mapping has now (both on one
 *                                   region): refused, M's mapping stays
 *                                   M's, bytes and all
 *              fresh N              a bounce buffer never shows a previous
 *                                   mapping's bytes
 *              sync N               sync_for_cpu copies what the device wrote
 *              taint N              mark unbound device N as if dma-direct
 *                                   had let it skip syncs (dma_skip_sync)
 *              incoherent N         at N's next bind, make it non-coherent
 *                                   and set its dma_iommu after
 *                                   dma_configure() and before
 *                                   restricted_dma hears of the bind (a
 *                                   bus notifier of the highest priority):
 *                                   a device its region cannot serve any
 *                                   more, as one found behind an IOMMU
 *                                   at a later bind would be. The last
 *                                   listener logs whether dma_iommu is
 *                                   still set as the probe begins
 *              leak N               map a page and never unmap it
 *              hold N SIZE          keep SIZE bytes of N's pool mapped, in
 *                                   64 KiB mappings, until release N
 *              fill N               hold N's pool to its last slot (64 KiB
 *                                   mappings, then 2 KiB ones), until release N
 *              release N            unmap what hold N and fill N keep
 *              keep N               allocate 16 KiB coherent outside devres,
 *                                   and keep it (and a reference on the
 *                                   device) past unbind and deletion, as
 *                                   videobuf2 or DRM GEM objects are kept
 *              drop N               free what keep N holds, whatever has
 *                                   happened to the device since
 *              sticky N             create rdma_test.N for the driver
 *                                   "rdma_test_sticky", which, like many
 *                                   built-in drivers, must never be unbound
 *                                   (suppress_bind_attrs)
 *              async N              create rdma_test.N for the driver
 *                                   "rdma_test_async", which probes
 *                                   asynchronously
 *              register             register "rdma_test_async"
 *              unregister           unregister it
 *              copy N               add rdma_test_copy.N below bound device
 *                                   N with N's DMA ops pointer, as
 *                                   remoteproc_virtio.c does
 *              copymap N            map and unmap a page on it: result
 *                                   "mapped at ADDR" or "refused"
 *              uncopy N             delete it
 *              child N              add platform device rdma_test_child.N
 *                                   below bound device N, no DT node, no
 *                                   ops given: its driver's probe allocates
 *                                   coherent and logs where, or "refused"
 *              hook                 stand in front of the virtio core's
 *                                   memory-access callback, as another module
 *                                   would, calling the one it replaced
 *              unhook               put the replaced callback back
 *              ref N | unref N      hold | put a reference on device N,
 *                                   and nothing of its pool (a deleted
 *                                   device someone still holds)
 *              mark N DIR           map a page full of "RECEIVE!" in
 *                                   direction DIR on N and keep it mapped,
 *                                   for the host to look for in the window
 *              unmark N             unmap it
 *              sgmark N OK          dma_map_sg() for the device to read, on
 *                                   N: a page full of "SGMARKED", then a
 *                                   page (OK 1: mapped, and kept so until
 *                                   unsgmark N) or a block larger than any
 *                                   mapping may be (OK 0: the list must
 *                                   fail), for the host to look for the
 *                                   marker in the window
 *              unsgmark N           unmap it
 *              dress BDF HDR CLASS  unbind PCI function BDF, give it header
 *                                   type HDR and class CLASS (0: its own),
 *                                   bind it again: what a host can put in
 *                                   config space
 *              undress              its own header and class back, bound
 *                                   again
 *              dresskeep | dressdrop  keep N and drop N for the dressed
 *                                   function
 *              late N               try what a driver that outlives its
 *                                   binding does: allocate and map on N,
 *                                   bound or not; fails if anything is
 *                                   handed out outside the window
 *              reserved LO SIZE     every page of LO..LO+SIZE is still a
 *                                   reserved page (none reached the page
 *                                   allocator)
 *              memcpy PAGES         time 1000 memcpy() of PAGES pages
 *                                   between two buffers: result
 *                                   "memcpy pages=P ns=TOTAL iters=1000"
 *                                   (under -icount, instructions: the copy
 *                                   a bounce pool cannot avoid)
 *              memset PAGES         the same for memset() to zero: the
 *                                   fill a receive buffer's slots cannot
 *                                   avoid; result "memset pages=P ..."
 *              cost PAGES DIR DEV   map and unmap PAGES pages in direction
 *                                   DIR (0 bidirectional, 1 to the device,
 *                                   2 from it) on platform device DEV,
 *                                   8 MiB / (PAGES pages) times, each timed
 *                                   alone as dma_map_benchmark does, with
 *                                   interrupts off: result "cost pages=P dir=D
 *                                   map_ns=TOTAL unmap_ns=TOTAL iters=N"
 *                                   (under -icount, exact instructions)
 *   result   the text of the last command
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/amba/bus.h>
#include <linux/debugfs.h>
#include <linux/dma-direct.h>
#include <linux/dma-map-ops.h>
#include <linux/dma-mapping.h>
#include <linux/dmapool.h>
#include <linux/io.h>
#include <linux/kmemleak.h>
#include <linux/ktime.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/of.h>
#include <linux/of_reserved_mem.h>
#include <linux/pci.h>
#include <linux/platform_device.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/virtio.h>
#include <linux/virtio_anchor.h>

#define MAX_DEVS 8
#define PROBE_BLOCK SZ_16K

enum probe_mode { PROBE_OK, PROBE_NOMASK, PROBE_ENODEV, PROBE_DEFER, PROBE_POOL, PROBE_LARGE,
		  PROBE_NODMA };
static const char *const probe_names[] = { "ok", "nomask", "enodev", "defer", "pool", "large",
					   "nodma" };
#define PROBE_LARGE_SIZE SZ_512K

/* What a probed device holds: a block from dmam_alloc_coherent(). */
struct rdma_test_priv {
	void *cpu;
	dma_addr_t dma;
};

static DEFINE_MUTEX(lock); /* everything below, and command execution */
static enum probe_mode probe_mode = PROBE_OK;
static struct platform_device *devs[MAX_DEVS];
static struct { u64 lo, size; } window[MAX_DEVS];
static char result[512];
static struct dentry *dir;

static __printf(1, 2) void say(const char *fmt, ...)
{
	va_list ap;
	size_t n = strlen(result);

	va_start(ap, fmt);
	vsnprintf(result + n, sizeof(result) - n, fmt, ap);
	va_end(ap);
}

/* ---- the driver ---- */

static int rdma_test_probe(struct platform_device *pdev)
{
	struct device *dev = &pdev->dev;
	enum probe_mode mode = READ_ONCE(probe_mode);
	struct rdma_test_priv *priv;

	priv = devm_kzalloc(dev, sizeof(*priv), GFP_KERNEL);
	if (!priv)
		return -ENOMEM;
	platform_set_drvdata(pdev, priv);
	/* What a parent's driver that only makes devices below it does. */
	if (mode == PROBE_NODMA) {
		dev_info(dev, "probe (nodma): no DMA\n");
		return 0;
	}
	/*
	 * A driver with a pool of its own needs no mask for it: with the
	 * refusing ops a mask would fail the probe before the pool is taken.
	 */
	if (mode != PROBE_NOMASK && mode != PROBE_POOL) {
		int ret = dma_set_mask_and_coherent(dev, DMA_BIT_MASK(64));

		if (ret)
			return ret;
	}
	/*
	 * What a driver with a pool of its own does: the second entry of its
	 * memory-region (a shared-dma-pool) serves its coherent allocations
	 * from then on (dev->dma_mem), before any DMA ops are asked.
	 */
	if (mode == PROBE_POOL) {
		int ret = of_reserved_mem_device_init_by_idx(dev, dev->of_node, 1);

		dev_info(dev, "probe (pool): its second memory-region: %d\n", ret);
	}
	priv->cpu = dmam_alloc_coherent(dev, PROBE_BLOCK, &priv->dma, GFP_KERNEL);
	if (!priv->cpu)
		return -ENOMEM;
	dev_info(dev, "probe (%s): 16 KiB coherent at %pad\n", probe_names[mode], &priv->dma);
	if (mode == PROBE_LARGE) {
		struct page *page = alloc_pages(GFP_KERNEL | __GFP_ZERO,
						get_order(PROBE_LARGE_SIZE));
		dma_addr_t dma;

		if (!page)
			return -ENOMEM;
		dma = dma_map_page(dev, page, 0, PROBE_LARGE_SIZE, DMA_TO_DEVICE);
		dev_info(dev, "probe (large): a map of 512 KiB %s\n",
			 dma_mapping_error(dev, dma) ? "failed" : "worked");
		if (!dma_mapping_error(dev, dma))
			dma_unmap_page(dev, dma, PROBE_LARGE_SIZE, DMA_TO_DEVICE);
		__free_pages(page, get_order(PROBE_LARGE_SIZE));
	}
	if (mode == PROBE_ENODEV)
		return -ENODEV;
	if (mode == PROBE_DEFER)
		return -EPROBE_DEFER;
	return 0;
}

static void rdma_test_remove(struct platform_device *pdev)
{
	struct rdma_test_priv *priv = platform_get_drvdata(pdev);

	/* What drivers do: give a managed block back early, by hand. */
	if (priv->cpu)
		dmam_free_coherent(&pdev->dev, PROBE_BLOCK, priv->cpu, priv->dma);
	dev_info(&pdev->dev, "removed\n");
}

static struct platform_driver rdma_test_driver = {
	.probe = rdma_test_probe,
	.remove_new = rdma_test_remove,
	.driver = { .name = "rdma_test" },
};

/* The same driver under another name, one that must never be unbound. */
static struct platform_driver rdma_test_sticky_driver = {
	.probe = rdma_test_probe,
	.remove_new = rdma_test_remove,
	.driver = { .name = "rdma_test_sticky", .suppress_bind_attrs = true },
};

/*
 * The same driver probing asynchronously, registered on command: its
 * registration matches a device in driver_attach() and probes it later,
 * from the async domain, without matching again (drivers/base/dd.c).
 */
static struct platform_driver rdma_test_async_driver = {
	.probe = rdma_test_probe,
	.remove_new = rdma_test_remove,
	.driver = { .name = "rdma_test_async", .probe_type = PROBE_PREFER_ASYNCHRONOUS },
};
static bool async_registered;

static int cmd_register(void)
{
	int ret = 0;

	if (!async_registered)
		ret = platform_driver_register(&rdma_test_async_driver);
	async_registered = !ret;
	return ret;
}

static int cmd_unregister(void)
{
	if (async_registered)
		platform_driver_unregister(&rdma_test_async_driver);
	async_registered = false;
	return 0;
}

/*
 * A child device with its parent's DMA ops pointer, as remoteproc_virtio.c
 * gives one to its virtio device: the ops' module never installed it.
 */
static struct device *copies[MAX_DEVS];

/*
 * A platform device a driver makes below its own and does DMA on, with no
 * DT node (dwc2's PCI glue makes its "dwc2" so, as MFD cells are made):
 * its probe allocates 4 KiB coherent and says where, or that it could not.
 */
static struct platform_device *children[MAX_DEVS];

static int rdma_test_child_probe(struct platform_device *pdev)
{
	dma_addr_t dma;
	void *cpu = dma_alloc_coherent(&pdev->dev, SZ_4K, &dma, GFP_KERNEL);

	if (!cpu) {
		dev_info(&pdev->dev, "child: coherent refused\n");
		return -ENOMEM;
	}
	dev_info(&pdev->dev, "child: coherent at %pad\n", &dma);
	dma_free_coherent(&pdev->dev, SZ_4K, cpu, dma);
	return 0;
}

static struct platform_driver rdma_test_child_driver = {
	.probe = rdma_test_child_probe,
	.driver = { .name = "rdma_test_child" },
};

/*
 * An ARM PrimeCell whose node names a region (/rdma-amba@...):
 * of_platform_populate() makes it on the AMBA bus, as it makes a PL330 DMA
 * controller, not on the platform bus. Its probe does what such a driver
 * does at probe, with devres: a mask, 16 KiB coherent, a page mapped and
 * unmapped; and says where each went, or what was refused. The ID is the
 * one the harness puts in the node (guests/model.py, AmbaNode.PERIPHID), so
 * that nothing reads the absent registers.
 */
#define RDMA_TEST_AMBA_ID 0x00fff0a7

static int rdma_test_amba_probe(struct amba_device *adev, const struct amba_id *id)
{
	struct device *dev = &adev->dev;
	dma_addr_t dma, map;
	void *buf;
	int ret = dma_set_mask_and_coherent(dev, DMA_BIT_MASK(64));

	if (ret) {
		dev_info(dev, "amba: mask refused (%d)\n", ret);
		return ret;
	}
	if (!dmam_alloc_coherent(dev, PROBE_BLOCK, &dma, GFP_KERNEL)) {
		dev_info(dev, "amba: coherent refused\n");
		return -ENOMEM;
	}
	buf = devm_kzalloc(dev, PAGE_SIZE, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	map = dma_map_single(dev, buf, PAGE_SIZE, DMA_TO_DEVICE);
	if (dma_mapping_error(dev, map)) {
		dev_info(dev, "amba: coherent at %pad, map refused\n", &dma);
		return -EIO;
	}
	dev_info(dev, "amba: coherent at %pad, map at %pad\n", &dma, &map);
	dma_unmap_single(dev, map, PAGE_SIZE, DMA_TO_DEVICE);
	return 0;
}

static const struct amba_id rdma_test_amba_ids[] = {
	{ .id = RDMA_TEST_AMBA_ID, .mask = 0x00ffffff },
	{ 0, 0 },
};

static struct amba_driver rdma_test_amba_driver = {
	.drv = { .name = "rdma_test_amba" },
	.probe = rdma_test_amba_probe,
	.id_table = rdma_test_amba_ids,
};

static void copy_release(struct device *dev)
{
	kfree(dev);
}

static int cmd_copy(unsigned int n);
static int cmd_uncopy(unsigned int n);

/* ---- devices ---- */

static int dev_add_for(unsigned int n, const char *override)
{
	struct platform_device *pdev;
	struct device_node *np;
	char path[32];
	int ret;

	if (devs[n])
		return -EEXIST;
	snprintf(path, sizeof(path), "/rdma-test-%u", n);
	np = of_find_node_by_path(path);
	/* Or on a bus of its own, for dma-ranges of its own. */
	if (!np)
		np = of_find_node_by_name(NULL, path + 1);
	if (!np) {
		say("no DT node %s", path);
		return -ENOENT;
	}
	pdev = platform_device_alloc("rdma_test", n);
	if (!pdev) {
		of_node_put(np);
		return -ENOMEM;
	}
	/* The reference from of_find_node_by_path() goes with the device. */
	device_set_node(&pdev->dev, of_fwnode_handle(np));
	if (override) {
		ret = device_set_driver_override(&pdev->dev, override);
		if (ret) {
			platform_device_put(pdev);
			return ret;
		}
	}
	ret = platform_device_add(pdev);
	if (ret) {
		platform_device_put(pdev);
		return ret;
	}
	devs[n] = pdev;
	return 0;
}

static int dev_add(unsigned int n)
{
	return dev_add_for(n, NULL);
}

/* The device `incoherent` makes non-coherent at its next bind, if any. */
static struct device *incoherent_dev;

static void child_del(unsigned int n);

static void dev_del(unsigned int n)
{
	cmd_uncopy(n);
	child_del(n);
	if (devs[n]) {
		cmpxchg(&incoherent_dev, &devs[n]->dev, NULL);
		platform_device_unregister(devs[n]);
	}
	devs[n] = NULL;
}

/* Device N, bound to our driver (some commands also take it unbound). */
static struct device *bound(unsigned int n)
{
	struct device *dev;

	if (n >= MAX_DEVS || !devs[n]) {
		say("no device %u", n);
		return NULL;
	}
	dev = &devs[n]->dev;
	if (!dev->driver) {
		say("%s is not bound", dev_name(dev));
		return NULL;
	}
	return dev;
}

static bool in_window(unsigned int n, dma_addr_t dma, size_t size)
{
	return window[n].size && dma >= window[n].lo && size <= window[n].size &&
	       dma - window[n].lo <= window[n].size - size;
}

/* The CPU's view of the bounce buffer at @dma, as the device would see it. */
static void *device_view(struct device *dev, dma_addr_t dma)
{
	phys_addr_t phys = dma_to_phys(dev, dma);

	return pfn_is_map_memory(PHYS_PFN(phys)) ? phys_to_virt(phys) : NULL;
}

/* ---- commands ---- */

static int cmd_coherent(unsigned int n)
{
	struct device *dev = bound(n);
	unsigned int pages;

	if (!dev)
		return -ENODEV;
	for (pages = 1; pages <= 64; pages++) {
		size_t size = pages * PAGE_SIZE;
		u64 align = (PAGE_SIZE << get_order(size)) - 1;
		dma_addr_t dma;
		u8 *cpu = dma_alloc_coherent(dev, size, &dma, GFP_KERNEL);
		int err = 0;

		if (!cpu) {
			say("%u pages: allocation failed", pages);
			return -ENOMEM;
		}
		if (dma & align) {
			say("%u pages at %pad: not aligned to %llu bytes", pages, &dma, align + 1);
			err = -EFAULT;
		} else if (!in_window(n, dma, size)) {
			say("%u pages at %pad: outside the window", pages, &dma);
			err = -EFAULT;
		} else if (memchr_inv(cpu, 0, size)) {
			say("%u pages at %pad: not zeroed", pages, &dma);
			err = -EFAULT;
		}
		memset(cpu, 0xa5, size);
		dma_free_coherent(dev, size, cpu, dma);
		if (err)
			return err;
	}
	say("1..64 pages: in the window, order-aligned, zeroed");
	return 0;
}

/* Where a host that rewrites a free dma_pool block points its next one. */
static u8 dmapool_decoy[64] __aligned(64);

static int cmd_dmapool(unsigned int n)
{
	struct device *dev = bound(n);
	struct {
		u8 *cpu;
		dma_addr_t dma;
	} b[2], got[2] = {};
	struct {
		void *next;
		dma_addr_t dma;
	} forged = { dmapool_decoy, 0 };
	struct dma_pool *pool;
	int i, j, err = 0;

	if (!dev)
		return -ENODEV;
	pool = dma_pool_create("rdma_test", dev, sizeof(dmapool_decoy), 64, 0);
	if (!pool)
		return -ENOMEM;
	for (i = 0; i < 2; i++) {
		b[i].cpu = dma_pool_alloc(pool, GFP_KERNEL, &b[i].dma);
		if (!b[i].cpu) {
			say("dma_pool_alloc failed");
			while (i--)
				dma_pool_free(pool, b[i].cpu, b[i].dma);
			dma_pool_destroy(pool);
			return -ENOMEM;
		}
		if (!in_window(n, b[i].dma, sizeof(dmapool_decoy))) {
			say("a block at %pad: outside the window; ", &b[i].dma);
			err = -EFAULT;
		}
		memset(b[i].cpu, 0x5a, sizeof(dmapool_decoy));
	}
	dma_pool_free(pool, b[1].cpu, b[1].dma);
	dma_pool_free(pool, b[0].cpu, b[0].dma);
	/* Once more: refused (6.12 listed it twice, to be handed out twice). */
	dma_pool_free(pool, b[0].cpu, b[0].dma);
	/*
	 * What the host reads of a free block: the driver's last bytes (or
	 * init_on_free's zeros), never the pool's bookkeeping: 6.12 keeps its
	 * free list there, the next free block's address and DMA address.
	 */
	for (i = 0; i < 2; i++) {
		if (memchr_inv(b[i].cpu, b[i].cpu[0], sizeof(dmapool_decoy))) {
			say("a free block shows the host more than the driver's bytes; ");
			err = -EFAULT;
			break;
		}
	}
	/* The host, which writes the window when it likes, forges a list. */
	for (i = 0; i < 2; i++)
		memcpy(b[i].cpu, &forged, sizeof(forged));
	for (i = 0; i < 2; i++) {
		const char *what = "a block it had given already";

		got[i].cpu = dma_pool_alloc(pool, GFP_KERNEL, &got[i].dma);
		for (j = 0; j < 2; j++) {
			if (got[i].cpu != b[j].cpu)
				continue;
			if (got[i].dma != b[j].dma)
				what = "a block with the DMA address the host wrote";
			break;
		}
		if (j == 2)
			what = got[i].cpu == dmapool_decoy ? "the address the host wrote" :
							     "a block the pool never had";
		else if (got[i].dma == b[j].dma && (!i || got[1].cpu != got[0].cpu))
			continue;
		/* Not the pool's: never handed back to it. */
		say("after the host rewrote free blocks, dma_pool_alloc gave %s; ", what);
		got[i].cpu = NULL;
		err = -EFAULT;
	}
	/* Wiped: the forged list is a kernel address, for the host to find. */
	for (i = 0; i < 2; i++)
		memset(b[i].cpu, 0x5a, sizeof(forged));
	for (i = 0; i < 2; i++)
		if (got[i].cpu)
			dma_pool_free(pool, got[i].cpu, got[i].dma);
	dma_pool_destroy(pool);
	if (!err)
		say("dma_pool blocks in the window; a free one shows no kernel address; rewriting it and a double free change nothing");
	return err;
}

static int cmd_pages(unsigned int n)
{
	struct device *dev = bound(n);
	size_t size = 4 * PAGE_SIZE;
	struct sg_table *sgt;
	struct page *page;
	dma_addr_t dma;

	if (!dev)
		return -ENODEV;
	page = dma_alloc_pages(dev, size, &dma, DMA_BIDIRECTIONAL, GFP_KERNEL);
	if (!page) {
		say("dma_alloc_pages failed");
		return -ENOMEM;
	}
	if (!in_window(n, dma, size)) {
		say("dma_alloc_pages at %pad: outside the window", &dma);
		dma_free_pages(dev, size, page, dma, DMA_BIDIRECTIONAL);
		return -EFAULT;
	}
	memset(page_address(page), 0x5a, size);
	dma_sync_single_for_device(dev, dma, size, DMA_BIDIRECTIONAL);
	dma_sync_single_for_cpu(dev, dma, size, DMA_BIDIRECTIONAL);
	dma_sync_single_range_for_cpu(dev, dma, PAGE_SIZE, PAGE_SIZE, DMA_BIDIRECTIONAL);
	dma_free_pages(dev, size, page, dma, DMA_BIDIRECTIONAL);

	sgt = dma_alloc_noncontiguous(dev, size, DMA_FROM_DEVICE, GFP_KERNEL, 0);
	if (!sgt) {
		say("dma_alloc_noncontiguous failed");
		return -ENOMEM;
	}
	dma = sg_dma_address(sgt->sgl);
	if (!in_window(n, dma, size)) {
		say("dma_alloc_noncontiguous at %pad: outside the window", &dma);
		dma_free_noncontiguous(dev, size, sgt, DMA_FROM_DEVICE);
		return -EFAULT;
	}
	dma_sync_sgtable_for_device(dev, sgt, DMA_FROM_DEVICE);
	dma_sync_sgtable_for_cpu(dev, sgt, DMA_FROM_DEVICE);
	dma_free_noncontiguous(dev, size, sgt, DMA_FROM_DEVICE);
	say("dma_alloc_pages and dma_alloc_noncontiguous: in the window, synced, freed");
	return 0;
}

/*
 * Maps one page; returns whether the map succeeded (and unmaps it). A map
 * that succeeds must end within @limit.
 */
static bool try_map(struct device *dev, void *buf, u64 limit, int *err)
{
	dma_addr_t dma = dma_map_single_attrs(dev, buf, PAGE_SIZE, DMA_TO_DEVICE,
					      DMA_ATTR_NO_WARN);

	if (dma_mapping_error(dev, dma))
		return false;
	if (dma + PAGE_SIZE - 1 > limit) {
		say("a map at %pad ends past %#llx; ", &dma, limit);
		*err = -EFAULT;
	}
	dma_unmap_single(dev, dma, PAGE_SIZE, DMA_TO_DEVICE);
	return true;
}

static bool try_alloc(struct device *dev, u64 limit, int *err)
{
	dma_addr_t dma;
	void *cpu = dma_alloc_coherent(dev, PAGE_SIZE, &dma, GFP_KERNEL | __GFP_NOWARN);

	if (!cpu)
		return false;
	if (dma + PAGE_SIZE - 1 > limit) {
		say("an allocation at %pad ends past %#llx; ", &dma, limit);
		*err = -EFAULT;
	}
	dma_free_coherent(dev, PAGE_SIZE, cpu, dma);
	return true;
}

static int cmd_masks(unsigned int n)
{
	struct device *dev = bound(n);
	u64 mask, cmask, limit, top, below, half, required;
	int err = 0, i;
	void *buf;

	if (!dev)
		return -ENODEV;
	if (!window[n].size) {
		say("no window set");
		return -EINVAL;
	}
	/* Zeroed: mapped for the device, its old bytes would be the host's. */
	buf = kzalloc(PAGE_SIZE, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	mask = *dev->dma_mask;
	cmask = dev->coherent_dma_mask;
	limit = dev->bus_dma_limit;
	top = window[n].lo + window[n].size - 1;
	/* The widest mask that reaches nothing of the window... */
	below = DMA_BIT_MASK(fls64(window[n].lo) - 1);
	/* ...and one that reaches only its first half. */
	half = window[n].lo + window[n].size / 2 - 1;

	if (!try_map(dev, buf, U64_MAX, &err) || !try_alloc(dev, U64_MAX, &err)) {
		say("a map or allocation fails with the device's own masks; ");
		err = -EIO;
	}
	/* Set the masks directly, past dma_set_mask(): the ops must check. */
	*dev->dma_mask = below;
	if (try_map(dev, buf, below, &err))
		say("a map succeeded with dma_mask %#llx; ", below);
	*dev->dma_mask = half;
	for (i = 0; i < 64; i++)
		try_map(dev, buf, half, &err);
	*dev->dma_mask = mask;
	dev->coherent_dma_mask = below;
	if (try_alloc(dev, below, &err))
		say("an allocation succeeded with coherent_dma_mask %#llx; ", below);
	dev->coherent_dma_mask = half;
	for (i = 0; i < 64; i++)
		try_alloc(dev, half, &err);
	dev->coherent_dma_mask = cmask;
	dev->bus_dma_limit = below;
	if (try_map(dev, buf, below, &err) || try_alloc(dev, below, &err))
		say("a map or allocation succeeded with bus_dma_limit %#llx; ", below);
	dev->bus_dma_limit = limit;
	if (!dma_set_mask(dev, below)) {
		say("dma_set_mask(%#llx) accepted a mask that misses the window; ", below);
		err = -EFAULT;
	}
	if (dma_set_mask(dev, DMA_BIT_MASK(64)) || dma_set_mask(dev, top)) {
		say("dma_set_mask refused a mask that covers the window; ");
		err = -EFAULT;
	}
	if (dma_set_mask(dev, mask))
		err = -EIO;
	required = dma_get_required_mask(dev);
	if (required < top || (required >> 1) >= top) {
		say("required mask %#llx for a window ending at %#llx; ", required, top);
		err = -EFAULT;
	}
	if (!try_map(dev, buf, U64_MAX, &err) || !try_alloc(dev, U64_MAX, &err)) {
		say("a map or allocation fails after the masks were restored; ");
		err = -EIO;
	}
	kfree(buf);
	if (!err)
		say("maps and allocations honour dma_mask, coherent mask and bus limit; dma_set_mask checks the window; required mask %#llx",
		    required);
	return err;
}

static int cmd_misuse(unsigned int n)
{
	struct device *dev = bound(n);
	size_t size = 2 * PAGE_SIZE;
	dma_addr_t dma;
	u8 *buf, *seen;
	int err = 0;

	if (!dev)
		return -ENODEV;
	buf = kzalloc(size, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	dma = dma_map_single(dev, buf, size, DMA_TO_DEVICE);
	if (dma_mapping_error(dev, dma)) {
		kfree(buf);
		say("map failed");
		return -ENOMEM;
	}
	seen = device_view(dev, dma);
	if (seen)
		memset(seen, 0x99, size);
	/* Each of these is a driver bug the ops must refuse (4 unmaps, 2 syncs). */
	pr_info("deliberate DMA API misuse follows\n");
	dma_unmap_single(dev, dma, size - 512, DMA_TO_DEVICE);	/* wrong size */
	dma_unmap_single(dev, dma, size, DMA_FROM_DEVICE);	/* wrong direction */
	/* A refused unmap copies nothing back. */
	if (memchr_inv(buf, 0, size)) {
		say("an unmap with the wrong direction copied the device's bytes back; ");
		err = -EFAULT;
	}
	dma_sync_single_for_cpu(dev, dma + PAGE_SIZE, size, DMA_TO_DEVICE); /* past the end */
	dma_sync_single_for_device(dev, dma, size + 1, DMA_TO_DEVICE);	/* past the end */
	dma_unmap_single(dev, dma + 16, size, DMA_TO_DEVICE);	/* not its start */
	dma_unmap_single(dev, dma, size, DMA_TO_DEVICE);	/* right */
	dma_unmap_single(dev, dma, size, DMA_TO_DEVICE);	/* double unmap */
	pr_info("deliberate DMA API misuse done\n");
	kfree(buf);
	say("4 bad unmaps and 2 bad syncs around one good map and unmap");
	return err;
}

/*
 * A stale unmap across devices of one region: N maps a page and unmaps it
 * (the block goes to its area's cache), M maps a page on the same CPU and
 * gets that block, at the same DMA address, and N unmaps its old address
 * again, a driver's double unmap. It must be refused: were M's block freed,
 * it would go back to the cache, and N's next map on this CPU would get it
 * while M's device may still read it. So must N's stale sync for the device
 * of that address, which would copy N's old original over M's bytes.
 */
static int cmd_stale(unsigned int n, unsigned int m)
{
	struct device *a = bound(n), *b = bound(m);
	dma_addr_t da, db, dc = DMA_MAPPING_ERROR, small, page;
	u8 *buf;
	int err = 0;

	if (!a || !b || a == b)
		return -ENODEV;
	buf = kcalloc(5, PAGE_SIZE, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	memset(buf + PAGE_SIZE, 0xbb, PAGE_SIZE);
	/* One CPU: one area, and its cache of one block. */
	get_cpu();
	/*
	 * Whatever an earlier unmap left in the cache, a block of one slot or
	 * of two, one of these two maps takes it: the cache is empty.
	 */
	small = dma_map_single(a, buf + 3 * PAGE_SIZE, 512, DMA_TO_DEVICE);
	page = dma_map_single(a, buf + 4 * PAGE_SIZE, PAGE_SIZE, DMA_TO_DEVICE);
	da = dma_map_single(a, buf, PAGE_SIZE, DMA_TO_DEVICE);
	if (dma_mapping_error(a, small) || dma_mapping_error(a, page) || dma_mapping_error(a, da)) {
		say("map failed");
		err = -ENOMEM;
		goto out;
	}
	dma_unmap_single(a, da, PAGE_SIZE, DMA_TO_DEVICE);
	db = dma_map_single(b, buf + PAGE_SIZE, PAGE_SIZE, DMA_TO_DEVICE);
	if (dma_mapping_error(b, db) || db != da) {
		say("%s's map did not get %s's block (%pad, not %pad): nothing shown; ",
		    dev_name(b), dev_name(a), &db, &da);
		err = -EAGAIN;
	} else {
		pr_info("deliberate DMA API misuse follows\n");
		dma_unmap_single(a, da, PAGE_SIZE, DMA_TO_DEVICE);
		/* And a stale sync: N's old original (zeros) over M's bytes. */
		dma_sync_single_for_device(a, da, PAGE_SIZE, DMA_TO_DEVICE);
		pr_info("deliberate DMA API misuse done\n");
		dc = dma_map_single(a, buf + 2 * PAGE_SIZE, PAGE_SIZE, DMA_TO_DEVICE);
		if (dc == db) {
			say("%s's stale unmap freed %s's mapping: %s's next map got it; ",
			    dev_name(a), dev_name(b), dev_name(a));
			err = -EFAULT;
		} else if (memchr_inv(device_view(b, db) ?: buf + PAGE_SIZE, 0xbb, PAGE_SIZE)) {
			say("%s's mapping lost its bytes; ", dev_name(b));
			err = -EFAULT;
		}
	}
	if (!dma_mapping_error(a, dc) && dc != db)
		dma_unmap_single(a, dc, PAGE_SIZE, DMA_TO_DEVICE);
	if (!dma_mapping_error(b, db))
		dma_unmap_single(b, db, PAGE_SIZE, DMA_TO_DEVICE);
out:
	if (!dma_mapping_error(a, small))
		dma_unmap_single(a, small, 512, DMA_TO_DEVICE);
	if (!dma_mapping_error(a, page))
		dma_unmap_single(a, page, PAGE_SIZE, DMA_TO_DEVICE);
	put_cpu();
	kfree(buf);
	if (!err)
		say("%s's stale unmap and sync of the address %s's mapping had were refused",
		    dev_name(a), dev_name(b));
	return err;
}

/*
 * A map of no page: 6.12's virtio_net passes one for an AF_XDP zero-copy
 * receive buffer (its scatterlist entry has a DMA address and no page). It
 * must fail, not oops.
 */
static int cmd_nopage(unsigned int n)
{
	struct device *dev = bound(n);
	dma_addr_t dma;

	if (!dev)
		return -ENODEV;
	dma = dma_map_page(dev, NULL, 0, 256, DMA_FROM_DEVICE);
	if (!dma_mapping_error(dev, dma)) {
		say("a map of no page gave %pad", &dma);
		dma_unmap_page(dev, dma, 256, DMA_FROM_DEVICE);
		return -EIO;
	}
	say("a map of no page failed");
	return 0;
}

/*
 * The ops bounce only memory in the linear map, and ask the pages' flags
 * before memblock (rsdma_page_phys()). Each answer is tried: pages the
 * allocator handed out, passed as the page before the buffer's and across
 * two pages, map; the zero page, reserved but in the linear map, maps after
 * memblock is asked; a page of the no-map reservation at @nomap, which has a
 * reserved struct page but no linear alias, is refused.
 */
static int cmd_linear(unsigned int n, phys_addr_t nomap)
{
	struct device *dev = bound(n);
	struct {
		const char *what;
		struct page *page;
		unsigned long offset;
		size_t size;
	} cases[] = {
		{ "512 bytes from the page before theirs", NULL, PAGE_SIZE + 64, 512 },
		{ "a page across two", NULL, 64, PAGE_SIZE },
		{ "the zero page (reserved, in the linear map)", ZERO_PAGE(0), 0, PAGE_SIZE },
	};
	struct page *nomap_page;
	dma_addr_t dma;
	void *buf;
	int i, err = 0;

	if (!dev)
		return -ENODEV;
	if (!pfn_valid(PHYS_PFN(nomap)) || !PageReserved(pfn_to_page(PHYS_PFN(nomap))) ||
	    pfn_is_map_memory(PHYS_PFN(nomap))) {
		say("%pa is not a no-map page with a struct page", &nomap);
		return -EINVAL;
	}
	nomap_page = pfn_to_page(PHYS_PFN(nomap));
	buf = alloc_pages_exact(2 * PAGE_SIZE, GFP_KERNEL | __GFP_ZERO);
	if (!buf)
		return -ENOMEM;
	cases[0].page = cases[1].page = virt_to_page(buf);
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		dma = dma_map_page(dev, cases[i].page, cases[i].offset, cases[i].size, DMA_TO_DEVICE);
		if (dma_mapping_error(dev, dma)) {
			say("a map of %s failed; ", cases[i].what);
			err = -EIO;
			continue;
		}
		dma_unmap_page(dev, dma, cases[i].size, DMA_TO_DEVICE);
	}
	dma = dma_map_page_attrs(dev, nomap_page, 0, PAGE_SIZE, DMA_TO_DEVICE, DMA_ATTR_NO_WARN);
	if (!dma_mapping_error(dev, dma)) {
		say("a page of the no-map reservation at %pa was mapped; ", &nomap);
		dma_unmap_page(dev, dma, PAGE_SIZE, DMA_TO_DEVICE);
		err = -EFAULT;
	}
	free_pages_exact(buf, 2 * PAGE_SIZE);
	if (!err)
		say("%d maps of linear memory, one of a no-map page at %pa refused",
		    (int)ARRAY_SIZE(cases), &nomap);
	return err;
}

#define FILL_MAX 256
#define FILL_ORDER 4 /* 64 KiB buffers */

/*
 * Fills the pool with mappings of a secret pattern, unmaps them all, then
 * maps zeroed buffers for the device to write: the device must see zeros,
 * and what it leaves unwritten must come back as zeros, whatever slots the
 * new mappings got.
 */
static int cmd_fresh(unsigned int n)
{
	struct device *dev = bound(n);
	size_t size = PAGE_SIZE << FILL_ORDER;
	struct page **pages;
	dma_addr_t *dma;
	int i, filled, err = 0;
	u8 *cpu;

	if (!dev)
		return -ENODEV;
	pages = kcalloc(FILL_MAX, sizeof(*pages), GFP_KERNEL);
	dma = kcalloc(FILL_MAX, sizeof(*dma), GFP_KERNEL);
	if (!pages || !dma) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < FILL_MAX; i++) {
		pages[i] = alloc_pages(GFP_KERNEL, FILL_ORDER);
		if (!pages[i]) {
			err = -ENOMEM;
			goto out;
		}
	}
	/* Every slot the pool can give gets the secret. */
	for (filled = 0; filled < FILL_MAX; filled++) {
		memset(page_address(pages[filled]), 0x77, size);
		dma[filled] = dma_map_page_attrs(dev, pages[filled], 0, size, DMA_TO_DEVICE,
						 DMA_ATTR_NO_WARN);
		if (dma_mapping_error(dev, dma[filled]))
			break;
	}
	for (i = 0; i < filled; i++)
		dma_unmap_page(dev, dma[i], size, DMA_TO_DEVICE);
	if (filled == FILL_MAX) {
		say("the pool never filled up with %d mappings of 64 KiB", FILL_MAX);
		err = -E2BIG;
		goto out;
	}
	/* The next mappings, of zeroed buffers, must not show the secret. */
	for (i = 0; i < filled && !err; i++) {
		u8 *orig = page_address(pages[i]), *seen;

		memset(orig, 0, size);
		dma[i] = dma_map_page(dev, pages[i], 0, size, DMA_FROM_DEVICE);
		if (dma_mapping_error(dev, dma[i])) {
			err = -ENOMEM;
			break;
		}
		seen = device_view(dev, dma[i]);
		if (!seen) {
			say("bounce buffer at %pad has no linear alias; ", &dma[i]);
			err = -EINVAL;
		} else if (memchr_inv(seen, 0, size)) {
			say("the device sees a previous mapping's bytes at %pad; ", &dma[i]);
			err = -EFAULT;
		} else {
			/* The device writes the first page only... */
			memset(seen, 0x33, PAGE_SIZE);
		}
		dma_unmap_page(dev, dma[i], size, DMA_FROM_DEVICE);
		/* ...and the rest comes back as it was, not as anyone else's. */
		if (!err && (memchr_inv(orig, 0x33, PAGE_SIZE) ||
			     memchr_inv(orig + PAGE_SIZE, 0, size - PAGE_SIZE))) {
			say("after a partial device write the buffer holds foreign bytes; ");
			err = -EFAULT;
		}
	}
	/* A coherent block on the same slots starts zeroed. */
	cpu = err ? NULL : dma_alloc_coherent(dev, size, &dma[0], GFP_KERNEL);
	if (cpu) {
		if (memchr_inv(cpu, 0, size)) {
			say("a coherent block shows earlier bytes; ");
			err = -EFAULT;
		}
		dma_free_coherent(dev, size, cpu, dma[0]);
	} else if (!err) {
		err = -ENOMEM;
	}
	if (!err)
		say("%d mappings filled the pool; none of their bytes reached the next mappings or a coherent block",
		    filled);
out:
	for (i = 0; pages && i < FILL_MAX; i++)
		if (pages[i])
			__free_pages(pages[i], FILL_ORDER);
	kfree(pages);
	kfree(dma);
	return err;
}

static int cmd_sync(unsigned int n)
{
	struct device *dev = bound(n);
	dma_addr_t dma;
	u8 *buf, *seen;
	int err = 0;

	if (!dev)
		return -ENODEV;
	buf = kzalloc(PAGE_SIZE, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	dma = dma_map_single(dev, buf, PAGE_SIZE, DMA_FROM_DEVICE);
	if (dma_mapping_error(dev, dma)) {
		kfree(buf);
		return -ENOMEM;
	}
	seen = device_view(dev, dma);
	if (seen) {
		memset(seen, 0x42, PAGE_SIZE);
		dma_sync_single_for_cpu(dev, dma, PAGE_SIZE, DMA_FROM_DEVICE);
		if (memchr_inv(buf, 0x42, PAGE_SIZE)) {
			say("dma_sync_single_for_cpu did not bring the device's bytes (skip_sync %d)",
			    dev->dma_skip_sync);
			err = -EFAULT;
		}
	} else {
		err = -EINVAL;
	}
	dma_unmap_single(dev, dma, PAGE_SIZE, DMA_FROM_DEVICE);
	kfree(buf);
	if (!err)
		say("sync_for_cpu brought what the device wrote");
	return err;
}

static int cmd_taint(unsigned int n)
{
	struct device *dev;

	if (n >= MAX_DEVS || !devs[n])
		return -ENODEV;
	dev = &devs[n]->dev;
	if (dev->driver)
		return -EBUSY;
	/* What dma_setup_need_sync() leaves on a coherent device under dma-direct. */
	dev->dma_skip_sync = true;
	say("%s: dma_skip_sync set", dev_name(dev));
	return 0;
}

/* The device `incoherent` changed at this bind, for the last listener. */
static struct device *incoherent_seen;

static int incoherent_event(struct notifier_block *nb, unsigned long action, void *data)
{
	struct device *dev = data;

	if (action != BUS_NOTIFY_BIND_DRIVER || cmpxchg(&incoherent_dev, dev, NULL) != dev)
		return NOTIFY_DONE;
	dev->dma_coherent = false;
#ifdef CONFIG_IOMMU_DMA
	/* What iommu_setup_dma_ops() leaves, in dma_configure(), on a device
	 * found behind an IOMMU since its last bind. */
	dev->dma_iommu = true;
#endif
	WRITE_ONCE(incoherent_seen, dev);
	return NOTIFY_DONE;
}

/* Ahead of every other listener on the bus, restricted_dma's included. */
static struct notifier_block incoherent_nb = {
	.notifier_call = incoherent_event,
	.priority = INT_MAX,
};

/*
 * After every other listener: whether dma_iommu, which the DMA core obeys
 * before any ops, is still set as the probe begins. Cleared here, so that
 * nothing reaches iommu-dma without an IOMMU domain.
 */
static int incoherent_after(struct notifier_block *nb, unsigned long action, void *data)
{
	struct device *dev = data;

	if (action != BUS_NOTIFY_BIND_DRIVER || cmpxchg(&incoherent_seen, dev, NULL) != dev)
		return NOTIFY_DONE;
#ifdef CONFIG_IOMMU_DMA
	if (dev->dma_iommu) {
		dev->dma_iommu = false;
		dev_err(dev, "dma_iommu still set as its probe begins\n");
		return NOTIFY_DONE;
	}
#endif
	dev_info(dev, "dma_iommu clear as its probe begins\n");
	return NOTIFY_DONE;
}

static struct notifier_block incoherent_after_nb = {
	.notifier_call = incoherent_after,
	.priority = INT_MIN,
};

static int cmd_incoherent(unsigned int n)
{
	if (n >= MAX_DEVS || !devs[n])
		return -ENODEV;
	WRITE_ONCE(incoherent_dev, &devs[n]->dev);
	say("%s: non-coherent from its next bind", dev_name(&devs[n]->dev));
	return 0;
}

static int cmd_leak(unsigned int n)
{
	struct device *dev = bound(n);
	dma_addr_t dma;
	void *buf;

	if (!dev)
		return -ENODEV;
	/* Never freed: a leaked mapping's original must stay valid for good. */
	buf = kzalloc(PAGE_SIZE, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	dma = dma_map_single(dev, buf, PAGE_SIZE, DMA_BIDIRECTIONAL);
	if (dma_mapping_error(dev, dma)) {
		kfree(buf);
		return -ENOMEM;
	}
	kmemleak_not_leak(buf);
	say("leaked a mapping at %pad", &dma);
	return 0;
}

#define HOLD_CHUNK SZ_64K
#define HOLD_MAX 256
/* One slot of the pool (swiotlb's IO_TLB_SIZE), and how many "fill" takes. */
#define HOLD_SLOT 2048
#define HOLD_SLOTS 4096

/*
 * What "hold" keeps mapped: for the soak, a region mostly full. "fill"
 * adds one-slot mappings of one zeroed buffer, to the pool's last slot.
 */
static struct {
	struct page *page[HOLD_MAX];
	dma_addr_t dma[HOLD_MAX];
	int n;
	void *buf;
	dma_addr_t *slot;
	int nslots;
} held[MAX_DEVS];

static int cmd_release(unsigned int n)
{
	struct device *dev = bound(n);

	if (!dev)
		return -ENODEV;
	while (held[n].n > 0) {
		int i = --held[n].n;

		dma_unmap_page(dev, held[n].dma[i], HOLD_CHUNK, DMA_TO_DEVICE);
		__free_pages(held[n].page[i], get_order(HOLD_CHUNK));
	}
	while (held[n].nslots > 0)
		dma_unmap_single(dev, held[n].slot[--held[n].nslots], HOLD_SLOT, DMA_TO_DEVICE);
	kvfree(held[n].slot);
	held[n].slot = NULL;
	kfree(held[n].buf);
	held[n].buf = NULL;
	return 0;
}

static int cmd_hold(unsigned int n, u64 size)
{
	struct device *dev = bound(n);

	if (!dev)
		return -ENODEV;
	while (held[n].n < HOLD_MAX && (u64)held[n].n * HOLD_CHUNK < size) {
		int i = held[n].n;

		held[n].page[i] = alloc_pages(GFP_KERNEL | __GFP_ZERO, get_order(HOLD_CHUNK));
		if (!held[n].page[i])
			return -ENOMEM;
		held[n].dma[i] = dma_map_page(dev, held[n].page[i], 0, HOLD_CHUNK, DMA_TO_DEVICE);
		if (dma_mapping_error(dev, held[n].dma[i])) {
			__free_pages(held[n].page[i], get_order(HOLD_CHUNK));
			say("held %d x 64 KiB, then the pool was full", held[n].n);
			return -ENOSPC;
		}
		held[n].n++;
	}
	say("holding %d x 64 KiB", held[n].n);
	return 0;
}

/*
 * "fill": hold's 64 KiB mappings as far as they go, then one slot at a
 * time into the holes they leave, until a map fails: the pool is full.
 */
static int cmd_fill(unsigned int n)
{
	struct device *dev = bound(n);
	int err;

	if (!dev)
		return -ENODEV;
	err = cmd_hold(n, (u64)HOLD_MAX * HOLD_CHUNK);
	if (err != -ENOSPC) {
		say("the pool is larger than %d x 64 KiB", HOLD_MAX);
		return err ?: -EFBIG;
	}
	if (!held[n].buf)
		held[n].buf = kzalloc(HOLD_SLOT, GFP_KERNEL);
	if (!held[n].slot)
		held[n].slot = kvcalloc(HOLD_SLOTS, sizeof(*held[n].slot), GFP_KERNEL);
	if (!held[n].buf || !held[n].slot)
		return -ENOMEM;
	while (held[n].nslots < HOLD_SLOTS) {
		dma_addr_t dma = dma_map_single(dev, held[n].buf, HOLD_SLOT, DMA_TO_DEVICE);

		if (dma_mapping_error(dev, dma)) {
			say("; and %d x 2 KiB: the pool is full", held[n].nslots);
			return 0;
		}
		held[n].slot[held[n].nslots++] = dma;
	}
	say("%d x 2 KiB did not fill the pool", HOLD_SLOTS);
	return -EFBIG;
}

#define KEEP_SIZE SZ_16K

/* What "keep" holds: a block whose owner is not the binding. */
static struct {
	struct device *dev;
	void *cpu;
	dma_addr_t dma;
} kept[MAX_DEVS];

static int cmd_keep(unsigned int n)
{
	struct device *dev = bound(n);

	if (!dev)
		return -ENODEV;
	if (kept[n].dev)
		return -EEXIST;
	kept[n].cpu = dma_alloc_coherent(dev, KEEP_SIZE, &kept[n].dma, GFP_KERNEL);
	if (!kept[n].cpu)
		return -ENOMEM;
	kept[n].dev = get_device(dev);
	say("%s: keeping 16 KiB coherent at %pad", dev_name(dev), &kept[n].dma);
	return 0;
}

static int cmd_drop(unsigned int n)
{
	struct device *dev = kept[n].dev;

	if (!dev)
		return -ENOENT;
	dma_free_coherent(dev, KEEP_SIZE, kept[n].cpu, kept[n].dma);
	say("%s: freed the kept block at %pad (driver %s)", dev_name(dev), &kept[n].dma,
	    dev->driver ? "bound" : "gone");
	kept[n].dev = NULL;
	put_device(dev);
	return 0;
}

/*
 * What a driver that outlives its binding may still try. Anything handed
 * out must be in the window; after unbind, nothing should be.
 */
/* What "ref" holds: a device reference and nothing of its pool. */
static struct device *refd[MAX_DEVS];

static int cmd_ref(unsigned int n)
{
	if (!devs[n] || refd[n])
		return -ENODEV;
	refd[n] = get_device(&devs[n]->dev);
	say("%s: referenced", dev_name(refd[n]));
	return 0;
}

static int cmd_unref(unsigned int n)
{
	if (!refd[n])
		return -ENODEV;
	put_device(refd[n]);
	refd[n] = NULL;
	return 0;
}

/*
 * What "mark" keeps mapped: one page full of a marker, in a direction, for
 * the host to look for in the window while it is mapped.
 */
#define MARK "RECEIVE!"
static struct {
	struct page *page;
	dma_addr_t dma;
	enum dma_data_direction dir;
} marked[MAX_DEVS];

static int cmd_mark(unsigned int n, u64 dir)
{
	struct device *dev = bound(n);
	u8 *p;
	int i;

	if (!dev || marked[n].page)
		return -ENODEV;
	if (dir > DMA_FROM_DEVICE)
		return -EINVAL;
	marked[n].page = alloc_page(GFP_KERNEL);
	if (!marked[n].page)
		return -ENOMEM;
	p = page_address(marked[n].page);
	for (i = 0; i < PAGE_SIZE; i += sizeof(MARK) - 1)
		memcpy(p + i, MARK, sizeof(MARK) - 1);
	marked[n].dir = dir;
	marked[n].dma = dma_map_page(dev, marked[n].page, 0, PAGE_SIZE, dir);
	if (dma_mapping_error(dev, marked[n].dma)) {
		__free_page(marked[n].page);
		marked[n].page = NULL;
		return -ENOMEM;
	}
	say("a page of \"%s\" mapped at %pad, direction %llu", MARK, &marked[n].dma, dir);
	return 0;
}

static int cmd_unmark(unsigned int n)
{
	struct device *dev = bound(n);

	if (!dev || !marked[n].page)
		return -ENODEV;
	dma_unmap_page(dev, marked[n].dma, PAGE_SIZE, marked[n].dir);
	__free_page(marked[n].page);
	marked[n].page = NULL;
	return 0;
}

/*
 * What "sgmark" keeps mapped: a list of two entries, the first a page full
 * of a marker of its own, for the device to read.
 */
#define SGMARK "SGMARKED"
#define SGMARK_TOO_LARGE SZ_512K
static struct {
	struct scatterlist sg[2];
	struct page *pages[2];
	unsigned int order;
	bool mapped;
} sgmarked[MAX_DEVS];

static void sgmark_free(unsigned int n)
{
	__free_page(sgmarked[n].pages[0]);
	__free_pages(sgmarked[n].pages[1], sgmarked[n].order);
	memset(&sgmarked[n], 0, sizeof(sgmarked[n]));
}

static int cmd_sgmark(unsigned int n, u64 ok)
{
	struct device *dev = bound(n);
	unsigned int order = ok ? 0 : get_order(SGMARK_TOO_LARGE);
	struct scatterlist *sg;
	int i, ents;
	u8 *p;

	if (!dev || sgmarked[n].mapped)
		return -ENODEV;
	sg = sgmarked[n].sg;
	sgmarked[n].pages[0] = alloc_page(GFP_KERNEL);
	sgmarked[n].pages[1] = alloc_pages(GFP_KERNEL | __GFP_ZERO, order);
	sgmarked[n].order = order;
	if (!sgmarked[n].pages[0] || !sgmarked[n].pages[1]) {
		if (sgmarked[n].pages[0])
			__free_page(sgmarked[n].pages[0]);
		if (sgmarked[n].pages[1])
			__free_pages(sgmarked[n].pages[1], order);
		memset(&sgmarked[n], 0, sizeof(sgmarked[n]));
		return -ENOMEM;
	}
	p = page_address(sgmarked[n].pages[0]);
	for (i = 0; i < PAGE_SIZE; i += sizeof(SGMARK) - 1)
		memcpy(p + i, SGMARK, sizeof(SGMARK) - 1);
	sg_init_table(sg, 2);
	sg_set_page(&sg[0], sgmarked[n].pages[0], PAGE_SIZE, 0);
	sg_set_page(&sg[1], sgmarked[n].pages[1], PAGE_SIZE << order, 0);
	/* No warning for the list that must fail: it is this test's. */
	ents = dma_map_sg_attrs(dev, sg, 2, DMA_TO_DEVICE, ok ? 0 : DMA_ATTR_NO_WARN);
	say("a list of a page of \"%s\" and %lu bytes: %d entries mapped", SGMARK,
	    PAGE_SIZE << order, ents);
	if (!ok) {
		if (ents > 0)
			dma_unmap_sg(dev, sg, 2, DMA_TO_DEVICE);
		sgmark_free(n);
		return ents > 0 ? -EIO : 0;
	}
	if (ents != 2) {
		if (ents > 0)
			dma_unmap_sg(dev, sg, 2, DMA_TO_DEVICE);
		sgmark_free(n);
		return -EIO;
	}
	sgmarked[n].mapped = true;
	return 0;
}

static int cmd_unsgmark(unsigned int n)
{
	struct device *dev = bound(n);

	if (!dev || !sgmarked[n].mapped)
		return -ENODEV;
	dma_unmap_sg(dev, sgmarked[n].sg, 2, DMA_TO_DEVICE);
	sgmark_free(n);
	return 0;
}

#ifdef CONFIG_PCI
/*
 * "dress BDF HDR CLASS": what a host can make of a PCI function's config
 * space, which QEMU cannot dress a virtio device in: the function, unbound,
 * gets header type HDR and class CLASS (CLASS 0: its own), and is bound
 * again. "undress BDF" puts its own back, likewise.
 */
static struct {
	struct pci_dev *pdev;
	u8 hdr_type;
	u32 class;
	/* What "dresskeep" keeps on it: a device reference and a block. */
	struct device *kept;
	void *cpu;
	dma_addr_t dma;
} dressed;

static int cmd_dress(const char *bdf, u64 hdr, u64 class)
{
	struct device *dev = bus_find_device_by_name(&pci_bus_type, NULL, bdf);
	struct pci_dev *pdev;
	int ret;

	if (!dev)
		return -ENODEV;
	pdev = to_pci_dev(dev);
	if (dressed.pdev && dressed.pdev != pdev) {
		put_device(dev);
		return -EBUSY;
	}
	if (!dressed.pdev) {
		dressed.pdev = pdev;
		dressed.hdr_type = pdev->hdr_type;
		dressed.class = pdev->class;
	} else {
		put_device(dev);
	}
	device_release_driver(dev);
	pdev->hdr_type = hdr;
	pdev->class = class ? class : dressed.class;
	ret = device_attach(dev);
	say("%s: header type %u, class %06x: %s", bdf, pdev->hdr_type, pdev->class,
	    dev->driver ? dev->driver->name : "no driver");
	return ret < 0 ? ret : 0;
}

/*
 * "dresskeep": allocate 16 KiB coherent on the dressed function, bound,
 * outside devres, and keep it past its unbind, as "keep N" does; "dressdrop"
 * frees it, whatever happened to the function since.
 */
static int cmd_dresskeep(void)
{
	struct device *dev = dressed.pdev ? &dressed.pdev->dev : NULL;

	if (!dev || !dev->driver)
		return -ENODEV;
	if (dressed.kept)
		return -EEXIST;
	dressed.cpu = dma_alloc_coherent(dev, KEEP_SIZE, &dressed.dma, GFP_KERNEL);
	if (!dressed.cpu)
		return -ENOMEM;
	dressed.kept = get_device(dev);
	say("%s: keeping 16 KiB coherent at %pad", dev_name(dev), &dressed.dma);
	return 0;
}

static int cmd_dressdrop(void)
{
	struct device *dev = dressed.kept;

	if (!dev)
		return -ENOENT;
	dma_free_coherent(dev, KEEP_SIZE, dressed.cpu, dressed.dma);
	say("%s: freed the kept block at %pad (driver %s)", dev_name(dev), &dressed.dma,
	    dev->driver ? "bound" : "gone");
	dressed.kept = NULL;
	put_device(dev);
	return 0;
}

static int cmd_undress(void)
{
	struct pci_dev *pdev = dressed.pdev;
	int ret;

	if (!pdev)
		return -ENODEV;
	device_release_driver(&pdev->dev);
	pdev->hdr_type = dressed.hdr_type;
	pdev->class = dressed.class;
	ret = device_attach(&pdev->dev);
	say("%s: its own header and class back: %s", pci_name(pdev),
	    pdev->dev.driver ? pdev->dev.driver->name : "no driver");
	dressed.pdev = NULL;
	put_device(&pdev->dev);
	return ret < 0 ? ret : 0;
}
#endif

static int cmd_late(unsigned int n)
{
	struct device *dev = kept[n].dev ? kept[n].dev :
			     refd[n] ? refd[n] : (devs[n] ? &devs[n]->dev : NULL);
	void *buf, *cpu;
	dma_addr_t dma;
	int err = 0;

	if (!dev)
		return -ENODEV;
	cpu = dma_alloc_coherent(dev, PAGE_SIZE, &dma, GFP_KERNEL | __GFP_NOWARN);
	if (cpu) {
		say("coherent at %pad; ", &dma);
		if (!in_window(n, dma, PAGE_SIZE))
			err = -EFAULT;
		dma_free_coherent(dev, PAGE_SIZE, cpu, dma);
	} else {
		say("coherent refused; ");
	}
	buf = kzalloc(PAGE_SIZE, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	dma = dma_map_single_attrs(dev, buf, PAGE_SIZE, DMA_TO_DEVICE, DMA_ATTR_NO_WARN);
	if (!dma_mapping_error(dev, dma)) {
		say("map at %pad", &dma);
		if (!in_window(n, dma, PAGE_SIZE))
			err = -EFAULT;
		dma_unmap_single(dev, dma, PAGE_SIZE, DMA_TO_DEVICE);
	} else {
		say("map refused");
	}
	kfree(buf);
	return err;
}

/* "hook": another module's virtio memory-access callback, chaining. */
static bool (*hooked_prev)(struct virtio_device *);

static bool rdma_test_mem_acc(struct virtio_device *vdev)
{
	bool (*prev)(struct virtio_device *) = READ_ONCE(hooked_prev);

	return prev ? prev(vdev) : false;
}

static int cmd_hook(void)
{
	if (READ_ONCE(virtio_check_mem_acc_cb) == rdma_test_mem_acc)
		return -EEXIST;
	WRITE_ONCE(hooked_prev, READ_ONCE(virtio_check_mem_acc_cb));
	WRITE_ONCE(virtio_check_mem_acc_cb, rdma_test_mem_acc);
	say("in front of %ps", hooked_prev);
	return 0;
}

static int cmd_unhook(void)
{
	if (cmpxchg(&virtio_check_mem_acc_cb, rdma_test_mem_acc, hooked_prev) != rdma_test_mem_acc)
		return -ENOENT;
	say("put %ps back", hooked_prev);
	return 0;
}

static int cmd_reserved(u64 lo, u64 size)
{
	unsigned long pfn, bad = 0, first = 0;

	for (pfn = PHYS_PFN(lo); pfn < PHYS_PFN(lo + size); pfn++) {
		struct page *page;

		if (!pfn_valid(pfn))
			continue;
		page = pfn_to_page(pfn);
		if (!PageReserved(page) || page_count(page) != 1) {
			if (!bad++)
				first = pfn;
		}
	}
	if (bad) {
		say("%lu page(s) no longer reserved, the first at %#llx (count %d)", bad,
		    (u64)PFN_PHYS(first), page_count(pfn_to_page(first)));
		return -EFAULT;
	}
	say("every page of %#llx+%#llx is still reserved", lo, size);
	return 0;
}

static int cmd_copy(unsigned int n)
{
	struct device *parent = bound(n), *dev;
	int ret;

	if (!parent)
		return -ENODEV;
	if (copies[n])
		return -EEXIST;
	dev = kzalloc(sizeof(*dev), GFP_KERNEL);
	if (!dev)
		return -ENOMEM;
	device_initialize(dev);
	dev->parent = parent;
	dev->release = copy_release;
	ret = dev_set_name(dev, "rdma_test_copy.%u", n);
	if (!ret) {
		/* A mask of its own, as remoteproc_virtio.c gives its devices. */
		dev->coherent_dma_mask = DMA_BIT_MASK(64);
		dev->dma_mask = &dev->coherent_dma_mask;
		set_dma_ops(dev, get_dma_ops(parent));
		ret = device_add(dev);
	}
	if (ret) {
		put_device(dev);
		return ret;
	}
	copies[n] = dev;
	say("%s has the DMA ops of %s", dev_name(dev), dev_name(parent));
	return 0;
}

/*
 * A page mapped and unmapped on rdma_test_copy.N: "mapped at ADDR" or
 * "refused" (the copy has no dma-ranges of its own, whatever its parent's).
 */
static int cmd_copymap(unsigned int n)
{
	struct device *dev = n < MAX_DEVS ? copies[n] : NULL;
	dma_addr_t dma;
	void *buf;

	if (!dev)
		return -ENODEV;
	buf = kzalloc(PAGE_SIZE, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	dma = dma_map_single(dev, buf, PAGE_SIZE, DMA_TO_DEVICE);
	if (dma_mapping_error(dev, dma)) {
		say("refused");
	} else {
		say("mapped at %pad", &dma);
		dma_unmap_single(dev, dma, PAGE_SIZE, DMA_TO_DEVICE);
	}
	kfree(buf);
	return 0;
}

static int cmd_child(unsigned int n)
{
	struct device *parent = bound(n);
	struct platform_device *pdev;
	int ret;

	if (!parent)
		return -ENODEV;
	if (children[n])
		return -EEXIST;
	pdev = platform_device_alloc("rdma_test_child", n);
	if (!pdev)
		return -ENOMEM;
	pdev->dev.parent = parent;
	ret = platform_device_add(pdev);
	if (ret) {
		platform_device_put(pdev);
		return ret;
	}
	children[n] = pdev;
	say("%s below %s: %s", dev_name(&pdev->dev), dev_name(parent),
	    pdev->dev.driver ? "bound" : "not bound");
	return 0;
}

static void child_del(unsigned int n)
{
	if (children[n])
		platform_device_unregister(children[n]);
	children[n] = NULL;
}

static int cmd_uncopy(unsigned int n)
{
	if (copies[n])
		device_unregister(copies[n]);
	copies[n] = NULL;
	return 0;
}

/*
 * Under -icount shift=3 the guest's counter (62.5 MHz on QEMU's virt board)
 * ticks every second instruction, so a timed stretch of an odd number of
 * instructions reads one more or one less than it is, depending on whether
 * it starts on an even or an odd instruction. Two back-to-back reads tell
 * which (the same value: even), and a nop on one path leaves the timed code
 * that follows on the same parity every run.
 */
static void icount_align(void)
{
#ifdef CONFIG_ARM64
	u64 a, b;

	asm volatile("isb\n"
		     "mrs %0, cntvct_el0\n"
		     "mrs %1, cntvct_el0\n"
		     "cmp %0, %1\n"
		     "b.ne 1f\n"
		     "nop\n"
		     "1:\n"
		     : "=&r"(a), "=&r"(b) : : "cc");
#endif
}

/*
 * Where `make bench-profile` counts: its QEMU plugin
 * (tools/testing/restricted_dma/harness/profile/insn-count.c) counts the
 * kernel's instructions between a start and a stop mark, two hints that
 * arm64 executes as nops. Outside the timed calls, so the counts of `make
 * bench-icount` do not move.
 */
static void profile_mark(bool start)
{
#ifdef CONFIG_ARM64
	if (start)
		asm volatile("hint #0x7e");
	else
		asm volatile("hint #0x7f");
#endif
}

/*
 * The cost of one copy of @pages pages, as a bounce pool makes it
 * (memcpy() between two page-aligned buffers of the linear map), or with
 * @zero of one zero-fill (memset(), as the pool zeroes a receive buffer's
 * slots), for the instruction counts of `make bench-icount`: ns of guest
 * time over 1000 of them, which under -icount shift=3 is 8 ns an
 * instruction.
 */
static int cmd_memcpy(unsigned int pages, bool zero)
{
	const int iters = 1000;
	size_t size = (size_t)pages * PAGE_SIZE;
	unsigned long flags;
	void *a, *b;
	u64 t;
	int i;

	if (!pages || pages > 64)
		return -EINVAL;
	a = alloc_pages_exact(size, GFP_KERNEL | __GFP_ZERO);
	b = alloc_pages_exact(size, GFP_KERNEL | __GFP_ZERO);
	if (!a || !b) {
		if (a)
			free_pages_exact(a, size);
		if (b)
			free_pages_exact(b, size);
		return -ENOMEM;
	}
	/* As cmd_cost() (below): no tick inside, the same parity every run. */
	local_irq_save(flags);
	icount_align();
	t = ktime_get_ns();
	for (i = 0; i < iters; i++) {
		if (zero)
			memset(a, 0, size);
		else
			memcpy(a, b, size);
		/* Keep the compiler from merging or dropping them. */
		barrier();
	}
	t = ktime_get_ns() - t;
	local_irq_restore(flags);
	say("%s pages=%u ns=%llu iters=%d\n", zero ? "memset" : "memcpy", pages, t, iters);
	free_pages_exact(a, size);
	free_pages_exact(b, size);
	return 0;
}

/*
 * The cost of a map and of an unmap of @pages pages in direction @dir on the
 * platform device @name (its driver must be bound, as dma_map_benchmark is
 * on the bench's empty transports), for the instruction counts of `make
 * bench-icount`. Each call is timed alone between two ktime_get_ns(), as
 * dma_map_benchmark times them, but summed in ns rather than printed as a
 * 0.1 us average, and with interrupts off: under -icount shift=3 the sums
 * are then 8 ns an instruction exactly, with no tick inside, and the same on
 * every run of the same kernel. A pool's search takes a few more steps
 * where a mapping would cross a segment, and where it starts depends on what
 * was mapped before; so the timed rounds take 8 MiB of slots in all, every
 * slot of a pool of 8 MiB or less (the bench's have 4) the same number of
 * times, and their sum is the same from whichever slot they start.
 */
static int cmd_cost(unsigned int pages, unsigned int d, const char *name)
{
	size_t size = (size_t)pages * PAGE_SIZE;
	u64 map_ns = 0, unmap_ns = 0, t0, t1, t2;
	enum dma_data_direction dir = d;
	const int warm = 8;
	unsigned long flags;
	struct device *dev;
	int i, iters, ret = 0;
	dma_addr_t dma;
	void *buf;

	if (!pages || pages > 64 || d > DMA_FROM_DEVICE)
		return -EINVAL;
	iters = SZ_8M / size;
	dev = bus_find_device_by_name(&platform_bus_type, NULL, name);
	if (!dev)
		return -ENODEV;
	buf = alloc_pages_exact(size, GFP_KERNEL | __GFP_ZERO);
	if (!buf) {
		put_device(dev);
		return -ENOMEM;
	}
	local_irq_save(flags);
	for (i = 0; i < warm + iters; i++) {
		if (i == warm) {
			profile_mark(true);
			icount_align();
		}
		t0 = ktime_get_ns();
		dma = dma_map_single(dev, buf, size, dir);
		t1 = ktime_get_ns();
		if (dma_mapping_error(dev, dma)) {
			ret = -ENOMEM;
			break;
		}
		dma_unmap_single(dev, dma, size, dir);
		t2 = ktime_get_ns();
		if (i >= warm) {
			map_ns += t1 - t0;
			unmap_ns += t2 - t1;
		}
	}
	profile_mark(false);
	local_irq_restore(flags);
	if (ret)
		say("cost: %s: a map of %u page(s) failed\n", name, pages);
	else
		say("cost pages=%u dir=%u map_ns=%llu unmap_ns=%llu iters=%d\n", pages, d,
		    map_ns, unmap_ns, iters);
	free_pages_exact(buf, size);
	put_device(dev);
	return ret;
}

static int run(char *line)
{
	char name[16];
	unsigned int n;
	u64 a, b;
	int args = sscanf(line, "%15s %u %llx %llx", name, &n, &a, &b);

	if (args < 1)
		return -EINVAL;
	if (!strcmp(name, "hook"))
		return cmd_hook();
	if (!strcmp(name, "unhook"))
		return cmd_unhook();
	if (!strcmp(name, "register"))
		return cmd_register();
	if (!strcmp(name, "unregister"))
		return cmd_unregister();
	if (!strcmp(name, "memcpy") || !strcmp(name, "memset"))
		return args == 2 ? cmd_memcpy(n, !strcmp(name, "memset")) : -EINVAL;
	if (!strcmp(name, "cost")) {
		char dev[48];

		if (sscanf(line, "%15s %u %llu %47s", name, &n, &a, dev) != 4 || a > DMA_FROM_DEVICE)
			return -EINVAL;
		return cmd_cost(n, a, dev);
	}
	if (!strcmp(name, "reserved")) {
		if (sscanf(line, "%15s %llx %llx", name, &a, &b) != 3)
			return -EINVAL;
		return cmd_reserved(a, b);
	}
#ifdef CONFIG_PCI
	if (!strcmp(name, "dress")) {
		char bdf[16];

		if (sscanf(line, "%15s %15s %llx %llx", name, bdf, &a, &b) != 4)
			return -EINVAL;
		return cmd_dress(bdf, a, b);
	}
	if (!strcmp(name, "undress"))
		return cmd_undress();
	if (!strcmp(name, "dresskeep"))
		return cmd_dresskeep();
	if (!strcmp(name, "dressdrop"))
		return cmd_dressdrop();
#endif
	if (args < 2 || n >= MAX_DEVS)
		return -EINVAL;
	if (!strcmp(name, "add"))
		return dev_add(n);
	if (!strcmp(name, "sticky"))
		return dev_add_for(n, "rdma_test_sticky");
	if (!strcmp(name, "async"))
		return dev_add_for(n, "rdma_test_async");
	if (!strcmp(name, "copy"))
		return cmd_copy(n);
	if (!strcmp(name, "uncopy"))
		return cmd_uncopy(n);
	if (!strcmp(name, "child"))
		return cmd_child(n);
	if (!strcmp(name, "del")) {
		dev_del(n);
		return 0;
	}
	if (!strcmp(name, "window")) {
		if (args != 4)
			return -EINVAL;
		window[n].lo = a;
		window[n].size = b;
		return 0;
	}
	if (!strcmp(name, "coherent"))
		return cmd_coherent(n);
	if (!strcmp(name, "pages"))
		return cmd_pages(n);
	if (!strcmp(name, "dmapool"))
		return cmd_dmapool(n);
	if (!strcmp(name, "masks"))
		return cmd_masks(n);
	if (!strcmp(name, "misuse"))
		return cmd_misuse(n);
	if (!strcmp(name, "nopage"))
		return cmd_nopage(n);
	if (!strcmp(name, "linear"))
		return args == 3 ? cmd_linear(n, a) : -EINVAL;
	if (!strcmp(name, "fresh"))
		return cmd_fresh(n);
	if (!strcmp(name, "sync"))
		return cmd_sync(n);
	if (!strcmp(name, "taint"))
		return cmd_taint(n);
	if (!strcmp(name, "copymap"))
		return cmd_copymap(n);
	if (!strcmp(name, "stale"))
		return args == 3 ? cmd_stale(n, a) : -EINVAL;
	if (!strcmp(name, "incoherent"))
		return cmd_incoherent(n);
	if (!strcmp(name, "leak"))
		return cmd_leak(n);
	if (!strcmp(name, "hold"))
		return args == 3 ? cmd_hold(n, a) : -EINVAL;
	if (!strcmp(name, "fill"))
		return cmd_fill(n);
	if (!strcmp(name, "release"))
		return cmd_release(n);
	if (!strcmp(name, "keep"))
		return cmd_keep(n);
	if (!strcmp(name, "drop"))
		return cmd_drop(n);
	if (!strcmp(name, "late"))
		return cmd_late(n);
	if (!strcmp(name, "ref"))
		return cmd_ref(n);
	if (!strcmp(name, "unref"))
		return cmd_unref(n);
	if (!strcmp(name, "mark"))
		return args == 3 ? cmd_mark(n, a) : -EINVAL;
	if (!strcmp(name, "unmark"))
		return cmd_unmark(n);
	if (!strcmp(name, "sgmark"))
		return args == 3 ? cmd_sgmark(n, a) : -EINVAL;
	if (!strcmp(name, "unsgmark"))
		return cmd_unsgmark(n);
	return -EINVAL;
}

static ssize_t cmd_write(struct file *f, const char __user *ubuf, size_t len, loff_t *pos)
{
	char line[80];
	int ret;

	if (len >= sizeof(line))
		return -EINVAL;
	if (copy_from_user(line, ubuf, len))
		return -EFAULT;
	line[len] = 0;
	mutex_lock(&lock);
	result[0] = 0;
	ret = run(strim(line));
	mutex_unlock(&lock);
	return ret ? ret : len;
}

static const struct file_operations cmd_fops = {
	.write = cmd_write,
	.llseek = noop_llseek,
};

static int result_show(struct seq_file *m, void *v)
{
	mutex_lock(&lock);
	seq_printf(m, "%s\n", result);
	mutex_unlock(&lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(result);

static ssize_t probe_write(struct file *f, const char __user *ubuf, size_t len, loff_t *pos)
{
	char word[16];
	int i;

	if (len >= sizeof(word))
		return -EINVAL;
	if (copy_from_user(word, ubuf, len))
		return -EFAULT;
	word[len] = 0;
	i = match_string(probe_names, ARRAY_SIZE(probe_names), strim(word));
	if (i < 0)
		return i;
	WRITE_ONCE(probe_mode, i);
	return len;
}

static int probe_show(struct seq_file *m, void *v)
{
	seq_printf(m, "%s\n", probe_names[READ_ONCE(probe_mode)]);
	return 0;
}

static int probe_open(struct inode *inode, struct file *file)
{
	return single_open(file, probe_show, NULL);
}

static const struct file_operations probe_fops = {
	.open = probe_open,
	.read = seq_read,
	.write = probe_write,
	.llseek = seq_lseek,
	.release = single_release,
};

static int __init rdma_test_init(void)
{
	int ret = platform_driver_register(&rdma_test_driver);

	if (ret)
		return ret;
	ret = platform_driver_register(&rdma_test_sticky_driver);
	if (ret)
		goto no_sticky;
	ret = platform_driver_register(&rdma_test_child_driver);
	if (ret)
		goto no_child;
	ret = amba_driver_register(&rdma_test_amba_driver);
	if (ret)
		goto no_amba;
	ret = bus_register_notifier(&platform_bus_type, &incoherent_nb);
	if (ret)
		goto no_notifier;
	ret = bus_register_notifier(&platform_bus_type, &incoherent_after_nb);
	if (ret)
		goto no_after;
	dir = debugfs_create_dir("rdma_test", NULL);
	debugfs_create_file("cmd", 0200, dir, NULL, &cmd_fops);
	debugfs_create_file("result", 0444, dir, NULL, &result_fops);
	debugfs_create_file("probe", 0644, dir, NULL, &probe_fops);
	return 0;

no_after:
	bus_unregister_notifier(&platform_bus_type, &incoherent_nb);
no_notifier:
	amba_driver_unregister(&rdma_test_amba_driver);
no_amba:
	platform_driver_unregister(&rdma_test_child_driver);
no_child:
	platform_driver_unregister(&rdma_test_sticky_driver);
no_sticky:
	platform_driver_unregister(&rdma_test_driver);
	return ret;
}

static void __exit rdma_test_exit(void)
{
	unsigned int n;

	debugfs_remove(dir);
	cmd_unhook();
	cmd_unregister();
	for (n = 0; n < MAX_DEVS; n++) {
		cmd_uncopy(n);
		if (kept[n].dev)
			cmd_drop(n);
		dev_del(n);
	}
#ifdef CONFIG_PCI
	if (dressed.kept)
		cmd_dressdrop();
#endif
	amba_driver_unregister(&rdma_test_amba_driver);
	platform_driver_unregister(&rdma_test_child_driver);
	platform_driver_unregister(&rdma_test_sticky_driver);
	platform_driver_unregister(&rdma_test_driver);
	bus_unregister_notifier(&platform_bus_type, &incoherent_after_nb);
	bus_unregister_notifier(&platform_bus_type, &incoherent_nb);
}

module_init(rdma_test_init);
module_exit(rdma_test_exit);
MODULE_DESCRIPTION("Test driver for restricted_dma's kselftests");
MODULE_LICENSE("GPL");
