// SPDX-License-Identifier: GPL-2.0

//! Host tests: a simulated machine, unit tests, property tests of random
//! operation sequences against a model, a full-pool test and multi-threaded
//! tests.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Barrier, Mutex};

use proptest::prelude::*;

use crate::*;

// ---------------------------------------------------------------------------
// The simulated machine.

/// The host's area lock.
type HostArea = Mutex<AreaState<Vec<Slot>>>;

impl AreaLock for HostArea {
    type Storage = Vec<Slot>;

    fn with<R>(&self, f: impl FnOnce(&mut AreaState<Vec<Slot>>) -> R) -> R {
        f(&mut self.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

type HostPool = Pool<HostArea, Vec<HostArea>>;

fn host_areas(nslots: usize, want_areas: usize) -> Vec<HostArea> {
    let layout = area_layout(nslots, want_areas);
    (0..layout.nareas())
        .map(|i| Mutex::new(AreaState::new(vec![Slot::default(); layout.area_slots(i)])))
        .collect()
}

/// A device that asks only for `min_align_mask` = `mask`.
fn masked(mask: u64) -> Constraints {
    Constraints {
        min_align_mask: mask,
        ..Constraints::NONE
    }
}

fn host_pool(base: u64, nslots: usize, want_areas: usize) -> HostPool {
    Pool::new(base, nslots, host_areas(nslots, want_areas)).expect("valid pool")
}

/// Physical memory: address `a` is byte `a` of `ram`. Copies panic when out
/// of range, which would be a pool bug (the pool only hands out ranges it
/// checked).
struct Machine {
    ram: Mutex<Vec<u8>>,
    /// Number of Copier calls.
    calls: AtomicUsize,
}

impl Machine {
    fn new(size: usize) -> Self {
        Self {
            ram: Mutex::new(vec![0; size]),
            calls: AtomicUsize::new(0),
        }
    }

    fn read(&self, addr: u64, len: usize) -> Vec<u8> {
        let a = addr as usize;
        self.ram.lock().unwrap()[a..a + len].to_vec()
    }

    fn write(&self, addr: u64, data: &[u8]) {
        let a = addr as usize;
        self.ram.lock().unwrap()[a..a + data.len()].copy_from_slice(data);
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::Relaxed)
    }
}

impl Copier for Machine {
    fn to_bounce(&self, orig: u64, bounce: u64, len: usize) {
        assert!(len > 0);
        self.calls.fetch_add(1, Ordering::Relaxed);
        let (o, b) = (orig as usize, bounce as usize);
        self.ram.lock().unwrap().copy_within(o..o + len, b);
    }

    fn from_bounce(&self, bounce: u64, orig: u64, len: usize) {
        assert!(len > 0);
        self.calls.fetch_add(1, Ordering::Relaxed);
        let (o, b) = (orig as usize, bounce as usize);
        self.ram.lock().unwrap().copy_within(b..b + len, o);
    }

    fn zero(&self, bounce: u64, len: usize) {
        assert!(len > 0);
        self.calls.fetch_add(1, Ordering::Relaxed);
        let b = bounce as usize;
        self.ram.lock().unwrap()[b..b + len].fill(0);
    }
}

/// splitmix64: a small deterministic generator driven by proptest's seeds.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

const SLOT: u64 = SLOT_SIZE as u64;
const PAGE: u64 = PAGE_SIZE as u64;

/// Every area's invariants hold.
fn check_pool(pool: &HostPool) {
    for (i, area) in pool.areas().iter().enumerate() {
        if let Err(e) = area.with(|st| st.check()) {
            panic!("area {i}: {e}");
        }
    }
}

/// Everything but the refusal counters, for "a refused call changes nothing".
fn snapshot(pool: &HostPool) -> impl PartialEq + std::fmt::Debug {
    let areas = pool
        .areas()
        .iter()
        .map(|a| a.with(|st| st.snapshot()))
        .collect::<Vec<_>>();
    let mut stats = pool.stats();
    stats.bad_unmaps = 0;
    stats.bad_syncs = 0;
    (areas, stats)
}

// ---------------------------------------------------------------------------
// Unit tests.

#[test]
fn print_slot_size() {
    eprintln!(
        "size_of::<Slot>() = {} bytes per slot ({} bytes per 2 KiB slot => {:.2}% overhead)",
        core::mem::size_of::<Slot>(),
        core::mem::size_of::<Slot>(),
        core::mem::size_of::<Slot>() as f64 * 100.0 / SLOT_SIZE as f64
    );
    assert!(core::mem::size_of::<Slot>() <= 16);
}

#[test]
fn print_proptest_config() {
    eprintln!(
        "proptest random_ops: {} cases, 1..={} operations each (PROPTEST_CASES overrides)",
        proptest_cases(),
        MAX_OPS
    );
}

#[test]
fn constants() {
    assert_eq!(SLOT_SIZE, 2048);
    assert_eq!(SEGMENT_SIZE, 256 * 1024);
    assert_eq!(max_mapping_size(0), 262_144);
    assert_eq!(max_mapping_size(0x3ff), 262_144 - 2048);
    assert_eq!(max_mapping_size(0x7ff), 262_144 - 2048);
    assert_eq!(max_mapping_size(0xfff), 262_144 - 4096);
    assert_eq!(max_mapping_size(0xffff), 262_144 - 65_536);
    assert_eq!(max_mapping_size(0x3ffff), 0);
    assert_eq!(max_mapping_size(u64::MAX), 0);
    assert_eq!(Direction::from_raw(0), Some(Direction::Bidirectional));
    assert_eq!(Direction::from_raw(1), Some(Direction::ToDevice));
    assert_eq!(Direction::from_raw(2), Some(Direction::FromDevice));
    assert_eq!(Direction::from_raw(3), None);
}

#[test]
fn pool_max_mapping_size() {
    // A large pool: the segment limit (and the mask's reserve) decide.
    let big = host_pool(0x10_0000, 4096, 2);
    assert_eq!(big.max_mapping_size(&masked(0)), SEGMENT_SIZE);
    assert_eq!(
        big.max_mapping_size(&masked(0xfff)),
        max_mapping_size(0xfff)
    );
    // A pool of one 128-slot area: a quarter of it, 32 slots.
    let small = host_pool(0x10_0000, 128, 4);
    assert_eq!(small.max_mapping_size(&masked(0)), 32 * SLOT_SIZE);
    // A pool smaller than a segment: still a quarter, even of 8 slots.
    let tiny = host_pool(0x10_0000, 8, 1);
    assert_eq!(tiny.max_mapping_size(&masked(0)), 2 * SLOT_SIZE);
}

#[test]
fn layouts() {
    let sizes = |l: AreaLayout| (0..l.nareas()).map(|i| l.area_slots(i)).collect::<Vec<_>>();
    assert_eq!(sizes(area_layout(1000, 4)), [256, 256, 256, 232]);
    assert_eq!(sizes(area_layout(2048, 3)), [512; 4]);
    assert_eq!(sizes(area_layout(300, 4)), [128, 172]);
    assert_eq!(sizes(area_layout(100, 8)), [100]);
    assert_eq!(sizes(area_layout(0, 0)), [0]);
    assert_eq!(sizes(area_layout(1280, 4)), [384, 384, 256, 256]);
    assert_eq!(area_layout(1 << 20, usize::MAX).nareas(), 8192);
    for nslots in (0..3000).step_by(7).chain([128, 256, 384, 1024, 1025]) {
        for want in 0..20 {
            let l = area_layout(nslots, want);
            assert!(l.nareas().is_power_of_two());
            assert!(l.nareas() == 1 || nslots / l.nareas() >= SEGMENT_SLOTS);
            let total: usize = (0..l.nareas()).map(|i| l.area_slots(i)).sum();
            assert_eq!(total, nslots);
            for a in 0..l.nareas() {
                if a + 1 < l.nareas() {
                    assert_eq!(l.area_slots(a) % SEGMENT_SLOTS, 0);
                }
                assert_eq!(l.area_start(a) % SEGMENT_SLOTS, 0);
            }
            for s in 0..nslots + 3 {
                match l.locate(s) {
                    Some((a, i)) => {
                        assert!(s < nslots && i < l.area_slots(a));
                        assert_eq!(l.area_start(a) + i, s);
                    }
                    None => assert!(s >= nslots),
                }
            }
        }
    }
}

#[test]
fn pool_new_errors() {
    assert_eq!(
        Pool::new(0x1800, 256, host_areas(256, 1)).err(),
        Some(PoolError::Unaligned)
    );
    assert_eq!(
        Pool::new(0x1000, 0, host_areas(0, 1)).err(),
        Some(PoolError::Empty)
    );
    assert_eq!(
        Pool::new(u64::MAX - 0xfff, 256, host_areas(256, 1)).err(),
        Some(PoolError::Overflow)
    );
    assert_eq!(
        Pool::new(0x1000, 256, Vec::<HostArea>::new()).err(),
        Some(PoolError::BadAreaCount)
    );
    // 3 areas: not a power of two; 4 areas of a 256-slot pool: too many.
    assert_eq!(
        Pool::new(
            0x1000,
            384,
            host_areas(384, 3)
                .into_iter()
                .chain(host_areas(128, 1))
                .take(3)
                .collect::<Vec<_>>()
        )
        .err(),
        Some(PoolError::BadAreaCount)
    );
    let four = (0..4)
        .map(|_| Mutex::new(AreaState::new(vec![Slot::default(); 64])))
        .collect::<Vec<_>>();
    assert_eq!(
        Pool::new(0x1000, 256, four).err(),
        Some(PoolError::BadAreaCount)
    );
    // Right count, wrong sizes.
    let two = [100, 200].map(|n| Mutex::new(AreaState::new(vec![Slot::default(); n])));
    assert_eq!(
        Pool::new(0x1000, 300, Vec::from(two)).err(),
        Some(PoolError::AreaSizeMismatch)
    );
    // An area in use by another pool.
    let areas = host_areas(256, 1);
    let first = Pool::new(0x1000, 256, &areas[..]).unwrap();
    let m = Machine::new(0x1000 + 256 * SLOT_SIZE);
    first
        .alloc(0, 1, Block::Coherent, &Constraints::NONE, &m)
        .unwrap();
    assert_eq!(
        Pool::new(0x1000, 256, &areas[..]).err(),
        Some(PoolError::AreaInUse)
    );
}

#[test]
fn accessors_and_contains() {
    let pool = host_pool(0x10_0000, 1000, 4);
    assert_eq!(
        (pool.base(), pool.nslots(), pool.nareas()),
        (0x10_0000, 1000, 4)
    );
    assert_eq!(pool.end(), 0x10_0000 + 1000 * SLOT);
    assert!(pool.contains(0x10_0000, 0));
    assert!(pool.contains(0x10_0000, 1000 * SLOT_SIZE));
    assert!(!pool.contains(0x10_0000, 1000 * SLOT_SIZE + 1));
    assert!(!pool.contains(0x0f_ffff, 1));
    assert!(pool.contains(pool.end() - 1, 1));
    assert!(!pool.contains(pool.end(), 0));
    assert!(!pool.contains(u64::MAX, 2));
    let s = pool.stats();
    assert_eq!((s.nslots, s.nareas, s.used), (1000, 4, 0));
}

#[test]
fn map_errors_and_alignment() {
    let base = 0x40_0000;
    let pool = host_pool(base, 512, 2);
    let m = Machine::new(0x60_0000);
    let d = Direction::ToDevice;
    assert_eq!(
        pool.map(0, 0x1000, 0, d, &masked(0), &m),
        Err(MapError::Invalid)
    );
    assert_eq!(
        pool.map(0, 0x1000, SEGMENT_SIZE + 1, d, &masked(0), &m),
        Err(MapError::TooLarge)
    );
    assert_eq!(
        pool.map(
            0,
            0x1000,
            max_mapping_size(0xfff) + 1,
            d,
            &masked(0xfff),
            &m
        ),
        Err(MapError::TooLarge)
    );
    assert_eq!(
        pool.map(0, u64::MAX - 2, 4, d, &masked(0), &m),
        Err(MapError::Invalid)
    );
    assert_eq!(m.calls(), 0);
    let b = pool.map(0, 0x1234, 100, d, &masked(0xfff), &m).unwrap();
    assert_eq!(b & 0xfff, 0x234);
    let b = pool.map(0, 0x1a34, 100, d, &masked(0xfff), &m).unwrap();
    assert_eq!(b & 0xfff, 0xa34);
    let b = pool.map(0, 0x1234, 100, d, &masked(0x3ff), &m).unwrap();
    assert_eq!(b & 0x3ff, 0x234);
    let b = pool.map(0, 0x1234, 4096, d, &masked(0), &m).unwrap();
    assert_eq!(b & 0xfff, 0, "page-sized mapping starts page aligned");
    let b = pool.map(1, 0x1234, 8000, d, &masked(0x3ff), &m).unwrap();
    assert_eq!(
        b & !0x3ff & 0xfff,
        0,
        "slot page aligned when the mask allows"
    );
    assert_eq!(b & 0x3ff, 0x234);
    let b = pool.map(1, 0x5_1234, 3000, d, &masked(0xffff), &m).unwrap();
    assert_eq!(b & 0xffff, 0x1234);
    let b = pool
        .map(1, 0x1000, max_mapping_size(0xfff), d, &masked(0xfff), &m)
        .unwrap();
    assert_eq!(b & 0xfff, 0);
    check_pool(&pool);
}

#[test]
fn refusals() {
    let base = 0x40_0000;
    let pool = host_pool(base, 512, 2);
    let m = Machine::new(0x60_0000);
    let (to, from) = (Direction::ToDevice, Direction::FromDevice);
    let b = pool.map(0, 0x1100, 5000, from, &masked(0x7ff), &m).unwrap();
    let c = pool
        .alloc(0, 3000, Block::Coherent, &Constraints::NONE, &m)
        .unwrap();
    assert_eq!(c & 0xfff, 0);
    let snap = snapshot(&pool);
    let calls = m.calls();
    assert_eq!(
        pool.unmap(b + 1, 5000, from, false, &m),
        Err(UnmapError::NotMapped)
    );
    assert_eq!(
        pool.unmap(b + SLOT, 5000 - 2048, from, false, &m),
        Err(UnmapError::NotMapped)
    );
    assert_eq!(
        pool.unmap(b, 4999, from, false, &m),
        Err(UnmapError::SizeMismatch)
    );
    assert_eq!(
        pool.unmap(c, 3000, to, false, &m),
        Err(UnmapError::WrongKind)
    );
    assert_eq!(
        pool.unmap(base - 1, 1, to, false, &m),
        Err(UnmapError::NotMapped)
    );
    assert_eq!(
        pool.unmap(pool.end(), 1, to, false, &m),
        Err(UnmapError::NotMapped)
    );
    assert_eq!(
        pool.unmap(u64::MAX, 1, to, false, &m),
        Err(UnmapError::NotMapped)
    );
    assert_eq!(
        pool.free(b, 5000, Block::Coherent),
        Err(UnmapError::WrongKind)
    );
    assert_eq!(
        pool.free(c, 4096, Block::Coherent),
        Err(UnmapError::SizeMismatch)
    );
    assert_eq!(
        pool.free(c + 1, 3000, Block::Coherent),
        Err(UnmapError::NotMapped)
    );
    assert_eq!(
        pool.free(c + SLOT, 3000, Block::Coherent),
        Err(UnmapError::NotMapped)
    );
    assert_eq!(
        pool.sync_for_cpu(b, 5001, from, &m),
        Err(UnmapError::OutOfRange)
    );
    assert_eq!(
        pool.sync_for_cpu(b + 4999, 2, from, &m),
        Err(UnmapError::OutOfRange)
    );
    assert_eq!(
        pool.sync_for_cpu(b + 5000, 0, from, &m),
        Err(UnmapError::NotMapped)
    );
    assert_eq!(
        pool.sync_for_cpu(b - 1, 1, from, &m),
        Err(UnmapError::NotMapped)
    );
    assert_eq!(
        pool.sync_for_device(b + 10, usize::MAX, from, &m),
        Err(UnmapError::OutOfRange)
    );
    assert_eq!(
        pool.sync_for_device(c, 1, to, &m),
        Err(UnmapError::WrongKind)
    );
    // The direction must be the mapping's; a block is freed as what it is.
    assert_eq!(
        pool.unmap(b, 5000, to, false, &m),
        Err(UnmapError::WrongDirection)
    );
    assert_eq!(
        pool.sync_for_cpu(b, 1, Direction::Bidirectional, &m),
        Err(UnmapError::WrongDirection)
    );
    assert_eq!(pool.free(c, 3000, Block::Pages), Err(UnmapError::WrongKind));
    assert_eq!(snapshot(&pool), snap);
    assert_eq!(m.calls(), calls);
    let s = pool.stats();
    assert_eq!((s.bad_unmaps, s.bad_syncs), (13, 7));
    // Ranges inside the mapping are fine.
    pool.sync_for_cpu(b + 4999, 1, from, &m).unwrap();
    pool.sync_for_cpu(b + 2500, 0, from, &m).unwrap();
    pool.unmap(b, 5000, from, false, &m).unwrap();
    assert_eq!(
        pool.unmap(b, 5000, from, false, &m),
        Err(UnmapError::NotMapped)
    );
    pool.free(c, 3000, Block::Coherent).unwrap();
    assert_eq!(
        pool.free(c, 3000, Block::Coherent),
        Err(UnmapError::NotMapped)
    );
    check_pool(&pool);
    assert_eq!(pool.stats().used, 0);
}

#[test]
fn copies_per_direction() {
    let base = 0x10_0000;
    let pool = host_pool(base, 256, 1);
    let m = Machine::new(0x20_0000);
    let orig = 0x1000;
    for dir in [
        Direction::ToDevice,
        Direction::FromDevice,
        Direction::Bidirectional,
    ] {
        for skip in [false, true] {
            m.write(orig, &[1; 100]);
            let b = pool.map(0, orig, 100, dir, &masked(0), &m).unwrap();
            assert_eq!(
                m.read(b, 100),
                [1; 100],
                "map copies in for every direction"
            );
            m.write(b, &[2; 60]); // the device writes part of the buffer
            m.write(orig + 90, &[3; 10]); // the CPU writes the original
            pool.sync_for_device(b + 90, 10, dir, &m).unwrap();
            let want: u8 = if dir == Direction::FromDevice { 1 } else { 3 };
            assert_eq!(m.read(b + 90, 10), [want; 10]);
            pool.sync_for_cpu(b + 50, 10, dir, &m).unwrap();
            let want: u8 = if dir == Direction::ToDevice { 1 } else { 2 };
            assert_eq!(m.read(orig + 50, 10), [want; 10]);
            pool.unmap(b, 100, dir, skip, &m).unwrap();
            let back = dir != Direction::ToDevice && !skip;
            assert_eq!(m.read(orig, 50), [if back { 2 } else { 1 }; 50]);
            // Bytes the device did not write keep the original's value.
            assert_eq!(m.read(orig + 60, 30), [1; 30]);
        }
    }
}

#[test]
fn no_stale_data() {
    let base = 0x10_0000;
    let pool = host_pool(base, 128, 1);
    let m = Machine::new(0x20_0000);
    // A first mapping leaves secret bytes in the whole pool.
    m.write(0x1000, &[0x5e; SEGMENT_SIZE]);
    let b = pool
        .map(0, 0x1000, SEGMENT_SIZE, Direction::ToDevice, &masked(0), &m)
        .unwrap();
    pool.unmap(b, SEGMENT_SIZE, Direction::ToDevice, false, &m)
        .unwrap();
    for dir in [Direction::FromDevice, Direction::Bidirectional] {
        // The next mapping: the device writes only 10 bytes of it.
        m.write(0x8_0000, &[0x11; 4096]);
        let b2 = pool.map(0, 0x8_0000, 4096, dir, &masked(0), &m).unwrap();
        m.write(b2, &[0xdd; 10]);
        pool.unmap(b2, 4096, dir, false, &m).unwrap();
        let got = m.read(0x8_0000, 4096);
        assert_eq!(&got[..10], &[0xdd; 10]);
        assert!(
            got[10..].iter().all(|&x| x == 0x11),
            "stale pool bytes leaked to the CPU"
        );
    }
}

#[test]
fn coherent_is_zeroed_and_page_aligned() {
    let base = 0x10_0000;
    let pool = host_pool(base, 256, 2);
    let m = Machine::new(0x20_0000);
    m.write(base, &vec![0xff; 256 * SLOT_SIZE]);
    for size in [1, 2048, 2049, 4096, 10_000, SEGMENT_SIZE] {
        let a = pool
            .alloc(1, size, Block::Coherent, &Constraints::NONE, &m)
            .unwrap();
        assert_eq!(a & (PAGE - 1), 0);
        let n = size.div_ceil(SLOT_SIZE) * SLOT_SIZE;
        assert!(m.read(a, n).iter().all(|&x| x == 0));
        pool.free(a, size, Block::Coherent).unwrap();
    }
    assert_eq!(
        pool.alloc(0, 0, Block::Coherent, &Constraints::NONE, &m),
        Err(MapError::Invalid)
    );
    assert_eq!(
        pool.alloc(0, SEGMENT_SIZE + 1, Block::Coherent, &Constraints::NONE, &m),
        Err(MapError::TooLarge)
    );
    let s = pool.stats();
    assert_eq!((s.allocs, s.frees, s.used, s.used_hiwater), (6, 6, 0, 128));
}

#[test]
fn full_pool() {
    let base = 0x10_0000;
    let pool = host_pool(base, 256, 2);
    let m = Machine::new(0x20_0000);
    let d = Direction::Bidirectional;
    // Page-sized mappings: two slots each, page aligned.
    let mut maps = Vec::new();
    loop {
        match pool.map(maps.len(), 0x1000, 4096, d, &masked(0), &m) {
            Ok(b) => maps.push(b),
            Err(e) => {
                assert_eq!(e, MapError::Full);
                break;
            }
        }
    }
    assert_eq!(maps.len(), 128);
    assert_eq!(pool.stats().used, 256);
    assert_eq!(
        pool.alloc(0, 1, Block::Coherent, &Constraints::NONE, &m),
        Err(MapError::Full)
    );
    assert_eq!(
        pool.map(0, 0x1000, 1, d, &masked(0), &m),
        Err(MapError::Full)
    );
    let freed = maps.swap_remove(37);
    pool.unmap(freed, 4096, d, false, &m).unwrap();
    // Any CPU finds the hole, whichever area it is in.
    let again = pool.map(3, 0x1000, 4096, d, &masked(0), &m).unwrap();
    assert_eq!(again, freed);
    let s = pool.stats();
    assert_eq!(
        (s.failed_maps, s.failed_allocs, s.used, s.used_hiwater),
        (2, 1, 256, 256)
    );
    maps.push(again);
    for b in maps {
        pool.unmap(b, 4096, d, true, &m).unwrap();
    }
    check_pool(&pool);
    // Single slots: exactly nslots of them; then the largest mappings.
    let small: Vec<u64> = (0..256)
        .map(|i| pool.map(i, 0x1000, 1, d, &masked(0), &m).unwrap())
        .collect();
    assert_eq!(
        pool.map(0, 0x1000, 1, d, &masked(0), &m),
        Err(MapError::Full)
    );
    for b in small {
        pool.unmap(b, 1, d, false, &m).unwrap();
    }
    let big: Vec<u64> = (0..2)
        .map(|i| {
            pool.map(i, 0x1000, SEGMENT_SIZE, d, &masked(0), &m)
                .unwrap()
        })
        .collect();
    assert_eq!(
        pool.map(0, 0x1000, 1, d, &masked(0), &m),
        Err(MapError::Full)
    );
    for b in big {
        pool.unmap(b, SEGMENT_SIZE, d, false, &m).unwrap();
    }
    check_pool(&pool);
    assert_eq!(pool.stats().used, 0);
}

#[test]
fn segments_are_not_crossed() {
    let base = 0x10_0000;
    let pool = host_pool(base, 256, 1);
    let m = Machine::new(0x20_0000);
    let d = Direction::ToDevice;
    // 100 slots, then 100 slots: the second cannot use the 28 left in
    // segment 0 and goes to segment 1.
    let a = pool
        .map(0, 0x1000, 100 * SLOT_SIZE, d, &masked(0), &m)
        .unwrap();
    let b = pool
        .map(0, 0x1000, 100 * SLOT_SIZE, d, &masked(0), &m)
        .unwrap();
    assert_eq!(a, base);
    assert_eq!(b, base + 128 * SLOT);
    // 28 + 28 slots remain, in two runs: 29 slots do not fit.
    assert_eq!(
        pool.map(0, 0x1000, 29 * SLOT_SIZE, d, &masked(0), &m),
        Err(MapError::Full)
    );
    let c = pool
        .map(0, 0x1000, 28 * SLOT_SIZE, d, &masked(0), &m)
        .unwrap();
    assert!(c == base + 100 * SLOT || c == base + 228 * SLOT);
    check_pool(&pool);
}

#[test]
fn hiwater_is_pool_wide() {
    let pool = host_pool(0x10_0000, 512, 4);
    let m = Machine::new(0x30_0000);
    let d = Direction::ToDevice;
    // Areas peak at different times: the pool-wide peak is 3 slots, where
    // summing per-area peaks would say 4.
    let a = pool
        .map(0, 0x1000, 2 * SLOT_SIZE, d, &masked(0), &m)
        .unwrap();
    pool.unmap(a, 2 * SLOT_SIZE, d, false, &m).unwrap();
    let b = pool
        .map(1, 0x1000, 2 * SLOT_SIZE, d, &masked(0), &m)
        .unwrap();
    let c = pool.map(2, 0x1000, 1, d, &masked(0), &m).unwrap();
    let s = pool.stats();
    assert_eq!((s.used, s.used_hiwater), (3, 3));
    pool.unmap(b, 2 * SLOT_SIZE, d, false, &m).unwrap();
    pool.unmap(c, 1, d, false, &m).unwrap();
    assert_eq!(pool.stats().used_hiwater, 3);
}

// ---------------------------------------------------------------------------
// Multi-threaded tests.

#[test]
fn threads_map_unmap() {
    const THREADS: usize = 4;
    const ITERS: usize = 3000;
    const WINDOW: u64 = 0x2_0000;
    const REGION: u64 = 0x20_0000; // per thread: 16 windows of 128 KiB
    let base = THREADS as u64 * REGION;
    let nslots = 512;
    let pool = host_pool(base, nslots, 4);
    let m = Machine::new(base as usize + nslots * SLOT_SIZE);
    let fulls = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let (pool, m, fulls) = (&pool, &m, &fulls);
            s.spawn(move || {
                let mut rng = Rng(t as u64 * 7919 + 1);
                let region = t as u64 * REGION;
                // (window, bounce, orig, size, dir, expected orig after unmap)
                let mut live: Vec<(u64, u64, u64, usize, Direction, Vec<u8>)> = Vec::new();
                for it in 0..ITERS {
                    if live.len() < 6 && (live.is_empty() || rng.below(2) == 0) {
                        let window = (0..16).find(|w| live.iter().all(|l| l.0 != *w)).unwrap();
                        let size = if rng.below(3) == 0 {
                            1 + rng.below(WINDOW - 4096)
                        } else {
                            1 + rng.below(8192)
                        } as usize;
                        let orig = region + window * WINDOW + rng.below(WINDOW - size as u64);
                        let dir = [
                            Direction::ToDevice,
                            Direction::FromDevice,
                            Direction::Bidirectional,
                        ][rng.below(3) as usize];
                        let mask = [0, 0x7ff, 0xfff][rng.below(3) as usize];
                        let data = rng.bytes(size);
                        m.write(orig, &data);
                        match pool.map(t + it, orig, size, dir, &masked(mask), m) {
                            Ok(bounce) => {
                                assert_eq!(bounce & mask, orig & mask);
                                assert!(pool.contains(bounce, size));
                                assert_eq!(m.read(bounce, size), data);
                                let mut expect = data;
                                if dir != Direction::ToDevice {
                                    // The device writes a part of the buffer.
                                    let off = rng.below(size as u64) as usize;
                                    let len = rng.below((size - off) as u64 + 1) as usize;
                                    let dev = vec![t as u8 ^ 0xa5; len];
                                    m.write(bounce + off as u64, &dev);
                                    expect[off..off + len].copy_from_slice(&dev);
                                }
                                live.push((window, bounce, orig, size, dir, expect));
                            }
                            Err(MapError::Full) => {
                                fulls.fetch_add(1, Ordering::Relaxed);
                            }
                            Err(e) => panic!("map: {e:?}"),
                        }
                    } else {
                        let i = rng.below(live.len() as u64) as usize;
                        let (_, bounce, orig, size, dir, expect) = live.swap_remove(i);
                        pool.unmap(bounce, size, dir, false, m).unwrap();
                        assert_eq!(m.read(orig, size), expect);
                    }
                }
                for (_, bounce, orig, size, dir, expect) in live {
                    pool.unmap(bounce, size, dir, false, m).unwrap();
                    assert_eq!(m.read(orig, size), expect);
                }
            });
        }
    });
    check_pool(&pool);
    let s = pool.stats();
    eprintln!(
        "threads_map_unmap: {s:?}, {} Full",
        fulls.load(Ordering::Relaxed)
    );
    assert_eq!(s.used, 0);
    assert_eq!(s.maps, s.unmaps);
    assert!(s.used_hiwater > 0 && s.used_hiwater <= nslots);
}

