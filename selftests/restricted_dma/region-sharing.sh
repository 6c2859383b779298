#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# What restricted_dma shares with the host, read from the other side of the
# call: the test kernels carry a ledger (kernel-patches/0004) that stands in
# for a protected guest's sharing hypercalls (arm64_mem_crypt_ops, as pKVM's
# guest driver registers them) and records every page shared and unshared.
# - Exactly the windows of claimed, mapped regions are shared, and nothing
#   else from the module's first share on (the kernel shares its atomic DMA
#   pools at boot, before); a no-map region is not shared by us.
# - Every page was zeros when it was shared: the window is wiped first (the
#   host left a page of its marker at the window's base before the guest
#   ran, and holds itself to having found it there: check.sh).
# - A share that fails halfway (the ledger's fail_at, planted on the command
#   line) leaves none of that region's pages shared: the pages before the
#   failure were made private again, and the region is refused
#   (region-checks.sh checks the message and the device behind it).
# - Built in, every window was shared before the driver of a device behind
#   it probed.
# - Unloaded, nothing of a window stays shared.
# Runs after region-checks.sh, with the module loaded.
. ./ktap_helpers.sh
. ./lib.sh

L=/sys/kernel/debug/restricted_dma_ledger
ktap_print_header
if [ ! -r "$L/log" ]; then
	ktap_skip_all "no sharing ledger in this kernel (CONFIG_RESTRICTED_DMA_TEST_LEDGER)"
	exit "$KSFT_SKIP"
fi
ktap_set_plan 7
load

# Addresses in decimal from here on: awk here reads no hex.
# Every restricted region of the DT, claimed or not: NAME BASE SIZE.
for d in /proc/device-tree/reserved-memory/*; do
	grep -q restricted-dma-region "$d/compatible" 2>/dev/null || continue
	reg=$(od -An -tx1 "$d/reg" | tr -d ' \n')
	echo "$(basename "$d") $((0x$(echo "$reg" | cut -c1-16))) $((0x$(echo "$reg" | cut -c17-32)))"
done > /tmp/windows
# The claimed ones: NAME BASE SIZE SHARED (0: no-map, not shared by us).
expect good | while read -r name base size users shared; do
	echo "$name $((base)) $((size)) $shared"
done > /tmp/regions
# The ledger: SEQ NS share|unshare PHYS PAGES RET NONZERO.
grep -v '^#' "$L/log" | while read -r seq ns op phys pages ret nz; do
	echo "$seq $ns $op $((phys)) $pages $ret $nz"
done > /tmp/ledger
ktap_print_msg "ledger: $(grep -c '' /tmp/ledger) records"
head -n 20 "$L/log" | sed 's/^/# /'
# window_of PHYS [FILE]: the region of FILE (default: every window) holding PHYS.
window_of() {
	awk -v p="$1" 'p >= $2 && p < $2 + $3 { print $1 }' "${2:-/tmp/windows}"
}
# The module's first call: the first record in any window.
first=$(while read -r seq ns op phys pages ret nz; do
	[ -n "$(window_of "$phys")" ] && { echo "$seq"; break; }
done < /tmp/ledger)
first=${first:-0}

# From the module's first call on, every page shared lies in a window; and
# what is shared now, within the windows, is exactly each claimed mapped
# window, whole.
ok=1
while read -r seq ns op phys pages ret nz; do
	[ "$seq" -ge "$first" ] && [ "$op" = share ] && [ "$ret" = 0 ] || continue
	[ -n "$(window_of "$phys")" ] || { ktap_print_msg "shared outside every window: record $seq"; ok=0; }
done < /tmp/ledger
awk '$4 == 1 { print $2 "+" $3 }' /tmp/regions | sort > /tmp/want-shared
tr '+' ' ' < "$L/shared" | while read -r base size; do
	base=$((base)) size=$((size))
	# A range of the kernel's own (before our first call) meets no window.
	awk -v b="$base" -v s="$size" '$2 < b + s && b < $2 + $3 { f = 1 } END { exit !f }' /tmp/windows &&
		echo "$base+$size"
done | sort > /tmp/shared-windows
ktap_print_msg "shared now: $(tr '\n' ' ' < "$L/shared")"
cmp -s /tmp/want-shared /tmp/shared-windows || ok=0
result "exactly the claimed mapped windows are shared, and nothing else by the module" [ $ok = 1 ]

ok=1 nomap=$(awk '$4 == 0 { print $1 }' /tmp/regions)
for r in $nomap; do
	if awk -v n="$r" 'NR == FNR { if ($1 == n) { b = $2; s = $3 }; next }
		$3 == "share" && $4 >= b && $4 < b + s { f = 1 } END { exit !f }' /tmp/regions /tmp/ledger; then
		ktap_print_msg "no-map $r was shared"
		ok=0
	fi
done
if [ -n "$nomap" ]; then
	result "a no-map region is not shared by us ($(echo $nomap))" [ $ok = 1 ]
else
	ktap_test_skip "a no-map region is not shared by us: this guest has none"
fi

nonzero=0 shares=0
while read -r seq ns op phys pages ret nz; do
	[ "$op" = share ] && [ "$ret" = 0 ] && [ -n "$(window_of "$phys")" ] || continue
	shares=$((shares + pages)) nonzero=$((nonzero + nz))
done < /tmp/ledger
ktap_print_msg "$shares page(s) shared into windows, $nonzero of them not zeros"
ok=0; [ "$shares" -gt 0 ] && [ "$nonzero" -eq 0 ] && ok=1
result "every page was zeros when it was shared" [ $ok = 1 ]

# The region refused for a failed share (region-checks.sh holds the message
# to the expected one): shared page by page up to the failure, then each of
# those pages made private again; none of it shared now.
fname=$(dmesg | sed -n 's|.*/reserved-memory/\([^:]*\): rejected: could not share page.*|\1|p' | head -n 1)
if [ -n "$fname" ]; then
	awk -v n="$fname" '$1 == n' /tmp/windows > /tmp/failed
	tried=0 undone=0 refused=0
	while read -r seq ns op phys pages ret nz; do
		[ -n "$(window_of "$phys" /tmp/failed)" ] || continue
		case "$op:$ret" in
		share:0) tried=$((tried + pages)) ;;
		share:*) refused=$((refused + 1)) ;;
		unshare:0) undone=$((undone + pages)) ;;
		esac
	done < /tmp/ledger
	ktap_print_msg "$fname: $tried page(s) shared, $refused share refused, then $undone made private again"
	ok=0; [ "$tried" -gt 0 ] && [ "$refused" -gt 0 ] && [ "$undone" -eq "$tried" ] && ok=1
	result "a share that failed halfway was undone ($fname)" [ $ok = 1 ]
	still=$(tr '+' ' ' < "$L/shared" | while read -r base size; do
		awk -v b="$((base))" -v s="$((size))" '$2 < b + s && b < $2 + $3 { print $1 }' /tmp/failed; done)
	result "nothing of $fname stays shared" [ -z "$still" ]
