#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The reserved-memory handler: good regions are claimed and published in
# debugfs with exactly the DT's base and size and their consumers, and in
# sysfs with the same values; every malformed node is rejected with its
# reason and nothing of it is claimed.
. ./ktap_helpers.sh
. ./lib.sh

ktap_print_header
# Records go through files: a `| while` loop would run in a subshell and
# lose the KTAP counters.
expect good > /tmp/good
expect bad > /tmp/bad
ngood=$(grep -c . /tmp/good)
nbad=$(grep -c . /tmp/bad)
# Devices behind a rejected node: they must be refused.
cut -d' ' -f1 /tmp/bad > /tmp/badnames
expect device | awk 'NR == FNR { bad[$1] = 1; next } ($3 in bad) { print $2, $3 }' /tmp/badnames - > /tmp/baddev
nbaddev=$(grep -c . /tmp/baddev)
# Devices behind a good region that are not dma-coherent: refused too.
expect device | awk '$5 == "noncoherent" && $3 != "-" { print $2, $3 }' > /tmp/noncoherent
nnoncoh=$(grep -c . /tmp/noncoherent)
# Devices behind a good region whose node says it is a PCI host bridge's
# (device_type = "pci"): refused (the module leaves a real host bridge's own
# DMA to no one, and the host writes device_type).
expect device | awk '$5 == "pcitype" && $3 != "-" { print $2, $3 }' > /tmp/pcitype
npcitype=$(grep -c . /tmp/pcitype)
ktap_set_plan $((1 + 5 * ngood + 2 * nbad + 2 * nbaddev + 2 * nnoncoh + 2 * npcitype))

unload
mark_log_before_load
if is_builtin; then
	result "restricted_dma is built in and running" [ -d "$DBG" ]
elif load; then
	ktap_test_pass "module loads"
else
	ktap_test_fail "module loads"
fi

while read -r name base size users shared; do
	[ -n "$name" ] || continue
	d=$DBG/$name
	got_base=$(cat "$d/base" 2>/dev/null)
	got_size=$(cat "$d/size" 2>/dev/null)
	if [ -d "$d" ] && [ "$((got_base))" = "$((base))" ] && [ "$((got_size))" = "$((size))" ]; then
		ktap_test_pass "region $name in debugfs at $base size $size"
	else
		ktap_print_msg "debugfs says base=$got_base size=$got_size"
		ktap_test_fail "region $name in debugfs at $base size $size"
	fi
	ok=1
	want=$(echo "$users" | tr ',' '\n' | grep -v '^-$' | sort)
	have=$(sort "$d/consumers" 2>/dev/null)
	[ "$want" = "$have" ] || ok=0
	if [ $ok = 1 ]; then
		ktap_test_pass "region $name lists its consumers ($users)"
	else
		ktap_print_msg "consumers: $(echo $have)"
		ktap_test_fail "region $name lists its consumers ($users)"
	fi
	# Shared with the host by the module, unless no-map (see the binding).
	result "region $name shared with the host: $shared" [ "$(cat "$d/shared" 2>/dev/null)" = "$shared" ]
	# The same values in sysfs, one a file, for kernels that do not mount
	# debugfs: the files are debugfs's less its lists (those that do not
	# move while the region is idle compared too).
	s=$SYS/$name
	ok=1
	for f in base size shared receive io_tlb_nslabs areas; do
		[ "$(cat "$s/$f" 2>/dev/null)" = "$(cat "$d/$f" 2>/dev/null)" ] || ok=0
	done
	want=$(ls "$d" 2>/dev/null | grep -vxE 'consumers|devices|sizing|holders')
	have=$(ls "$s" 2>/dev/null | grep -vxE 'uevent|power|subsystem')
	[ -n "$want" ] && [ "$want" = "$have" ] || { ok=0; ktap_print_msg "sysfs has: $(echo $have)"; }
	# Readable by root alone, as debugfs is.
	[ "$(stat -c %a "$s/io_tlb_used" 2>/dev/null)" = 400 ] || { ok=0; ktap_print_msg "io_tlb_used has mode $(stat -c %a "$s/io_tlb_used" 2>/dev/null)"; }
	result "region $name in sysfs: debugfs's values, one a file, for root" [ $ok = 1 ]
	# Busy in /proc/iomem under its name, so that nothing (memory hot-add,
	# a driver, a PCI BAR) is placed over it later.
	range=$(printf '%08x-%08x' "$((base))" "$((base + size - 1))")
	result "region $name is busy in /proc/iomem ($range)" \
		grep -q "^ *$range : $name\$" /proc/iomem
done < /tmp/good

while read -r name reason; do
	[ -n "$name" ] || continue
	if log_since_mark | grep -F "/reserved-memory/$name: rejected: " | grep -qF "$reason"; then
		ktap_print_msg "$(log_since_mark | grep -F "/reserved-memory/$name: rejected: " | head -n 1 | sed 's/^\[[^]]*\] //')"
		ktap_test_pass "malformed $name rejected: $reason"
	else
		ktap_print_msg "log: $(log_since_mark | grep -F "$name" | head -n 3)"
		ktap_test_fail "malformed $name rejected: $reason"
	fi
	if [ ! -e "$DBG/$name" ] && [ ! -e "$SYS/$name" ]; then
		ktap_test_pass "malformed $name claims nothing"
	else
		ktap_test_fail "malformed $name claims nothing"
	fi
done < /tmp/bad

while read -r t name; do
	result "$t behind rejected $name is refused, with its reason" \
		log_has "$t: names a restricted region that was not claimed ($name); all its DMA will be refused"
	result "$t behind rejected $name has no block device" no_blk "$t"
done < /tmp/baddev

while read -r t name; do
	result "$t behind $name but not dma-coherent is refused, with its reason" \
		log_has "$t: is not dma-coherent, and the pool does no cache maintenance ($name); all its DMA will be refused"
	result "$t, not dma-coherent, has no block device" no_blk "$t"
done < /tmp/noncoherent

while read -r t name; do
	result "$t behind $name, its node dressed as a PCI host bridge's, is refused, with its reason" \
		log_has "$t: its node says it is a PCI host bridge (virtio_mmio@${t%%.*}): its own DMA will be refused"
	result "$t, dressed as a PCI host bridge, has no block device" no_blk "$t"
done < /tmp/pcitype

# The host looks where each restricted device's rings and buffers are, and
# that each refused one set up none (check.sh), unless a later test of this
# guest asks after its own traffic (the host's last answer is the one held).
later=$(expect tests | tr ' ' '\n' | awk 'seen { print } $0 == "region-checks.sh" { seen = 1 }')
if [ -z "$later" ] || ! grep -qs 'ask_host virtqueues' $later; then
	ask_host virtqueues
	sleep 3
fi
ktap_finished
