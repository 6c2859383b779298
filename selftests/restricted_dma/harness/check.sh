#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make check`: every test there is, counted into one closing line
#   N passed, N failed, N skipped
# Host: the pool's cargo tests, lints, the DT binding checks. Guest: for each
# kernel flavour in $FLAVOURS (module, builtin, debug; see env.sh), one boot
# per variant in variants.py, counting each KTAP result line of each
# kselftest. Exits non-zero on any failure, including a guest that timed out
# or a test whose results fall short of its plan.
set -uo pipefail
. "$(dirname "$0")/env.sh"
flavours=${FLAVOURS:-module builtin debug}
pass=0 fail=0 skip=0
t0=$(date +%s)
step() { printf '\n== %s\n' "$*"; }

# Build first, one flavour after another, so that a build failure is not
# counted as a test failure of some later step.
step "build: ${flavours}"
# shellcheck disable=SC2086
"$RDMA_SELFTESTS/harness/build.sh" $flavours || { echo "not ok - build"; echo "0 passed, 1 failed, 0 skipped"; exit 1; }

# Host: the pool core under cargo test.
step "host: cargo test (rust/pool)"
out=$(cd "$RDMA_REPO/rust/pool" && CARGO_TARGET_DIR=$RDMA_CACHE/cargo-target \
      "$RDMA_CARGO" test --release --quiet 2>&1)
rc=$?
echo "$out" | grep -E '^test result|panicked|FAILED|failures:|^test .* \.\.\. FAILED' || true
p=$(echo "$out" | sed -n 's/^test result: .* \([0-9]*\) passed; \([0-9]*\) failed; \([0-9]*\) ignored.*/\1/p' | paste -sd+ | bc)
f=$(echo "$out" | sed -n 's/^test result: .* \([0-9]*\) passed; \([0-9]*\) failed.*/\2/p' | paste -sd+ | bc)
pass=$((pass + ${p:-0})); fail=$((fail + ${f:-0}))
if [ $rc -ne 0 ] && [ "${f:-0}" = 0 ]; then echo "cargo test failed to run"; echo "$out" | tail -n 20; fail=$((fail + 1)); fi

# The DT binding.
step "host: dt-check"
out=$("$RDMA_SELFTESTS/harness/dt-check.sh" 2>&1); echo "$out"
pass=$((pass + $(echo "$out" | grep -c '^ok '))); fail=$((fail + $(echo "$out" | grep -c '^not ok ')))

# Lint: rustfmt and clippy (the kernel's lint set) over all Rust.
step "host: lint (rustfmt, clippy)"
if "$RDMA_SELFTESTS/harness/lint.sh" > "$RDMA_CACHE/lint.log" 2>&1; then
  echo "ok - rustfmt and clippy clean"; pass=$((pass + 1))
else
  sed 's/\x1b\[[0-9;]*m//g' "$RDMA_CACHE/lint.log" | grep -E '^(warning|error)|^Diff in' -A6 | head -n 60
  echo "not ok - rustfmt and clippy clean"; fail=$((fail + 1))
fi

# Guest: for each flavour, one boot per variant.
for flavour in $flavours; do
  export RDMA_FLAVOUR=$flavour
  . "$RDMA_SELFTESTS/harness/env.sh"
  tf=$(date +%s) fpass=$pass ffail=$fail fskip=$skip
  for v in $(python3 "$RDMA_SELFTESTS/harness/variants.py" list); do
    step "guest: $flavour kernel, variant $v"
    w=$RDMA_CACHE/guest/$flavour/$v
    "$RDMA_SELFTESTS/harness/guest.sh" check "$v"
    rc=$?
    # The serial console ends lines with CR LF.
    log=$w/console.txt
    tr -d '\r' < "$w/console.log" > "$log" 2>/dev/null
    if [ $rc -ne 0 ]; then
      echo "not ok - guest $v did not complete (rc $rc)"; tail -n 30 "$log" 2>/dev/null; fail=$((fail + 1))
    fi
    # Per test script: its KTAP lines, checked against its plan.
    while IFS= read -r t; do
      body=$(sed -n "/^rdma-test-begin: $t\$/,/^rdma-test-end: $t /p" "$log")
      plan=$(echo "$body" | sed -n 's/^1\.\.\([0-9]*\).*/\1/p' | head -n1)
      okn=$(echo "$body" | grep -E '^ok [0-9]+ ' | grep -vc '# SKIP')
      skn=$(echo "$body" | grep -E '^ok [0-9]+ .*# SKIP' -c)
      nokn=$(echo "$body" | grep -Ec '^not ok [0-9]+ ')
      echo "$body" | grep -E '^(not )?ok [0-9]+ |^# ' | sed "s/^/  [$flavour\/$v\/$t] /"
      pass=$((pass + okn)); skip=$((skip + skn)); fail=$((fail + nokn))
      if [ -z "$plan" ] || [ $((okn + skn + nokn)) -ne "$plan" ]; then
        echo "not ok - $flavour/$v/$t: ran $((okn + skn + nokn)) of plan '${plan:-none}'"; fail=$((fail + 1))
      fi
    done < <(sed -n 's/^rdma-test-begin: //p' "$log")
    # Console ports: what the guest sent must have reached the host intact.
    for c in $(python3 "$RDMA_SELFTESTS/harness/variants.py" consoles "$v"); do
      if cmp -s "$w/$c.to-host" "$w/$c.received"; then
        echo "  [$flavour/$v] ok - virtio-console $c: 64 KiB from the guest reached the host intact"; pass=$((pass + 1))
      else
        echo "  [$flavour/$v] not ok - virtio-console $c: guest-to-host bytes differ ($(stat -c %s "$w/$c.received" 2>/dev/null || echo 0) bytes received)"
        fail=$((fail + 1))
      fi
    done
    # Where QEMU says each restricted device's queues are: inside its region.
    if [ -s "$w/virtqueues.txt" ]; then
      while read -r path what r base size; do
        queues=$(sed '/^--$/q' "$w/virtqueues.txt" | awk -v p="$path" '$1 == p && $3 != "0x0"')
        outside=
        while read -r _ q desc avail used; do
          for a in $desc $avail $used; do
            [ $((a)) -ge $((base)) ] && [ $((a)) -lt $((base + size)) ] || outside="$outside queue $q at $a"
          done
        done <<< "$queues"
        if [ -n "$queues" ] && [ -z "$outside" ]; then
          echo "  [$flavour/$v] ok - $what: QEMU finds its $(echo "$queues" | grep -c .) virtqueue(s) inside $r"; pass=$((pass + 1))
        else
          echo "  [$flavour/$v] not ok - $what: virtqueues inside $r (QEMU: ${outside:-no queue set up})"; fail=$((fail + 1))
        fi
      done < <(python3 "$RDMA_SELFTESTS/harness/variants.py" virtqueues "$v")
    fi
    for t in $(python3 "$RDMA_SELFTESTS/harness/variants.py" expect "$v" | sed -n 's/^tests //p'); do
      grep -q "^rdma-test-end: $t " "$log" 2>/dev/null || { echo "not ok - $flavour/$v/$t never finished"; fail=$((fail + 1)); }
    done
  done
  echo
  echo "$flavour kernel: $((pass - fpass)) passed, $((fail - ffail)) failed, $((skip - fskip)) skipped in $(( $(date +%s) - tf )) s"
done

echo
echo "checks took $(( $(date +%s) - t0 )) s"
echo "$pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
