#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Shared by the restricted_dma kselftests (sourced, after ktap_helpers.sh).

DBG=/sys/kernel/debug/restricted_dma
SYS=/sys/class/restricted_dma
EXPECT=/etc/restricted_dma/expect
MODULE=/lib/modules/restricted_dma.ko

# Records of one kind from the variant's expectations ("good", "bad").
expect() {
	sed -n "s/^$1 //p" "$EXPECT"
}

# Whether restricted_dma is built into this kernel (the harness says so on
# the command line): then it started at boot and never goes.
is_builtin() {
	grep -q 'rdma\.flavour=builtin' /proc/cmdline
}

is_loaded() {
	is_builtin || grep -q '^restricted_dma ' /proc/modules
}

load() {
	is_loaded || insmod "$MODULE"
}

unload() {
	is_builtin || ! is_loaded || rmmod restricted_dma
}

# skip_if_builtin N WHAT: when built in, reports the next N cases skipped,
# since WHAT needs a loadable module, and succeeds; fails otherwise.
skip_if_builtin() {
	is_builtin || return 1
	i=0
	while [ $i -lt "$1" ]; do
		ktap_test_skip "$2: restricted_dma is built in and never unloads"
		i=$((i + 1))
	done
}

# Kernel log lines since the last mark_log, to check what one step printed.
# The mark is a line of its own in the log, not a count of lines: a log
# that wrapped would shift a count, and "nothing since the mark" would then
# pass without looking. A mark the log lost fails every look since it.
LOG_MARKS=0
mark_log() {
	LOG_MARKS=$((LOG_MARKS + 1))
	LOG_MARK="rdma-test: mark $$.$LOG_MARKS"
	echo "$LOG_MARK" > /dev/kmsg
}

# Like mark_log before loading the module: built in, it "loaded" at boot,
# so all of the log counts.
mark_log_before_load() {
	if is_builtin; then LOG_MARK=; else mark_log; fi
}

# The log since the mark; fails (and prints nothing) if the log lost it.
log_since_mark() {
	[ -z "$LOG_MARK" ] && { dmesg; return; }
	dmesg > /tmp/log-since-mark
	if ! grep -qF -- "$LOG_MARK" /tmp/log-since-mark; then
		echo "# the kernel log lost the mark \"$LOG_MARK\": it wrapped" >&2
		return 2
	fi
	awk -v m="$LOG_MARK" 'seen { print } index($0, m) { seen = 1 }' /tmp/log-since-mark
}

# Whether a kernel log line since the mark contains the fixed string $1
# (status 2, which `not` fails too, if the log lost the mark).
log_since_mark_has() {
	log_since_mark > /tmp/log-since-mark.out || return 2
	grep -qF -- "$1" /tmp/log-since-mark.out
}

# The number (counted from the mark) of the first kernel log line since the
# mark that contains the fixed string $1; nothing if there is none.
first_since_mark() {
	log_since_mark > /tmp/log-since-mark.out || return 2
	grep -nF -- "$1" /tmp/log-since-mark.out | head -n 1 | cut -d: -f1
}

# comes_before A B: line numbers A and B both exist and A is the earlier.
comes_before() {
	[ -n "$1" ] && [ -n "$2" ] && [ "$1" -lt "$2" ]
}

# The kernel log, less the stretches a test provokes on purpose (between
# "deliberate DMA API misuse follows" and "... done": the debug kernel's
# DMA-API checker reports those, as it should), less the warning the crypto
# manager adds to each failed self-test (device-crypto.sh reports which fail, and
# how), and less the debug kernel's warning on a second virtio-gpu (6.12's
# virtio_gpu names each device's buffer cache "virtio-gpu-vbufs").
kernel_log() {
	dmesg | awk '/deliberate DMA API misuse follows/ { skip = 1 }
		!skip && !/WARNING: .* at crypto\/testmgr\.c:[0-9]+ alg_test/ &&
		!(/WARNING: .* at mm\/slab_common\.c:[0-9]+ __kmem_cache_create/ && dup) { print }
		{ dup = /kmem_cache of name .virtio-gpu-vbufs. already exists/ }
		/deliberate DMA API misuse done/ { skip = 0 }'
}

