#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# tap-up.sh TAP: QEMU runs it for each tap it makes (-netdev tap,script=),
# inside the network namespace guest.sh gives it: the tap joins the bridge
# rdmabr, with room for 9014-byte frames (net tests use MTU 9000).
PATH=/usr/sbin:/sbin:$PATH
ip link set "$1" mtu 9000 master rdmabr up
