#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Virtio-crypto behind the window. virtio_crypto maps each request's
# headers, IV and data, and registers its algorithms (cbc(aes) and rsa on
# QEMU's built-in backend) when its first device starts; the kernel's own
# self-tests then run on them, through that device (with the randomized
# extra tests on the debug kernel). Three devices, all held from probing at
# boot and bound here one at a time: one behind a region, one behind
# mainline's restricted-dma-pool, a control with no region.
#
# 6.12's virtio_crypto hands virtqueue_add_sgs() each entry of a request's
# scatterlists as a list of its own, and the ring walks each to the list's
# end: every entry after the first is mapped again. With direct DMA the
# copies are the same memory; through a bounce pool each is a bounce buffer
# of its own, the device writes one, and the stale one is copied back over
# the result: cbc(aes)'s self-test "two even aligned splits" failed behind
# mainline's restricted-dma-pool and behind ours alike. The kernels here
# carry the fix (kernel-patches/0001-*: each list handed over once), and
# the test asserts that the self-tests pass through each pool alone and
# with direct DMA. Then it runs AF_ALG round trips (afalg.c) in one-page
# requests on a transform of the region's device and one of the control's.
# Last, the host hot-adds a virtio-crypto-pci (device_add into a root port
# behind the host bridge, whose node names a region of its own): restricted
# from its first probe, it joins the others, and the round trips run again
# on a transform of each of the three. The host then checks where QEMU finds the region's device's rings and
# every descriptor (check.sh).
. ./ktap_helpers.sh
. ./lib.sh

ktap_print_header
ktap_set_plan 11
M=$(expect mainline | awk '{ print $1; exit }')
set -- $(expect device | awk -v m="$M" '$1 == "crypto" && $3 != "-" && $3 != m { print $2, $3; exit }')
cr=$1 R=$2
mcr=$(expect device | awk -v m="$M" '$1 == "crypto" && $3 == m { print $2; exit }')
# Built in, the kernel has no mainline pool and restricted_dma claims $M too
# (the drop-in): the same test, through our pool on a node of mainline's.
if is_builtin; then MP="the drop-in's $M"; else MP="mainline's $M"; fi
ctl=$(expect device | awk '$1 == "crypto" && $3 == "-" { print $2; exit }')
DRV=/sys/bus/virtio/drivers/virtio_crypto
AES=virtio_crypto_aes_cbc
RSA=virtio-crypto-rsa

# The virtio device (virtioN) on transport $1.
vdev_of() {
	v=$(ls -d "/sys/bus/platform/devices/$1"/virtio* 2>/dev/null | head -n 1)
	[ -n "$v" ] && basename "$v"
}
# virtio_crypto's algorithms in /proc/crypto, "DRIVER REFCNT" a line.
algs() {
	awk -F' *: *' '$1 == "driver" { d = $2 } $1 == "refcnt" && d ~ /^virtio/ { print d, $2 }' /proc/crypto
}
# Whether no one but the registry holds them (the self-tests' transforms
# are gone): virtio_crypto's remove unregisters them, and must find them
# idle.
idle_algs() {
	! algs | grep -qv ' 1$'
}
# only TRANSPORT: virtio_crypto drives the device on TRANSPORT and no other
# (its algorithms register again as it starts); marks the log first. The
# self-tests of the last registration may hold the algorithms a while (the
# debug kernel's extra tests: many seconds): it waits up to 120 s for them
# to be idle, and does not unbind while they are not.
only() {
	wait_up_to 120 idle_algs || { ktap_print_msg "busy still after 120 s: $(algs | tr '\n' ' ')"; return 1; }
	for v in "$DRV"/virtio*; do
		[ -e "$v" ] && echo "${v##*/}" > "$DRV/unbind"
	done
	wait_for [ -z "$(algs)" ] || ktap_print_msg "registered still: $(algs | tr '\n' ' ')"
	mark_log
	join "$1"
}
# join TRANSPORT: virtio_crypto drives its device too.
join() {
	if [ -e "/sys/bus/platform/devices/$1/driver" ]; then
		vdev_of "$1" > "$DRV/bind"
	else
		bind_held "$1"
	fi
	wait_for [ -e "$DRV/$(vdev_of "$1")" ]
}
# outcome DRIVER: its self-tests since the mark, once they end (up to 120 s):
# "passed", or "failed: " and the first line that says how.
outcome() {
	i=0
	while [ $i -lt 1200 ]; do
		if log_since_mark | grep -q "alg: self-tests for .* using $1 failed"; then
			echo "failed: $(log_since_mark | grep -m 1 -E "alg: [a-z]+: .*$1" | sed 's/^\[[^]]*\] //')"
			return
		fi
		awk -F' *: *' -v d="$1" '$1 == "driver" { x = $2 } $1 == "selftest" && x == d && $2 == "passed" { f = 1 }
			END { exit !f }' /proc/crypto && { echo passed; return; }
		sleep 0.1
		i=$((i + 1))
	done
	echo pending
}

