#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The kernel's own dma_map_benchmark, bound to an empty transport behind the
# region, maps and unmaps through the pool without an error. (Its figures are
# for `make bench`; this only checks that it works.)
. ./ktap_helpers.sh
. ./lib.sh

ktap_print_header
ktap_set_plan 3
load
t=$(transport_of empty)
if [ -z "$t" ]; then
	ktap_skip_all "this guest has no empty transport for the benchmark"
	exit "$KSFT_SKIP"
fi
echo dma_map_benchmark > "/sys/bus/platform/devices/$t/driver_override"
maps0=$(counter maps)
if echo "$t" > /sys/bus/platform/drivers/dma_map_benchmark/bind; then
	ktap_test_pass "dma_map_benchmark binds to $t"
else
	ktap_test_fail "dma_map_benchmark binds to $t"
fi
out=$(./dma_map_benchmark -t 2 -s 1 -g 1 -d 0 2>&1)
rc=$?
echo "$out" | sed 's/^/# /'
result "the benchmark runs without error" [ $rc -eq 0 ]
result "its maps went through the pool" [ "$(counter maps)" -gt "$maps0" ]
echo "$t" > /sys/bus/platform/drivers/dma_map_benchmark/unbind
echo > "/sys/bus/platform/devices/$t/driver_override"
ktap_finished
