#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Virtio-input behind the window. The driver posts its event buffers once
# (mapped from the device, one struct a buffer) and maps them again each
# time it takes an event. A keyboard behind a region, one without
# ACCESS_PLATFORM behind it (refused, with its reason), a
# virtio-keyboard-pci behind the host bridge's region and a control keyboard
# with no region: the host types a word into each working one over QMP
# (input-send-event, harness/qmp-agent.py) and the guest reads the keys back
# from evdev (evkeys.c). QEMU sends keys to the keyboard whose driver was
# made ready last: the guest rebinds a keyboard's driver before the host
# types on it, which also takes it through the pool's release and re-setup. The host then checks where QEMU finds each
# keyboard's rings and every descriptor (check.sh).
. ./ktap_helpers.sh
. ./lib.sh

ktap_print_header
ktap_set_plan 8
R=$(expect device | awk '$1 == "input" && $3 != "-" && $4 == "on" { print $3; exit }')
kbd=$(expect device | awk '$1 == "input" && $3 != "-" && $4 == "on" { print $2; exit }')
off=$(expect device | awk '$1 == "input" && $4 == "off" { print $2; exit }')
ctl=$(expect device | awk '$1 == "input" && $3 == "-" { print $2; exit }')
RP=$(expect good | awk -v p=pcie@10000000 '$4 ~ p { print $1; exit }')
pci=$(pcidev_of input on)

# The evdev node of the virtio device below sysfs device $1.
event_of() {
	e=$(ls -d "$1"/virtio*/input/input*/event* 2>/dev/null | head -n 1)
	[ -n "$e" ] && echo "/dev/input/${e##*/}"
}
wait_event() {
	wait_for event_of "$1" > /dev/null && event_of "$1"
}
# activate SYSFS_DEVICE: makes the keyboard below it QEMU's active one (its
# virtio driver unbound and bound again); sets ev to its evdev node.
activate() {
	v=$(ls -d "$1"/virtio* | head -n 1)
	v=${v##*/}
	echo "$v" > /sys/bus/virtio/drivers/virtio_input/unbind &&
		echo "$v" > /sys/bus/virtio/drivers/virtio_input/bind &&
		ev=$(wait_event "$1")
}
# types WORD CODES: the host types WORD; the active keyboard's evdev node
# must report each key down then up, in order, as CODES ("CODE VALUE" pairs).
types() {
	./evkeys "$ev" 3 > /tmp/keys &
	reader=$!
	sleep 1
	ask_host keys "$1"
	wait "$reader"
	got=$(tr '\n' ' ' < /tmp/keys)
	[ "$got" = "$2 " ] || { ktap_print_msg "$ev: read '$got', expected '$2 '"; return 1; }
}
# typed SYSFS_DEVICE WORD CODES: activate, then types.
typed() {
	activate "$1" || { ktap_print_msg "cannot rebind the keyboard below $1"; return 1; }
	types "$2" "$3"
}

load
ev_kbd=$(wait_event "/sys/bus/platform/devices/$kbd")
ev_pci=$(wait_event "/sys/bus/pci/devices/$pci")
ev_ctl=$(wait_event "/sys/bus/platform/devices/$ctl")
ktap_print_msg "$kbd ($ev_kbd) behind $R, $pci ($ev_pci) behind $RP, $ctl ($ev_ctl) behind none, $off refused"

restricted() {
	serves "$R" "$kbd" && serves "$RP" "$pci"
}
result "$kbd is restricted to $R, $pci to $RP" restricted
result "$ctl, with no region, is restricted to none" \
	not grep -qx "$ctl" "$DBG/$R/devices" "$DBG/$RP/devices"
result "the keyboard without ACCESS_PLATFORM behind $R is refused, with its reason" \
	log_has "on $off: refused: did not negotiate VIRTIO_F_ACCESS_PLATFORM, and its DMA is restricted to $R"
result "...and has no input device" [ -z "$(event_of "/sys/bus/platform/devices/$off")" ]

# KEY_R 19, KEY_D 32, KEY_M 50, KEY_A 30; KEY_P 25, KEY_C 46, KEY_I 23;
# KEY_T 20, KEY_L 38.
activate "/sys/bus/platform/devices/$kbd" || ktap_print_msg "cannot rebind $kbd"
maps0=$(counter maps "$R")
result "the host types 'rdma' into $kbd, and evdev reads it" \
	types rdma "19 1 19 0 32 1 32 0 50 1 50 0 30 1 30 0"
maps=$(( $(counter maps "$R") - maps0 ))
ktap_print_msg "$R mapped $maps event buffers for 8 key events and their 8 sync reports"
result "...each event came through $R's pool ($maps maps for 16 events)" [ "$maps" -ge 16 ]
# Sizing (README.md): $R serves this keyboard alone (the other is refused).
ktap_print_msg "sizing: a keyboard keeps $(counter io_tlb_used "$R") slots (2 KiB) of $R mapped once up, at most $(counter io_tlb_used_hiwater "$R")"
result "the host types 'pci' into $pci, and evdev reads it" \
	typed "/sys/bus/pci/devices/$pci" pci "25 1 25 0 46 1 46 0 23 1 23 0"
result "the host types 'ctl' into $ctl (no region), and evdev reads it" \
	typed "/sys/bus/platform/devices/$ctl" ctl "46 1 46 0 20 1 20 0 38 1 38 0"
ask_host virtqueues
# The host's agent polls the console: give it time to ask QEMU.
sleep 3
ktap_finished