/// A copier whose copy-back is slow, to widen the window between the two
/// locked sections of an unmap.
struct SlowCopyBack<'a>(&'a Machine);

impl Copier for SlowCopyBack<'_> {
    fn to_bounce(&self, orig: u64, bounce: u64, len: usize) {
        self.0.to_bounce(orig, bounce, len);
    }

    fn from_bounce(&self, bounce: u64, orig: u64, len: usize) {
        std::thread::sleep(std::time::Duration::from_micros(300));
        self.0.from_bounce(bounce, orig, len);
    }

    fn zero(&self, bounce: u64, len: usize) {
        self.0.zero(bounce, len);
    }
}

#[test]
fn racing_double_unmap_frees_once() {
    let base = 0x10_0000;
    let pool = host_pool(base, 256, 2);
    let m = Machine::new(0x20_0000);
    let slow = SlowCopyBack(&m);
    let barrier = Barrier::new(3);
    for i in 0..300 {
        let size = 1 + (i * 97) % 20_000;
        let dir = DIRS[i % 3];
        let b = pool.map(i, 0x1000, size, dir, &masked(0), &slow).unwrap();
        let oks = AtomicUsize::new(0);
        std::thread::scope(|s| {
            // Two unmaps of the same mapping and a sync race: exactly one
            // unmap wins, the rest see the mapping live or not at all.
            for _ in 0..2 {
                s.spawn(|| {
                    barrier.wait();
                    match pool.unmap(b, size, dir, false, &slow) {
                        Ok(()) => {
                            oks.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(e) => assert_eq!(e, UnmapError::NotMapped),
                    }
                });
            }
            s.spawn(|| {
                barrier.wait();
                if let Err(e) = pool.sync_for_cpu(b, size, dir, &slow) {
                    assert_eq!(e, UnmapError::NotMapped);
                }
            });
        });
        assert_eq!(oks.load(Ordering::Relaxed), 1);
        check_pool(&pool);
    }
    let s = pool.stats();
    assert_eq!((s.used, s.maps, s.unmaps, s.bad_unmaps), (0, 300, 300, 300));
}

// ---------------------------------------------------------------------------
// Property tests: random operation sequences against a model.

const MAX_OPS: usize = 200;

fn proptest_cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(512)
}

