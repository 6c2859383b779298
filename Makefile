# SPDX-License-Identifier: GPL-2.0
#
# restricted_dma: the harness. `make run` for the demo, `make check` for every
# test. Kbuild and Kconfig (not this file) describe the module itself; when
# the kernel build system includes this directory it reads those, never this
# Makefile.

# The scripts under $(HARNESS) do the work; harness/env.sh says where the
# cache is and which toolchain builds the kernel and the module.
HARNESS := tools/testing/restricted_dma/harness

# The kernels the tests run on (harness/env.sh): the module loaded into a
# plain kernel, the module built into the kernel, the module in a kernel with
# the kernel's checkers on. `make check FLAVOURS=module` runs one of them.
FLAVOURS ?= module builtin debug
export FLAVOURS

# Kernel builds take the machine's cores: never two at once.
.NOTPARALLEL:
.PHONY: all deps deps-run kernel kernel-builtin kernel-debug kernels module run check test bench-icount \
	bench-profile bench-ablate check-debug dt-check bench lint fuzz guests clean

all: module

## deps: install every package and tool the build and tests need (idempotent)
deps:
	@$(HARNESS)/deps.sh

## deps-run: what the demo needs, no more (make check and make bench add the rest)
deps-run:
	@$(HARNESS)/deps.sh run

## kernel, kernel-builtin, kernel-debug: build (or reuse) one cached kernel
kernel: deps
	@$(HARNESS)/kernel.sh
kernel-builtin: deps
	@RDMA_FLAVOUR=builtin $(HARNESS)/kernel.sh
kernel-debug: deps
	@RDMA_FLAVOUR=debug $(HARNESS)/kernel.sh
kernels: kernel kernel-builtin kernel-debug

## module: build restricted_dma.ko and the test driver against the plain kernel
module: deps
	@$(HARNESS)/build.sh module
	@echo "module: $$($(HARNESS)/module.sh --print-ko)"

## run: the demo guest (BUILTIN=1: on the kernel with the module built in),
## then the host's view: a guest whose vhost-user-blk devices are served by
## window-backend, which maps only their window of guest memory
run: deps-run
ifeq ($(BUILTIN),1)
	@$(HARNESS)/build.sh builtin
	@RDMA_FLAVOUR=builtin $(HARNESS)/guest.sh demo
	@printf '\n==== the host'"'"'s view: vhost-user-blk served by window-backend\n'
	@RDMA_FLAVOUR=builtin $(HARNESS)/guest.sh demo window
else
	@$(HARNESS)/build.sh module
	@$(HARNESS)/guest.sh demo
	@printf '\n==== the host'"'"'s view: vhost-user-blk served by window-backend\n'
	@$(HARNESS)/guest.sh demo window
endif

## check: every test, on every flavour; ends with "N passed, N failed, N skipped"
## (GUESTS="a b": those guests alone; FLAVOURS=module: one kernel)
check: deps
	@$(HARNESS)/check.sh

## test: the host checks alone, for the inner loop (cargo tests, DT binding, lints)
test: deps
	@$(HARNESS)/check.sh --host

## check-debug: the whole suite on the debug kernel alone (part of `check`)
check-debug: deps
	@FLAVOURS=debug $(HARNESS)/check.sh

## dt-check: the DT binding and the guest DTs (dtschema; no kernel build)
dt-check: deps
	@$(HARNESS)/dt-check.sh

## lint: rustfmt and clippy over the module and the pool crate
lint: deps
	@$(HARNESS)/build.sh module
	@$(HARNESS)/lint.sh

## bench: our pool, mainline's and direct DMA side by side: BENCHMARKS.md
bench: module
	@$(HARNESS)/bench.sh

## bench-icount: instructions per map and unmap under QEMU -icount (exact, one vCPU)
bench-icount: module
	@$(HARNESS)/icount.sh

## bench-profile: where one map and unmap's instructions go, by function (PROFILE="PATH PAGES DIR [TEXT]")
bench-profile: module
	@$(HARNESS)/profile.sh $(PROFILE)

## bench-ablate: what each guarantee on the fast path costs (PARTS="owner counters ...": those alone)
bench-ablate: module
	@python3 $(HARNESS)/ablate.py $(PARTS)

## fuzz: libFuzzer on the pool core for FUZZ_SECONDS (needs nightly Rust)
fuzz:
	@$(HARNESS)/fuzz.sh

## guests: docs/guests.md, which guest runs which test on which kernel (make
## check fails when it is stale)
guests:
	@python3 $(HARNESS)/variants.py index > docs/guests.md

## clean: the out-of-tree module builds (the kernels stay cached)
clean:
	@bash -c '. $(HARNESS)/env.sh && rm -rf "$$RDMA_CACHE"/modbuild-*'
