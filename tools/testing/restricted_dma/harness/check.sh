#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make check`: every test there is, as one KTAP document, counted into one
# closing line by ktap-count.py:
#   N passed, N failed, N skipped
# Host: the pool's cargo tests, the DT binding checks, the lints. Guests: for
# each kernel flavour in $FLAVOURS (module, builtin, debug; see env.sh), one
# boot per variant in variants.py, whose kselftests kselftest's runner runs;
# then what the host checks of that guest (console bytes, QEMU's view of the
# rings). Every part's KTAP is nested under one result line of its own.
# Exits non-zero on any failure, including a guest that timed out or a test
# that ran fewer cases than its plan.
set -uo pipefail
. "$(dirname "$0")/env.sh"
flavours=${FLAVOURS:-module builtin debug}
variants=(python3 "$RDMA_HARNESS/variants.py")
count=(python3 "$RDMA_HARNESS/ktap-count.py")
results=$RDMA_CACHE/check.ktap
t0=$(date +%s)
n=0

# How long each part took the last time it ran here, one "SECONDS NAME" a
# line: the progress lines on stderr say what to expect.
durations=$RDMA_CACHE/check-durations

# last_took NAME: how long part NAME took the last time it ran here.
last_took() {
  awk -v n="$1" '{ t = $1; $1 = ""; if (substr($0, 2) == n) s = t } END { print s }' "$durations" 2>/dev/null
}

# run_part NAME OUT CMD...: runs CMD, whose output is KTAP, into OUT, its
# exit status into OUT.rc; records how long it took. Says on stderr (not in
# the KTAP) what starts, and how long it took last time.
run_part() {
  local name=$1 out=$2 last start took rc
  shift 2
  last=$(last_took "$name")
  echo ">> $name${last:+ (last time ${last} s)}" >&2
  start=$(date +%s)
  "$@" > "$out" 2>&1
  rc=$?
  took=$(( $(date +%s) - start ))
  # (Parts may end at once: one writer at a time.)
  {
    flock 9
    { awk -v n="$name" '{ l = $0; $1 = ""; if (substr($0, 2) != n) print l }' "$durations" 2>/dev/null
      echo "$took $name"; } > "$durations.new" && mv "$durations.new" "$durations"
  } 9> "$durations.lock"
  echo "$rc" > "$out.rc"
}

# emit_part NAME OUT: the part's KTAP, nested under one result line "ok N
# NAME" (or "not ok"), into $results and on screen.
emit_part() {
  n=$((n + 1))
  {
    sed 's/^/# /' "$2"
    if [ "$(cat "$2.rc")" = 0 ]; then echo "ok $n $1"; else echo "not ok $n $1"; fi
  } | tee -a "$results"
}

# part NAME CMD...: one part, run and reported at once.
part() {
  local name=$1 out
  shift
  out=$(mktemp "$RDMA_CACHE/part.XXXXXX")
  run_part "$name" "$out" "$@"
  emit_part "$name" "$out"
  rm -f "$out" "$out.rc"
}

# ktap_of_docs: every file and section the docs name exists (linkcheck.py,
# and its control, which must find the dead links it is given),
# docs/guests.md says what the guests' description says, and `make
# bench-ablate`, whose table docs/choices.md gives, still finds in the source
# each part it takes out (and its control, whose copy lacks one, does not).
ktap_of_docs() {
  local out fail=0
  echo "TAP version 13"
  if out=$(python3 "$RDMA_HARNESS/linkcheck.py" --self-test 2>&1); then
    echo "ok 1 the link check finds a dead link and a dead anchor it is given"
  else
    echo "not ok 1 the link check finds a dead link and a dead anchor it is given"; fail=1
    echo "$out" | sed 's/^/# /'
  fi
  if out=$(python3 "$RDMA_HARNESS/linkcheck.py" 2>&1); then
    echo "ok 2 every link and repository path in the docs is alive"
  else
    echo "not ok 2 every link and repository path in the docs is alive"; fail=1
  fi
  echo "$out" | sed 's/^/# /'
  if python3 "$RDMA_HARNESS/variants.py" index | cmp -s - "$RDMA_REPO/docs/guests.md"; then
    echo "ok 3 docs/guests.md is the guests' index"
  else
    echo "not ok 3 docs/guests.md is the guests' index # stale: run 'make guests'"; fail=1
  fi
  if out=$(python3 "$RDMA_HARNESS/ablate.py" --self-test 2>&1) ||
    ! grep -q 'no longer has' <<< "$out"; then
    echo "not ok 4 make bench-ablate refuses a source without what a part takes out"; fail=1
    echo "$out" | sed 's/^/# /'
  else
    echo "ok 4 make bench-ablate refuses a source without what a part takes out"
  fi
  if out=$(python3 "$RDMA_HARNESS/ablate.py" --check 2>&1); then
    echo "ok 5 make bench-ablate still takes out each part it names"
  else
    echo "not ok 5 make bench-ablate still takes out each part it names"; fail=1
    echo "$out" | sed 's/^/# /'
  fi
  echo "1..5"
  return $fail
}

