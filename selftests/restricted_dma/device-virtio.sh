#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Virtio through the pool. blk and rng share one region, a second region has
# a blk of its own, a third a console: all work at once, each region counting
# only its own devices. A blk that does not negotiate VIRTIO_F_ACCESS_PLATFORM
# behind a region is refused and holds nothing; a blk with no region works
# as usual. Devices unbound and rebound by hand come back through the pool.
. ./ktap_helpers.sh
. ./lib.sh

ktap_print_header
ktap_set_plan 17
load

# The devices, by what the variant put behind each transport.
dev_line() { expect device | awk -v k="$1" -v r="$2" -v i="$3" '$1 == k && $3 == r && $4 == i { print $2; exit }'; }
R1=$(first good 1)
R2=$(expect good | sed -n 2p | cut -d' ' -f1)
R3=$(expect good | sed -n 3p | cut -d' ' -f1)
blk1_t=$(dev_line blk "$R1" on) rng_t=$(dev_line rng "$R1" on) con_t=$(dev_line console "$R3" on)
refused_t=$(dev_line blk "$R1" off) plain_t=$(dev_line blk - off) blk2_t=$(dev_line blk "$R2" on)
blk1=$(wait_blk "$blk1_t") blk2=$(wait_blk "$blk2_t") plain=$(wait_blk "$plain_t")
ktap_print_msg "$R1: blk $blk1_t ($blk1), rng $rng_t, refused $refused_t; $R3: console $con_t"
ktap_print_msg "$R2: blk $blk2_t ($blk2); no region: blk $plain_t ($plain)"

# --- virtio-blk ---
result "virtio-blk on $R1: 1 MiB O_DIRECT round trip intact" \
	./odirect roundtrip "$blk1" 1048576 512 0 7
./odirect stress "$blk1" 4 4 8388608 > /tmp/stress.log 2>&1
rc=$?
sed 's/^/# /' /tmp/stress.log
result "virtio-blk on $R1: 4 processes of random O_DIRECT I/O for 4 s, every block intact" [ $rc -eq 0 ]

# --- virtio-rng ---
cur=$(cat /sys/class/misc/hw_random/rng_current 2>/dev/null)
result "virtio-rng is the current hwrng ($cur)" [ "${cur#virtio_rng}" != "$cur" ]
from0=$(counter bytes_from_device "$R1")
dd if=/dev/hwrng of=/tmp/rng bs=1024 count=8 2>/dev/null
distinct=$(od -An -v -tu1 /tmp/rng | tr -s ' ' '\n' | grep . | sort -u | wc -l)
result "8 KiB read from /dev/hwrng are not all equal ($distinct distinct byte values)" \
	[ "$(stat -c %s /tmp/rng)" -eq 8192 -a "$distinct" -gt 16 ]
result "$R1 bounced at least those 8 KiB back from the device" \
	[ $(( $(counter bytes_from_device "$R1") - from0 )) -ge 8192 ]

