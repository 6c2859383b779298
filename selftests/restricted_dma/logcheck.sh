#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Runs last in every guest: the kernel's own checkers must have found nothing
# in the whole boot. Each kind of report is a case, whose diagnostics quote
# the report's first lines. On a debug kernel that is KASAN, lockdep, atomic
# sleep, UBSAN, DMA-API debugging, DEBUG_VM's page checks, list debugging and
# kmemleak; on the others the same searches cover warnings, bugs and oopses.
# What a test provokes on purpose (pool-dmaapi.sh's misuse) is fenced off by
# markers in the log and by the DMA-API error count it expects. Then the
# host's last look at every window of the DT, claimed or not (check.sh): no
# kernel address in any, whatever the boot's devices put there.
. ./ktap_helpers.sh
. ./lib.sh

ktap_print_header
ktap_set_plan 9
kernel_log > /tmp/klog

# none PATTERN DESCRIPTION: a case passing when the log has no line matching
# PATTERN; otherwise it quotes the first report, with the lines after it.
none() {
	first=$(grep -nE "$1" /tmp/klog | head -n 1 | cut -d: -f1)
	if [ -z "$first" ]; then
		ktap_test_pass "$2"
	else
		ktap_print_msg "$(grep -cE "$1" /tmp/klog) report line(s); the first:"
		tail -n +"$first" /tmp/klog | head -n 12 | sed 's/^/# /'
		ktap_test_fail "$2"
	fi
}

none 'BUG: KASAN|KASAN: ' "no KASAN report"
none 'possible circular locking|possible recursive locking|inconsistent lock state|lock held when returning|suspicious RCU usage|BUG: sleeping function|BUG: scheduling while atomic|BUG: Invalid wait context' \
	"no lockdep or atomic-sleep report"
none 'UBSAN:' "no UBSAN report"
none 'Bad page state|BUG: Bad rss|page dumped because' "no bad page state (no region page reached the page allocator)"
none 'list_add corruption|list_del corruption|refcount_t: ' "no list or refcount corruption"
none 'WARNING:|BUG:|Oops|Unable to handle|Kernel panic' "no other warning, bug or oops"

# DMA-API debugging (debug kernels): its error count must be what the tests
# provoked on purpose, and it must have printed nothing else.
expected=0
[ -f /tmp/rdma-expected-dma-api-errors ] && expected=$(awk "{ n += \$1 } END { print n + 0 }" /tmp/rdma-expected-dma-api-errors)
errors=$(dma_api_errors)
# (Its two boot lines, "preallocated" and "debugging enabled", are no reports.)
if [ "$errors" -eq "$expected" ] && ! grep -qE 'DMA-API: [^ ]+ [^ ]+: ' /tmp/klog; then
	ktap_print_msg "DMA-API errors: $errors, all provoked on purpose"
	ktap_test_pass "no DMA-API debugging report"
else
	ktap_print_msg "DMA-API errors: $errors, $expected provoked on purpose; reports:"
	grep -A 8 -E 'DMA-API: [^ ]+ [^ ]+: ' /tmp/klog | head -n 12 | sed 's/^/# /'
	ktap_test_fail "no DMA-API debugging report"
fi

# kmemleak (debug kernels): scan twice (a first scan only marks suspects),
# then any unreferenced object allocated by our modules fails. An object is
# ours when its backtrace names restricted_dma or rdma_test, or has a frame
# kmemleak cannot name: code of a module that was unloaded since, and ours
# are the only modules a guest unloads.
K=/sys/kernel/debug/kmemleak
if [ -w "$K" ]; then
	echo scan > "$K"
	echo scan > "$K"
	cat "$K" > /tmp/leaks
	total=$(grep -c '^unreferenced object' /tmp/leaks)
	ours=$(awk '/^unreferenced object/ { if (obj && mine) n++; obj = 1; mine = 0 }
		/restricted_dma|rdma_test|\] 0x[0-9a-f]+$/ { mine = 1 }
		END { if (obj && mine) n++; print n + 0 }' /tmp/leaks)
	ktap_print_msg "kmemleak: $total unreferenced object(s), $ours of them from restricted_dma or rdma_test"
	grep -A 3 '^unreferenced object' /tmp/leaks | head -n 12 | sed 's/^/# /'
	if [ "$ours" -eq 0 ]; then
		ktap_test_pass "kmemleak: no unreferenced object of ours"
	else
		awk '/^unreferenced object/ { if (obj && mine) printf "%s", obj; obj = $0 "\n"; mine = 0; next }
			{ obj = obj $0 "\n" } /restricted_dma|rdma_test|\] 0x[0-9a-f]+$/ { mine = 1 }
			END { if (obj && mine) printf "%s", obj }' /tmp/leaks | head -n 20 | sed 's/^/# /'
		ktap_test_fail "kmemleak: no unreferenced object of ours"
	fi
else
	ktap_test_skip "kmemleak: no unreferenced object of ours (no kmemleak in this kernel)"
fi

last_look() {
	kaddr_control || return 1
	n=0
	for window in $(expect good | awk '{ print $2 "+" $3 }' | sort -u); do
		base=${window%+*}
		ask_host window-scan "kaddr_${base#0x}" "$base" "${window#*+}" kaddr
		n=$((n + 1))
	done
	# The host's agent polls the console: time to dump each window.
	sleep $((3 + n))
}
result "the host takes a last look at every window of the DT, and at the kernel's data (the control)" last_look
ktap_finished
