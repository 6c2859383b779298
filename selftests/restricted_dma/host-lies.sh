#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# A host that lies. Each vhost-user-blk here sits behind a window of its own,
# served by a window backend in one hostile mode (window-backend --hostile,
# from its 32nd request on): used-ring lies (a huge length, an id out of
# range, an id that heads no chain, a completion twice, a completion never
# asked for), NEXT set on every descriptor of a chain before it completes,
# the pattern written over every other request in flight and its ring
# entries, and late writes into a completed request's buffers. The device
# may fail (wrong data, I/O errors, a broken virtqueue): that is the host's
# right. What the guest must show, for each mode:
# - its I/O ends, intact, wrong or failed, and the device unbinds;
# - the pool is consistent: nothing left in use once the device is gone,
#   and what the lies made the driver unmap that the pool never handed out
#   is counted and refused (bad_unmaps);
# - the module unloads (or says which device holds it) and the kernel's
#   checkers report nothing (logcheck.sh, last; on the debug kernel, KASAN,
#   lockdep, DEBUG_VM). The backend cannot write outside the window: it maps
#   the window alone (check.sh holds it to no access outside, and to having
#   applied its mode).
# The modes that break the virtqueue get one request at a time: 6.12's
# virtio-blk has no timeout handler, so a request in flight when the queue
# breaks waits for ever, and so would the unbind behind it (docs/host.md, "What
# the host can do"). The others also get four writers and readers at once.
. ./ktap_helpers.sh
. ./lib.sh

ktap_print_header
nmodes=$(expect hostile | grep -c .)
ktap_set_plan $((2 * nmodes + 1))
load

# within SECONDS CMD...: runs CMD in the background for at most SECONDS;
# its exit status, or 124 if it did not end (a task stuck in the kernel
# cannot be killed: it is left).
within() {
	_s=$1
	shift
	"$@" &
	_p=$!
	_i=0
	while kill -0 "$_p" 2> /dev/null; do
		[ $_i -ge $((_s * 10)) ] && return 124
		sleep 0.1
		_i=$((_i + 1))
	done
	wait "$_p"
}

expect hostile > /tmp/hostile
while read -r t mode; do
	R=$(expect device | awk -v t="$t" '$2 == t { print $3 }')
	if ! bind_held "$t" || ! dev=$(wait_blk "$t"); then
		ktap_test_fail "$mode: $t behind $R has a block device"
		ktap_test_skip "$mode: unbound cleanly, the pool consistent"
		continue
	fi
	intact=0 wrong=0 failed=0 hung=0
	for i in $(seq 48); do
		within 20 ./odirect roundtrip "$dev" 65536 0 $((i * 65536)) "$i" > /dev/null 2>&1
		case $? in
		0) intact=$((intact + 1)) ;;
		1) wrong=$((wrong + 1)) ;;
		124) hung=$((hung + 1)); break ;;
		*) failed=$((failed + 1)) ;;
		esac
	done
	case $mode in
	used-len|desc-flags|scribble|after)
		within 30 ./odirect stress "$dev" 3 4 8388608 > /tmp/lies-stress.log 2>&1
		s=$?
		[ $s -eq 124 ] && hung=$((hung + 1))
		ktap_print_msg "$mode: four at once for 3 s: exit $s ($(grep -c mismatch /tmp/lies-stress.log) mismatches, $(grep -c -e 'write of' -e 'read of' /tmp/lies-stress.log) I/O errors)" ;;
	esac
	ktap_print_msg "$mode: $intact round trips intact, $wrong with wrong data, $failed failed, $hung did not end"
	result "$mode: every I/O on $t ended" [ "$hung" -eq 0 ]
	unbind() {
		within 30 sh -c "echo $t > /sys/bus/platform/drivers/virtio-mmio/unbind" &&
			wait_for pool_at "$R" 0
	}
	unbind
	u=$?
	ktap_print_msg "$mode: after the unbind $R has $(counter io_tlb_used "$R") slots in use, $(counter bad_unmaps "$R") unmaps refused, $(counter bad_syncs "$R") syncs refused"
	result "$mode: $t unbinds, and $R holds nothing after it" [ "$u" -eq 0 ]
done < /tmp/hostile

if is_builtin; then
	ktap_test_skip "the module unloads after the lies: restricted_dma is built in and never unloads"
else
	result "the module unloads after the lies" rmmod restricted_dma
	load
fi
ktap_finished
