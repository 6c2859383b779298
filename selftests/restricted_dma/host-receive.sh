#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The host reads the window: a receive buffer's old contents are not the
# device's to see, nor what the host left in the window before the guest
# ran (it writes a page of a marker at its base, and must find none of it
# once the region is claimed). Two ways to look at receive buffers, both
# from the host's side:
# - rdma_test keeps one page full of a marker mapped for the device to
#   write, and the host dumps the whole window (qmp-agent.py): it must find
#   none of it; then the same page mapped for the device to read, which it
#   must find whole (the control);
# - a scatterlist for the device to read whose second entry cannot be
#   mapped: none of the first entry's marker may have entered the window;
#   the same list with a second entry that fits, kept mapped, shows it
#   whole (the control, after: its bytes stay in the window);
# - a read from the vhost-user-blk behind the region into a buffer full of
#   the marker: its backend counts the marker in what it is given to fill,
#   which must be nothing; the same read on the control device (no region)
#   shows the host the buffer itself, marker and all; and a write of the
#   marker reaches both backends (check.sh's host view holds them to it).
. ./ktap_helpers.sh
. ./lib.sh

ktap_print_header
ktap_set_plan 9
R=$(first good 1)
base=$(first good 2)
size=$(first good 3)
vu_t=$(expect device | awk '$1 == "vublk" && $3 != "-" { print $2; exit }')
ctl_t=$(expect device | awk '$1 == "vublk" && $3 == "-" { print $2; exit }')
load
# What the host wrote at the window's base before the guest ran (variants.py
# `preload`): gone, once the region is claimed, and before any device has
# used the window (this test runs first in its guest).
preload=$(sed -n 's/^preload //p' "$EXPECT" | head -n 1)
claimed_clean() {
	[ -n "$preload" ] && [ -d "$DBG/$R" ] && ask_host window-scan preload "$base" 0x1000 "$preload" && sleep 3
}
result "the host looks for what it left at the window's base, once $R is claimed" claimed_clean
# The node asks for receive buffers to be copied in (the host wrote it):
# the module must not do it, and the scans below show it from the host.
result "$R's 'copy-receive-buffers' is ignored" \
	log_has "/reserved-memory/$R: 'copy-receive-buffers' ignored: this kernel lets no node turn off the zeroing of receive buffers"
load_test
echo ok > "$TDBG/probe"
tcmd add 0

# scan TAG DIR: a page of the marker mapped in direction DIR while the host
# dumps the window and counts it as TAG.
scan() {
	tcmd mark 0 "$2" || return 1
	ktap_print_msg "$(tresult)"
	ask_host window-scan "$1" "$base" "$size"
	# The host's agent polls the console: give it time to dump the window.
	sleep 3
	tcmd unmark 0
}
result "rdma_test.0 maps a page of the marker for the device to write while the host dumps $R" scan receive 2
result "...and for the device to read (the control)" scan send 1
sgscan() {
	tcmd sgmark 0 "$2" || return 1
	ktap_print_msg "$(tresult)"
	ask_host window-scan "$1" "$base" "$size" SGMARKED
	sleep 3
	[ "$2" -eq 0 ] || tcmd unsgmark 0
}
result "rdma_test.0 maps a list whose second entry no mapping can hold while the host dumps $R" sgscan sgfail 0
result "...and one that maps whole (the control)" sgscan sgsend 1
tcmd del 0

bind_held "$vu_t"
dev=$(wait_blk "$vu_t")
ctl=$(wait_blk "$ctl_t")
# At 32 MiB: past what host-window.sh wrote.
result "a 64 KiB read from the vhost-user-blk behind $R into a buffer full of the marker" \
	timeout 60 ./odirect marker read "$dev" 65536 33554432
result "...the same from the control (no region)" timeout 60 ./odirect marker read "$ctl" 65536 33554432
marks() {
	timeout 60 ./odirect marker write "$dev" 65536 33619968 &&
		timeout 60 ./odirect marker write "$ctl" 65536 33619968
}
result "a 64 KiB write of the marker to both (the control)" marks
ktap_finished
