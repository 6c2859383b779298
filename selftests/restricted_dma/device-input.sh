#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Virtio-input behind the window. The driver posts its event buffers once
# (mapped from the device, one small struct a buffer) and maps one again
# each time it takes an event. A keyboard behind a region, one without
# ACCESS_PLATFORM behind it (refused, with its reason), both bound by hand
# once restricted_dma is there, and a control keyboard with no region: the
# host types a word into each working one over QMP (input-send-event,
# harness/qmp-agent.py) and the guest reads the keys back from evdev
# (evkeys.c). QEMU sends keys to the keyboard whose driver was made ready
# last: the control, up from boot, first; then the restricted one, once
# bound. None is unbound: 6.12's virtio_input leaves its event buffers
# mapped when its driver is removed. Last, the host hot-adds a
# virtio-keyboard-pci (device_add into a root port behind the host bridge,
# whose node names a region of its own), restricted from its first probe and
# bound once, and types into it. The host then checks where QEMU finds each
# keyboard's rings and every descriptor (check.sh).
. ./ktap_helpers.sh
. ./lib.sh

ktap_print_header
ktap_set_plan 10
R=$(expect device | awk '$1 == "input" && $3 != "-" && $4 == "on" { print $3; exit }')
kbd=$(expect device | awk '$1 == "input" && $3 != "-" && $4 == "on" { print $2; exit }')
off=$(expect device | awk '$1 == "input" && $4 == "off" { print $2; exit }')
ctl=$(expect device | awk '$1 == "input" && $3 == "-" { print $2; exit }')

# The evdev node of the virtio device below transport $1.
event_of() {
	e=$(ls -d "/sys/bus/platform/devices/$1"/virtio*/input/input*/event* 2>/dev/null | head -n 1)
	[ -n "$e" ] && echo "/dev/input/${e##*/}"
}
wait_event() {
	wait_for event_of "$1" > /dev/null && event_of "$1"
}
# types EVENT WORD CODES [OTHER]: the host types WORD on QEMU's active
# keyboard; evdev node EVENT must report each key down then up, in order, as
# CODES ("CODE VALUE" pairs). What evdev node OTHER reads meanwhile is left
# in /tmp/other.
types() {
	: > /tmp/other
	[ -z "$4" ] || { ./evkeys "$4" 3 > /tmp/other & }
	./evkeys "$1" 3 > /tmp/keys &
	reader=$!
	sleep 1
	ask_host keys "$2"
	wait
	got=$(tr '\n' ' ' < /tmp/keys)
	[ "$got" = "$3 " ] || { ktap_print_msg "$1: read '$got', expected '$3 '"; return 1; }
}

load
ev_ctl=$(wait_event "$ctl")
# KEY_C 46, KEY_T 20, KEY_L 38; KEY_R 19, KEY_D 32, KEY_M 50, KEY_A 30.
result "the host types 'ctl' into $ctl (no region, the only keyboard up), and evdev reads it" \
	types "$ev_ctl" ctl "46 1 46 0 20 1 20 0 38 1 38 0"

bind_held "$off"
result "the keyboard without ACCESS_PLATFORM behind $R is refused, with its reason" \
	log_has "on $off: refused: did not negotiate VIRTIO_F_ACCESS_PLATFORM, and its DMA is restricted to $R"
result "...and has no input device" [ -z "$(event_of "$off")" ]

idle=$(counter io_tlb_used "$R")
bind_held "$kbd"
ev_kbd=$(wait_event "$kbd")
ktap_print_msg "$kbd ($ev_kbd) behind $R, $ctl ($ev_ctl) behind none, $off refused"
result "$kbd is restricted to $R, $ctl to none" \
	eval 'serves "$R" "$kbd" && not grep -qx "$ctl" "$DBG/$R/devices"'
up=$(( $(counter io_tlb_used "$R") - idle ))
maps0=$(counter maps "$R")
result "the host types 'rdma' into $kbd (now the active keyboard), and evdev reads it" \
	types "$ev_kbd" rdma "19 1 19 0 32 1 32 0 50 1 50 0 30 1 30 0" "$ev_ctl"
result "...and none of it reached the control keyboard" [ ! -s /tmp/other ]
maps=$(( $(counter maps "$R") - maps0 ))
ktap_print_msg "$R mapped $maps event buffers for 8 key events and their 8 sync reports"
result "...each event came through $R's pool ($maps maps for 16 events)" [ "$maps" -ge 16 ]
# Sizing (docs/operating.md): $R serves this keyboard alone (the other is refused).
ktap_print_msg "sizing: a keyboard keeps $up slots (2 KiB) of $R mapped once up, at most $(( $(counter io_tlb_used_hiwater "$R") - idle ))"

# The keyboard the VMM adds to the running guest (not under lockdep:
# skip_hot_add in lib.sh says why).
if ! skip_hot_add virtio-keyboard-pci "restricted from its first probe" "typed into" "...through its region"; then
	set -- $(hotplug_of input)
	port=$1 RP=$2
	pci_event() {
		e=$(ls -d "/sys/bus/pci/devices/$hot"/virtio*/input/input*/event* 2>/dev/null | head -n 1)
		[ -n "$e" ] && echo "/dev/input/${e##*/}"
	}
	mark_log
	hot=$(hot_add input)
	ev_pci=$( [ -n "$hot" ] && wait_up_to 10 pci_event)
	ktap_print_msg "device_add into $port: ${hot:-nothing appeared} (${ev_pci:-no input device})"
	hot_first_probe() {
		ours=$(first_since_mark "restricted_dma: $hot: DMA restricted to $RP")
		probe=$(first_since_mark "input: QEMU Virtio Keyboard")
		ktap_print_msg "$hot: ops at log line ${ours:-none}, the keyboard's input device at ${probe:-none}"
		serves "$RP" "$hot" && comes_before "$ours" "$probe" && not log_since_mark_has 're-probing it'
	}
	result "the virtio-keyboard-pci the VMM hot-added, ${hot:-none} behind $port, is restricted to $RP from its first probe" hot_first_probe
	pmaps0=$(counter maps "$RP")
	# KEY_P 25, KEY_C 46, KEY_I 23.
	result "...the host types 'pci' into it (now the active keyboard), evdev reads it, and the others read nothing" \
		eval 'types "$ev_pci" pci "25 1 25 0 46 1 46 0 23 1 23 0" "$ev_kbd" && [ ! -s /tmp/other ]'
	pmaps=$(( $(counter maps "$RP") - pmaps0 ))
	result "...each event came through $RP's pool ($pmaps maps for 12 events)" [ "$pmaps" -ge 12 ]
fi
ask_host virtqueues
# The host's agent polls the console: give it time to ask QEMU.
sleep 3
ktap_finished
