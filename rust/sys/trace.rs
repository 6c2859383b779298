// SPDX-License-Identifier: GPL-2.0

//! The module's trace events (`ffi/trace.h`): `events/restricted_dma/` in
//! tracefs.
//!
//! Production kernels often do not mount debugfs, and a full pool shows up to
//! its callers only as dropped packets or I/O errors; the events name the
//! device, the region and the pool's use at each map, unmap, sync,
//! allocation, free and refusal. Rust in 6.12 cannot declare a tracepoint, so
//! the events are C, fired through `ffi/trace.c`. The caller asks
//! [`enabled`] first: while no event is enabled the DMA path pays one load
//! and one branch, and gathers no fields.

use super::device::Device;
use crate::ffi as bindings;
use crate::pool::Direction;
use core::fmt::{self, Write};
use core::sync::atomic::{AtomicI32, Ordering};
use kernel::str::CStr;

/// Which op an event reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Event {
    /// A streaming map (`restricted_dma_map`).
    Map,
    /// A streaming unmap (`restricted_dma_unmap`).
    Unmap,
    /// `restricted_dma_sync_for_cpu`.
    SyncForCpu,
    /// `restricted_dma_sync_for_device`.
    SyncForDevice,
    /// A coherent allocation (`restricted_dma_alloc`).
    Alloc,
    /// A coherent free (`restricted_dma_free`).
    Free,
}

impl Event {
    fn raw(self) -> bindings::rsdma_trace_event {
        match self {
            Self::Map => bindings::rsdma_trace_event_RSDMA_TRACE_MAP,
            Self::Unmap => bindings::rsdma_trace_event_RSDMA_TRACE_UNMAP,
            Self::SyncForCpu => bindings::rsdma_trace_event_RSDMA_TRACE_SYNC_FOR_CPU,
            Self::SyncForDevice => bindings::rsdma_trace_event_RSDMA_TRACE_SYNC_FOR_DEVICE,
            Self::Alloc => bindings::rsdma_trace_event_RSDMA_TRACE_ALLOC,
            Self::Free => bindings::rsdma_trace_event_RSDMA_TRACE_FREE,
        }
    }
}

/// What an event says of the region and its pool.
pub(crate) struct Where<'a> {
    /// The region's name.
    pub(crate) region: &'a CStr,
    /// Slots of the pool in use after the op.
    pub(crate) used: usize,
    /// Slots of the pool.
    pub(crate) nslots: usize,
}

/// Whether any of the events is enabled now (a hint: one may be enabled or
/// disabled right after, and an event fired while none is records nothing).
#[inline]
pub(crate) fn enabled() -> bool {
    // SAFETY: `rsdma_trace_users` is a static `atomic_t` of `ffi/trace.c`,
    // alive and aligned for as long as this code is; C changes it only with
    // `atomic_inc`/`atomic_dec`, atomic accesses as this load is.
    let users = unsafe {
        AtomicI32::from_ptr(core::ptr::addr_of_mut!(bindings::rsdma_trace_users.counter))
    };
    users.load(Ordering::Relaxed) != 0
}

/// The kernel's number for `dir`; `DMA_NONE` for a coherent block.
fn raw_dir(dir: Option<Direction>) -> i32 {
    let raw = match dir {
        Some(Direction::Bidirectional) => bindings::dma_data_direction_DMA_BIDIRECTIONAL,
        Some(Direction::ToDevice) => bindings::dma_data_direction_DMA_TO_DEVICE,
        Some(Direction::FromDevice) => bindings::dma_data_direction_DMA_FROM_DEVICE,
        None => bindings::dma_data_direction_DMA_NONE,
    };
    raw as i32
}

/// Clamps a count to what an event's `unsigned int` holds.
fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Fires `event` for `dev`: `size` bytes at DMA address `dma`.
pub(crate) fn op(
    event: Event,
    dev: &Device,
    at: &Where<'_>,
    dma: u64,
    size: usize,
    dir: Option<Direction>,
) {
    // SAFETY: `dev` is alive for the call (its type's invariant) and
    // `at.region` is NUL-terminated; the event copies both strings before it
    // returns.
    unsafe {
        bindings::rsdma_trace_op(
            event.raw(),
            dev.as_raw(),
            at.region.as_char_ptr(),
            dma,
            size,
            raw_dir(dir),
            count(at.used),
            count(at.nslots),
        )
    }
}

/// A short text, formatted on the stack (cut at 96 bytes): a refusal's
/// reason, which the event copies.
struct Text {
    buf: [u8; 96],
    len: usize,
}

impl Write for Text {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = self.buf.len() - self.len;
        let n = s.len().min(room);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

/// Fires `restricted_dma_fail`: `op` of `size` bytes (at `dma`, if it names
/// a mapping) by `dev` was refused, for `why`.
pub(crate) fn fail(
    dev: &Device,
    at: &Where<'_>,
    op: &str,
    dma: u64,
    size: usize,
    dir: Option<Direction>,
    why: &dyn fmt::Display,
) {
    let mut text = Text {
        buf: [0; 96],
        len: 0,
    };
    // `Text` never fails; a reason cut short is still a reason.
    let _ = write!(text, "{why}");
    // SAFETY: `dev` is alive for the call (its type's invariant),
    // `at.region` is NUL-terminated, and `op` and `text` are valid for the
    // lengths passed; the event copies all of them before it returns.
    unsafe {
        bindings::rsdma_trace_fail(
            dev.as_raw(),
            at.region.as_char_ptr(),
            op.as_ptr().cast(),
            op.len(),
            dma,
            size,
            raw_dir(dir),
            text.buf.as_ptr().cast(),
            text.len,
            count(at.used),
            count(at.nslots),
        )
    }
}