# ktap_of_cargo [CRATE_DIR TARGET_DIR]: cargo test's lines as KTAP (by
# default the pool's).
ktap_of_cargo() {
  local out rc dir=${1:-$RDMA_REPO/rust/pool} target=${2:-$RDMA_CARGO_TARGET}
  out=$(cd "$dir" && CARGO_TARGET_DIR=$target "$RDMA_CARGO" test --release 2>&1)
  rc=$?
  echo "TAP version 13"
  echo "$out" | awk '
    /^test .* \.\.\. (ok|FAILED|ignored)$/ {
      n++; name = $2
      if ($NF == "ok") print "ok " n " " name
      else if ($NF == "ignored") print "ok " n " " name " # SKIP ignored"
      else print "not ok " n " " name
    }
    /panicked|^failures:/ { print "# " $0 }
    END { print "1.." n }'
  [ $rc -eq 0 ] || echo "$out" | tail -n 20 | sed 's/^/# /'
  return $rc
}

# ktap_of_lint: rustfmt and clippy, one case.
ktap_of_lint() {
  echo "TAP version 13"
  echo "1..1"
  if "$RDMA_HARNESS/lint.sh" > "$RDMA_CACHE/lint.log" 2>&1; then
    echo "ok 1 rustfmt and clippy clean"
  else
    sed 's/\x1b\[[0-9;]*m//g' "$RDMA_CACHE/lint.log" | grep -E '^(warning|error)|^Diff in' -A6 |
      head -n 60 | sed 's/^/# /'
    echo "not ok 1 rustfmt and clippy clean"
    return 1
  fi
}

# ktap_of_panic CONSOLE MESSAGE: KTAP for a boot that must stop with a
# kernel panic that says MESSAGE, before any test runs.
ktap_of_panic() {
  echo "TAP version 13"
  echo "1..2"
  if grep -q '^rdma-guest: done' "$1"; then
    echo "not ok 1 the boot stops with a kernel panic: it went on and ran its tests"
    return 1
  fi
  if grep -qF "Kernel panic - not syncing: $2" "$1"; then
    echo "ok 1 the boot stops with a kernel panic, before any test"
    echo "ok 2 ...which says why: $2"
  else
    echo "not ok 1 the boot stops with a kernel panic, before any test"
    echo "not ok 2 ...which says why: $2"
    tail -n 30 "$1" | sed 's/^/# /'
    return 1
  fi
}

# ktap_of_guest FLAVOUR VARIANT: boots the guest; its console's KTAP.
ktap_of_guest() {
  local w=$RDMA_CACHE/guest/$1/$2 rc panic
  # (On a fresh cache the log's directory does not exist yet.)
  mkdir -p "$w"
  RDMA_FLAVOUR=$1 "$RDMA_HARNESS/guest.sh" check "$2" > "$w.guest.log" 2>&1
  rc=$?
  # The serial console ends lines with CR LF; the runner's KTAP starts at
  # its version line.
  tr -d '\r' < "$w/console.log" > "$w/console.txt" 2>/dev/null
  panic=$(python3 "$RDMA_HARNESS/variants.py" panics "$2" "$1")
  if [ -n "$panic" ]; then
    ktap_of_panic "$w/console.txt" "$panic"
    return
  fi
  sed -n '/^TAP version 13$/,$p' "$w/console.txt" | grep -v '^rdma-guest: done$\|reboot: Power down'
  # The guest powers off whatever its tests said: a failed test fails the part.
  ! grep -q '^not ok ' "$w/console.txt" || rc=1
  if [ $rc -ne 0 ]; then
    sed 's/^/# /' "$w.guest.log"
    if grep -q '^rdma-guest: deadline' "$w/console.txt" 2>/dev/null; then
      # What the guest left before it was killed (guest/init): the end of
      # the kernel log, the blocked tasks and the pools. All of it is in
      # the console log.
      echo "# the guest's evidence (all of it: $w/console.txt):"
      sed -n '/^rdma-guest: blocked tasks/,/^rdma-guest: the kernel log$/p' "$w/console.txt" |
        head -n 200 | sed 's/^/# /'
      sed -n '/^rdma-guest: the kernel log$/,$p' "$w/console.txt" | tail -n 80 | sed 's/^/# /'
    else
      tail -n 30 "$w/console.txt" 2>/dev/null | sed 's/^/# /'
    fi
  fi
  return $rc
}

# spans_of WORKDIR QOM_PATH: the descriptors (ADDR LEN, decimal) that
# qmp-agent.py read from the device's queues in QEMU's last answer.
spans_of() {
  awk -v p="$2" '$0 == "--" { last = cur; cur = ""; next }
    $1 == "span" && $2 == p { cur = cur $4 " " $5 "\n" } END { printf "%s", last }' "$1/virtqueues.txt" 2>/dev/null
}

