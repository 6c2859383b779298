#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Runs the kselftests this guest's variant lists (its "tests" line in
# /etc/restricted_dma/expect, in TEST_PROGS order), each printing its own
# KTAP. The host counts the results.
for t in $(sed -n 's/^tests //p' /etc/restricted_dma/expect); do
	echo "rdma-test-begin: $t"
	sh "./$t" 2>&1
	echo "rdma-test-end: $t rc=$?"
done
