// SPDX-License-Identifier: GPL-2.0

//! The virtio core's memory-access hook, `virtio_check_mem_acc_cb`.
//!
//! `virtio_features_ok()` asks this callback, after feature negotiation and
//! before the driver probes, whether a device must use restricted memory
//! access; when it answers yes, the core refuses the device unless it
//! negotiated VIRTIO_F_VERSION_1 and VIRTIO_F_ACCESS_PLATFORM. There is one
//! callback for the whole system: ours asks a [`MemAccessPolicy`] and, for a
//! device the policy leaves alone, the callback it replaced.

use super::device::Device;
use crate::ffi as bindings;
use core::marker::PhantomData;
use core::sync::atomic::{AtomicUsize, Ordering};
use kernel::prelude::*;
use kernel::str::CStr;

type Callback = unsafe extern "C" fn(*mut bindings::virtio_device) -> bindings::bool_;

/// What a device's memory access must be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MemAccess {
    /// Through the platform's DMA API: the core requires ACCESS_PLATFORM.
    Restricted,
    /// Not ours to say: the callback we replaced decides.
    Unclaimed,
}

/// Decides the memory access of virtio devices as they are probed.
pub(crate) trait MemAccessPolicy: 'static {
    /// Decides for `vdev` (and may log and count what it decided).
    fn decide(vdev: &VirtioDevice) -> MemAccess;
}

/// A virtio device, borrowed for one callback.
///
/// # Invariants
///
/// Points to a live `struct virtio_device` for the lifetime of the borrow.
pub(crate) struct VirtioDevice(*mut bindings::virtio_device);

impl VirtioDevice {
    /// The device's name, as in `virtio0`.
    pub(crate) fn name(&self) -> &CStr {
        // SAFETY: The device is alive (type invariant); the name is owned by it.
        unsafe { CStr::from_char_ptr(bindings::rsdma_virtio_name(self.0)) }
    }

    /// The transport device whose DMA ops the rings and buffers use
    /// (`vdev->dev.parent`: for virtio-mmio, the platform device).
    pub(crate) fn transport(&self) -> Option<&Device> {
        // SAFETY: The device is alive (type invariant) and so is its parent,
        // which it holds a reference on.
        let parent = unsafe { bindings::rsdma_virtio_transport(self.0) };
        // SAFETY: The parent, when there is one, lives as long as the child.
        (!parent.is_null()).then(|| unsafe { Device::from_raw(parent) })
    }

    /// Whether the device negotiated feature bit `bit`.
    pub(crate) fn has_feature(&self, bit: u32) -> bool {
        // SAFETY: The device is alive (type invariant).
        unsafe { bindings::rsdma_virtio_has_feature(self.0, bit) }
    }

    /// The device type (`VIRTIO_ID_*`: 2 for a block device, 5 for a balloon).
    pub(crate) fn device_id(&self) -> u32 {
        // SAFETY: The device is alive (type invariant).
        unsafe { bindings::rsdma_virtio_device_id(self.0) }
    }

    /// Whether the transport offers a shared memory region with a length:
    /// host memory the driver would map into the guest and use without the
    /// DMA API (virtio-fs's DAX window, virtio-gpu's host-visible memory).
    pub(crate) fn has_shared_memory(&self) -> bool {
        // SAFETY: The device is alive (type invariant) and being probed: its
        // transport's configuration is readable.
        unsafe { bindings::rsdma_virtio_has_shm(self.0) }
    }

    /// Takes feature `bit` out of what the driver accepted, as a driver's
    /// own `validate()` may; only before the core writes FEATURES_OK, which
    /// is when the memory-access callback runs.
    pub(crate) fn decline(&self, bit: u32) {
        // SAFETY: The device is alive (type invariant); the core is between
        // negotiation and FEATURES_OK (the callback's contract), the point
        // where drivers clear features themselves.
        unsafe { bindings::rsdma_virtio_decline_feature(self.0, bit) }
    }
}

/// The device types (`VIRTIO_ID_*`) that hand the host guest memory, or map
/// host memory into the guest, outside the DMA API.
pub(crate) const ID_BALLOON: u32 = bindings::VIRTIO_ID_BALLOON;
/// virtio-mem (see [`ID_BALLOON`]).
pub(crate) const ID_MEM: u32 = bindings::VIRTIO_ID_MEM;
/// virtio-pmem (see [`ID_BALLOON`]).
pub(crate) const ID_PMEM: u32 = bindings::VIRTIO_ID_PMEM;

/// VIRTIO_F_ACCESS_PLATFORM: the device uses the platform's DMA API.
pub(crate) const F_ACCESS_PLATFORM: u32 = bindings::VIRTIO_F_ACCESS_PLATFORM;
/// VIRTIO_F_VERSION_1: the modern interface (needed with ACCESS_PLATFORM).
pub(crate) const F_VERSION_1: u32 = bindings::VIRTIO_F_VERSION_1;

/// The callback we replaced, as an address (0: none); asked for devices
/// that are not ours.
static PREVIOUS: AtomicUsize = AtomicUsize::new(0);

/// Calls of our callback under way: unhooking waits for them to end.
static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);

