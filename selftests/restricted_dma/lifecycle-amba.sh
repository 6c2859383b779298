#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# An ARM PrimeCell whose node names a region: of_platform_populate() makes
# it on the AMBA bus, not the platform bus (a PL330 DMA controller is one).
# It gets the region's pool at its bind as a platform device does, and
# while the loadable module is out it is fenced (sys/gate.rs).
#
# rdma_test's AMBA driver (rdma_test_amba) sets a mask, allocates 16 KiB
# coherent and maps a page at probe, and logs where each went. The node has
# no dma-ranges: DMA addresses are physical ones. A second one, not
# dma-coherent, sits on a simple bus: refused, and below a platform device,
# so that a walk of the buses and their descendants meets it twice unless
# it knows the AMBA bus is one it walks.
. ./ktap_helpers.sh
. ./lib.sh

ktap_print_header
ktap_set_plan 7
set -- $(expect amba | head -n 1)
dev=$1 R=$2
set -- $(expect amba | awk '$3 == "noncoherent" && $4 != "-" { print $1, $4; exit }')
nc=$1 nc_bus=$2
set -- $(expect good | awk -v r="$R" '$1 == r { print $2, $3 }')
base=$1 size=$2
AMBA=/sys/bus/amba
load
load_test

amba_bound() {
	[ -e "$AMBA/devices/$dev/driver" ]
}
amba_bind() {
	echo "$dev" > "$AMBA/drivers/rdma_test_amba/bind" 2>/dev/null
}
in_window() {
	[ $(($1)) -ge $((base)) ] && [ $(($1)) -lt $((base + size)) ]
}
# Whether the last probe since the mark put its coherent block and its
# mapping in R.
probed_inside() {
	line=$(log_since_mark | grep -F "$dev: amba:" | tail -n 1)
	ktap_print_msg "${line:-no probe since the mark}"
	set -- $(echo "$line" | sed -n 's/.*coherent at \(0x[0-9a-f]*\), map at \(0x[0-9a-f]*\)$/\1 \2/p')
	[ $# -eq 2 ] && in_window "$1" && in_window "$2"
}

# A fresh probe, whatever earlier tests left (rdma_test loaded while the
# module was out leaves it fenced, unbound).
mark_log
amba_bound && echo "$dev" > "$AMBA/drivers/rdma_test_amba/unbind"
amba_bind
wait_for amba_bound
result "$dev, an AMBA device whose node names $R, probes through its pool: its coherent block and its mapping are in the region" \
	probed_inside
result "...$R's debugfs lists it, and the log says so" \
	eval 'serves "$R" "$dev" && log_since_mark_has "$dev: DMA restricted to $R"'
echo "$nc" > "$AMBA/drivers/rdma_test_amba/bind" 2>/dev/null
ktap_print_msg "refused: $(tr '\n' ' ' < "$DBG/devices/refused")"
result "$nc, not dma-coherent, below $nc_bus's platform device, is refused, and debugfs names it once" \
	eval '[ "$(grep -cx "$nc" "$DBG/devices/refused")" -eq 1 ] && log_has "$nc: is not dma-coherent"'

if ! skip_if_builtin 3 "the fence while unloaded"; then
	unload
	amba_bind
	result "while unloaded, $dev is unbound and does not bind by hand" not amba_bound
	s=$(cat /sys/class/devlink/platform:restricted_dma_gate.*--amba:"$dev"/status 2>/dev/null | head -n 1)
	ktap_print_msg "$dev's link to restricted_dma_gate: ${s:-none}"
	result "...it is a consumer of restricted_dma_gate, which has no driver" [ "$s" = dormant ]
	mark_log
	load
	result "reload binds it again, through the pool" \
		eval 'wait_for serves "$R" "$dev" && probed_inside'
fi
result "no warning in the kernel log" log_clean
ktap_finished
