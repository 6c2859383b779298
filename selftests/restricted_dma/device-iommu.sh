#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# A restricted PCI device behind an IOMMU (QEMU's SMMUv3): the DMA core
# would send its DMA through the IOMMU and never call the pool's ops, so the
# device is refused, with its reason, and never runs.
. ./ktap_helpers.sh
. ./lib.sh

ktap_print_header
ktap_set_plan 4
R=$(first good 1)
blk=$(pcidev_of blk on)
load
result "$blk, behind an IOMMU, is refused with its reason" \
	log_has "$blk: is behind an IOMMU, which the DMA core would use around the pool ($R); all its DMA will be refused"
result "...it has no block device" no_blk "$blk"
result "...and holds nothing of $R" [ "$(counter io_tlb_used "$R")" -eq 0 ]
result "no warning in the kernel log" log_clean
ktap_finished
