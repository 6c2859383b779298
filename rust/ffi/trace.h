/* SPDX-License-Identifier: GPL-2.0 */
/*
 * restricted_dma's trace events: events/restricted_dma/ in tracefs.
 *
 * Each names the device and its region and says how much of the region's
 * pool is in use after it ("used=N/M": slots of 2 KiB), so that an operator
 * with tracefs, and without debugfs, sees who fills a region and when. The
 * events are C because Rust in 6.12 cannot declare a tracepoint; Rust calls
 * them through trace.c, and only while one is enabled (rsdma_trace_users).
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM restricted_dma

#if !defined(RSDMA_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define RSDMA_TRACE_H

#include <linux/device.h>
#include <linux/dma-direction.h>
#include <linux/tracepoint.h>

int rsdma_trace_reg(void);
void rsdma_trace_unreg(void);

/* A coherent block has no direction: DMA_NONE. */
#define rsdma_show_dir(dir)						\
	__print_symbolic(dir, { DMA_BIDIRECTIONAL, "bidirectional" },	\
			 { DMA_TO_DEVICE, "to_device" },		\
			 { DMA_FROM_DEVICE, "from_device" },		\
			 { DMA_NONE, "none" })

DECLARE_EVENT_CLASS(restricted_dma_op,
	TP_PROTO(struct device *dev, const char *region, u64 dma, size_t size,
		 int dir, unsigned int used, unsigned int nslots),
	TP_ARGS(dev, region, dma, size, dir, used, nslots),
	TP_STRUCT__entry(
		__string(dev, dev_name(dev))
		__string(region, region)
		__field(u64, dma)
		__field(size_t, size)
		__field(int, dir)
		__field(unsigned int, used)
		__field(unsigned int, nslots)
	),
	TP_fast_assign(
		__assign_str(dev);
		__assign_str(region);
		__entry->dma = dma;
		__entry->size = size;
		__entry->dir = dir;
		__entry->used = used;
		__entry->nslots = nslots;
	),
	TP_printk("%s region=%s dma=%#llx size=%zu dir=%s used=%u/%u",
		  __get_str(dev), __get_str(region), __entry->dma, __entry->size,
		  rsdma_show_dir(__entry->dir), __entry->used, __entry->nslots)
);

#define RSDMA_OP_PROTO							\
	TP_PROTO(struct device *dev, const char *region, u64 dma, size_t size, \
		 int dir, unsigned int used, unsigned int nslots)
#define RSDMA_OP_ARGS TP_ARGS(dev, region, dma, size, dir, used, nslots)

DEFINE_EVENT_FN(restricted_dma_op, restricted_dma_map, RSDMA_OP_PROTO, RSDMA_OP_ARGS,
		rsdma_trace_reg, rsdma_trace_unreg);
DEFINE_EVENT_FN(restricted_dma_op, restricted_dma_unmap, RSDMA_OP_PROTO, RSDMA_OP_ARGS,
		rsdma_trace_reg, rsdma_trace_unreg);
DEFINE_EVENT_FN(restricted_dma_op, restricted_dma_sync_for_cpu, RSDMA_OP_PROTO,
		RSDMA_OP_ARGS, rsdma_trace_reg, rsdma_trace_unreg);
DEFINE_EVENT_FN(restricted_dma_op, restricted_dma_sync_for_device, RSDMA_OP_PROTO,
		RSDMA_OP_ARGS, rsdma_trace_reg, rsdma_trace_unreg);
DEFINE_EVENT_FN(restricted_dma_op, restricted_dma_alloc, RSDMA_OP_PROTO, RSDMA_OP_ARGS,
		rsdma_trace_reg, rsdma_trace_unreg);
DEFINE_EVENT_FN(restricted_dma_op, restricted_dma_free, RSDMA_OP_PROTO, RSDMA_OP_ARGS,
		rsdma_trace_reg, rsdma_trace_unreg);

/* An op refused, by the pool (full, too large, not a live mapping) or
 * before it (outside the linear map, a driver gone): @op is what was
 * asked, @why the refusal. */
TRACE_EVENT_FN(restricted_dma_fail,
	TP_PROTO(struct device *dev, const char *region, const char *op, size_t op_len,
		 u64 dma, size_t size, int dir, const char *why, size_t why_len,
		 unsigned int used, unsigned int nslots),
	TP_ARGS(dev, region, op, op_len, dma, size, dir, why, why_len, used, nslots),
	TP_STRUCT__entry(
		__string(dev, dev_name(dev))
		__string(region, region)
		__string_len(op, op, op_len)
		__field(u64, dma)
		__field(size_t, size)
		__field(int, dir)
		__string_len(why, why, why_len)
		__field(unsigned int, used)
		__field(unsigned int, nslots)
	),
	TP_fast_assign(
		__assign_str(dev);
		__assign_str(region);
		__assign_str(op);
		__entry->dma = dma;
		__entry->size = size;
		__entry->dir = dir;
		__assign_str(why);
		__entry->used = used;
		__entry->nslots = nslots;
	),
	TP_printk("%s region=%s op=%s dma=%#llx size=%zu dir=%s used=%u/%u: %s",
		  __get_str(dev), __get_str(region), __get_str(op), __entry->dma,
		  __entry->size, rsdma_show_dir(__entry->dir), __entry->used,
		  __entry->nslots, __get_str(why)),
	rsdma_trace_reg, rsdma_trace_unreg
);

#endif /* RSDMA_TRACE_H */

/* Out of the kernel's include/trace/events: found beside this file
 * (Kbuild adds this directory to trace.o's include path). */
#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE trace
#include <trace/define_trace.h>
