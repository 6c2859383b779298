// SPDX-License-Identifier: GPL-2.0
/*
 * The trace events of trace.h, made here (CREATE_TRACE_POINTS), and the two
 * calls Rust makes to fire them (sys/trace.rs).
 *
 * rsdma_trace_users counts the events enabled now: each event's
 * registration raises it and its unregistration lowers it, so that Rust
 * reads one word before it gathers an event's fields, and the DMA path pays
 * a load and a branch for tracing while none is enabled.
 */
#include <linux/atomic.h>

#define CREATE_TRACE_POINTS
#include "trace.h"

#include "helpers.h"

atomic_t rsdma_trace_users = ATOMIC_INIT(0);

int rsdma_trace_reg(void)
{
	atomic_inc(&rsdma_trace_users);
	return 0;
}

void rsdma_trace_unreg(void)
{
	atomic_dec(&rsdma_trace_users);
}

/* One case of rsdma_trace_op(): event @e fires trace_restricted_dma_@name. */
#define RSDMA_TRACE_CASE(e, name)							\
	case e:										\
		trace_restricted_dma_##name(dev, region, dma, size, dir, used, nslots);	\
		break

void rsdma_trace_op(enum rsdma_trace_event event, struct device *dev, const char *region,
		    u64 dma, size_t size, int dir, unsigned int used, unsigned int nslots)
{
	switch (event) {
	RSDMA_TRACE_CASE(RSDMA_TRACE_MAP, map);
	RSDMA_TRACE_CASE(RSDMA_TRACE_UNMAP, unmap);
	RSDMA_TRACE_CASE(RSDMA_TRACE_SYNC_FOR_CPU, sync_for_cpu);
	RSDMA_TRACE_CASE(RSDMA_TRACE_SYNC_FOR_DEVICE, sync_for_device);
	RSDMA_TRACE_CASE(RSDMA_TRACE_ALLOC, alloc);
	RSDMA_TRACE_CASE(RSDMA_TRACE_FREE, free);
	}
}

void rsdma_trace_fail(struct device *dev, const char *region, const char *op, size_t op_len,
		      u64 dma, size_t size, int dir, const char *why, size_t why_len,
		      unsigned int used, unsigned int nslots)
{
	trace_restricted_dma_fail(dev, region, op, op_len, dma, size, dir, why, why_len, used,
				  nslots);
}
