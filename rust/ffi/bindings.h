/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The C side of restricted_dma that the Rust code sees: the kernel headers
 * whose items Kbuild runs bindgen over (module-local bindings, so the kernel
 * tree stays unmodified), plus the prototypes of our helpers in helpers.c,
 * which stand in for static inline functions and macros bindgen cannot bind.
 */
#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/device.h>
#include <linux/dma-map-ops.h>
#include <linux/dma-mapping.h>
#include <linux/io.h>
#include <linux/of.h>
#include <linux/of_address.h>
#include <linux/of_reserved_mem.h>
#include <linux/pci.h>
#include <linux/platform_device.h>
#include <linux/scatterlist.h>
#include <linux/seq_file.h>
#include <linux/set_memory.h>
#include <linux/spinlock.h>
#include <linux/virtio.h>
#include <linux/virtio_anchor.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>

#include "helpers.h"

/* Values bindgen cannot evaluate from their macros (the kernel's own trick). */
const unsigned long RSDMA_CONST_PAGE_SIZE = PAGE_SIZE;
const unsigned long RSDMA_CONST_DMA_ATTR_SKIP_CPU_SYNC = DMA_ATTR_SKIP_CPU_SYNC;
const unsigned long RSDMA_CONST_DMA_ATTR_NO_WARN = DMA_ATTR_NO_WARN;
const gfp_t RSDMA_CONST___GFP_NOWARN = __GFP_NOWARN;
const unsigned int RSDMA_CONST_VIRTIO_F_ACCESS_PLATFORM = VIRTIO_F_ACCESS_PLATFORM;
const unsigned int RSDMA_CONST_VIRTIO_F_VERSION_1 = VIRTIO_F_VERSION_1;
const unsigned int RSDMA_CONST_VIRTIO_ID_BALLOON = VIRTIO_ID_BALLOON;
const unsigned int RSDMA_CONST_VIRTIO_ID_MEM = VIRTIO_ID_MEM;
const unsigned int RSDMA_CONST_VIRTIO_ID_PMEM = VIRTIO_ID_PMEM;
const unsigned long RSDMA_CONST_BUS_NOTIFY_ADD_DEVICE = BUS_NOTIFY_ADD_DEVICE;
const unsigned long RSDMA_CONST_BUS_NOTIFY_BIND_DRIVER = BUS_NOTIFY_BIND_DRIVER;
const unsigned long RSDMA_CONST_BUS_NOTIFY_BOUND_DRIVER = BUS_NOTIFY_BOUND_DRIVER;
const unsigned long RSDMA_CONST_BUS_NOTIFY_UNBOUND_DRIVER = BUS_NOTIFY_UNBOUND_DRIVER;
const unsigned long RSDMA_CONST_BUS_NOTIFY_DRIVER_NOT_BOUND = BUS_NOTIFY_DRIVER_NOT_BOUND;
const unsigned long RSDMA_CONST_BUS_NOTIFY_REMOVED_DEVICE = BUS_NOTIFY_REMOVED_DEVICE;
