#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Unload removes every debugfs entry; reload brings them back, 20 times over,
# with no warning in the kernel log.
. ./ktap_helpers.sh
. ./lib.sh

ROUNDS=20
ktap_print_header
ktap_set_plan 3

load
names=$(expect good | cut -d' ' -f1)
gone=1 back=1
i=0
while [ $i -lt $ROUNDS ]; do
	unload || { gone=0; ktap_print_msg "rmmod failed in round $i"; break; }
	[ -e "$DBG" ] && { gone=0; ktap_print_msg "round $i: $DBG still there after unload"; }
	load || { back=0; ktap_print_msg "insmod failed in round $i"; break; }
	for n in $names; do
		[ -d "$DBG/$n" ] || { back=0; ktap_print_msg "round $i: $n missing after reload"; }
	done
	i=$((i + 1))
done
ktap_test_result "unload removes all debugfs entries ($ROUNDS rounds)" [ $gone = 1 ]
ktap_test_result "reload restores every region ($ROUNDS rounds)" [ $back = 1 ]
ktap_test_result "no warning in the kernel log" log_clean
ktap_finished
