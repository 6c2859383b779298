#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Boots the test guest: guest.sh demo | guest.sh check VARIANT | guest.sh bench bench
# (RDMA_SMP: its vCPUs, by default the variant's or 2; RDMA_APPEND: more for the kernel's
# command line, such as rdma.bench=net to run only that part of the bench)
# Builds what it needs (initramfs, the variant's DTB) into $RDMA_CACHE/guest.
# A guest that does not power off within its time limit is killed with a
# message, and counts as a failure.
set -euo pipefail
. "$(dirname "$0")/env.sh"

mode=$1
variant=${2:-$(python3 "$RDMA_HARNESS/variants.py" demo)}
timeout_s=$RDMA_GUEST_TIMEOUT
work=$RDMA_CACHE/guest/$RDMA_FLAVOUR/$variant
mkdir -p "$work"
# Nothing of an earlier boot may pass for this one's.
rm -f "$work/console.log" "$work/console.txt"

[ -f "$RDMA_IMAGE" ] || { echo "guest: no $RDMA_FLAVOUR kernel: run 'make module'" >&2; exit 1; }

machine=$(python3 "$RDMA_HARNESS/variants.py" machine "$variant")
extra=$(python3 "$RDMA_HARNESS/variants.py" cmdline "$variant")
# A variant may ask for its own number of vCPUs (machine-dts.sh reads it too).
RDMA_SMP=${RDMA_SMP:-$(python3 "$RDMA_HARNESS/variants.py" smp "$variant")}
export RDMA_SMP=${RDMA_SMP:-2}
qemu=(qemu-system-aarch64 -M "$machine" -cpu cortex-a57 -smp "$RDMA_SMP" -m 1024 -nographic -no-reboot -nic none
      -global virtio-mmio.force-legacy=false)

# NICs on taps (variants.py taps: those of several queue pairs, and their
# peers): QEMU runs in a network namespace of its own, where one bridge,
# rdmabr, joins the taps QEMU makes (harness/tap-up.sh). Nothing reaches
# the host's network, and nothing of the host's is changed. Where that
# cannot be done (no /dev/net/tun, no right to make a namespace), the NICs
# run on QEMU's hub with one queue pair, and the guest's tests say why
# (RDMA_NO_TAPS, in their expectations; set it to a reason to try that).
netns=()
if [ -n "$(python3 "$RDMA_HARNESS/variants.py" taps "$variant")" ]; then
  export PATH=$PATH:/usr/sbin:/sbin
  bridge_up='ip link add rdmabr type bridge stp_state 0 forward_delay 0 && ip link set rdmabr up'
  if [ -n "${RDMA_NO_TAPS:-}" ]; then
    :
  elif ! [ -c /dev/net/tun ]; then
    export RDMA_NO_TAPS="this host has no /dev/net/tun"
  elif ! command -v unshare >/dev/null || ! command -v ip >/dev/null; then
    export RDMA_NO_TAPS="this host has no unshare or no ip (iproute2)"
  elif ! unshare --net -- sh -c "$bridge_up && ip tuntap add dev rdmatest mode tap multi_queue" >/dev/null 2>&1; then
    export RDMA_NO_TAPS="this host does not let the harness make a bridge and a multi-queue tap in a network namespace (unshare --net)"
  else
    netns=(unshare --net -- sh -c "$bridge_up && exec \"\$@\"" netns)
  fi
  [ -z "${RDMA_NO_TAPS:-}" ] || echo "guest: $variant: NICs on QEMU's hub, one queue pair each: $RDMA_NO_TAPS" >&2
fi

# Everything the guest is made of, from variants.py in one go: its DT (QEMU's
# own for this machine, plus the variant's nodes), QEMU's arguments, what its
# tests expect, its disks and console ports, what the host checks after.
python3 "$RDMA_HARNESS/variants.py" write "$variant" "$work" \
  "$("$RDMA_HARNESS/machine-dts.sh" "$machine")"

# Console ports: what the host sends each one and what the guest must send
# back, random for each boot; the guest gets copies in its initramfs.
consoles=$(cat "$work/consoles")
for c in $consoles; do
  head -c 65536 /dev/urandom > "$work/$c.to-guest"
  head -c 65536 /dev/urandom > "$work/$c.to-host"
  rm -f "$work/$c.in" "$work/$c.out" "$work/$c.received"
  mkfifo "$work/$c.in" "$work/$c.out"
done

# 9p shares, and the host's ends of vsock streams (device-vsock.sh): a host
# directory each, with files of 1 B to 4 MiB that the guest must read back
# intact (their sums go to it in its initramfs); what the guest writes or
# sends lands beside them, for check.sh.
for s in $(cat "$work/shares") $(cut -d' ' -f1 "$work/vsocks" 2>/dev/null); do
  rm -rf "${work:?}/$s" && mkdir -p "$work/$s"
  for n in 1 4095 4096 65537 1048576 4194304; do
    head -c "$n" /dev/urandom > "$work/$s/from-host.$n"
  done
  (cd "$work/$s" && sha256sum from-host.*) > "$work/$s.sums.to-guest"
