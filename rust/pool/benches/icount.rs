// SPDX-License-Identifier: GPL-2.0

//! The pool core's instructions per map and per unmap, for callgrind to
//! count (`make bench-icount`, host part; `harness/icount.sh` runs it).
//!
//! `icount PAGES DIR ITERS` maps and unmaps `PAGES` pages in direction `DIR`
//! (0 bidirectional, 1 to the device, 2 from the device) `ITERS` times, with
//! a copier that moves nothing and an area "lock" that is a `RefCell`: what
//! is left is the bookkeeping of the core alone, which the kernel wraps
//! between its spinlock and its copies. The map and the unmap are each in a
//! function of their own that is never inlined, `do_map` and `do_unmap`, so
//! `valgrind --tool=callgrind --toggle-collect=<one of them>` counts that
//! one alone; the script divides by `ITERS`. Under callgrind the counts are
//! exact: the same binary and arguments give the same count on every run.
//! The mappings are a device's, as the kernel's are: their slots are
//! counted for its sizing ([`Pool::usage`]).

use std::cell::RefCell;
use std::hint::black_box;
use std::sync::atomic::AtomicU8;

use restricted_dma_pool::*;

type State = AreaState<Vec<u64>>;

/// An area without a lock: one thread, and nothing to count but the core.
struct Bare(Vec<Slot>, Vec<AtomicU8>, RefCell<State>, AreaShared);

impl AreaLock for Bare {
    type Bitmap = Vec<u64>;

    fn slots(&self) -> &[Slot] {
        &self.0
    }

    fn syncs(&self) -> &[AtomicU8] {
        &self.1
    }

    fn shared(&self) -> &AreaShared {
        &self.3
    }

    #[inline]
    fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        f(&mut self.2.borrow_mut())
    }
}

type BarePool = Pool<Bare, Vec<Bare>>;

/// Moves no bytes.
struct NoCopy;

impl Copier for NoCopy {
    fn to_bounce(&self, _: u64, _: u64, _: usize) {}
    fn from_bounce(&self, _: u64, _: u64, _: usize) {}
    fn zero(&self, _: u64, _: usize) {}
}

/// The device whose mappings these are.
const DEVICE: Owner = Owner::new(0x2a);

#[inline(never)]
fn do_map(p: &BarePool, orig: u64, size: usize, dir: Direction) -> u64 {
    p.map_for(DEVICE, 0, orig, size, dir, &Constraints::NONE, &NoCopy)
        .expect("the pool has room")
}

#[inline(never)]
fn do_unmap(p: &BarePool, bounce: u64, size: usize, dir: Direction) {
    p.unmap_for(DEVICE, bounce, size, dir, CopyBack::AsDirected, &NoCopy)
        .expect("a live mapping");
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("icount PAGES DIR ITERS"))
        .collect();
    let [pages, dir, iters] = args[..] else {
        panic!("icount PAGES DIR ITERS");
    };
    let dir = u32::try_from(dir)
        .ok()
        .and_then(Direction::from_raw)
        .expect("DIR is 0, 1 or 2");
    // One area of 8 segments, as a CPU's area of a small region.
    let nslots = 1024;
    let areas = vec![Bare(
        (0..nslots).map(|_| Slot::default()).collect(),
        (0..nslots).map(|_| AtomicU8::new(0)).collect(),
        RefCell::new(State::new(vec![0; State::bitmap_words(nslots)])),
        AreaShared::default(),
    )];
    let p = Pool::new(0x4000_0000, nslots, areas).expect("a valid pool");
    let size = pages * PAGE_SIZE;
    for i in 0..iters {
        // Page-aligned originals at rotating places, as a driver's buffers.
        let orig = 0x1000_0000 + (i as u64 % 64) * size as u64;
        let b = do_map(&p, black_box(orig), size, dir);
        do_unmap(&p, black_box(b), size, dir);
    }
    assert_eq!(p.stats().used, 0);
}
