#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The window belongs to a device for its whole life, not for one binding.
# A driver may free a coherent block after its binding is gone (videobuf2
# frees at the last close(), DRM GEM objects after unplug, any refcounted
# object): after an unbind by hand, after the device is deleted, after the
# module was asked to unload. Each such free must still reach the pool (no
# page of the region may reach the page allocator), a device without its
# driver must get nothing new outside the window, and the loadable module
# must not go while a device still holds a block of it. The driver is
# rdma_test.ko (its keep, drop and late commands).
. ./ktap_helpers.sh
. ./lib.sh

ktap_print_header
ktap_set_plan 42
R=$(first good 1)
base=$(first good 2)
size=$(first good 3)
blk_t=$(transport_of blk)
load
wait_blk "$blk_t" > /dev/null
load_test
echo ok > "$TDBG/probe"
base_used=$(counter io_tlb_used "$R")
ktap_print_msg "$R at $base+$size; io_tlb_used $base_used with $blk_t's rings"

pool_idle() {
	pool_at "$R" "$base_used"
}
reserved() {
	region_reserved "$base" "$size"
}
# A late allocation and map on device N: both refused (what was handed
# out, if anything, is in rdma_test's result).
late_refused() {
	tcmd late "$1"
	r=$(tresult)
	ktap_print_msg "late allocation and map: $r"
	[ "$r" = "coherent refused; map refused" ]
}
keep() {
	tcmd window "$1" "$base" "$size" && tcmd keep "$1" && ktap_print_msg "$(tresult)"
}
drop() {
	tcmd drop "$1" && ktap_print_msg "$(tresult)"
}

# --- a block freed after the driver was unbound by hand ---
tcmd add 0
result "rdma_test.0 keeps a 16 KiB coherent block outside devres" keep 0
echo rdma_test.0 > /sys/bus/platform/drivers/rdma_test/unbind
result "unbound with its block: the log names the device and what it holds" \
	log_has "rdma_test.0: driver gone while holding 1 block(s) of $R"
result "...a late allocation and map on it are refused" late_refused 0
if ! skip_if_builtin 1 "unload refused while a device holds a block"; then
	# A module reference held for the device: delete_module() answers
	# EAGAIN without calling the module, which said why at the unbind.
	refused() {
		! rmmod restricted_dma 2> /dev/null && is_loaded &&
			log_has "rdma_test.0: driver gone while holding 1 block(s) of $R: only their frees are served from now on; restricted_dma cannot unload until they are freed"
	}
	result "...unload is refused while it holds the block, and the log said why" refused
	# (On a module that did unload, bring it back for the rest.)
	load
fi
late_free() {
	drop "$1" && wait_for pool_idle
}
result "...its late free went back to the pool" late_free 0
result "...and no page of the region reached the page allocator" reserved

# --- a device bound again, holding a block, when its region cannot serve
# it any more (here non-coherent from that bind on, and with the dma_iommu
# that dma_configure() leaves on one found behind an IOMMU since): it is
# refused, but keeps the draining ops, so its late free still reaches the
# pool and the loadable module stays in. With the refusing ops instead,
# unload would take them off and leave that free to dma-direct, which hands
# region pages to the page allocator. Either table is installed anew, which
# clears dma_iommu: the DMA core would obey it before any ops, through the
# IOMMU and outside the window ---
unload_refused() {
	! rmmod restricted_dma 2> /dev/null && is_loaded
}
refused_holding() {
	tcmd incoherent 0
	mark_log
	# Its probe fails: the draining ops refuse its first allocation.
	echo rdma_test.0 > /sys/bus/platform/drivers/rdma_test/bind 2> /dev/null
	result "$1, refused, it keeps the draining ops for its block" \
		log_since_mark_has "rdma_test.0: keeps the draining ops of $R for the 1 block(s) it holds"
	result "...and no dma_iommu is left as its probe begins" \
		log_since_mark_has "rdma_test.0: dma_iommu clear as its probe begins"
	result "...a late allocation and map on it are refused" late_refused 0
	if ! skip_if_builtin 1 "unload refused while a refused device holds a block"; then
		result "...unload is still refused while it holds the block" unload_refused
		load
	fi
	result "...its late free went back to the pool" late_free 0
	result "...and no page of the region reached the page allocator" reserved
}
echo rdma_test.0 > /sys/bus/platform/drivers/rdma_test/bind
result "rdma_test.0, bound again, keeps a block" keep 0
echo rdma_test.0 > /sys/bus/platform/drivers/rdma_test/unbind
refused_holding "bound again"

# --- the same with a failed probe between: a holder whose probe fails
# stays one, with its draining ops back (on the full ops a failed probe
# leaves, a bind refused later would have found no holder) ---
echo ok > "$TDBG/probe"
echo rdma_test.0 > /sys/bus/platform/drivers/rdma_test/bind
result "rdma_test.0, bound again, keeps another block" keep 0
echo rdma_test.0 > /sys/bus/platform/drivers/rdma_test/unbind
echo enodev > "$TDBG/probe"
echo rdma_test.0 > /sys/bus/platform/drivers/rdma_test/bind 2> /dev/null
echo ok > "$TDBG/probe"
if ! skip_if_builtin 1 "unload refused after a failed probe of a holder"; then
	result "its probe failed: unload is still refused while it holds the block" unload_refused
	load
