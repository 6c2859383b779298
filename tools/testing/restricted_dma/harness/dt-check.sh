#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make dt-check` (and part of `make check`): the DT binding and the guest DTs.
#
# Prints KTAP: one result line per check, "ok N what" or "not ok N what", with "# "
# diagnostics, and exits non-zero if any check failed. Checks:
#   - the binding is a valid schema (dt-doc-validate) and passes yamllint with
#     the kernel's settings;
#   - the binding's examples compile and validate, and its first example is the
#     demo guest's region and device as variants.py describes them (so that the
#     binding and the tests cannot drift apart: see check_example below);
#   - every guest DT variants.py generates validates as expected: clean when all
#     its regions are well formed, else complaints on exactly the regions the
#     schema can tell are malformed;
#   - one DT per region (variants.py schema-cases): the schema rejects each
#     malformation it can express, and accepts those only the module can catch.
# Needs no kernel build: only dtschema's venv (make deps), dtc and QEMU (for
# the machine's own DT), plus the kernel source's .yamllint.
set -uo pipefail
. "$(dirname "$0")/env.sh"

venv=$RDMA_CACHE/venv/bin
bindings=$RDMA_REPO/dt-bindings
binding=$bindings/reserved-memory/restricted-dma-region.yaml
compatible=restricted-dma-region
variants=(python3 "$RDMA_HARNESS/variants.py")
# The kernel's flags for compiling binding examples
# (Documentation/devicetree/bindings/Makefile).
example_dtc_flags=(-Wno-avoid_unnecessary_addr_size -Wno-graph_child_address
                   -Wno-interrupt_provider -Wno-unique_unit_address
                   -Wunique_unit_address_if_enabled)

