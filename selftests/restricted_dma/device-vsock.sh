#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Virtio-vsock behind the window. The driver keeps its receive queue (1024
# entries) filled with buffers of 3,776 bytes mapped from the device, and
# maps each packet it sends: its header, and its payload (vsock.c writes
# 16 KiB at a time, see there). A vhost-user-vsock behind a region,
# served by rust-vmm's vhost-device-vsock on the host and bound by hand once
# restricted_dma is there, and a control rng with no region. Streams of 1 B
# to 4 MiB go to the host (vsock.c connects to CID 2; the host's peer,
# harness/vsock-peer.py, saves them, and check.sh holds them to the sums
# printed here, with a control stream printed with the sum of other bytes)
# and come from it (the host connects to the guest's port and sends its
# files, checked here against the host's sums in the initramfs). Last, the
# host reads every descriptor of the device's queues ("virtqueues-final":
# asking QEMU stops a vhost-user device's rings, so nothing of it may run
# after) and holds them to the region, the rng's to outside it (check.sh).
. ./ktap_helpers.sh
. ./lib.sh

ktap_print_header
ktap_set_plan 17
SIZES="1 4095 4096 65537 1048576 4194304"
set -- $(expect vsock | head -n 1)
vs=$1 cid=$2 port=$3 name=$4
# A virtio-mmio transport, held from probing at boot; or a PCI function
# (the vsockpci guest), there from boot.
case $vs in
*.virtio_mmio) SYS=/sys/bus/platform/devices/$vs R=$(expect device | awk -v t="$vs" '$2 == t { print $3; exit }') ;;
*) SYS=/sys/bus/pci/devices/$vs R=$(expect pcidevice | awk -v t="$vs" '$2 == t { print $3; exit }') ;;
esac
ctl=$(expect device | awk '$1 == "rng" && $3 == "-" { print $2; exit }')
SUMS=/etc/restricted_dma/$name.sums.to-guest

# Every stream is bounded in time: one the device cannot carry would
# otherwise wait for ever.
vsock() {
	timeout 60 ./vsock "$@"
}

# Feature bit N of the vsock's virtio device: feature N.
feature() {
	for v in "$SYS"/virtio*; do
		[ -e "$v/features" ] && cut -c$(($1 + 1)) "$v/features"
	done
}
vsock_up() {
	ls -d "$SYS"/virtio*/driver > /dev/null 2>&1
}

# to_host N: N random bytes to the host, announced by a line "NAME N" (the
# backend does not pass a half-close on: the peer must know the end); the
# peer answers "saved NAME N" once it has them. Their sum goes to the host
# on the console, for check.sh.
to_host() {
	vsock_up || { ktap_print_msg "no vsock device"; return 1; }
	head -c "$1" /dev/urandom > /tmp/vs.out
	{ echo "to-host.$1 $1"; cat /tmp/vs.out; } | vsock send 2 "$port" > /tmp/vs.reply
	rc=$?
	ask_host vsock-sum "$name" "to-host.$1" "$(sha256sum /tmp/vs.out | cut -d ' ' -f 1)"
	reply=$(cat /tmp/vs.reply)
	[ $rc -eq 0 ] && [ "$reply" = "saved to-host.$1 $1" ] ||
		{ ktap_print_msg "exit $rc, the host said '$reply'"; return 1; }
}

# from_host N LPORT: listens on LPORT and asks the host to send its file of N
# bytes there; what arrives must match the host's sum.
from_host() {
	vsock_up || { ktap_print_msg "no vsock device"; return 1; }
	rm -f /tmp/vs.in /tmp/vs.err
	vsock recv "$2" "$1" > /tmp/vs.in 2> /tmp/vs.err &
	pid=$!
	wait_for grep -qs listening /tmp/vs.err ||
		{ ktap_print_msg "not listening: $(cat /tmp/vs.err)"; kill $pid; return 1; }
	ask_host vsock-send "$name" "from-host.$1" "$2"
	wait $pid
	rc=$?
	want=$(awk -v f="from-host.$1" '$2 == f { print $1 }' "$SUMS")
	got=$(sha256sum /tmp/vs.in | cut -d ' ' -f 1)
	[ $rc -eq 0 ] && [ -n "$want" ] && [ "$got" = "$want" ] ||
		{ ktap_print_msg "exit $rc, $(wc -c < /tmp/vs.in) bytes $(cat /tmp/vs.err)"; return 1; }
}

