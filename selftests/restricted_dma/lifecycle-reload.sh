#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Unload under no load releases everything: the debugfs entries go, and every
# device behind a region is unbound and left unbound (never run without its
# pool). Reload brings the regions back, and the block device behind one works
# again. 20 rounds (100 in the 'basic' guest), with no warning in the kernel
# log. A debugfs file held open keeps the module in until it is closed.
. ./ktap_helpers.sh
. ./lib.sh

# 20 rounds, or what the variant asks (the 'basic' guest does 100).
ROUNDS=$(expect reload-rounds)
ROUNDS=${ROUNDS:-20}
ktap_print_header
ktap_set_plan 9
if skip_if_builtin 9 "20 unload and reload rounds"; then
	ktap_finished
	exit
fi

load
names=$(expect good | cut -d' ' -f1)
# Transports behind a claimed region (those of bad regions are refused anyway).
restricted=$(for n in $names; do expect device | awk -v r="$n" '$3 == r { print $2 }'; done)
blk=$(transport_of blk)
# Those the variant expects a driver on: not refused for lack of
# ACCESS_PLATFORM or of coherence, and not an empty transport (no device, so
# no driver).
working=$(for n in $names; do
	expect device | awk -v r="$n" '$3 == r && $4 == "on" && $5 == "coherent" && $1 != "empty" { print $2 }'
done)
gone=1 back=1 unbound=1 works=1 rebound=1 fenced=1
i=0
while [ $i -lt $ROUNDS ]; do
	unload || { gone=0; ktap_print_msg "rmmod failed in round $i"; break; }
	for d in "$DBG" "$SYS"; do
		[ -e "$d" ] && { gone=0; ktap_print_msg "round $i: $d still there after unload"; }
	done
	for t in $restricted; do
		[ -e "/sys/bus/platform/devices/$t/driver" ] &&
			{ unbound=0; ktap_print_msg "round $i: $t still bound after unload"; }
	done
	# Binding one by hand while the module is out must not work either,
	# even with no driver_override in the way (sys/gate.rs).
	if [ $i = 0 ]; then
		for t in $working; do
			echo > "/sys/bus/platform/devices/$t/driver_override"
			echo "$t" > /sys/bus/platform/drivers/virtio-mmio/bind 2>/dev/null
			[ -e "/sys/bus/platform/devices/$t/driver" ] &&
				{ fenced=0; ktap_print_msg "$t could be bound by hand while unloaded"; }
		done
	fi
	load || { back=0; ktap_print_msg "insmod failed in round $i"; break; }
	for n in $names; do
		[ -d "$DBG/$n" ] && [ -d "$SYS/$n" ] ||
			{ back=0; ktap_print_msg "round $i: $n missing after reload"; }
	done
	for t in $working; do
		[ -e "/sys/bus/platform/devices/$t/driver" ] ||
			{ rebound=0; ktap_print_msg "round $i: $t not bound again after reload"; }
	done
	if [ -n "$blk" ]; then
		dev=$(wait_blk "$blk") && ./odirect roundtrip "$dev" 65536 0 0 "$i" ||
			{ works=0; ktap_print_msg "round $i: block device behind $blk not working"; }
	fi
	i=$((i + 1))
done
# A debugfs file open across an unload: its last close reads the file's
# file_operations again, in the module's memory. They name the module as
# their owner, so rmmod must answer "in use" until the close.
region=$(echo "$names" | head -n 1)
if [ -n "$region" ] && exec 3<"$DBG/$region/maps"; then
	held=1
	unload 2>/dev/null && held=0
	exec 3<&-
	result "an open debugfs file of $region keeps the module in" [ $held = 1 ]
	reload() { unload && load; }
	result "...and once it is closed, the module unloads and loads again" reload
else
	ktap_test_skip "an open debugfs file keeps the module in (no region here)"
	ktap_test_skip "...and once it is closed, the module unloads and loads again (no region here)"
fi
result "unload removes all debugfs and sysfs entries ($ROUNDS rounds)" [ $gone = 1 ]
result "unload leaves every restricted device unbound ($ROUNDS rounds)" [ $unbound = 1 ]
result "...and no one can bind them by hand until reload" [ $fenced = 1 ]
result "reload restores every region ($ROUNDS rounds)" [ $back = 1 ]
result "reload binds every restricted device again ($ROUNDS rounds)" [ $rebound = 1 ]
if [ -n "$blk" ]; then
	result "the block device works after every reload" [ $works = 1 ]
else
	ktap_test_skip "the block device works after every reload (no block device here)"
fi
result "no warning in the kernel log" log_clean
ktap_finished