# What a kernel report starts with: warnings, bugs and oopses, KASAN,
# lockdep, UBSAN, DMA-API debugging, the page allocator's checks, list
# debugging, kmemleak's own scans.
REPORTS='WARNING:|BUG:|Oops|Unable to handle|refcount_t|list_del corruption|list_add corruption|Bad page state|UBSAN:|DMA-API: [^ ]+ [^ ]+: |possible circular locking|inconsistent lock state|kmemleak: [0-9]+ new suspected'

# No report anywhere in the log; the first ones found are printed as
# diagnostics.
log_clean() {
	hits=$(kernel_log | grep -E "$REPORTS" | head -n 5)
	[ -z "$hits" ] && return 0
	echo "$hits" | sed 's/^/# /'
	return 1
}

# The DMA-API checker's error count (debug kernels), 0 without one.
dma_api_errors() {
	cat /sys/kernel/debug/dma-api/error_count 2>/dev/null || echo 0
}

# The first record of a kind, or field N of it: `first good 1` is a name.
first() {
	expect "$1" | head -n 1 | cut -d' ' -f"${2:-1-}"
}

# Counter FILE of REGION (default: the first good region).
counter() {
	cat "$DBG/${2:-$(first good 1)}/$1"
}

# The block device (/dev/vdX) behind TRANSPORT (like a003e00.virtio_mmio).
blk_of() {
	for b in /sys/block/vd*; do
		[ -e "$b/device" ] || continue
		t=$(basename "$(dirname "$(readlink -f "$b/device")")")
		[ "$t" = "$1" ] && { echo "/dev/$(basename "$b")"; return 0; }
	done
	return 1
}

# Whether TRANSPORT has no block device.
no_blk() {
	! blk_of "$1" > /dev/null
}

# Waits (up to 10 s) for the block device behind TRANSPORT; prints it.
wait_blk() {
	wait_up_to 10 blk_of "$1"
}

# The transport of the first device of KIND (blk, rng, console, empty).
transport_of() {
	expect device | awk -v k="$1" '$1 == k { print $2; exit }'
}

# Like ktap_test_result, but runs the command with its arguments as given:
# ktap_helpers.sh expands them unquoted, which splits any argument with a
# space in it (a grep pattern, an `sh -c` script) and can make a check pass
# that should fail.
result() {
	desc=$1
	shift
	if "$@"; then ktap_test_pass "$desc"; else ktap_test_fail "$desc"; fi
}

# ask_host REQUEST...: asks the host something (harness/qmp-agent.py reads
# the serial console). Written to the console itself, not to stdout: the
# kselftest runner pipes a test's output through a prefixing filter that
# buffers it, and the request would reach the host only when the test ends.
ask_host() {
	echo "rdma-host: $*" > /dev/console
}