const ORIG_BASE: u64 = 0x10_0000;
const ORIG_SIZE: u64 = 0x80_0000;
const POOL_BASES: [u64; 3] = [0x90_0000, 0x90_3000, 0x91_7000];
const MASKS: [u64; 13] = [
    0,
    0,
    0,
    0x3ff,
    0x7ff,
    0xfff,
    0xfff,
    0x1fff,
    0xffff,
    0x7,
    0x1000,
    0x3ffff,
    u64::MAX,
];
const DIRS: [Direction; 3] = [
    Direction::ToDevice,
    Direction::FromDevice,
    Direction::Bidirectional,
];

#[derive(Clone, Debug)]
struct PoolCfg {
    base: u64,
    nslots: usize,
    want_areas: usize,
}

fn pool_cfg() -> impl Strategy<Value = PoolCfg> {
    (
        0..POOL_BASES.len(),
        prop_oneof![
            3 => 1usize..=140,
            3 => 120usize..=700,
            1 => Just(1024usize),
            1 => 1000usize..=1300
        ],
        0usize..=8,
    )
        .prop_map(|(b, nslots, want_areas)| PoolCfg {
            base: POOL_BASES[b],
            nslots,
            want_areas,
        })
}

#[derive(Clone, Debug)]
enum Op {
    Map {
        class: u8,
        raw: u32,
        dir: u8,
        mask: u8,
        cons: u8,
        cpu: u8,
        seed: u64,
    },
    Unmap {
        pick: u16,
        skip_sync: bool,
    },
    DevWrite {
        pick: u16,
        x: u32,
        y: u32,
        seed: u64,
    },
    CpuWrite {
        pick: u16,
        x: u32,
        y: u32,
        seed: u64,
    },
    SyncCpu {
        pick: u16,
        x: u32,
        y: u32,
    },
    SyncDev {
        pick: u16,
        x: u32,
        y: u32,
    },
    Alloc {
        raw: u32,
        pages: bool,
        cons: u8,
        cpu: u8,
    },
    /// A sync of a `Block::Pages` block: accepted, copies nothing.
    SyncPages {
        pick: u16,
        x: u32,
        y: u32,
        for_device: bool,
    },
    CohWrite {
        pick: u16,
        seed: u64,
    },
    Free {
        pick: u16,
    },
    Bad {
        pick: u16,
        kind: u8,
        delta: u32,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        34 => (0u8..10, any::<u32>(), 0u8..3, 0u8..MASKS.len() as u8, any::<u8>(), any::<u8>(), any::<u64>())
            .prop_map(|(class, raw, dir, mask, cons, cpu, seed)| Op::Map { class, raw, dir, mask, cons, cpu, seed }),
        12 => (any::<u16>(), any::<bool>()).prop_map(|(pick, skip_sync)| Op::Unmap { pick, skip_sync }),
        8 => (any::<u16>(), any::<u32>(), any::<u32>(), any::<u64>())
            .prop_map(|(pick, x, y, seed)| Op::DevWrite { pick, x, y, seed }),
        4 => (any::<u16>(), any::<u32>(), any::<u32>(), any::<u64>())
            .prop_map(|(pick, x, y, seed)| Op::CpuWrite { pick, x, y, seed }),
        6 => (any::<u16>(), any::<u32>(), any::<u32>()).prop_map(|(pick, x, y)| Op::SyncCpu { pick, x, y }),
        6 => (any::<u16>(), any::<u32>(), any::<u32>()).prop_map(|(pick, x, y)| Op::SyncDev { pick, x, y }),
        6 => (any::<u32>(), any::<bool>(), any::<u8>(), any::<u8>())
            .prop_map(|(raw, pages, cons, cpu)| Op::Alloc { raw, pages, cons, cpu }),
        2 => (any::<u16>(), any::<u32>(), any::<u32>(), any::<bool>())
            .prop_map(|(pick, x, y, for_device)| Op::SyncPages { pick, x, y, for_device }),
        2 => (any::<u16>(), any::<u64>()).prop_map(|(pick, seed)| Op::CohWrite { pick, seed }),
        5 => any::<u16>().prop_map(|pick| Op::Free { pick }),
        12 => (any::<u16>(), 0u8..15, any::<u32>()).prop_map(|(pick, kind, delta)| Op::Bad { pick, kind, delta }),
    ]
}

