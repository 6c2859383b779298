// SPDX-License-Identifier: GPL-2.0

//! Host build of the restricted DMA bounce-buffer pool.
//!
//! The pool itself is `mod.rs` and its child modules, which the kernel
//! module compiles as `pub mod pool;`. This file only wraps them into a
//! `no_std` crate so that cargo can build, lint and test the very same
//! sources on the host; the kernel never compiles it. The design is in the
//! docs of [`pool`]; its items are re-exported here, starting with [`Pool`].
//!
//! ```
//! use restricted_dma_pool::*;
//! use std::sync::atomic::AtomicU8;
//! use std::sync::Mutex;
//!
//! // The host's area: its descriptors and sync counts, and a Mutex around
//! // the rest.
//! struct HostArea(Vec<Slot>, Vec<AtomicU8>, Mutex<AreaState<Vec<u64>>>, AreaShared);
//! impl AreaLock for HostArea {
//!     type Bitmap = Vec<u64>;
//!     fn slots(&self) -> &[Slot] {
//!         &self.0
//!     }
//!     fn syncs(&self) -> &[AtomicU8] {
//!         &self.1
//!     }
//!     fn shared(&self) -> &AreaShared {
//!         &self.3
//!     }
//!     fn with<R>(&self, f: impl FnOnce(&mut AreaState<Vec<u64>>) -> R) -> R {
//!         f(&mut self.2.lock().unwrap())
//!     }
//! }
//!
//! // Simulated physical memory: original buffers and the pool at 1 MiB.
//! struct Ram(Mutex<Vec<u8>>);
//! impl Copier for Ram {
//!     fn to_bounce(&self, orig: u64, bounce: u64, len: usize) {
//!         let (o, b) = (orig as usize, bounce as usize);
//!         self.0.lock().unwrap().copy_within(o..o + len, b);
//!     }
//!     fn from_bounce(&self, bounce: u64, orig: u64, len: usize) {
//!         let (o, b) = (orig as usize, bounce as usize);
//!         self.0.lock().unwrap().copy_within(b..b + len, o);
//!     }
//!     fn zero(&self, bounce: u64, len: usize) {
//!         let b = bounce as usize;
//!         self.0.lock().unwrap()[b..b + len].fill(0);
//!     }
//! }
//!
//! let nslots = 512; // 1 MiB
//! let layout = area_layout(nslots, 4);
//! let areas: Vec<HostArea> = (0..layout.nareas())
//!     .map(|i| layout.area_slots(i))
//!     .map(|n| HostArea(
//!         (0..n).map(|_| Slot::default()).collect(),
//!         (0..n).map(|_| AtomicU8::new(0)).collect(),
//!         Mutex::new(AreaState::new(vec![0; AreaState::<Vec<u64>>::bitmap_words(n)])),
//!         AreaShared::default(),
//!     ))
//!     .collect();
//! let pool = Pool::new(1 << 20, nslots, areas).unwrap();
//! let ram = Ram(Mutex::new(vec![0; 2 << 20]));
//! ram.0.lock().unwrap()[0x1234..0x1238].copy_from_slice(b"ping");
//!
//! // A device that keeps the low 12 bits of its addresses (min_align_mask).
//! let dev = Constraints { min_align_mask: 0xfff, ..Constraints::NONE };
//! let bounce = pool.map(0, 0x1234, 4, Direction::Bidirectional, &dev, &ram).unwrap();
//! assert_eq!(bounce & 0xfff, 0x234);
//! ram.0.lock().unwrap()[bounce as usize..][..4].copy_from_slice(b"pong"); // the device
//! pool.unmap(bounce, 4, Direction::Bidirectional, CopyBack::AsDirected, &ram).unwrap();
//! assert_eq!(&ram.0.lock().unwrap()[0x1234..0x1238], b"pong");
//! assert_eq!(pool.stats().used, 0);
//! ```

#![cfg_attr(not(any(test, feature = "fuzzing")), no_std)]

// Public, like the kernel's `pub mod pool;`, so that its docs (the design)
// are rendered and intra-doc links resolve the same way in both builds.
#[path = "mod.rs"]
pub mod pool;

pub use pool::*;

#[cfg(any(test, feature = "fuzzing"))]
pub mod model;

#[cfg(test)]
mod tests;
