#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Bridges do no DMA of their own: behind a host bridge whose node names a
# region, a virtio-blk behind a PCIe root port and one behind a PCIe switch
# (QEMU's X3130) are restricted, and the root ports and the switch's ports
# get the refusing ops (their port driver makes no DMA API calls). A bridge
# is one by its header and its class, both of which the host writes: the
# virtio-blk behind the root port, dressed (rdma_test) in a bridge header
# alone, is restricted still; in a bridge header and class too, since the
# port driver turns it down and virtio_pci binds it: a bridge is one by its
# header, its class and its driver, and a function driven by another
# driver is restricted as any device. Unload with O_DIRECT
# I/O running on both unbinds the two devices and leaves every bridge bound
# to its port driver (attach.rs: unbinding a port first would clear its Bus
# Master Enable under the devices behind it); the I/O completes or fails
# cleanly; reload brings both back. Last (loadable), a function dressed as a
# bridge that no load saw as ours is fenced by the unload that unbinds it,
# and one that holds a block then keeps the ops that take it back; one that
# no driver bound while loaded is fenced by unload all the same.
. ./ktap_helpers.sh
. ./lib.sh

ktap_print_header
ktap_set_plan 19
RP=$(first good 1)
port=$(expect pcibehind | awk '$1 == "port" { print $3; exit }')
sport=$(expect pcibehind | awk '$1 == "switch" { print $3; exit }')

# The virtio PCI device below the bridge at $1, at any depth.
below() {
	d=$(find "/sys/bus/pci/devices/$1/" -maxdepth 5 -name 'virtio[0-9]*' | head -n 1)
	[ -n "$d" ] && basename "$(dirname "$d")"
}
# The PCI bridges from the root port at $1 down to the device $2.
bridges_to() {
	p=$(readlink -f "/sys/bus/pci/devices/$2")
	for b in $(echo "${p#*/$1}" | tr / ' '); do
		[ "$b" != "$2" ] && echo "$b"
	done
	echo "$1"
}

load
dev_p=$(below "$port") dev_s=$(below "$sport")
blk_p=$(wait_blk "$dev_p") blk_s=$(wait_blk "$dev_s")
bridges="$(bridges_to "$port" "$dev_p") $(bridges_to "$sport" "$dev_s")"
ktap_print_msg "behind root port $port: $dev_p ($blk_p); behind a switch behind $sport: $dev_s ($blk_s)"
ktap_print_msg "bridges: $(echo $bridges)"

result "$dev_p, behind a root port, is restricted to $RP" serves "$RP" "$dev_p"
result "$dev_s, behind a switch, is restricted to $RP" serves "$RP" "$dev_s"
bridges_refused() {
	for b in $bridges; do
		serves "$RP" "$b" && { ktap_print_msg "bridge $b is restricted"; return 1; }
		refused "$b" || { ktap_print_msg "bridge $b does not have the refusing ops"; return 1; }
	done
	[ $(echo $bridges | wc -w) -eq 4 ]
}
result "the root ports and the switch's two ports (4 bridges) have the refusing ops" bridges_refused

# Dressed as a bridge by its header alone (rdma_test; QEMU cannot): still a
# device that does DMA, so still restricted, and it works.
load_test
dressed_works() {
	tcmd dress "$dev_p" 1 0 || { ktap_print_msg "$(tresult)"; return 1; }
	ktap_print_msg "$(tresult)"
	blk_p=$(wait_blk "$dev_p") && serves "$RP" "$dev_p" &&
		./odirect roundtrip "$blk_p" 1048576 0 0 33
}
result "$dev_p in a bridge header (its class a storage device's) is restricted still, and works" dressed_works
# In a bridge header and a bridge class: pcieport turns it down, virtio_pci
# binds it, and it is restricted as any device (had it the refusing ops
# for a bridge, a bind before load or after unload would have left it
# bound, its queues outside the window).
dressed_bridge() {
	tcmd dress "$dev_p" 1 060400
	ktap_print_msg "$(tresult)"
	blk_p=$(wait_blk "$dev_p") && serves "$RP" "$dev_p" &&
		[ "$(basename "$(readlink "/sys/bus/pci/devices/$dev_p/driver")")" = virtio-pci ] &&
		./odirect roundtrip "$blk_p" 1048576 0 0 34
}
result "...in a bridge header and class, bound to virtio-pci: restricted still, and works" dressed_bridge
undressed() {
	tcmd undress && ktap_print_msg "$(tresult)" && blk_p=$(wait_blk "$dev_p") && serves "$RP" "$dev_p"
}
result "...back in its own, restricted again" undressed
both_work() {
	./odirect roundtrip "$blk_p" 1048576 0 0 31 && ./odirect roundtrip "$blk_s" 1048576 0 0 32
}
result "both work through the pool: 1 MiB O_DIRECT round trips, intact" both_work
# The host looks at where QEMU's devices keep their queues (check.sh).
ask_host virtqueues
# The host's agent polls the console: give it time to ask QEMU before the
# unload below resets the queues (as device-pci.sh and lifecycle-firstprobe.sh do).
sleep 3