done

# What the host writes into windows before the guest runs (variants.py
# `preload`): a page of the marker.
if [ -s "$work/preloads" ]; then
  marker=$(awk '{ print $2; exit }' "$work/preloads")
  printf "%.0s$marker" $(seq $((4096 / ${#marker}))) > "$work/preload.bin"
fi

# What qmp-agent.py writes (the gpus' screendumps, the scans and the kernel
# addresses they found) of this boot, and no other's.
rm -f "$work"/*.ppm "$work/scans" "$work/kaddrs"

# The initramfs: busybox, /init, the modules, the tests and the variant's
# expectations.
"$RDMA_HARNESS/initramfs.sh" "$work" "$variant"

# The DT, once the initrd's size is known: QEMU puts the DTB after the
# initrd (at RAM + 128 MiB) at the next 2 MiB boundary, and a region meant to
# lie over it (variants.py's AT_DTB) gets that base.
dtb_at=$(( (0x48000000 + $(stat -c %s "$work/initrd.gz") + 0x1fffff) & ~0x1fffff ))
sed -i -E "s|reg = <0x0 0x[0-9a-f]+ (0x[0-9a-f]+ 0x[0-9a-f]+)>; /\* at the DTB \*/|reg = <0x0 $(printf '%#x' "$dtb_at") \1>;|" "$work/guest.dts"
dtc -q -I dts -O dtb -o "$work/guest.dtb" "$work/guest.dts"
rdma_dtb_renames "$work/guest.dts" "$work/guest.dtb"

for d in $(cat "$work/disks"); do
  rm -f "$work/$d"; truncate -s 64M "$work/$d"
done
mapfile -t devs < "$work/qemu.args"

# vhost-user block devices: QEMU connects to their backend as it starts
# (`-machine dumpdtb` would too, but machine-dts.sh dumps QEMU's DT without
# any device), so each backend listens first. It serves the device's disk,
# mapping only the device's window of guest memory (`audit`: all of it,
# counting what falls outside the window). It ends when QEMU disconnects;
# its output and exit status stay in the work dir, as NAME.log and NAME.rc,
# for check.sh's host view.
vu_pids=() vu_names=()
while read -r name img vmode win queues _region _t more; do
  [ -x "$RDMA_WINDOW_BACKEND" ] || { echo "guest: $RDMA_WINDOW_BACKEND missing: run 'make deps'" >&2; exit 1; }
  rm -f "$work/$name.sock" "$work/$name.log" "$work/$name.rc"
  audit=(); [ "$vmode" = audit ] && audit=(--audit)
  read -ra more <<< "$more"
  "$RDMA_WINDOW_BACKEND" --socket "$work/$name.sock" --image "$work/$img" --window "$win" \
    --num-queues "$queues" "${audit[@]}" ${more[@]+"${more[@]}"} > "$work/$name.log" 2>&1 &
  vu_pids+=($!) vu_names+=("$name")
  for _ in $(seq 50); do [ -S "$work/$name.sock" ] && break; sleep 0.1; done
  [ -S "$work/$name.sock" ] || { echo "guest: backend $name did not start: $(cat "$work/$name.log")" >&2; exit 1; }
done < "$work/backends"
# stop_backends: each ends by itself when QEMU goes; one still there after
# 10 s gets SIGTERM (and prints its closing line all the same).
stop_backends() {
  local i k
  for i in "${!vu_pids[@]}"; do
    for k in $(seq 100); do kill -0 "${vu_pids[$i]}" 2>/dev/null || break; sleep 0.1; done
    kill -TERM "${vu_pids[$i]}" 2>/dev/null
    wait "${vu_pids[$i]}"
    echo $? > "$work/${vu_names[$i]}.rc"
  done
  vu_pids=()
}

# vhost-user vsock devices: rust-vmm's vhost-device-vsock serves each
# (mapping all of guest RAM: what its device reaches, only QEMU's view of
# the descriptors tells, check.sh), listening before QEMU starts like the
# block backends; beside it vsock-peer.py, the host's end of the guest's
# streams, which follows the console for the guest's requests (hence the
# last boot's console emptied first). Neither ends by itself: both get
# SIGTERM once QEMU is gone. Their output stays in the work dir, as
# NAME.log and NAME.peer.log (RDMA_VSOCK_LOG=debug: the backend says there
# why it drops a packet, which it does silently otherwise).
vs_pids=()
while read -r name cid port _; do
  [ -x "$RDMA_VSOCK_BACKEND" ] || { echo "guest: $RDMA_VSOCK_BACKEND missing: run 'make deps'" >&2; exit 1; }
  rm -f "$work/$name.sock" "$work/$name.vsock"*
  : > "$work/console.log"
  RUST_LOG=${RDMA_VSOCK_LOG:-warn} "$RDMA_VSOCK_BACKEND" --socket "$work/$name.sock" --uds-path "$work/$name.vsock" \
    --guest-cid "$cid" > "$work/$name.log" 2>&1 &
  vs_pids+=($!)
  python3 "$RDMA_HARNESS/vsock-peer.py" "$work/$name.vsock" "$port" "$work/$name" \
    "$work/console.log" > "$work/$name.peer.log" 2>&1 &
  vs_pids+=($!)
  for _ in $(seq 50); do [ -S "$work/$name.sock" ] && break; sleep 0.1; done
  [ -S "$work/$name.sock" ] || { echo "guest: vsock backend $name did not start: $(cat "$work/$name.log")" >&2; exit 1; }
done < <(cat "$work/vsocks" 2>/dev/null)

# Feed and drain the console FIFOs while the guest runs; answer the guest's
# requests to look at it from the host, or to add a device (qmp-agent.py).
rm -f "$work/qmp.sock" "$work/virtqueues.txt"
python3 "$RDMA_HARNESS/qmp-agent.py" "$work/qmp.sock" "$work/console.log" "$work/virtqueues.txt" \
  "$work/hotplug" &
agent=$!
readers=() writers=()
for c in $consoles; do
  cat "$work/$c.out" > "$work/$c.received" & readers+=($!)
  cat "$work/$c.to-guest" > "$work/$c.in" & writers+=($!)
done
trap 'kill $agent ${readers[@]+"${readers[@]}"} ${writers[@]+"${writers[@]}"} ${vu_pids[@]+"${vu_pids[@]}"} ${vs_pids[@]+"${vs_pids[@]}"} 2>/dev/null || true' EXIT

loglevel=4; [ "$mode" = check ] && loglevel=1
# A log that holds a whole check run (the debug kernel's is 128 KiB): the
# tests look in it since a mark line, and a mark the log lost fails (lib.sh).
logbuf=; [ "$mode" = check ] && logbuf=log_buf_len=4M
# The guest leaves its evidence on the console a little before it would be
# killed (guest/init): 30 s before, or at 90% of the time limit if sooner.
deadline=$(( timeout_s - 30 < timeout_s * 9 / 10 ? timeout_s - 30 : timeout_s * 9 / 10 ))
# The bench's deterministic part (harness/icount.sh): guest time advances
# 2^3 ns per instruction, so every latency the guest prints is a count of
# instructions, the same on every run and every host.
[ "$mode" = icount ] && qemu+=(-icount shift=3,sleep=off)
# A TCG plugin and its arguments (harness/profile.sh).
[ -n "${RDMA_QEMU_PLUGIN:-}" ] && qemu+=(-plugin "$RDMA_QEMU_PLUGIN")
start=$(date +%s)
set +e
timeout --foreground -k 5 "$timeout_s" ${netns[@]+"${netns[@]}"} "${qemu[@]}" \
  -kernel "$RDMA_IMAGE" -initrd "$work/initrd.gz" -dtb "$work/guest.dtb" \
  -append "console=ttyAMA0 loglevel=$loglevel rdma.mode=$mode rdma.flavour=$RDMA_FLAVOUR rdma.deadline=$deadline $logbuf $extra ${RDMA_APPEND:-}" \
  -qmp "unix:$work/qmp.sock,server=on,wait=off" \
  "${devs[@]}" </dev/null 2>&1 | tee "$work/console.log" | { [ "$mode" = demo ] && cat || cat >/dev/null; }
rc=${PIPESTATUS[0]}
# QEMU is gone: the readers see the end of their FIFOs and finish.
[ ${#writers[@]} -eq 0 ] || kill "${writers[@]}" 2>/dev/null
[ ${#readers[@]} -eq 0 ] || wait "${readers[@]}" 2>/dev/null
stop_backends
for p in ${vs_pids[@]+"${vs_pids[@]}"}; do kill -TERM "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
if [ "$mode" = demo ]; then
  for n in ${vu_names[@]+"${vu_names[@]}"}; do
    echo "== host: backend of vhost-user-blk $n ($(awk -v n="$n" '$1 == n { print $3 " " $4 }' "$work/backends"), exit $(cat "$work/$n.rc"))"
    grep -E '^window backend: .*(listening|requests)|^memory table' "$work/$n.log" | sed 's/^/  /'
  done
fi
set -e
echo "guest: $variant ($mode, $RDMA_FLAVOUR kernel) ran $(( $(date +%s) - start )) s" >&2
if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
  echo "guest: $variant timed out after $timeout_s s and was killed" >&2
  exit 124
fi
grep -q '^rdma-guest: done' "$work/console.log" || { echo "guest: $variant did not finish (qemu exit $rc)" >&2; exit 1; }
