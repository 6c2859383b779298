#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Runs this guest's kselftests (the "tests" line of /etc/restricted_dma/expect,
# in order) with kselftest's own runner, as an installed kselftest runs:
# it prints each test's KTAP nested in its own. The host counts the results.
export BASE_DIR=/selftests
. "$BASE_DIR/kselftest/runner.sh"
cd "$BASE_DIR/restricted_dma" || exit 1
# shellcheck disable=SC2046
run_many $(sed -n 's/^tests //p' /etc/restricted_dma/expect)
