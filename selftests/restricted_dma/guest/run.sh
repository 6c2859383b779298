#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Runs every kselftest of this directory in turn (the order of TEST_PROGS in
# the Makefile), each printing its own KTAP. The host counts the results.
for t in $(cat ./tests); do
	echo "rdma-test-begin: $t"
	sh "./$t" 2>&1
	echo "rdma-test-end: $t rc=$?"
done