/// A live streaming mapping of the model.
struct Live {
    bounce: u64,
    orig: u64,
    size: usize,
    dir: Direction,
    /// Pool slots `first..first + nslots`.
    first: usize,
    nslots: usize,
    /// What the original and the bounce buffer must hold.
    exp_orig: Vec<u8>,
    exp_bounce: Vec<u8>,
}

/// A live coherent block of the model.
struct Coh {
    addr: u64,
    size: usize,
    block: Block,
    first: usize,
    nslots: usize,
}

struct Model<'a> {
    pool: &'a HostPool,
    m: &'a Machine,
    cfg: PoolCfg,
    live: Vec<Live>,
    coh: Vec<Coh>,
    /// Recently unmapped or freed `(address, size)`, for double unmaps.
    dead: Vec<(u64, usize)>,
    stats: Stats,
}

impl Model<'_> {
    fn used(&self) -> usize {
        self.live.iter().map(|l| l.nslots).sum::<usize>()
            + self.coh.iter().map(|c| c.nslots).sum::<usize>()
    }

    fn occupied(&self) -> Vec<bool> {
        let mut occ = vec![false; self.cfg.nslots];
        for (first, n) in self
            .live
            .iter()
            .map(|l| (l.first, l.nslots))
            .chain(self.coh.iter().map(|c| (c.first, c.nslots)))
        {
            for o in &mut occ[first..first + n] {
                assert!(!*o, "overlapping mappings");
                *o = true;
            }
        }
        occ
    }

    fn slot_addr(&self, slot: usize) -> u64 {
        self.cfg.base + slot as u64 * SLOT
    }

    /// One of the devices the random sequences map for: `dma-ranges`
    /// offsets (page multiples, as real ones are), segment boundaries, and
    /// limits that reach all of the pool, half of it, its first page, or
    /// none of it.
    fn constraints(&self, pick: u8, min_align_mask: u64) -> Constraints {
        const OFFSETS: [u64; 5] = [0, 0, 0x1000, 0x7000_0000, 0u64.wrapping_sub(0x40_0000)];
        const BOUNDARIES: [u64; 5] = [u64::MAX, u64::MAX, 0xffff, 0x3_ffff, 0x1fff];
        let pick = usize::from(pick);
        let dma_offset = OFFSETS[pick % 5];
        let dma_base = self.cfg.base.wrapping_add(dma_offset);
        let bytes = self.cfg.nslots as u64 * SLOT;
        let limits = [
            u64::MAX,
            u64::MAX,
            dma_base + bytes / 2 - 1,
            dma_base + PAGE - 1,
            dma_base - 1,
        ];
        Constraints {
            dma_offset,
            min_align_mask,
            seg_boundary: BOUNDARIES[pick / 5 % 5],
            dma_limit: limits[pick / 25 % 5],
        }
    }

    /// What a run of `n` slots must meet under `c`, besides being free: the
    /// error that makes any run impossible, or which first slots may start it
    /// (by physical address), given the DMA-address alignment `align_mask` /
    /// `align_bits`.
    fn run_rules(
        c: Constraints,
        base: u64,
        n: usize,
        align_mask: u64,
        align_bits: u64,
    ) -> Result<impl Fn(u64) -> bool, MapError> {
        let bytes = n as u64 * SLOT;
        if c.seg_boundary < u64::MAX && bytes > c.seg_boundary + 1 {
            return Err(MapError::TooLarge);
        }
        match base.wrapping_add(c.dma_offset).checked_add(bytes - 1) {
            Some(last) if last <= c.dma_limit => {}
            _ => return Err(MapError::Unreachable),
        }
        Ok(move |phys: u64| {
            let dma = phys.wrapping_add(c.dma_offset);
            let Some(last) = dma.checked_add(bytes - 1) else {
                return false;
            };
            dma & align_mask == align_bits
                && (c.seg_boundary == u64::MAX
                    || dma / (c.seg_boundary + 1) == last / (c.seg_boundary + 1))
                && last <= c.dma_limit
        })
    }

    /// Whether some run of `n` free slots, in one segment and one area,
    /// starts at a slot whose physical address `ok` accepts.
    fn feasible(&self, n: usize, ok: impl Fn(u64) -> bool) -> bool {
        let occ = self.occupied();
        let layout = self.pool.layout();
        (0..layout.nareas()).any(|area| {
            let (start, len) = (layout.area_start(area), layout.area_slots(area));
            (start..start + len).any(|g| {
                g + n <= start + len
                    && g / SEGMENT_SLOTS == (g + n - 1) / SEGMENT_SLOTS
                    && ok(self.slot_addr(g))
                    && occ[g..g + n].iter().all(|o| !o)
            })
        })
    }

    /// Checks a run of slots handed out by the pool; returns its first slot.
    fn check_run(&self, first_addr: u64, n: usize) -> usize {
        assert_eq!((first_addr - self.cfg.base) % SLOT, 0);
        let first = ((first_addr - self.cfg.base) / SLOT) as usize;
        assert!(first + n <= self.cfg.nslots, "outside the pool");
        assert_eq!(
            first / SEGMENT_SLOTS,
            (first + n - 1) / SEGMENT_SLOTS,
            "crosses a segment"
        );
        let layout = self.pool.layout();
        let (area, _) = layout.locate(first).unwrap();
        assert!(
            first + n <= layout.area_start(area) + layout.area_slots(area),
            "crosses an area"
        );
        let occ = self.occupied();
        assert!(
            occ[first..first + n].iter().all(|o| !o),
            "overlaps a live mapping"
        );
        first
    }

    fn pick_live(&self, pick: u16) -> Option<usize> {
        (!self.live.is_empty()).then(|| pick as usize % self.live.len())
    }

    fn pick_coh(&self, pick: u16) -> Option<usize> {
        (!self.coh.is_empty()).then(|| pick as usize % self.coh.len())
    }

    /// Whether `(addr, size)` is exactly a live streaming mapping.
    fn is_live(&self, addr: u64, size: usize) -> bool {
        self.live.iter().any(|l| l.bounce == addr && l.size == size)
    }

    fn is_coh(&self, addr: u64, size: usize) -> bool {
        self.coh.iter().any(|c| c.addr == addr && c.size == size)
    }

    fn check_data(&self, l: &Live) {
        assert!(
            self.m.read(l.orig, l.size) == l.exp_orig,
            "original holds wrong bytes"
        );
        assert!(
            self.m.read(l.bounce, l.size) == l.exp_bounce,
            "bounce buffer holds wrong bytes"
        );
    }

    /// Free space in the original region for `size` bytes, from `rng`.
    fn place_orig(&self, rng: &mut Rng, size: usize) -> Option<u64> {
        (0..16).find_map(|_| {
            let o = ORIG_BASE + rng.below(ORIG_SIZE - size as u64);
            let end = o + size as u64;
            self.live
                .iter()
                .all(|l| end <= l.orig || o >= l.orig + l.size as u64)
                .then_some(o)
        })
    }

    fn op(&mut self, op: &Op) {
        let (pool, m) = (self.pool, self.m);
        match *op {
            Op::Map {
                class,
                raw,
                dir,
                mask,
                cons,
                cpu,
                seed,
            } => {
                let (dir, mask) = (DIRS[dir as usize], MASKS[mask as usize]);
                let c = self.constraints(cons, mask);
                let max = max_mapping_size(mask);
                let raw = raw as usize;
                let size = match class {
                    0..=2 => 1 + raw % 64,
                    3..=5 => 1 + raw % 4096,
                    6 | 7 => 1 + raw % 16384,
                    8 => 1 + raw % max.max(1),
                    _ => match raw % 4 {
                        0 => 0,
                        1 => max + 1 + raw % 100,
                        2 => max.max(1),
                        _ => usize::MAX,
                    },
                };
                let mut rng = Rng(seed);
                let calls = m.calls();
                if size == 0 || size > max {
                    let want = if size == 0 {
                        MapError::Invalid
                    } else {
                        MapError::TooLarge
                    };
                    assert_eq!(pool.map(cpu as usize, 0x1000, size, dir, &c, m), Err(want));
                    assert_eq!(m.calls(), calls);
                    cover(2);
                    return;
                }
                if seed % 64 == 0 && size >= 2 {
                    // The original range would wrap.
                    let orig = u64::MAX - rng.below(size as u64 - 1);
                    assert_eq!(
                        pool.map(cpu as usize, orig, size, dir, &c, m),
                        Err(MapError::Invalid)
                    );
                    assert_eq!(m.calls(), calls);
                    cover(2);
                    return;
                }
                let Some(orig) = self.place_orig(&mut rng, size) else {
                    return;
                };
                let data = rng.bytes(size);
                m.write(orig, &data);
                let offset = orig & mask & (SLOT - 1);
                let padded = offset as usize + size;
                let n = padded.div_ceil(SLOT_SIZE);
                let high = mask & !(SLOT - 1);
                let page = padded >= PAGE_SIZE && high & (PAGE - 1) == 0;
                let match_mask = high | if page { PAGE - 1 } else { 0 };
                let rules = Self::run_rules(c, self.cfg.base, n, match_mask, orig & high);
                let got = pool.map(cpu as usize, orig, size, dir, &c, m);
                let rules = match rules {
                    Ok(rules) => rules,
                    Err(want) => {
                        assert_eq!(got, Err(want), "map under {c:?}");
                        assert_eq!(m.calls(), calls);
                        cover(2);
                        return;
                    }
                };
                match got {
                    Ok(bounce) => {
                        let dma = bounce.wrapping_add(c.dma_offset);
                        assert_eq!(dma & mask, orig & mask, "min_align_mask");
                        assert_eq!(bounce & (SLOT - 1), offset);
                        let slot = bounce - offset;
                        if page {
                            let slot_dma = slot.wrapping_add(c.dma_offset);
                            assert_eq!(slot_dma & (PAGE - 1), 0, "page alignment");
                        }
                        assert!(rules(slot), "run breaks the device's rules: {c:?}");
                        let first = self.check_run(slot, n);
                        assert!(pool.contains(bounce, size));
                        assert_eq!(m.calls(), calls + 1);
                        let l = Live {
                            bounce,
                            orig,
                            size,
                            dir,
                            first,
                            nslots: n,
                            exp_orig: data.clone(),
                            exp_bounce: data,
                        };
                        self.check_data(&l);
                        self.live.push(l);
                        self.stats.maps += 1;
                        cover(0);
                        self.stats.bytes_to_device += size as u64;
                    }
                    Err(MapError::Full) => {
                        assert!(
                            !self.feasible(n, rules),
                            "Full, but a run of {n} slots fits"
                        );
                        assert_eq!(m.calls(), calls);
                        self.stats.failed_maps += 1;
                        cover(1);
                    }
                    Err(e) => panic!("map: unexpected {e:?}"),
                }
            }
            Op::Unmap { pick, skip_sync } => {
                let Some(i) = self.pick_live(pick) else {
                    return;
                };
                let mut l = self.live.swap_remove(i);
                pool.unmap(l.bounce, l.size, l.dir, skip_sync, m).unwrap();
                if l.dir != Direction::ToDevice && !skip_sync {
                    l.exp_orig = l.exp_bounce.clone();
                    self.stats.bytes_from_device += l.size as u64;
                }
                assert!(m.read(l.orig, l.size) == l.exp_orig, "original after unmap");
                self.stats.unmaps += 1;
                cover(3);
                self.dead.push((l.bounce, l.size));
            }
            Op::DevWrite { pick, x, y, seed } | Op::CpuWrite { pick, x, y, seed } => {
                let Some(i) = self.pick_live(pick) else {
                    return;
                };
                let l = &mut self.live[i];
                let off = x as usize % l.size;
                let len = y as usize % (l.size - off + 1);
                let data = Rng(seed).bytes(len);
                if matches!(op, Op::DevWrite { .. }) {
                    m.write(l.bounce + off as u64, &data);
                    l.exp_bounce[off..off + len].copy_from_slice(&data);
                } else {
                    m.write(l.orig + off as u64, &data);
                    l.exp_orig[off..off + len].copy_from_slice(&data);
                }
            }
            Op::SyncCpu { pick, x, y } | Op::SyncDev { pick, x, y } => {
                let Some(i) = self.pick_live(pick) else {
                    return;
                };
                let l = &mut self.live[i];
                let off = x as usize % l.size;
                let len = y as usize % (l.size - off + 1);
                let at = l.bounce + off as u64;
                let calls = m.calls();
                if matches!(op, Op::SyncCpu { .. }) {
                    pool.sync_for_cpu(at, len, l.dir, m).unwrap();
                    if l.dir != Direction::ToDevice && len > 0 {
                        l.exp_orig[off..off + len].copy_from_slice(&l.exp_bounce[off..off + len]);
                        self.stats.bytes_from_device += len as u64;
                        assert_eq!(m.calls(), calls + 1);
                    }
                } else {
                    pool.sync_for_device(at, len, l.dir, m).unwrap();
                    if l.dir != Direction::FromDevice && len > 0 {
                        l.exp_bounce[off..off + len].copy_from_slice(&l.exp_orig[off..off + len]);
                        self.stats.bytes_to_device += len as u64;
                        assert_eq!(m.calls(), calls + 1);
                    }
                }
                self.check_data(&self.live[i]);
                cover(4);
            }
            Op::Alloc {
                raw,
                pages,
                cons,
                cpu,
            } => {
                let raw = raw as usize;
                let size = match raw % 16 {
                    0 => [0, SEGMENT_SIZE + 1, SEGMENT_SIZE][raw / 16 % 3],
                    1..=9 => 1 + raw / 16 % 8192,
                    _ => 1 + raw / 16 % SEGMENT_SIZE,
                };
                let block = if pages { Block::Pages } else { Block::Coherent };
                let c = self.constraints(cons, 0);
                let calls = m.calls();
                if size == 0 || size > SEGMENT_SIZE {
                    let want = if size == 0 {
                        MapError::Invalid
                    } else {
                        MapError::TooLarge
                    };
                    assert_eq!(pool.alloc(cpu as usize, size, block, &c, m), Err(want));
                    assert_eq!(m.calls(), calls);
                    return;
                }
                let n = size.div_ceil(SLOT_SIZE);
                // Aligned to its order: its size in pages, rounded up to a
                // power of two.
                let align = (size.div_ceil(PAGE_SIZE).next_power_of_two() * PAGE_SIZE) as u64;
                let rules = Self::run_rules(c, self.cfg.base, n, align - 1, 0);
                let got = pool.alloc(cpu as usize, size, block, &c, m);
                let rules = match rules {
                    Ok(rules) => rules,
                    Err(want) => {
                        assert_eq!(got, Err(want), "alloc under {c:?}");
                        assert_eq!(m.calls(), calls);
                        return;
                    }
                };
                match got {
                    Ok(addr) => {
                        assert_eq!(
                            addr.wrapping_add(c.dma_offset) & (align - 1),
                            0,
                            "order alignment"
                        );
                        assert!(rules(addr), "block breaks the device's rules: {c:?}");
                        let first = self.check_run(addr, n);
                        assert!(
                            m.read(addr, n * SLOT_SIZE).iter().all(|&b| b == 0),
                            "not zeroed"
                        );
                        self.coh.push(Coh {
                            addr,
                            size,
                            block,
                            first,
                            nslots: n,
                        });
                        self.stats.allocs += 1;
                        cover(5);
                    }
                    Err(MapError::Full) => {
                        assert!(!self.feasible(n, rules), "Full, but {n} slots fit");
                        self.stats.failed_allocs += 1;
                        cover(6);
                    }
                    Err(e) => panic!("alloc: unexpected {e:?}"),
                }
            }
            Op::SyncPages {
                pick,
                x,
                y,
                for_device,
            } => {
                let Some(i) = self.pick_coh(pick) else { return };
                let c = &self.coh[i];
                if c.block != Block::Pages {
                    return;
                }
                let off = x as usize % c.size;
                let len = y as usize % (c.size - off + 1);
                let (at, calls) = (c.addr + off as u64, m.calls());
                let dir = DIRS[y as usize % 3];
                if for_device {
                    pool.sync_for_device(at, len, dir, m).unwrap();
                } else {
                    pool.sync_for_cpu(at, len, dir, m).unwrap();
                }
                assert_eq!(m.calls(), calls, "a sync of pages copied");
                cover(4);
            }
            Op::CohWrite { pick, seed } => {
                let Some(i) = self.pick_coh(pick) else { return };
                let c = &self.coh[i];
                m.write(c.addr, &Rng(seed).bytes(c.nslots * SLOT_SIZE));
            }
            Op::Free { pick } => {
                let Some(i) = self.pick_coh(pick) else { return };
                let c = self.coh.swap_remove(i);
                pool.free(c.addr, c.size, c.block).unwrap();
                self.stats.frees += 1;
                self.dead.push((c.addr, c.size));
            }
            Op::Bad { pick, kind, delta } => self.bad(pick, kind, delta),
        }
        if self.dead.len() > 32 {
            self.dead.drain(..16);
        }
    }

    /// A call that must be refused and change nothing.
    fn bad(&mut self, pick: u16, kind: u8, delta: u32) {
        let (pool, m) = (self.pool, self.m);
        let d = u64::from(delta);
        let live = self
            .pick_live(pick)
            .map(|i| (self.live[i].bounce, self.live[i].size, self.live[i].dir));
        let coh = self
            .pick_coh(pick)
            .map(|i| (self.coh[i].addr, self.coh[i].size, self.coh[i].block));
        let before = snapshot(pool);
        let calls = m.calls();
        let dir = DIRS[pick as usize % 3];
        let (result, sync) = match kind {
            // Unmap inside or before a mapping.
            0 | 1 => {
                let Some((b, size, dir)) = live else { return };
                let at = if kind == 0 {
                    b + 1 + d % (size as u64 + 4096)
                } else {
                    b.wrapping_sub(1 + d % 8192)
                };
                if self.is_live(at, size) {
                    return;
                }
                (pool.unmap(at, size, dir, false, m), false)
            }
            // Unmap with the wrong size.
            2 => {
                let Some((b, size, dir)) = live else { return };
                let wrong = if d % 2 == 0 || size as u64 <= d / 2 {
                    size + 1 + (d / 2) as usize % 4096
                } else {
                    size - (d / 2) as usize % size
                };
                if wrong == size {
                    return;
                }
                (pool.unmap(b, wrong, dir, d % 3 == 0, m), false)
            }
            // Unmap or free again.
            3 => {
                let Some(&(a, size)) = self.dead.get(pick as usize % self.dead.len().max(1)) else {
                    return;
                };
                if self.is_live(a, size) || self.is_coh(a, size) {
                    return;
                }
                if d % 2 == 0 {
                    (pool.unmap(a, size, dir, false, m), false)
                } else {
                    (pool.free(a, size, Block::Coherent), false)
                }
            }
            // Anywhere in and around the pool.
            4 => {
                let span = self.cfg.nslots as u64 * SLOT + 2 * PAGE;
                let a = self.cfg.base - PAGE + (d * 2654435761) % span;
                let size = 1 + (d % 5000) as usize;
                if self.is_live(a, size) || self.is_coh(a, size) {
                    return;
                }
                (
                    if d % 2 == 0 {
                        pool.unmap(a, size, dir, false, m)
                    } else {
                        pool.free(a, size, Block::Coherent)
                    },
                    false,
                )
            }
            // Coherent block to unmap, streaming mapping to free.
            5 => {
                let Some((a, size, _)) = coh else { return };
                let r = pool.unmap(a, size, dir, false, m);
                assert_eq!(r, Err(UnmapError::WrongKind));
                (r, false)
            }
            6 => {
                let Some((b, size, _)) = live else { return };
                let r = pool.free(b, size, Block::Coherent);
                assert_eq!(r, Err(UnmapError::WrongKind));
                (r, false)
            }
            // Free with a wrong size or address.
            7 => {
                let Some((a, size, block)) = coh else { return };
                let wrong = size + 1 + (d % 3000) as usize;
                let r = pool.free(a, wrong, block);
                assert_eq!(r, Err(UnmapError::SizeMismatch));
                (r, false)
            }
            8 => {
                let Some((a, size, block)) = coh else { return };
                let at = a + 1 + d % (size as u64);
                if self.is_coh(at, size) {
                    return;
                }
                (pool.free(at, size, block), false)
            }
            // Sync past the end.
            9 | 10 => {
                let Some((b, size, dir)) = live else { return };
                let off = d as usize % size;
                let len = size - off + 1 + (d as usize / size) % 100;
                let r = if kind == 9 {
                    pool.sync_for_cpu(b + off as u64, len, dir, m)
                } else {
                    pool.sync_for_device(b + off as u64, len, dir, m)
                };
                assert_eq!(r, Err(UnmapError::OutOfRange));
                (r, true)
            }
            // Sync in the padding before a mapping, or of a coherent block.
            11 => {
                if let Some((b, size, dir)) = live.filter(|l| l.0 % SLOT != 0) {
                    let pad = b % SLOT;
                    let r = pool.sync_for_cpu(b - 1 - d % pad, 1 + (d as usize % size), dir, m);
                    assert_eq!(r, Err(UnmapError::NotMapped));
                    (r, true)
                } else if let Some((a, _, Block::Coherent)) = coh {
                    let r = pool.sync_for_device(a, 1, dir, m);
                    assert_eq!(r, Err(UnmapError::WrongKind));
                    (r, true)
                } else {
                    return;
                }
            }
            // Unmap or sync with a direction the mapping was not made for.
            12 | 13 => {
                let Some((b, size, mapped)) = live else {
                    return;
                };
                let other = DIRS
                    [(DIRS.iter().position(|&x| x == mapped).unwrap() + 1 + d as usize % 2) % 3];
                if kind == 12 {
                    let r = pool.unmap(b, size, other, d % 2 == 0, m);
                    assert_eq!(r, Err(UnmapError::WrongDirection));
                    (r, false)
                } else {
                    if mapped == Direction::Bidirectional {
                        return;
                    }
                    let r = pool.sync_for_device(b, size, other, m);
                    assert_eq!(r, Err(UnmapError::WrongDirection));
                    (r, true)
                }
            }
            // Free a block as the other kind of block.
            _ => {
                let Some((a, size, block)) = coh else { return };
                let other = if block == Block::Pages {
                    Block::Coherent
                } else {
                    Block::Pages
                };
                let r = pool.free(a, size, other);
                assert_eq!(r, Err(UnmapError::WrongKind));
                (r, false)
            }
        };
        assert!(result.is_err(), "bad call accepted: kind {kind}");
        cover(7);
        assert_eq!(m.calls(), calls, "a refused call copied");
        assert!(snapshot(pool) == before, "a refused call changed the pool");
        if sync {
            self.stats.bad_syncs += 1;
        } else {
            self.stats.bad_unmaps += 1;
        }
    }

    fn check(&mut self) {
        let used = self.used();
        self.stats.used = used;
        self.stats.used_hiwater = self.stats.used_hiwater.max(used);
        if used * 4 >= self.cfg.nslots * 3 {
            cover(8);
        }
        assert_eq!(self.pool.stats(), self.stats);
        check_pool(self.pool);
        self.occupied();
    }
}