load
# What the region holds without the device: it serves the vsock alone, and
# a PCI one is bound already (at boot, or again at load).
used0=0
case $vs in *.virtio_mmio) used0=$(counter io_tlb_used "$R") && bind_held "$vs" ;; esac
wait_for vsock_up
ktap_print_msg "$vs (vhost-user-vsock, CID $cid) behind $R; control: $ctl (rng, no region)"
result "$vs is bound, restricted to $R, and negotiated ACCESS_PLATFORM" \
	eval 'vsock_up && serves "$R" "$vs" && [ "$(feature 33)" = 1 ]'
idle=$(( $(counter io_tlb_used "$R") - used0 ))
result "the guest's own CID is $cid" [ "$(./vsock cid)" = "$cid" ]

# What the region copies to the device is measured while the guest sends
# (the host answers each stream with one short line), what it copies back
# while the host sends: every map copies its buffer in, whatever its
# direction, so the receive ring's refills count to the device too.
failed0=$(counter failed_maps "$R")
to0=$(counter bytes_to_device "$R")
for n in $SIZES; do
	result "$n B from the guest to the host (port $port), acknowledged" to_host "$n"
done
dto=$(( $(counter bytes_to_device "$R") - to0 ))
from0=$(counter bytes_from_device "$R")
lport=2000
for n in $SIZES; do
	result "$n B from the host to the guest (port $lport), intact against the host's sum" from_host "$n" "$lport"
	lport=$((lport + 1))
done
dfrom=$(( $(counter bytes_from_device "$R") - from0 ))
moved=0
for n in $SIZES; do moved=$((moved + n)); done
failed=$(( $(counter failed_maps "$R") - failed0 ))
ktap_print_msg "$R copied $dto bytes to the device while the guest sent $moved, and $dfrom back while the host sent $moved; $failed maps failed"
# Sized (variants.py) so that it never fills: the receive ring's 1024
# buffers and a full transmit ring of 16 KiB packets fit.
result "...$R bounced every byte both ways, and no map failed for a full pool" \
	[ "$dto" -ge "$moved" -a "$dfrom" -ge "$moved" -a "$failed" -eq 0 ]
# Sizing (docs/operating.md): $R serves this device alone.
ktap_print_msg "sizing: a vsock keeps $idle slots (2 KiB) of $R mapped once up, at most $(( $(counter io_tlb_used_hiwater "$R") - used0 )) of $(counter io_tlb_nslabs "$R") during the streams"

# The host's control for its sum check: a stream whose printed sum is of
# other bytes, which check.sh must find differing.
control() {
	head -c 4096 /dev/urandom > /tmp/vs.out
	{ echo "to-host.control 4096"; cat /tmp/vs.out; } | vsock send 2 "$port" > /tmp/vs.reply &&
		[ "$(cat /tmp/vs.reply)" = "saved to-host.control 4096" ] &&
		ask_host vsock-control "$name" to-host.control "$(head -c 4096 /dev/urandom | sha256sum | cut -d ' ' -f 1)"
}
result "a control stream for the host (its sum printed of other bytes), acknowledged" control

# The control device: no region, and no pool in its way. Its reads leave
# descriptors for the host's check.
result "$ctl (rng, no region) is restricted to none, and /dev/hwrng gives 64 bytes through it" \
	eval 'not grep -qx "$ctl" "$DBG/$R/devices" && [ "$(head -c 64 /dev/hwrng | wc -c)" -eq 64 ]'

# The last word to the vsock device: the host's look stops its rings.
ask_host virtqueues-final
# The host's agent polls the console: give it time to ask QEMU.
sleep 3
ktap_finished
