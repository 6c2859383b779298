#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Shared by the restricted_dma kselftests (sourced, after ktap_helpers.sh).

DBG=/sys/kernel/debug/restricted_dma
EXPECT=/etc/restricted_dma/expect
MODULE=/lib/modules/restricted_dma.ko

# Records of one kind from the variant's expectations ("good", "bad").
expect() {
	sed -n "s/^$1 //p" "$EXPECT"
}

is_loaded() {
	grep -q '^restricted_dma ' /proc/modules
}

load() {
	is_loaded || insmod "$MODULE"
}

unload() {
	! is_loaded || rmmod restricted_dma
}

# Kernel log lines since the last mark_log, to check what one step printed.
mark_log() {
	LOG_MARK=$(dmesg | wc -l)
}

log_since_mark() {
	dmesg | tail -n +"$((LOG_MARK + 1))"
}

# No kernel warning, bug or oops anywhere in the log.
log_clean() {
	! dmesg | grep -Eq 'WARNING:|BUG:|Oops|Unable to handle|refcount_t|list_del corruption|kmemleak'
}