fn run_ops(cfg: PoolCfg, ops: &[Op]) {
    let pool = host_pool(cfg.base, cfg.nslots, cfg.want_areas);
    let m = Machine::new((cfg.base as usize) + cfg.nslots * SLOT_SIZE);
    let mut model = Model {
        pool: &pool,
        m: &m,
        stats: Stats {
            nslots: cfg.nslots,
            nareas: pool.nareas(),
            ..Stats::default()
        },
        cfg,
        live: Vec::new(),
        coh: Vec::new(),
        dead: Vec::new(),
    };
    for op in ops {
        model.op(op);
        model.check();
    }
    // Every mapping still holds its bytes; then unmap everything.
    for l in &model.live {
        model.check_data(l);
    }
    while let Some(l) = model.live.pop() {
        pool.unmap(l.bounce, l.size, l.dir, false, &m).unwrap();
        if l.dir != Direction::ToDevice {
            assert!(m.read(l.orig, l.size) == l.exp_bounce);
            model.stats.bytes_from_device += l.size as u64;
        }
        model.stats.unmaps += 1;
    }
    while let Some(c) = model.coh.pop() {
        pool.free(c.addr, c.size, c.block).unwrap();
        model.stats.frees += 1;
    }
    model.check();
    assert_eq!(pool.stats().used, 0);
    // Every slot is free again, in maximal runs: as a freshly made area.
    let layout = pool.layout();
    for (i, area) in pool.areas().iter().enumerate() {
        let mut fresh = AreaState::new(vec![Slot::default(); layout.area_slots(i)]);
        fresh.format(layout.area_start(i));
        assert!(area.with(|st| st.snapshot().0) == fresh.snapshot().0);
    }
}