/// Our callback: "restricted" for the devices `P` claims, the previous
/// callback's answer for the others.
///
/// # Safety
///
/// Called by the virtio core with a live device being probed.
unsafe extern "C" fn check_mem_acc<P: MemAccessPolicy>(
    vdev: *mut bindings::virtio_device,
) -> bindings::bool_ {
    IN_FLIGHT.fetch_add(1, Ordering::AcqRel);
    // SAFETY: The caller's contract, passed on.
    let answer = unsafe { answer::<P>(vdev) };
    IN_FLIGHT.fetch_sub(1, Ordering::AcqRel);
    answer
}

/// The body of [`check_mem_acc`].
///
/// # Safety
///
/// As for [`check_mem_acc`].
unsafe fn answer<P: MemAccessPolicy>(vdev: *mut bindings::virtio_device) -> bool {
    // INVARIANT: the core passes a device alive for the call.
    let dev = VirtioDevice(vdev);
    if P::decide(&dev) == MemAccess::Restricted {
        return true;
    }
    let prev = PREVIOUS.load(Ordering::Acquire);
    if prev == 0 {
        return false;
    }
    // SAFETY: `prev` is the address of the callback we replaced (a function
    // of this type), which its owner keeps valid while it is installed.
    let prev: Callback = unsafe { core::mem::transmute::<usize, Callback>(prev) };
    // SAFETY: We pass on the device the core gave us, under the same contract.
    unsafe { prev(vdev) }
}

/// Whether `f` is the callback `g` (both possibly none).
fn same(f: Option<Callback>, g: Option<Callback>) -> bool {
    f.map(|f| f as *const ()) == g.map(|g| g as *const ())
}

/// Our callback installed in `virtio_check_mem_acc_cb`, asking `P`. It is
/// put in, and taken out, with a compare-and-swap: never over a callback
/// installed at the same moment by someone else.
pub(crate) struct MemAccHook<P: MemAccessPolicy>(PhantomData<P>);

impl<P: MemAccessPolicy> MemAccHook<P> {
    /// Installs our callback, remembering the one it replaces.
    pub(crate) fn install() -> Self {
        let ours: Callback = check_mem_acc::<P>;
        loop {
            // SAFETY: Reads a pointer-sized global once.
            let prev = unsafe { bindings::rsdma_virtio_hook_get() };
            // Known before ours can be called.
            PREVIOUS.store(prev.map_or(0, |f| f as usize), Ordering::Release);
            // SAFETY: An atomic compare-and-swap of the global; our callback
            // stays valid until `drop` has taken it out and waited.
            let was = unsafe { bindings::rsdma_virtio_hook_swap(prev, Some(ours)) };
            if same(was, prev) {
                return Self(PhantomData);
            }
        }
    }

    /// Whether the virtio core calls our callback first, as installed.
    /// When it does not, another module replaced it: virtio devices behind
    /// our regions are held to ACCESS_PLATFORM only if it calls ours.
    pub(crate) fn is_first() -> bool {
        // SAFETY: Reads a pointer-sized global once.
        same(
            unsafe { bindings::rsdma_virtio_hook_get() },
            Some(check_mem_acc::<P>),
        )
    }

    /// Waits, for ever if it must (saying so every 10 s), until our
    /// callback is in front again: whoever replaced it may have chained
    /// onto it and call it still, so the module's text must not go before.
    /// Unload waits here while its bus listeners are still up (a device
    /// added meanwhile is fenced); `drop` then finds it at once.
    pub(crate) fn wait_until_first() {
        super::wait_until(10_000, Self::is_first, || {
            pr_err!(
                "virtio_check_mem_acc_cb is not restricted_dma's any more: the module that replaced it may still call ours; unload waits until it puts ours back\n"
            )
        });
    }
}

impl<P: MemAccessPolicy> Drop for MemAccHook<P> {
    fn drop(&mut self) {
        let ours: Option<Callback> = Some(check_mem_acc::<P>);
        let prev = PREVIOUS.load(Ordering::Acquire);
        // SAFETY: `prev` is 0 or the address of the callback we replaced, a
        // function of this type.
        let prev = (prev != 0).then(|| unsafe { core::mem::transmute::<usize, Callback>(prev) });
        // Ours is back in front (`wait_until_first`, at unload), unless it
        // was replaced again since: then the same wait, with the swap.
        loop {
            // SAFETY: As in `install`.
            let was = unsafe { bindings::rsdma_virtio_hook_swap(ours, prev) };
            if same(was, ours) {
                break;
            }
            Self::wait_until_first();
        }
        // The module's text goes after this. A task may have loaded our
        // callback's address before the store above and not yet entered it,
        // or be inside it (the previous callback may sleep), or be between
        // its last instruction that counts and its return. Wait for each:
        // every task to schedule voluntarily (none can in the first window),
        // then the calls under way, then once more for the returns.
        // SAFETY: Process context (module unload), no locks held.
        unsafe { bindings::rsdma_wait_for_callers() };
        while IN_FLIGHT.load(Ordering::Acquire) != 0 {
            super::sleep_ms(1);
        }
        // SAFETY: As above.
        unsafe { bindings::rsdma_wait_for_callers() };
    }
}