# spans_vs inside|outside BASE+SIZE,...: of the spans (ADDR LEN) on stdin,
# how many there are, how many break the rule (inside: not wholly inside
# the first region; outside: touching any region), and the first that does
# (ADDR+LEN): "N BAD [FIRST]".
spans_vs() {
  local regions= span
  for span in ${2//,/ }; do
    regions="$regions $((${span%+*})) $((${span%+*} + ${span#*+}))"
  done
  awk -v mode="$1" -v regions="$regions" '
    BEGIN { nr = split(regions, r, " ") / 2 }
    { n++; broken = 0
      if (mode == "inside") broken = $1 < r[1] + 0 || $1 + $2 > r[2] + 0
      else for (i = 1; i <= nr; i++) if ($1 < r[2 * i] + 0 && $1 + $2 > r[2 * i - 1] + 0) broken = 1
      if (broken) { bad++; if (!f) f = sprintf("%.0f %.0f", $1, $2) } }
    END { print n + 0, bad + 0, f }' | {
    read -r n bad a l
    echo "$n $bad${a:+ $(printf '%#x+%d' "$a" "$l")}"
  }
}

# sums_vs_host WORKDIR KIND NAME WHAT FILES: two KTAP cases (numbered from
# $k + 1; k is left at the second) for the files the guest wrote to the
# host in WORKDIR/NAME: one to-host.N for each from-host.N the host gave
# it, each against the sum the guest printed ("rdma-host: KIND-sum NAME
# FILE SHA256"); and the control, to-host.control against the sum the
# guest printed of other bytes ("KIND-control"), which must not match.
sums_vs_host() {
  local w=$1 kind=$2 name=$3 what=$4 files=$5 sums want bad f control rc=0
  k=$((k + 1))
  sums=$(tr -d '\r' < "$w/console.log" | awk -v t="$name" -v c="$kind-sum" '$1 == "rdma-host:" && $2 == c && $3 == t { print $5 "  " $4 }')
  want=$(cd "$w/$name" && ls from-host.* 2>/dev/null | sed 's/^from-host/to-host/')
  bad=
  for f in $want; do
    # Not `echo | grep -q`: bash's echo writes a line at a time, grep -q
    # leaves at the first match, and under pipefail the echo killed by
    # SIGPIPE made a sum on the first line read as missing (once, in CI).
    grep -q "  $f\$" <<< "$sums" || bad="$bad $f (no sum)"
  done
  bad="$bad$(cd "$w/$name" && echo "$sums" | grep . | sha256sum -c 2>/dev/null | grep -v ': OK$' | tr '\n' ' ')"
  if [ -n "$want" ] && [ -z "${bad// /}" ]; then
    echo "ok $k $what: the $(echo "$want" | wc -w) $files are on the host's disk, intact"
  else
    echo "not ok $k $what: differing or missing:${bad:- nothing expected}"
    rc=1
  fi
  k=$((k + 1))
  control=$(tr -d '\r' < "$w/console.log" | awk -v t="$name" -v c="$kind-control" '$1 == "rdma-host:" && $2 == c && $3 == t { print $5 "  " $4; exit }')
  if [ -n "$control" ] && [ -s "$w/$name/to-host.control" ] &&
     ! (cd "$w/$name" && echo "$control" | sha256sum -c --status 2>/dev/null); then
    echo "ok $k $what, control: a file against the sum of other bytes does not match"
  else
    echo "not ok $k $what, control: ${control:+the sum of other bytes matched, or no file}${control:-no control file}"
    rc=1
  fi
  return $rc
}