/// What the random sequences exercised, summed over all cases.
static COVERAGE: [AtomicUsize; 9] = [const { AtomicUsize::new(0) }; 9];
const COVERAGE_NAMES: [&str; 9] = [
    "maps ok",
    "maps Full",
    "maps refused (size/address)",
    "unmaps",
    "syncs",
    "allocs ok",
    "allocs Full",
    "bad calls refused",
    "ops at >= 75% of the pool used",
];

fn cover(what: usize) {
    COVERAGE[what].fetch_add(1, Ordering::Relaxed);
}

#[test]
fn random_ops() {
    let config = ProptestConfig {
        cases: proptest_cases(),
        max_shrink_iters: 4096,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    let mut runner = proptest::test_runner::TestRunner::new(config);
    let strategy = (pool_cfg(), prop::collection::vec(op(), 1..=MAX_OPS));
    let result = runner.run(&strategy, |(cfg, ops)| {
        run_ops(cfg, &ops);
        Ok(())
    });
    eprintln!(
        "random_ops: {} cases of 1..={MAX_OPS} ops:",
        proptest_cases()
    );
    for (name, n) in COVERAGE_NAMES.iter().zip(&COVERAGE) {
        eprintln!("  {name}: {}", n.load(Ordering::Relaxed));
    }
    if let Err(e) = result {
        panic!("{e}");
    }
}