if ! skip_if_builtin 11 "unload and reload with I/O behind bridges"; then
	mark_log
	./odirect stress "$blk_p" 4 4 8388608 > /tmp/busy-p.log 2>&1 &
	pid_p=$!
	./odirect stress "$blk_s" 4 4 8388608 > /tmp/busy-s.log 2>&1 &
	pid_s=$!
	sleep 2
	rmmod restricted_dma
	rc=$?
	wait $pid_p
	io_p=$?
	wait $pid_s
	io_s=$?
	sed 's/^/# /' /tmp/busy-p.log /tmp/busy-s.log
	result "rmmod succeeds with I/O running behind a root port and a switch" [ $rc -eq 0 ]
	# 0: the load finished first; 2: an I/O failed once the disk went. 1
	# would be data that came back wrong.
	both_clean() {
		clean_under_load $io_p /tmp/busy-p.log && clean_under_load $io_s /tmp/busy-s.log
	}
	result "...the I/O ran, and completed or failed cleanly (exits $io_p, $io_s)" both_clean
	left() {
		for d in $dev_p $dev_s; do
			pci_bound "$d" && { ktap_print_msg "$d still bound"; return 1; }
		done
		for b in $bridges; do
			[ "$(basename "$(readlink "/sys/bus/pci/devices/$b/driver")")" = pcieport ] ||
				{ ktap_print_msg "bridge $b not bound to pcieport"; return 1; }
		done
		not log_since_mark_has "still in use"
	}
	result "...both devices unbound, every bridge still bound to pcieport, nothing left mapped" left
	load
	back() {
		blk_p=$(wait_blk "$dev_p") && blk_s=$(wait_blk "$dev_s") && both_work &&
			serves "$RP" "$dev_p" && serves "$RP" "$dev_s"
	}
	result "reload brings both back through the pool, working" back

	# With the module out, $dev_s removed and found again (a new device,
	# with no fence of an earlier unload), dressed as a bridge and left
	# unbound; then the module loads, and sees a bridge.
	dressed_anew() {
		unload
		echo 1 > "/sys/bus/pci/devices/$dev_s/remove"
		echo 1 > /sys/bus/pci/rescan
		wait_for pci_bound "$dev_s"
		tcmd dress "$dev_s" 1 060400
		ktap_print_msg "$(tresult)"
		echo "$dev_s" > /sys/bus/pci/drivers/virtio-pci/unbind
		load
	}
	# A function that no load ever saw as ours: bound by hand after load it
	# is restricted, by the driver it got. Unload must fence it as it
	# unbinds it, or it could be bound again on dma-direct while the module
	# is out.
	dressed_anew
	echo "$dev_s" > /sys/bus/pci/drivers/virtio-pci/bind
	result "$dev_s, found again while unloaded and dressed as a bridge, bound by hand after load: restricted" \
		wait_for serves "$RP" "$dev_s"
	unload
	echo "$dev_s" > /sys/bus/pci/drivers/virtio-pci/bind 2>/dev/null
	result "...unload unbinds it and fences it: it does not bind by hand while unloaded" not pci_bound "$dev_s"
	load

	# The same function, bound by hand again, with a block its driver
	# leaves behind (rdma_test keeps one, as a driver that outlives its
	# binding does). Unload unbinds it, and from then on it is a bridge by
	# its header, its class and its (missing) driver; it must keep the
	# draining ops and unload wait for the block. With its ops taken off,
	# the late free would go to dma-direct, which hands region pages to the
	# page allocator, and unload would wait for ever.
	echo "$dev_s" > /sys/bus/pci/drivers/virtio-pci/bind
	wait_for serves "$RP" "$dev_s"
	tcmd dresskeep
	ktap_print_msg "$(tresult)"
	mark_log
	rmmod restricted_dma > /tmp/rmmod.out 2>&1 &
	waiting() {
		log_since_mark_has "$dev_s: still holds 1 block(s) of $RP"
	}
	result "...bound again with a block kept: unload unbinds it and waits for the block, naming it" \
		wait_for waiting
	late_free() {
		tcmd dressdrop && ktap_print_msg "$(tresult)" && wait_for not is_loaded
	}
	result "...its late free lets unload finish" late_free
	result "...and no page of $RP reached the page allocator" \
		region_reserved "$(first good 2)" "$(first good 3)"
	load
	tcmd undress
	ktap_print_msg "$(tresult)"
	result "...undressed after reload, it is restricted and works" \
		eval 'blk_s=$(wait_blk "$dev_s") && serves "$RP" "$dev_s" && ./odirect roundtrip "$blk_s" 1048576 0 0 35'

	# The same, left unbound through a whole load: a bridge to the module
	# (the refusing ops), never a device of ours by its driver. Unload must
	# fence it all the same (before, it took the ops away unfenced, and a
	# bind by hand ran it on dma-direct).
	dressed_anew
	unload
	echo "$dev_s" > /sys/bus/pci/drivers/virtio-pci/bind 2>/dev/null
	result "...dressed as a bridge and unbound through a load: unload fences it, it does not bind by hand" \
		not pci_bound "$dev_s"
	load
	tcmd undress
	ktap_print_msg "$(tresult)"
fi
result "no warning in the kernel log" log_clean
ktap_finished