# kaddr_control: asks the host for the control of its searches for kernel
# addresses (check.sh): the first MiB of the kernel's data, which must hold
# some. Fails when /proc/iomem names no "Kernel data".
kaddr_control() {
	set -- $(sed -n 's/^ *\([0-9a-f]*\)-[0-9a-f]* : Kernel data$/0x\1/p' /proc/iomem)
	[ $# -eq 1 ] && ask_host window-scan kaddrcontrol "$1" 0x100000 kaddr
}

# Whether the kernel log has a line containing the fixed string $1.
log_has() {
	dmesg | grep -qF -- "$1"
}

# The test driver rdma_test.ko (rdma_test/rdma_test.c) and its debugfs. Once
# loaded it stays for the rest of the boot, so that kmemleak can name its
# allocations at the end (logcheck.sh).
TEST_MODULE=/lib/modules/rdma_test.ko
TDBG=/sys/kernel/debug/rdma_test

load_test() {
	grep -q '^rdma_test ' /proc/modules || insmod "$TEST_MODULE"
}

# tcmd COMMAND...: runs one rdma_test command; fails when its check failed.
# tresult prints what the last command saw.
tcmd() {
	echo "$*" > "$TDBG/cmd"
}

tresult() {
	cat "$TDBG/result"
}

# tcheck DESCRIPTION COMMAND...: one KTAP case from one rdma_test command,
# with what it saw as the diagnostic.
tcheck() {
	desc=$1
	shift
	if tcmd "$@"; then
		ktap_print_msg "$(tresult)"
		ktap_test_pass "$desc"
	else
		ktap_print_msg "$(tresult)"
		ktap_test_fail "$desc"
	fi
}

# pool_at REGION BASELINE: REGION has BASELINE slots in use (says what it
# has otherwise).
pool_at() {
	used=$(counter io_tlb_used "$1")
	[ "$used" -eq "$2" ] || { ktap_print_msg "io_tlb_used $used, baseline $2"; return 1; }
}

# region_reserved BASE SIZE: every page of the range is still a reserved
# page, none reached the page allocator (rdma_test's check; says what it
# saw otherwise).
region_reserved() {
	tcmd reserved "$1" "$2" || { ktap_print_msg "$(tresult)"; return 1; }
}

# wall_pools: the test nodes that name another memory pool beside their
# region, one a line.
wall_pools() {
	expect testnode | awk '$3 != "-" { print $1 }'
}

# wall_cases REGION: adds each test node that names another memory pool
# beside REGION, with rdma_test's "pool" probe (it takes that pool, as such
# a driver does, and sets no mask), and checks, as 4 cases a node, that the
# wall holds it back from probing.
wall_cases() {
	for _n in $(wall_pools); do
		wall_case "$1" "$_n"
	done
}

wall_case() {
	_n=$2
	_pool=$(expect testnode | awk -v n="$_n" '$1 == n { print $3 }')
	echo pool > "$TDBG/probe"
	mark_log
	tcmd add "$_n"
	sleep 1
	result "rdma-test-$_n, with $_pool beside $1, is held back from probing, and the log says why" \
		log_since_mark_has "rdma_test.$_n: names a memory pool that another handler serves, beside its restricted region or as it"
	result "...its driver never probed it" not log_since_mark_has "rdma_test.$_n: probe (pool)"
	result "...it is not bound" not is_bound "rdma_test.$_n"
	result "...the driver core says which supplier it waits for" \
		grep -q "rdma_test.$_n.*restricted_dma_wall" /sys/kernel/debug/devices_deferred
	tcmd del "$_n"
	echo ok > "$TDBG/probe"
}

# clean_under_load EXIT LOG: odirect stress's EXIT was 0 (it finished) or 2
# (an I/O failed once the device went), never 1 (wrong data), and its LOG
# shows round trips: an exit 2 from a device it could not even open would
# otherwise pass for I/O that ran.
clean_under_load() {
	[ "$1" -eq 0 -o "$1" -eq 2 ] &&
		awk '/round trips/ { n += $3 } END { exit !(n > 0) }' "$2"
}

# Whether the platform device DEV has a driver bound.
is_bound() {
	[ -e "/sys/bus/platform/devices/$1/driver" ]
}

# Whether REGION's debugfs `devices` lists DEV.
serves() {
	[ -r "$DBG/$1/devices" ] && grep -qx "$2" "$DBG/$1/devices"
}

# Whether device $1 has the refusing ops.
refused() {
	[ -r "$DBG/devices/refused" ] && grep -qx "$1" "$DBG/devices/refused"
}

# Waits up to 5 s for COMMAND... to succeed.
wait_for() {
	wait_up_to 5 "$@"
}

# wait_up_to SECONDS COMMAND...: runs COMMAND every 0.1 s until it succeeds
# (its output is what it printed then), for up to SECONDS.
wait_up_to() {
	_wait_n=$(($1 * 10)) i=0
	shift
	while [ $i -lt $_wait_n ]; do
		"$@" && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# not COMMAND...: succeeds when COMMAND fails (for `result`).
# Fails if "$@" succeeds, and if it could not look (status 2: a lost mark).
not() {
	"$@"
	[ $? -eq 1 ]
}

# The BDF of the first PCI device of KIND whose ACCESS_PLATFORM is IOMMU (on|off).
pcidev_of() {
	expect pcidevice | awk -v k="$1" -v i="$2" '$1 == k && $4 == i { print $2; exit }'
}

# The network interface of the virtio device below sysfs device $1.
iface_of() {
	_n=$(ls "$1"/virtio*/net 2>/dev/null | head -n 1)
	[ -n "$_n" ] && echo "$_n"
}
# The same, once there is one (up to 20 s: after a reload, NICs of several
# queue pairs take a while to probe again).
wait_iface() {
	wait_up_to 20 iface_of "$1" > /dev/null && iface_of "$1"
}
# frames OUT IN [CPU]: $COUNT raw frames of each size of $SIZES from
# network interface OUT to IN, each intact (rawframe.c), sent from CPU (any
# if none).
frames() {
	for _size in $SIZES; do
		${3:+taskset -c "$3"} ./rawframe "$1" "$2" "$_size" "$COUNT" "$_size" > /tmp/rawframe.log 2>&1 ||
			{ ktap_print_msg "$(cat /tmp/rawframe.log)${3:+ (from CPU $3)}"; return 1; }
	done
}

# leg OUT IN REGION: frames OUT IN, where one of the two NICs is behind
# REGION and the other is the control (no region); leaves in leg_to and
# leg_from what REGION copied to its devices and back meanwhile, and in
# leg_sent the bytes sent. A receive buffer is zeroed in the window, not
# copied in, but a NIC also maps headers and control buffers both ways: a
# one-way leg with one restricted end tells what was sent from what was
# received.
leg() {
	_to=$(counter bytes_to_device "$3") _from=$(counter bytes_from_device "$3")
	frames "$1" "$2"
	_rc=$?
	leg_to=$(( $(counter bytes_to_device "$3") - _to ))
	leg_from=$(( $(counter bytes_from_device "$3") - _from ))
	leg_sent=0
	for _size in $SIZES; do leg_sent=$((leg_sent + COUNT * _size)); done
	return $_rc
}

# legs_through SENDER RECEIVER CTL REGION: three cases. Frames from SENDER to
# the control NIC CTL (no region), then from CTL to RECEIVER, each a leg
# (above), both restricted NICs behind REGION; then whether REGION copied
# to its devices at least every byte SENDER sent, and back at least every
# byte RECEIVER received. Leaves leg_* as the second leg set them.
legs_through() {
	result "frames from $1 to $3 (no region), intact" leg "$1" "$3" "$4"
	_sent_to=$leg_to
	result "frames from $3 to $2, intact" leg "$3" "$2" "$4"
	ktap_print_msg "$4 copied $_sent_to bytes to the device(s) while $1 sent $leg_sent, and $leg_from back while $2 received $leg_sent"
	result "...$4 bounced every byte $1 sent and every byte $2 received" \
		[ "$_sent_to" -ge "$leg_sent" -a "$leg_from" -ge "$leg_sent" ]
}

# skip_hot_add WHAT CASE...: on a kernel with lockdep, one SKIP for each
# CASE of device WHAT that the VMM hot-adds, and succeeds; fails elsewhere.
# In 6.12 pciehp itself reports a lock order inversion on the first hot-add
# (its reset_lock against pci_rescan_remove_lock, which pci_host_probe()
# holds while the port probes), whatever the driver behind, and the log
# check would fail on it.
skip_hot_add() {
	[ -e /proc/lockdep ] || return 1
	_what=$1
	shift
	for _case in "$@"; do
		ktap_test_skip "$_what hot-added by the VMM ($_case): pciehp's own lockdep report on hot-add in 6.12 would fail the log check"
	done
}

# The function behind the PCIe root port at BDF $1, once there is one (not
# the port's own service devices, named PORT:pcieNNN).
behind_port() {
	for _d in /sys/bus/pci/devices/"$1"/0000:??:??.?; do
		[ -e "$_d" ] && basename "$_d" && return 0
	done
	return 1
}

# The variant's device of KIND that the VMM hot-adds: "PORT REGION ID", its
# root port, the region its host bridge names, and its QEMU id.
hotplug_of() {
	expect pcihotplug | awk -v k="$1" '$1 == k { print $2, $3, $5; exit }'
}

# hot_add KIND: has the host device_add the variant's hot-plugged device of
# KIND (qmp-agent.py), and prints the function that appears behind its root
# port within 30 s; fails if none does.
hot_add() {
	set -- $(hotplug_of "$1")
	ask_host hotplug "$3"
	wait_up_to 30 behind_port "$1"
}

# Whether the PCI device BDF has a driver bound.
pci_bound() {
	[ -e "/sys/bus/pci/devices/$1/driver" ]
}

# Binds a transport the DT holds back from probing at boot (a `held` device
# in the expectations: its compatible matches no driver) to virtio-mmio by
# hand. Done once restricted_dma is there, so that its first probe goes
# through its pool; again after a reload, in case the reload's re-probe has
# not bound it yet.
bind_held() {
	[ -e "/sys/bus/platform/devices/$1/driver" ] && return 0
	echo virtio-mmio > "/sys/bus/platform/devices/$1/driver_override" &&
		echo "$1" > /sys/bus/platform/drivers/virtio-mmio/bind
}
