// SPDX-License-Identifier: GPL-2.0

//! `cargo bench`: the pool core on the host, without the kernel.
//!
//! - map + unmap of one page without the copy (a copier that does nothing):
//!   the bookkeeping alone, on 1 thread and on every host core at once (one
//!   area per thread, as the kernel gives one per CPU); beside it the cost
//!   of its two area locks alone, the floor of this harness;
//! - map + unmap with the copy (in at map, back at unmap) against two plain
//!   `copy_from_slice` of the same size, on the same host: the limit a
//!   bounce can reach.
//!
//! Each figure is the median of RUNS timed runs (with the minimum and
//! maximum beside it); output lines are `bench: NAME key=value...`, which
//! `make bench` collects.

// A host program timing the core: floating point is for the figures (the
// lint is for the kernel, which has none).
#![allow(clippy::float_arithmetic)]

use std::hint::black_box;
use std::sync::atomic::AtomicU8;
use std::sync::Mutex;
use std::time::Instant;

use restricted_dma_pool::*;

const RUNS: usize = 7;

/// An area and its lock, on cache lines of its own (as the kernel's areas
/// are, each in its own allocation): CPUs mapping in different areas share
/// nothing.
#[repr(align(128))]
struct Host(
    Vec<Slot>,
    Vec<AtomicU8>,
    Mutex<AreaState<Vec<u64>>>,
    AreaShared,
);

impl AreaLock for Host {
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

    fn with<R>(&self, f: impl FnOnce(&mut AreaState<Vec<u64>>) -> R) -> R {
        f(&mut self.2.lock().unwrap())
    }
}

fn pool(nslots: usize, areas: usize) -> Pool<Host, Vec<Host>> {
    let layout = area_layout(nslots, areas);
    let areas = (0..layout.nareas())
        .map(|i| layout.area_slots(i))
        .map(|n| {
            let bits = vec![0; AreaState::<Vec<u64>>::bitmap_words(n)];
            Host(
                (0..n).map(|_| Slot::default()).collect(),
                (0..n).map(|_| AtomicU8::new(0)).collect(),
                Mutex::new(AreaState::new(bits)),
                AreaShared::default(),
            )
        })
        .collect();
    Pool::new(0x1000_0000, nslots, areas).unwrap()
}

/// Moves no bytes: the bookkeeping alone.
struct NoCopy;

impl Copier for NoCopy {
    fn to_bounce(&self, _: u64, _: u64, _: usize) {}
    fn from_bounce(&self, _: u64, _: u64, _: usize) {}
    fn zero(&self, _: u64, _: usize) {}
}

/// Copies for real, between an "original" buffer and a pool's memory, both
/// plain host memory. Original addresses are offsets into `orig`, bounce
/// addresses offsets from the pool's base into `pool`.
struct RealCopy {
    orig: Mutex<Vec<u8>>,
    pool: Mutex<Vec<u8>>,
    base: u64,
}

impl Copier for RealCopy {
    fn to_bounce(&self, orig: u64, bounce: u64, len: usize) {
        let (o, b) = (orig as usize, (bounce - self.base) as usize);
        self.pool.lock().unwrap()[b..b + len]
            .copy_from_slice(&self.orig.lock().unwrap()[o..o + len]);
    }
    fn from_bounce(&self, bounce: u64, orig: u64, len: usize) {
        let (o, b) = (orig as usize, (bounce - self.base) as usize);
        self.orig.lock().unwrap()[o..o + len]
            .copy_from_slice(&self.pool.lock().unwrap()[b..b + len]);
    }
    fn zero(&self, _: u64, _: usize) {}
}

fn median(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    (v[v.len() / 2], v[0], v[v.len() - 1])
}

/// ns per map+unmap of one page, `threads` threads at once, no copy.
fn bookkeeping(threads: usize, iters: usize) -> f64 {
    let p = pool(threads * 1024, threads);
    let c = Constraints::NONE;
    let start = Instant::now();
    std::thread::scope(|s| {
        for t in 0..threads {
            let p = &p;
            s.spawn(move || {
                for i in 0..iters {
                    let orig = 0x1000 * (i as u64 % 64);
                    let b = p
                        .map(t, orig, 4096, Direction::ToDevice, &c, &NoCopy)
                        .unwrap();
                    p.unmap(
                        black_box(b),
                        4096,
                        Direction::ToDevice,
                        CopyBack::AsDirected,
                        &NoCopy,
                    )
                    .unwrap();
                }
            });
        }
    });
    start.elapsed().as_nanos() as f64 / iters as f64
}