else
	ktap_print_msg "no region was refused for a failed share"
	ktap_test_fail "a share that failed halfway was undone"
	ktap_test_fail "nothing of the failed region stays shared"
fi

# Built in: the window was shared before the driver of the device behind it
# probed (the ledger's clock is the log's).
if is_builtin; then
	r=$(first good 1)
	blk=$(expect device | awk -v r="$r" '$1 == "blk" && $3 == r { print $2; exit }')
	shared_ns=$(awk -v b="$(($(first good 2)))" '$3 == "share" && $6 == 0 && $4 == b { print $2; exit }' /tmp/ledger)
	dev=$(basename "$(blk_of "$blk")")
	probe_ns=$(dmesg | grep -E "virtio_blk virtio[0-9]+: \[$dev\]" | head -n 1 |
		sed -n 's/^\[ *\([0-9]*\.[0-9]*\)\].*/\1/p' | awk '{ printf "%d", $1 * 1000000000 }')
	ktap_print_msg "$r shared at ${shared_ns:-?} ns; $dev's driver probed at ${probe_ns:-?} ns"
	ok=0; [ -n "$shared_ns" ] && [ -n "$probe_ns" ] && [ "$shared_ns" -lt "$probe_ns" ] && ok=1
	result "built in, the window was shared before the driver behind it probed" [ $ok = 1 ]
else
	ktap_test_skip "built in, the window was shared before the driver behind it probed: the module loads after boot"
fi

if ! skip_if_builtin 1 "unloaded, nothing of a window stays shared"; then
	unload
	still=$(tr '+' ' ' < "$L/shared" | while read -r base size; do
		awk -v b="$((base))" -v s="$((size))" '$2 < b + s && b < $2 + $3 { print $1 }' /tmp/windows; done)
	ktap_print_msg "shared after unload: $(tr '\n' ' ' < "$L/shared")"
	result "unloaded, nothing of a window stays shared" [ -z "$still" ]
	load
fi
ktap_finished