# round_trips TFMS: AF_ALG round trips of 1 MiB in one-page requests on
# TFMS transforms at once (afalg.c), against the known answers and
# cbc(aes-generic); its output goes to the console.
round_trips() {
	./afalg $AES "$1" 1048576 4096 > /tmp/afalg.log 2>&1
	rc=$?
	cat /tmp/afalg.log > /dev/console
	return $rc
}

load
only "$ctl"
aes_ctl=$(outcome $AES)
rsa=$(outcome $RSA)
ktap_print_msg "$ctl (no region) alone: $AES $aes_ctl; $RSA $rsa"
ktap_print_msg "(QEMU 7.2's built-in RSA fails the kernel's rsa test vectors with direct DMA too)"
result "with direct DMA (the control, alone), $AES passes the kernel's self-tests" [ "$aes_ctl" = passed ]

# Through each bounce pool, alone: the split scatterlists of the
# self-tests through the bounce slots.
only "$mcr"
aes_m=$(outcome $AES)
ktap_print_msg "$mcr ($MP) alone: $AES $aes_m"
result "through $MP alone, $AES passes the kernel's self-tests" [ "$aes_m" = passed ]
m0=$(counter maps "$R")
only "$cr"
aes_r=$(outcome $AES)
m=$(( $(counter maps "$R") - m0 ))
ktap_print_msg "$cr ($R) alone: $AES $aes_r ($m maps through $R)"
result "through $R alone, $AES passes the kernel's self-tests" [ "$aes_r" = passed ]
# Every self-test request maps its data at least (out and in).
result "...and the self-tests' requests went through $R" [ "$m" -ge 2 ]

# The algorithms registered and tested through the control; then the
# region's device joins it.
only "$ctl"
aes_ctl=$(outcome $AES)
idle=$(counter io_tlb_used "$R")
join "$cr"
up=$(( $(counter io_tlb_used "$R") - idle ))
result "with $AES tested through the control ($aes_ctl), $cr behind $R joins it" \
	eval '[ "$aes_ctl" = passed ] && serves "$R" "$cr" && [ -e "$DRV/$(vdev_of "$cr")" ]'
m0=$(counter maps "$R")
# virtio_crypto gives a new transform the started device with the fewest
# users: the first goes to the control, the second to $cr.
result "AF_ALG round trips of 1 MiB in one-page requests, on a transform of each, agree with the known answers and cbc(aes-generic)" \
	round_trips 2
m=$(( $(counter maps "$R") - m0 ))
ktap_print_msg "$R mapped $m buffers for its transform"
# 256 requests each way, each mapping its data at least.
result "...those of $cr's transform went through $R" [ "$m" -ge 512 ]
result "$R is back to its idle slots plus the device's own" pool_at "$R" "$(( idle + up ))"
# Sizing (docs/operating.md): $R serves this device alone (the balloon beside it is refused).
ktap_print_msg "sizing: a virtio-crypto device keeps $up slots (2 KiB) of $R mapped once up, at most $(( $(counter io_tlb_used_hiwater "$R") - idle ))"

# The device the VMM adds to the running guest (not under lockdep:
# skip_hot_add in lib.sh says why).
if ! skip_hot_add virtio-crypto-pci "restricted from its first probe" "AF_ALG round trips" "...through its region"; then
	set -- $(hotplug_of crypto)
	port=$1 RP=$2
	pci_bound_crypto() {
		v=$(ls -d "/sys/bus/pci/devices/$hot"/virtio* 2>/dev/null | head -n 1)
		[ -n "$v" ] && [ -e "$DRV/${v##*/}" ]
	}
	mark_log
	hot=$(hot_add crypto)
	ktap_print_msg "device_add into $port: ${hot:-nothing appeared}"
	result "the virtio-crypto-pci the VMM hot-added, ${hot:-none} behind $port, is restricted to $RP from its first probe, and virtio_crypto drives it" \
		eval '[ -n "$hot" ] && wait_up_to 10 pci_bound_crypto && serves "$RP" "$hot" && log_since_mark_has "restricted_dma: $hot: DMA restricted to $RP" && not log_since_mark_has "re-probing it"'
	pm0=$(counter maps "$RP")
	# Three transforms: one on each started device (the fewest users first).
	result "AF_ALG round trips of 1 MiB in one-page requests on a transform of each of the three devices agree with the known answers" \
		round_trips 3
	pm=$(( $(counter maps "$RP") - pm0 ))
	ktap_print_msg "$RP mapped $pm buffers for its transform"
	result "...those of $hot's transform went through $RP" [ "$pm" -ge 512 ]
fi
ask_host virtqueues
sleep 3
ktap_finished