# --- virtio-console ---
port=
for p in /sys/class/virtio-ports/*; do
	[ -e "$p/name" ] || continue
	name=$(cat "$p/name")
	case "$name" in rdma.*) port=/dev/$(basename "$p") c=con${name#rdma.} ;; esac
done
if [ -n "$port" ]; then
	timeout 20 head -c 65536 "$port" > /tmp/con.in
	result "virtio-console: 64 KiB from the host reached the guest intact" \
		cmp -s /tmp/con.in "/etc/restricted_dma/$c.to-guest"
	cat "/etc/restricted_dma/$c.to-host" > "$port"
	rc=$?
	result "virtio-console: 64 KiB written to the port toward the host (the host compares them)" [ $rc -eq 0 ]
else
	ktap_test_fail "virtio-console: 64 KiB from the host reached the guest intact"
	ktap_test_fail "virtio-console: 64 KiB written toward the host (no port)"
fi

# --- refusal ---
result "the blk without ACCESS_PLATFORM behind $R1 is refused, with its reason" \
	log_has "on $refused_t: refused: did not negotiate VIRTIO_F_ACCESS_PLATFORM, and its DMA is restricted to $R1"
result "the refused device has no block device" no_blk "$refused_t"
result "$R1 counts the refusal (virtio_refused)" [ "$(counter virtio_refused "$R1")" -ge 1 ]
# With every working device of R1 unbound, nothing may be left in its pool:
# the refused device never allocated.
for t in $blk1_t $rng_t; do echo "$t" > /sys/bus/platform/drivers/virtio-mmio/unbind; done
used=$(counter io_tlb_used "$R1")
result "the refused device holds no slot of $R1 (io_tlb_used $used with the others unbound)" [ "$used" -eq 0 ]
for t in $blk1_t $rng_t; do echo "$t" > /sys/bus/platform/drivers/virtio-mmio/bind; done
blk1=$(wait_blk "$blk1_t") || ktap_print_msg "no block device behind $blk1_t after rebinding: $(ls /sys/block) / $(dmesg | tail -n 5)"
maps0=$(counter maps "$R1")
./odirect roundtrip "$blk1" 262144 0 0 9
rc=$?
result "blk unbound and rebound by hand works, through the pool again" [ $rc -eq 0 -a "$(counter maps "$R1")" -gt "$maps0" ]

# --- the same kind of device (no ACCESS_PLATFORM) with no region: as usual,
# touching no pool ---
m1=$(counter maps "$R1") m2=$(counter maps "$R2")
result "the same blk without ACCESS_PLATFORM but with no memory-region works as usual" \
	./odirect roundtrip "$plain" 1048576 0 0 11
# (virtio-rng may refill the entropy pool through R1 meanwhile: a few small maps.)
result "...without going through any pool" \
	[ "$(counter maps "$R2")" -eq "$m2" -a $(( $(counter maps "$R1") - m1 )) -lt 8 ]

# --- two regions, each counting its own ---
# (Bytes in: copied for the write, zeroed for the read.)
moved() {
	echo $(( $(counter bytes_to_device "$1") + $(counter bytes_zeroed "$1") ))
}
to1=$(moved "$R1") to2=$(moved "$R2")
result "virtio-blk on $R2: 1 MiB round trip intact" ./odirect roundtrip "$blk2" 1048576 0 0 13
d1=$(( $(moved "$R1") - to1 )) d2=$(( $(moved "$R2") - to2 ))
ktap_print_msg "during it: $R1 moved $d1 bytes in, $R2 $d2 bytes"
result "only $R2 counted it ($R1's rng refills aside)" [ "$d2" -ge 2097152 -a "$d1" -lt 65536 ]
# --- everything at once ---
to1=$(counter bytes_to_device "$R1") to2=$(counter bytes_to_device "$R2")
./odirect stress "$blk1" 3 2 8388608 > /tmp/s1.log 2>&1 &
p1=$!
./odirect stress "$blk2" 3 2 8388608 > /tmp/s2.log 2>&1 &
p2=$!
dd if=/dev/hwrng of=/tmp/rng2 bs=1024 count=16 2>/dev/null
r3=$?
wait $p1
r1=$?
wait $p2
r2=$?
ktap_print_msg "$R1 moved $(( $(counter bytes_to_device "$R1") - to1 )) bytes in, $R2 $(( $(counter bytes_to_device "$R2") - to2 ))"
result "blk on $R1, blk on $R2 and rng all at once: every block intact, 16 KiB of random bytes" \
	[ $r1 -eq 0 -a $r2 -eq 0 -a $r3 -eq 0 -a "$(stat -c %s /tmp/rng2)" -eq 16384 ]
# The host looks at every queue again now that data moved (check.sh holds
# the last answer to the regions): the descriptors of this traffic, and the
# data buffers of the blk without indirect descriptors.
ask_host virtqueues
sleep 3
ktap_finished