fi
refused_holding "then bound again"

# --- a device that sees its region elsewhere (dma-ranges: DMA addresses
# 256 MiB below the physical ones), the region's first: the driver core
# frees its dma-ranges at unbind, before a late free, which must still find
# its block. A second device of the region that sees it where it is cannot
# have the region's ops: the pool finds blocks by one offset a region ---
o=$(expect testnode | awk '$4 != "0x0" { print $1 }' | head -n 1)
OR=$(expect testnode | awk -v o="$o" '$1 == o { print $2 }')
off=$(expect testnode | awk -v o="$o" '$1 == o { print $4 }')
o2=$(expect testnode | awk -v o="$o" -v r="$OR" '$1 != o && $2 == r { print $1 }' | head -n 1)
obase=$(expect good | awk -v r="$OR" '$1 == r { print $2 }')
osize=$(expect good | awk -v r="$OR" '$1 == r { print $3 }')
odma=$(printf '%#x' $(( (obase + off) & 0xffffffffffffffff )))
tcmd add "$o"
okeep() {
	tcmd window "$o" "$odma" "$osize" && tcmd keep "$o" && ktap_print_msg "$(tresult)"
}
result "rdma_test.$o, which sees $OR at $odma, keeps a block there" okeep
echo "rdma_test.$o" > /sys/bus/platform/drivers/rdma_test/unbind
result "...unbound with its block (the driver core freed its dma-ranges)" \
	log_has "rdma_test.$o: driver gone while holding 1 block(s) of $OR"
oidle() {
	[ "$(counter io_tlb_used "$OR")" -eq 0 ]
}
result "...its late free went back to the pool" eval 'drop "$o" && wait_for oidle'
result "...and no page of the region reached the page allocator" region_reserved "$obase" "$osize"
# A copy of its ops on a device of the driver's own, with no dma-ranges
# (as remoteproc_virtio.c makes): it sees the region elsewhere, so its
# unmaps would look their blocks up at the wrong address; it is refused.
echo "rdma_test.$o" > /sys/bus/platform/drivers/rdma_test/bind
tcmd copy "$o"
copy_refused() {
	tcmd copymap "$o" && ktap_print_msg "rdma_test_copy.$o: $(tresult)" && [ "$(tresult)" = refused ]
}
result "...a copy of its ops on a device without its dma-ranges cannot map" copy_refused
tcmd uncopy "$o"
tcmd add "$o2"
result "rdma_test.$o2, which sees $OR where it is, is refused: one DMA address a region" \
	log_has "rdma_test.$o2: sees the region at another DMA address than the region's other devices do (dma-ranges) ($OR); all its DMA will be refused"
tcmd del "$o2"
tcmd del "$o"

# --- a block freed after the device was deleted ---
tcmd del 0
tcmd add 0
result "rdma_test.0, bound again, keeps a block" keep 0
tcmd del 0
result "deleted with its block: the log names the device" \
	log_has "rdma_test.0: device deleted while holding 1 block(s) of $R"
result "...a late allocation and map on it are refused" late_refused 0
result "...its late free went back to the pool" late_free 0
result "...and no page of the region reached the page allocator" reserved

# --- a device deleted while holding nothing, whose struct device someone
# still holds: it keeps the refusing ops (on dma-direct, a late allocation
# or map would be served outside the window) ---
tcmd add 0
tcmd window 0 "$base" "$size"
tcmd ref 0
tcmd del 0
result "rdma_test.0, deleted holding nothing: the log says its DMA is refused from now on" \
	log_has "rdma_test.0: device deleted, detached from $R: its DMA is refused from now on"
result "...a late allocation and map on it, by whoever still holds it, are refused" late_refused 0
tcmd unref 0

# --- a block held when the module is asked to unload ---
if ! skip_if_builtin 7 "unload while a device holds a block"; then
	tcmd add 0
	result "rdma_test.0 keeps a block, bound" keep 0
	mark_log
	rmmod restricted_dma > /tmp/rmmod.out 2>&1 &
	rmmod_pid=$!
	waiting() {
		log_since_mark_has "rdma_test.0: still holds 1 block(s) of $R"
	}
	result "unload unbinds it and waits for its block, naming it" wait_for waiting
	result "...and does not finish while the block is held" kill -0 "$rmmod_pid"
	# A device added while unload waits (for ever, if the block stays):
	# the listeners are still there, so it is fenced and cannot bind.
	tcmd add 2
	sleep 1
	added_unbound() {
		test -e /sys/bus/platform/devices/rdma_test.2 && ! is_bound rdma_test.2
	}
	result "...a device added while it waits is there, and does not bind" added_unbound
	drop 0
	wait "$rmmod_pid"
	result "...the late free lets unload finish" not is_loaded
	result "...no page of the region reached the page allocator" reserved
	load
	result "reload claims the region again" test -e "$DBG/$R"
	tcmd del 0
	tcmd del 2
fi
result "no warning in the kernel log" log_clean
ktap_finished