# at_windows WORKDIR SPANS: SPANS (BASE+SIZE,...) with each @NAME+@NAME, a
# window the guest's kernel placed at boot, replaced by where the guest said
# it is ("rdma-host: window NAME BASE SIZE" on its console), as a real host
# learns it from the share calls; left as it is when the guest never said.
at_windows() {
  local span name out= b z
  for span in ${2//,/ }; do
    if [[ $span == @* ]]; then
      name=${span%%+*} name=${name#@}
      read -r b z <<< "$(sed -n "s/^rdma-host: window $name \(0x[0-9a-f]*\) \(0x[0-9a-f]*\)$/\1 \2/p" \
        "$1/console.txt" 2>/dev/null | tail -n 1)"
      [ -n "$b" ] && span=$b+$z
    fi
    out=$out,$span
  done
  echo "${out#,}"
}

# ktap_of_host_view FLAVOUR VARIANT: what the host checks of a guest that
# ran: what it sent over virtio-console, where QEMU finds the rings.
ktap_of_host_view() {
  local w=$RDMA_CACHE/guest/$1/$2 k=0 fail=0 c path what r base size queues outside
  echo "TAP version 13"
  for c in $(cat "$w/consoles"); do
    k=$((k + 1))
    if cmp -s "$w/$c.to-host" "$w/$c.received"; then
      echo "ok $k virtio-console $c: 64 KiB from the guest reached the host intact"
    else
      echo "not ok $k virtio-console $c: guest-to-host bytes differ ($(stat -c %s "$w/$c.received" 2>/dev/null || echo 0) bytes received)"
      fail=1
    fi
  done
  while read -r path what r base size plug; do
    k=$((k + 1))
    if [ "$plug" = control ]; then
      base=$(at_windows "$w" "$base")
    elif [[ $base == @* ]]; then
      base=$(at_windows "$w" "$base+$size")
      size=${base#*+} base=${base%+*}
    fi
    if [[ $base == *@* ]]; then
      echo "not ok $k $what: the guest never said where its window is (${base})"
      fail=1
      continue
    fi
    if [ "$plug" = hotplug ] && ! grep -q "^$path " "$w/virtqueues.txt" 2>/dev/null; then
      echo "ok $k $what: virtqueues inside $r # SKIP not hot-added in this run"
      continue
    fi
    # QEMU's last answer: a test that adds a device asks again after.
    queues=$(awk -v p="$path" '$0 == "--" { last = cur; cur = ""; next }
      $1 == p && $3 != "0x0" { cur = cur $0 "\n" } END { printf "%s", last }' "$w/virtqueues.txt" 2>/dev/null)
    if [ "$plug" = refused ]; then
      # A device the module refuses behind $r: QEMU must know it (its
      # queues are in the answer) and find none of them set up. The
      # control: the same answer has another device's queues set up, so
      # that "none set up" is not merely what QEMU says of every device.
      local others
      others=$(awk -v p="$path" '$0 == "--" { last = cur; cur = ""; next }
        $1 != p && $1 != "span" && $3 != "0x0" { cur = cur $1 "\n" } END { printf "%s", last }' \
        "$w/virtqueues.txt" 2>/dev/null | sort -u | grep -c .)
      if grep -q "^$path [0-9]" "$w/virtqueues.txt" 2>/dev/null && [ -z "$queues" ] && [ "$others" -gt 0 ]; then
        echo "ok $k $what behind $r, refused: QEMU finds none of its virtqueues set up ($others other device(s) with theirs)"
      else
        echo "not ok $k $what behind $r, refused: QEMU ${queues:+finds queues set up}${queues:-does not report it, or no device with queues set up ($others)}"
        fail=1
      fi
      continue
    fi
    if [ "$plug" = control ]; then
      # The control: a device with no region. QEMU must find its rings
      # outside every region ($base lists them, BASE+SIZE,...), or the check
      # of the restricted devices could not tell them from any other device.
      local inside= span
      while read -r _ q desc avail used; do
        for a in $desc $avail $used; do
          for span in ${base//,/ }; do
            [ $((a)) -lt $((${span%+*})) ] || [ $((a)) -ge $((${span%+*} + ${span#*+})) ] ||
              inside="$inside queue $q at $a"
          done
        done
      done <<< "$queues"
      if [ -n "$queues" ] && [ -z "$inside" ]; then
        echo "ok $k control $what (no region): QEMU finds its $(echo "$queues" | grep -c .) virtqueue(s) outside every region"
      else
        echo "not ok $k control $what (no region): virtqueues outside every region (QEMU: ${inside:-no queue set up})"
        fail=1
      fi
      k=$((k + 1))
      read -r n bad first <<< "$(spans_of "$w" "$path" | spans_vs outside "$base")"
      if [ "$n" -gt 0 ] && [ "$bad" -eq 0 ]; then
        echo "ok $k control $what (no region): all $n descriptor spans outside every region"
      else
        echo "not ok $k control $what (no region): $bad of $n descriptor spans inside a region${first:+ (first $first)}"
        fail=1
      fi
      continue
    fi
    outside=
    while read -r _ q desc avail used; do
      for a in $desc $avail $used; do
        [ $((a)) -ge $((base)) ] && [ $((a)) -lt $((base + size)) ] || outside="$outside queue $q at $a"
      done
    done <<< "$queues"
    if [ -n "$queues" ] && [ -z "$outside" ]; then
      echo "ok $k $what: QEMU finds its $(echo "$queues" | grep -c .) virtqueue(s) inside $r"
    else
      echo "not ok $k $what: virtqueues inside $r (QEMU: ${outside:-no queue set up})"
      fail=1
    fi
    # Every descriptor the driver left in the table, as the device reads it.
    k=$((k + 1))
    read -r n bad first <<< "$(spans_of "$w" "$path" | spans_vs inside "$base+$size")"
    if [ "$n" -gt 0 ] && [ "$bad" -eq 0 ]; then
      echo "ok $k $what: all $n descriptor spans inside $r"
    else
      echo "not ok $k $what: $bad of $n descriptor spans outside $r${first:+ (first $first)}"
      fail=1
    fi
    # A NIC of several queue pairs (mqN:S): its first S transmit queues
    # must hold spans and the others none (device-netmq.sh sends from vCPUs 0 to
    # S-1, one queue pair a vCPU). With S = N every pair carried frames; a
    # NIC with S = 1 is the control, which shows that a queue's spans come
    # from its frames. virtio-net numbers its queues rx0 tx0 rx1 tx1 ... ctrl.
    case $plug in mq*)
      k=$((k + 1))
      local pairs=${plug%:*} senders=${plug#*:} per q c bad=0 list=
      pairs=${pairs#mq}
      if grep -q '^taps off' "$w/expect"; then
        echo "ok $k $what: transmit queues 0..$((senders - 1)) of $pairs hold spans, the others none # SKIP one queue pair: $(sed -n 's/^taps off //p' "$w/expect")"
        continue
      fi
      per=$(awk -v p="$path" '$0 == "--" { last = cur; cur = ""; next }
        $1 == "span" && $2 == p { cur = cur $3 "\n" } END { printf "%s", last }' "$w/virtqueues.txt" 2>/dev/null)
      for q in $(seq 0 $((2 * pairs - 1))); do
        c=$(echo "$per" | grep -cx "$q")
        if [ $((q % 2)) -eq 0 ]; then
          list="$list rx$((q / 2))=$c"
        else
          list="$list tx$((q / 2))=$c"
          if [ $((q / 2)) -lt "$senders" ]; then [ "$c" -gt 0 ] || bad=1; else [ "$c" -eq 0 ] || bad=1; fi
        fi
      done
      if [ "$bad" -eq 0 ]; then
        echo "ok $k $what: transmit queues 0..$((senders - 1)) of $pairs hold spans, the others none (spans a queue:$list)"
      else
        echo "not ok $k $what: transmit queues 0..$((senders - 1)) of $pairs should hold spans, the others none (spans a queue:$list)"
        fail=1
      fi
      ;;
    esac
  done < <([ -s "$w/virtqueues.txt" ] && cat "$w/virtqueues")
  # The 9p shares and the vsock streams: each file the guest wrote to the
  # host (on a share, or through the host's peer, vsock-peer.py) against
  # the sum the guest printed for it; and a control file whose printed sum
  # is of other bytes, which must not match (sums_vs_host).
  local share vs
  for share in $(cat "$w/shares" 2>/dev/null); do
    sums_vs_host "$w" 9p "$share" "9p share $share" "files the guest wrote" || fail=1
  done
  for vs in $(cut -d' ' -f1 "$w/vsocks" 2>/dev/null); do
    sums_vs_host "$w" vsock "$vs" "vsock $vs" "streams the guest sent" || {
      grep -v '^vsock-peer: \(received\|sent\) ' "$w/$vs.peer.log" 2>/dev/null | head -n 5 | sed 's/^/# /'
      fail=1
    }
  done
  # The gpus' screens: QEMU's screendump of each (qmp-agent.py), taken when
  # the guest said it drew the pattern of SEED ("rdma-host: screendump
  # TRANSPORT SEED"), against that pattern pixel for pixel (screen-check.py);
  # and the control, the same screen against the next seed's pattern, which
  # must not match. Every pixel must match: the `devices` guest runs with no
  # text cursor (the framebuffer console's blinking cursor drew an 8x8 block
  # at the top left of the first framebuffer).
  local qid seed said t
  while read -r qid t r; do
    k=$((k + 1))
    seed=$(tr -d '\r' < "$w/console.log" | awk -v t="$t" '$1 == "rdma-host:" && $2 == "screendump" && $3 == t { s = $4 } END { print s }')
    if [ -z "$seed" ]; then
      echo "not ok $k virtio-gpu $t (region $r): the guest drew nothing"
      fail=1
    elif said=$(python3 "$RDMA_HARNESS/screen-check.py" "$w/$t.ppm" "$seed" 2>&1); then
      echo "ok $k virtio-gpu $t (region $r): QEMU's screen is the guest's pattern $seed ($said)"
    else
      echo "not ok $k virtio-gpu $t (region $r): QEMU's screen against the pattern $seed: $said"
      fail=1
    fi
    k=$((k + 1))
    if [ -n "$seed" ] && [ -s "$w/$t.ppm" ] &&
       said=$(python3 "$RDMA_HARNESS/screen-check.py" "$w/$t.ppm" "$((seed + 1))" 2>&1); then
      echo "not ok $k virtio-gpu $t, control: the screen matched the pattern $((seed + 1)) too"
      fail=1
    else
      echo "ok $k virtio-gpu $t, control: against the pattern $((seed + 1)) it differs (${said:-no screen})"
    fi
  done < <(cat "$w/screens" 2>/dev/null)
  # The window backends (harness/guest.sh): what each saw, from its closing
  # line "window backend: N requests, N bytes, N accesses outside W"; and
  # of the guest's marker (variants.py MARKER_HEX), from its line "markers:
  # R in buffers the device writes, W in buffers the device reads".
  local name img mode win queues region t line req bytes out rc marks mr mw
  while read -r name img mode win queues region t _; do
    k=$((k + 1))
    line=$(grep -E '^window backend: [0-9]+ requests' "$w/$name.log" 2>/dev/null | tail -n 1)
    rc=$(cat "$w/$name.rc" 2>/dev/null || echo none)
    read -r req bytes out <<< "$(echo "$line" | sed -E 's/^window backend: ([0-9]+) requests, ([0-9]+) bytes, ([0-9]+) accesses.*/\1 \2 \3/')"
    echo "# $name ($t, $mode): ${line:-no closing line}; exit $rc"
    grep -m 3 '^outside the window\|refused\|not processed' "$w/$name.log" 2>/dev/null | sed 's/^/#   /'
    if [ -z "$line" ]; then
      echo "not ok $k vhost-user-blk $t: its backend printed no closing line"
      fail=1
    elif [ "$mode" = window ]; then
      if [ "$req" -gt 0 ] && [ "$out" -eq 0 ] && [ "$rc" = 0 ]; then
        echo "ok $k vhost-user-blk $t behind $region: its backend, mapping only $win, served $req requests ($bytes bytes), 0 accesses outside, exit 0"
      else
        echo "not ok $k vhost-user-blk $t behind $region: backend mapping only $win: $req requests, $out accesses outside, exit $rc"
        fail=1
      fi
    else
      # The control device: nothing keeps its DMA in the window, and the
      # backend must have seen it. An expected result, the proof that the
      # check above can fail.
      if [ "$out" -gt 0 ] && [ "$req" -gt 0 ]; then
        echo "ok $k control vhost-user-blk $t (no region): its backend (--audit) counted $out accesses outside $win over $req requests"
      else
        echo "not ok $k control vhost-user-blk $t (no region): $out accesses outside $win counted over $req requests (expected some)"
        fail=1
      fi
    fi
    # What the host was shown of the guest's receive buffers: behind a
    # region, their slots hold zeros when the backend is given them to
    # fill, so it never finds the marker a read buffer was full of; with no
    # region (the control) it reads the buffer itself, and finds it. The
    # marker written to the disk reaches both (the scan's own control).
    # A hostile backend (host-lies.sh) instead: it lied, or the guest's survival
    # shows nothing.
    local lied
    lied=$(grep -E '^hostile [a-z-]+: applied [0-9]+ times' "$w/$name.log" 2>/dev/null | tail -n 1)
    if [ -n "$lied" ]; then
      k=$((k + 1))
      if [ "$(echo "$lied" | awk '{ print $4 }')" -gt 0 ]; then
        echo "ok $k vhost-user-blk $t behind $region: its backend lied ($lied), and reached nothing outside the window"
      else
        echo "not ok $k vhost-user-blk $t behind $region: its backend never lied ($lied)"
        fail=1
      fi
      continue
    fi
    marks=$(grep -E '^markers: [0-9]+ in buffers the device writes' "$w/$name.log" 2>/dev/null | tail -n 1)
    read -r mr mw <<< "$(echo "$marks" | sed -E 's/^markers: ([0-9]+) in .*, ([0-9]+) in .*/\1 \2/')"
    k=$((k + 1))
    if [ -z "$marks" ]; then
      echo "not ok $k vhost-user-blk $t: its backend counted no markers"
      fail=1
    elif [ "$mode" = window ] && [ "$mr" -eq 0 ] && [ "$mw" -gt 0 ]; then
      echo "ok $k vhost-user-blk $t behind $region: the host found no copy of the guest's marker in the buffers it was given to fill, and $mw in those it was given to read (the control)"
    elif [ "$mode" = audit ] && [ "$mr" -gt 0 ] && [ "$mw" -gt 0 ]; then
      echo "ok $k control vhost-user-blk $t (no region): the host found $mr copies of the guest's marker in the buffers it was given to fill (the receive buffers themselves) and $mw in those it was given to read"
    else
      echo "not ok $k vhost-user-blk $t ($mode): $mr copies of the guest's marker in the buffers the host was given to fill, $mw in those to read"
      fail=1
    fi
  done < <(cat "$w/backends" 2>/dev/null)
  # The window, dumped by the host while rdma_test kept a page of the marker
  # mapped (qmp-agent.py, "scan TAG COUNT"): for the device to write it
  # (receive), the window must hold none of it; for the device to read it
  # (send, the control), all 512 copies. Likewise a scatterlist's first
  # entry: none once the list failed (sgfail), all once it mapped (sgsend).
  # A gpu's picture ("frame" scans, device-gpu.sh): the window of the gpu
  # behind it must hold every row drawn; the same window, none of the
  # control gpu's picture (so that a search that finds anything fails).
  # Kernel addresses: none in the window of a virtio-scsi controller after
  # its first commands ("kaddr", device-scsi.sh), nor in any window of the
  # DT at the end of a boot ("kaddr_BASE", logcheck.sh); the control, the
  # same search over the kernel's own data, must find some.
  local tag count rows
  while read -r tag count rows; do
    k=$((k + 1))
    case $tag in
    frame)
      if [ "${rows:-0}" -gt 0 ] && [ "$count" -eq "$rows" ]; then
        echo "ok $k the window holds all $rows rows of the picture drawn on the gpu behind it"
      else
        echo "not ok $k the window holds $count of the $rows rows of the picture drawn on the gpu behind it"
        fail=1
      fi ;;
    framecontrol)
      if [ "${rows:-0}" -gt 0 ] && [ "$count" -eq 0 ]; then
        echo "ok $k control: the same window holds none of the $rows rows drawn on the gpu with no region"
      else
        echo "not ok $k control: the window holds $count of the $rows rows drawn on the gpu with no region"
        fail=1
      fi ;;
    receive)
      if [ "$count" -eq 0 ]; then
        echo "ok $k a page of the marker mapped for the device to write: the host finds none of it in the window"
      else
        echo "not ok $k a page of the marker mapped for the device to write: the host finds $count copies in the window"
        fail=1
      fi ;;
    send)
      if [ "$count" -ge 512 ]; then
        echo "ok $k control: the same page mapped for the device to read: the host finds its $count copies in the window"
      else
        echo "not ok $k control: the same page mapped for the device to read: the host finds $count copies in the window"
        fail=1
      fi ;;
    sgfail)
      if [ "$count" -eq 0 ]; then
        echo "ok $k a scatterlist that failed at its second entry: the host finds none of its first entry's marker in the window"
      else
        echo "not ok $k a scatterlist that failed at its second entry: the host finds $count copies of its first entry's marker in the window"
        fail=1
      fi ;;
    sgsend)
      if [ "$count" -ge 512 ]; then
        echo "ok $k control: a list whose second entry fits, mapped whole: the host finds the $count copies of its first entry's marker"
      else
        echo "not ok $k control: a list whose second entry fits, mapped whole: the host finds $count copies of its first entry's marker"
        fail=1
      fi ;;
    kaddr|kaddr_*)
      local where="after a virtio-scsi controller's first commands, the host finds"
      [ "$tag" = kaddr ] || where="at the end of the boot, the host finds in the window at 0x${tag#kaddr_}"
      if [ "$count" -eq 0 ]; then
        echo "ok $k $where no kernel address"
      else
        echo "not ok $k $where $count kernel addresses"
        grep "^$tag " "$w/kaddrs" | head -n 3 | sed 's/^[^ ]* /# found at /'
        fail=1
      fi ;;
    kaddrcontrol)
      if [ "$count" -gt 0 ]; then
        echo "ok $k control: the same search finds $count kernel addresses in the kernel's own data"
      else
        echo "not ok $k control: the same search finds $count kernel addresses in the kernel's own data"
        fail=1
      fi ;;
    preload-before)
      if [ "$count" -ge 512 ]; then
        echo "ok $k control: before the guest ran, the host finds the $count copies of the marker it wrote at the window's base"
      else
        echo "not ok $k control: before the guest ran, the host finds $count copies of the marker it wrote"
        fail=1
      fi ;;
    preload)
      if [ "$count" -eq 0 ]; then
        echo "ok $k once the region is claimed, the host finds none of what it left in the window: it was zeroed before it was shared"
      else
        echo "not ok $k once the region is claimed, the host finds $count copies of what it left in the window"
        fail=1
      fi ;;
    esac
  done < <(cat "$w/scans" 2>/dev/null)
  # A guest that lists devices for the host to look at must have asked at
  # least once (variants.py must-ask): a test that stopped asking would
  # otherwise drop the checks above without a word.
  if [ -n "$("${variants[@]}" must-ask "$2" "$1")" ] && ! grep -q "rdma-host: virtqueues" "$w/console.log" 2>/dev/null; then
    k=$((k + 1))
    echo "not ok $k the guest lists devices for the host to look at, and never asked it to"
    fail=1
  fi
  # Every request answered once: a scan or a look at the queues that the
  # agent missed (it died, QEMU refused) would drop its checks above.
  local asked answered what
  for what in window-scan virtqueues; do
    asked=$(grep -c "rdma-host: $what" "$w/console.log" 2>/dev/null)
    if [ "$what" = window-scan ]; then
      answered=$(grep -vc '^preload-before ' "$w/scans" 2>/dev/null)
    else
      answered=$(grep -c '^--$' "$w/virtqueues.txt" 2>/dev/null)
    fi
    if [ "${asked:-0}" -ne "${answered:-0}" ]; then
      k=$((k + 1))
      echo "not ok $k the guest asked the host ${asked:-0} time(s) for $what, and the host answered ${answered:-0}"
      fail=1
    fi
  done
  echo "1..$k"
  return $fail
}

: > "$results"
echo "TAP version 13" | tee -a "$results"

# Build first, one flavour after another, so that a build failure is one
# failure here and not every test's (the host checks need the module
# kernel's tree: lint builds the module through clippy).
# shellcheck disable=SC2086
if [ "${1:-}" = --host ]; then
  part "build: module" "$RDMA_HARNESS/build.sh" module
else
  part "build: $flavours" "$RDMA_HARNESS/build.sh" $flavours
fi
# GUESTS="a b": those guests only; --host (`make test`): the host checks only.
host_only=0; [ "${1:-}" = --host ] && host_only=1
if [ -z "${GUESTS:-}" ]; then
  part "host: cargo test (rust/pool)" ktap_of_cargo
  part "host: cargo test (window-backend)" ktap_of_cargo "$RDMA_REPO/tools/window-backend" \
    "$RDMA_CACHE/window-backend-target"
  part "host: dt-check" "$RDMA_HARNESS/dt-check.sh"
  part "host: docs" ktap_of_docs
  part "host: lint" ktap_of_lint
  # Cost, counted: our map and unmap in guest instructions (-icount) against the
  # committed baseline; a deliberate change rewrites the baseline in its commit.
  case " $flavours " in
  *" module "*)
    [ $host_only = 1 ] ||
      part "bench: our map and unmap within 1% of the instruction baseline" \
        env RDMA_FLAVOUR=module "$RDMA_HARNESS/icount.sh" --check ;;
  esac
fi
[ $host_only = 1 ] && flavours=

# guest_parts FLAVOUR VARIANT DIR: boots the guest and looks at it from the
# host, each part's KTAP into DIR (DIR/guest, DIR/host, with their .rc).
guest_parts() {
  local w=$RDMA_CACHE/guest/$1/$2
  run_part "guest: $1 kernel, variant $2" "$3/guest" ktap_of_guest "$1" "$2"
  if [ -s "$w/consoles" ] || [ -s "$w/virtqueues.txt" ] || [ -s "$w/backends" ] || [ -s "$w/shares" ] ||
     [ -s "$w/scans" ] || [ -s "$w/screens" ] || [ -s "$w/vsocks" ] ||
     grep -q 'rdma-host: \(virtqueues\|window-scan\)' "$w/console.log" 2>/dev/null ||
     [ -n "$("${variants[@]}" must-ask "$2" "$1")" ]; then
    run_part "host view: $1 kernel, variant $2" "$3/host" ktap_of_host_view "$1" "$2"
  fi
  touch "$3/done"
}

# The guests of a flavour run RDMA_JOBS at a time (2: the measured best on
# this 2-core machine, docs/testing.md), each reported as soon as it and every
# guest before it have ended, in their order.
jobs=${RDMA_JOBS:-2}
for flavour in $flavours; do
  tf=$(date +%s)
  first=$(wc -l < "$results")
  read -ra list <<< "${GUESTS:-$("${variants[@]}" list "$flavour")}"
  parts=$RDMA_CACHE/check-parts/$flavour
  rm -rf "$parts"
  launched=0 emitted=0
  while [ $emitted -lt ${#list[@]} ]; do
    while [ $launched -lt ${#list[@]} ] && [ "$(jobs -rp | wc -l)" -lt "$jobs" ]; do
      mkdir -p "$parts/${list[$launched]}"
      guest_parts "$flavour" "${list[$launched]}" "$parts/${list[$launched]}" &
      launched=$((launched + 1))
    done
    v=${list[$emitted]}
    if [ -e "$parts/$v/done" ]; then
      emit_part "guest: $flavour kernel, variant $v" "$parts/$v/guest"
      [ -e "$parts/$v/host.rc" ] && emit_part "host view: $flavour kernel, variant $v" "$parts/$v/host"
      emitted=$((emitted + 1))
    else
      sleep 1
    fi
  done
  wait
  echo "# $flavour kernel: $(tail -n +"$((first + 1))" "$results" | "${count[@]}" | tail -n 1) in $(( $(date +%s) - tf )) s" |
    tee -a "$results"
done

echo "1..$n" >> "$results"
echo
took=$(( $(date +%s) - t0 ))
echo "checks took $took s; all results: $results"
# The budget of a whole `make check` with the kernels built (docs/testing.md, "Budgets"):
# room for CI's 60 minutes from an empty cache.
budget=1500
if [ -z "${GUESTS:-}" ] && [ $host_only = 0 ] && [ "$flavours" = "module builtin debug" ] && [ $took -gt $budget ]; then
  echo "warning: make check took $took s, over its budget of $budget s: CI's 60 minutes from an empty cache are at risk"
fi
"${count[@]}" "$results"
