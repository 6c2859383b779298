# SPDX-License-Identifier: GPL-2.0
#
# restricted_dma: the harness. `make run` for the demo, `make check` for every
# test. Kbuild (not this file) describes the module itself; when the kernel
# build system includes this directory it reads Kbuild, never this Makefile.

# The scripts under $(HARNESS) do the work; harness/env.sh says where the
# cache is and which toolchain builds the kernel and the module.
HARNESS := selftests/restricted_dma/harness

.PHONY: all deps kernel module run check dt-check bench lint clean

all: module

## deps: install every package and tool the build and tests need (idempotent)
deps:
	@$(HARNESS)/deps.sh

## kernel: build (or reuse) the cached arm64 kernel tree with Rust
kernel: deps
	@$(HARNESS)/kernel.sh

## module: build restricted_dma.ko against that tree
module: kernel
	@$(HARNESS)/module.sh

## run: the demo guest: boot, load the module, show what it claimed, power off
run: module
	@$(HARNESS)/guest.sh demo

## check: every test; ends with "N passed, N failed"
check: module
	@$(HARNESS)/check.sh

## dt-check: the DT binding and the guest DTs (dtschema; no kernel build)
dt-check: deps
	@$(HARNESS)/dt-check.sh

## lint: rustfmt and clippy over the module and the pool crate
lint: kernel
	@$(HARNESS)/lint.sh

## bench: the kernel's dma_map_benchmark through our pool and mainline's
bench: module
	@$(HARNESS)/bench.sh

clean:
	@$(HARNESS)/module.sh clean >/dev/null 2>&1 || true
	@rm -f rust/ffi/bindings_generated.rs