/// ns per iteration of what a map+unmap pays for its locks alone here: two
/// uncontended lock and unlock pairs of a `std::sync::Mutex` (the harness's
/// stand-in for the kernel's spinlock), each around one store.
fn lock_floor(iters: usize) -> f64 {
    let m = Mutex::new(0u64);
    let start = Instant::now();
    for i in 0..iters {
        *black_box(&m).lock().unwrap() = i as u64;
        *black_box(&m).lock().unwrap() += 1;
    }
    start.elapsed().as_nanos() as f64 / iters as f64
}

fn main() {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let iters = 200_000;
    let (med, min, max) = median((0..RUNS).map(|_| lock_floor(iters)).collect());
    println!("bench: core-lock-floor ns_per_op={med:.1} min={min:.1} max={max:.1}");
    for threads in [1, 2, cores]
        .into_iter()
        .filter(|&t| t <= cores)
        .collect::<std::collections::BTreeSet<_>>()
    {
        let (med, min, max) = median((0..RUNS).map(|_| bookkeeping(threads, iters)).collect());
        println!(
            "bench: core-map-unmap threads={threads} ns_per_op={med:.1} min={min:.1} max={max:.1} ops_per_s={:.0}",
            threads as f64 * 1e9 / med
        );
    }
    // The copy path against memcpy, at several sizes.
    for size in [4096usize, 16384, 65536] {
        let n = 64 * 1024 * 1024 / size;
        let nslots = 256;
        let p = pool(nslots, 1);
        let copier = RealCopy {
            orig: Mutex::new(vec![0x5a; 64 * size]),
            pool: Mutex::new(vec![0; nslots * SLOT_SIZE]),
            base: 0x1000_0000,
        };
        let c = Constraints::NONE;
        let bounce = median(
            (0..RUNS)
                .map(|_| {
                    let start = Instant::now();
                    for i in 0..n {
                        let orig = ((i % 64) * size) as u64;
                        let b = p
                            .map(0, orig, size, Direction::Bidirectional, &c, &copier)
                            .unwrap();
                        p.unmap(
                            b,
                            size,
                            Direction::Bidirectional,
                            CopyBack::AsDirected,
                            &copier,
                        )
                        .unwrap();
                    }
                    start.elapsed().as_nanos() as f64 / n as f64
                })
                .collect(),
        );
        // The same copies without the pool: into and back out of a buffer
        // the pool's size, at rotating places, as the bounce buffers are.
        let mut dst = vec![0u8; nslots * SLOT_SIZE];
        let mut src = vec![0x5au8; 64 * size];
        let places = dst.len() / size;
        let memcpy = median(
            (0..RUNS)
                .map(|_| {
                    let start = Instant::now();
                    for i in 0..n {
                        let (o, b) = ((i % 64) * size, (i % places) * size);
                        dst[b..b + size].copy_from_slice(black_box(&src[o..o + size]));
                        src[o..o + size].copy_from_slice(black_box(&dst[b..b + size]));
                    }
                    start.elapsed().as_nanos() as f64 / n as f64
                })
                .collect(),
        );
        let gbps = |ns: f64| 2.0 * size as f64 / ns;
        println!(
            "bench: core-copy size={size} bounce_ns={:.0} memcpy_ns={:.0} bounce_gbps={:.2} memcpy_gbps={:.2} ratio={:.2}",
            bounce.0,
            memcpy.0,
            gbps(bounce.0),
            gbps(memcpy.0),
            memcpy.0 / bounce.0
        );
    }
    // A descriptor, a sync count and one bit of each of the two bitmaps.
    let per_slot =
        (core::mem::size_of::<Slot>() + core::mem::size_of::<AtomicU8>()) as f64 + 2.0 / 8.0;
    println!(
        "bench: core-slot-bytes per_slot={per_slot} overhead_pct={:.2}",
        per_slot * 100.0 / SLOT_SIZE as f64
    );
}