n=0 failed=0
echo "TAP version 13"
# result STATUS DESCRIPTION: one result line (STATUS 0 is a pass).
result() {
  n=$((n + 1))
  if [ "$1" -eq 0 ]; then echo "ok $n $2"; else echo "not ok $n $2"; failed=$((failed + 1)); fi
}
# Diagnostics: each line of stdin as a "# " line (nothing for empty input).
diag() { sed -e '/^$/d' -e 's/^/# /'; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for t in dt-doc-validate dt-validate dt-mk-schema dt-extract-example yamllint python3; do
  if ! [ -x "$venv/$t" ]; then
    result 1 "dtschema tools installed ($venv/$t missing: run 'make deps')"
    exit 1
  fi
done
if ! command -v dtc >/dev/null; then
  result 1 "dtc installed (run 'make deps')"
  exit 1
fi
echo "# dtschema $("$venv/dt-validate" -V 2>&1), yamllint $("$venv/yamllint" --version 2>&1 | awk '{print $2}'), $(dtc --version 2>&1)"

# dt-validate's exit status says nothing about the DT: it is 0 even when it
# prints errors (and when it was given a file that does not exist). Decisions
# are therefore taken from its --json-output, which also carries each
# complaint's full node path (the text output names only the node's last
# component) and the DTB decoding errors (which the text output omits).
#
# validate DTB OUT: runs dt-validate with the processed schema ($schema) and
# the limit in $limit (if set) and writes OUT.json and OUT.txt (the text). Then
# prints "NODE<TAB>MESSAGE" for every complaint, to OUT.nodes. Returns non-zero
# if dt-validate could not run.
validate() {
  local dtb=$1 out=$2
  [ -s "$dtb" ] || { echo "no DTB $dtb" >"$out.txt"; return 1; }
  rm -f "$out.json"
  "$venv/dt-validate" -s "$schema" ${limit:+-l "$limit"} --json-output "$out.json" "$dtb" \
    >"$out.txt" 2>&1 || return 1
  python3 "$RDMA_HARNESS/dtcheck.py" nodes "$out.json" >"$out.nodes"
}

# --- The binding itself -----------------------------------------------------

out=$("$venv/dt-doc-validate" "$binding" 2>&1)
rc=$?
[ -z "$out" ] || rc=1
result $rc "dt-doc-validate: the binding is a valid schema"
echo "$out" | diag

# The kernel's yamllint settings; from the unpacked kernel source when there
# is one (kernel.sh makes it), else straight from the source tarball.
yamllint_cfg=$RDMA_KSRC/Documentation/devicetree/bindings/.yamllint
if ! [ -f "$yamllint_cfg" ] && [ -f "$RDMA_KSRC_TARBALL" ]; then
  tar -xJf "$RDMA_KSRC_TARBALL" -O --wildcards '*/Documentation/devicetree/bindings/.yamllint' \
    >"$tmp/yamllint" 2>/dev/null && yamllint_cfg=$tmp/yamllint
fi
if [ -s "$yamllint_cfg" ]; then
  # As in the kernel: warnings (long lines) are shown, errors fail.
  out=$("$venv/yamllint" -f parsable -c "$yamllint_cfg" "$binding" 2>&1)
  result $? "yamllint: the binding passes the kernel's .yamllint"
  echo "$out" | diag
else
  result 1 "yamllint: the binding passes the kernel's .yamllint (no .yamllint: run 'make deps')"
fi

# The processed schema: our bindings plus dtschema's core schemas (which give
# reserved-memory.yaml, memory-region.yaml and the property types).
schema=$tmp/processed-schema.json
out=$("$venv/dt-mk-schema" -j -o "$schema" "$bindings" 2>&1)
rc=$?
[ -s "$schema" ] || rc=1
result $rc "dt-mk-schema: processed schema of the binding and dtschema's core schemas"
echo "$out" | diag
if [ $rc -ne 0 ]; then
  echo "# no processed schema: cannot validate any DT"
  exit 1
fi

# --- The binding's examples ---------------------------------------------------

# Compiled as the kernel's dt_binding_check does (dt-extract-example wraps each
# example in a node of its own), and validated against every schema we have:
# nothing in them is anyone else's, so no complaint is filtered out.
ex=$tmp/example
if "$venv/dt-extract-example" "$binding" >"$ex.dts" 2>"$ex.err" &&
   dtc "${example_dtc_flags[@]}" -I dts -O dtb -o "$ex.dtb" "$ex.dts" 2>>"$ex.err" &&
   limit='' validate "$ex.dtb" "$ex"; then
  cat "$ex.err" >>"$ex.txt"
  ! [ -s "$ex.txt" ] && ! [ -s "$ex.nodes" ]
  result $? "the binding's examples compile without warnings and pass dt-validate"
  cat "$ex.txt" "$ex.nodes" | diag
else
  result 1 "the binding's examples compile without warnings and pass dt-validate"
  cat "$ex.err" "$ex.txt" 2>/dev/null | diag
fi

# check_example: the first example must be the demo guest's region and its
# first device. Both sides are reduced to the "good" records of variants.py's
# `expect` (name, base, size, consumers), which is what the guest-side tests
# check the module claimed: on the example's side from its compiled DTB (each
# restricted-dma-region node under example-0, its reg decoded with its parent's
# cells, and the nodes whose memory-region points to it), on the harness's
# side from `variants.py expect DEMO`. A change to the GOOD region's address,
# size or name, to the transport its device sits on, or to the example's
# compatible or memory-region wiring, fails here. (Comparing decoded values,
# not text, lets the example use the 1-cell addressing dt-extract-example
# wraps examples in, where the guest DT uses QEMU's 2 cells.)
demo=$("${variants[@]}" demo)
# The demo guest has more regions and devices than the example shows: the
# example is its first region with that region's first (virtio-blk) device.
want=$("${variants[@]}" expect "$demo" | awk '$1 == "good" { split($5, c, ","); print $1, $2, $3, $4, c[1]; exit }')
got=$("$venv/python3" "$RDMA_HARNESS/dtcheck.py" regions "$ex.dtb" /example-0 "$compatible" 2>&1)
[ -n "$want" ] && [ "$got" = "$want" ]
result $? "the binding's first example is the $demo guest's region: ${want:-nothing}"
if [ "$got" != "$want" ]; then
  { echo "variants.py expect $demo:"; echo "$want"; echo "the binding's first example:"; echo "$got"; } | diag
fi

# --- The guest DTs ------------------------------------------------------------

# QEMU's own DT for the guest machine, made as guest.sh makes it.
if ! base_dts=$("$RDMA_HARNESS/machine-dts.sh" virt 2>"$tmp/qemu.log"); then
  result 1 "QEMU's DT for the guest machine"
  diag <"$tmp/qemu.log"
  exit 1
fi

# What is filtered, and why: QEMU's own nodes are not ours, and against
# dtschema's core schemas alone (the kernel's bindings are not processed) some
# of them get complaints that have nothing to do with us (psci, flash and
# gpio-keys properties whose types only the kernel's schemas give). So the
# guest DTs are validated with dt-validate --limit: only our schema (it applies
# to nodes with our compatible) and memory-region.yaml (the consumers'
# memory-region property, which only our consumers have). Every complaint left
# is then about a node of ours and counts.
limit="$compatible:reserved-memory/memory-region"

# errors_on OUT: the node paths with complaints, sorted, one a line.
errors_on() { cut -f1 "$1.nodes" | sort -u; }

# Each variant as the guests boot it: complaints on exactly the regions whose
# schema_ok is False.
for v in $("${variants[@]}" list); do
  "${variants[@]}" dts "$v" "$("$RDMA_HARNESS/machine-dts.sh" "$("${variants[@]}" machine "$v")")" >"$tmp/$v.dts"
  want=$("${variants[@]}" schema-rejects "$v")
  want=$(echo "$want" | sed '/^$/d' | sort -u)
  what="variant $v: the guest DT validates"
  [ -z "$want" ] || what="variant $v: the schema rejects exactly $(echo "$want" | sed 's|.*/||' | paste -sd' ')"
  if dtc -q -I dts -O dtb -o "$tmp/$v.dtb" "$tmp/$v.dts" 2>"$tmp/$v.dtc" &&
     rdma_dtb_renames "$tmp/$v.dts" "$tmp/$v.dtb" && validate "$tmp/$v.dtb" "$tmp/$v"; then
    [ "$(errors_on "$tmp/$v")" = "$want" ]
    result $? "$what"
    diag <"$tmp/$v.nodes"
  else
    result 1 "$what (could not compile or validate)"
    cat "$tmp/$v.dtc" "$tmp/$v.txt" 2>/dev/null | diag
  fi
done

# One DT per region: the good region alone, then beside each other region of
# any variant or of SCHEMA_EXTRA (guests/regions.py) (the schema's own cases).
if ! "${variants[@]}" schema-cases "$base_dts" "$tmp/cases" >"$tmp/cases.list" 2>"$tmp/cases.err" ||
   ! [ -s "$tmp/cases.list" ]; then
  result 1 "variants.py schema-cases"
  diag <"$tmp/cases.err"
fi
while IFS=$'\t' read -r dts kind node why; do
  case $kind in
    good)   what="$node passes the schema ($why)" ;;
    module) what="$node passes the schema (module-only check: $why)" ;;
    schema) what="malformed $node ($why) rejected by the schema" ;;
    *)      what="$node: unknown case kind '$kind'" ;;
  esac
  o=${dts%.dts}
  if ! dtc -q -I dts -O dtb -o "$o.dtb" "$dts" 2>"$o.dtc" || ! validate "$o.dtb" "$o"; then
    result 1 "$what (could not compile or validate)"
    cat "$o.dtc" "$o.txt" 2>/dev/null | diag
    continue
  fi
  got=$(errors_on "$o")
  case $kind in
    good|module) [ -z "$got" ] ;;
    # Rejected, and for this node alone: the good region beside it stays clean.
    schema) [ "$got" = "/reserved-memory/$node" ] ;;
    *) false ;;
  esac
  result $? "$what"
  diag <"$o.nodes"
done <"$tmp/cases.list"

echo "1..$n"
echo "# $((n - failed)) of $n DT checks passed"
[ $failed -eq 0 ]
