// SPDX-License-Identifier: GPL-2.0

//! Unit tests: constants, layouts, errors, alignment, refusals, copies,
//! stale bytes, a full pool, segments, the high-water mark, what each owner
//! takes.

use crate::model::*;
use crate::*;

#[test]
fn print_slot_size() {
    // A descriptor, a sync count, and one bit of each of the two bitmaps.
    let per_slot = core::mem::size_of::<Slot>() as f64 + 1.0 + 2.0 / 8.0;
    eprintln!(
        "slot metadata: {} bytes of descriptor + a byte of sync count + 2 bits of bitmaps = {per_slot} bytes per 2 KiB slot ({:.2}%)",
        core::mem::size_of::<Slot>(),
        per_slot * 100.0 / SLOT_SIZE as f64
    );
    assert!(per_slot <= 16.0);
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
    // Three 4 KiB pages: under a page, which the block layer refuses; the
    // glue refuses regions of fewer than four pages (region.rs, MIN_PAGES).
    let three = host_pool(0x10_0000, 6, 1);
    assert!(three.max_mapping_size(&masked(0)) < 4096);
    // A segment boundary: what fits in one window of it wherever the
    // mask's bits place the mapping, in whole slots. 64 KiB windows and
    // the low 12 bits kept: 0xfff of the window may go before the mapping.
    let c = Constraints {
        seg_boundary: 0xffff,
        ..masked(0xfff)
    };
    let max = big.max_mapping_size(&c);
    assert_eq!(max, 0x1_0000 - 0x1000);
    // Every original that the mask can place: the largest mapping maps,
    // inside one window; a slot more is refused, or cannot fit.
    let m = Machine::new(0x80_0000);
    for low in [0, 0x200, 0x7ff, 0x800, 0xa00, 0xfff] {
        let orig = 0x1_0000 + low;
        let b = big.map(0, orig, max, Direction::ToDevice, &c, &m).unwrap();
        assert_eq!(b & 0xfff, low);
        assert_eq!(b >> 16, (b + max as u64 - 1) >> 16, "one window");
        big.unmap(b, max, Direction::ToDevice, CopyBack::Skip, &m)
            .unwrap();
    }
    let no_boundary = masked(0xfff);
    assert_eq!(big.max_mapping_size(&no_boundary), max_mapping_size(0xfff));
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
    let four = (0..4).map(|_| host_area(64)).collect::<Vec<_>>();
    assert_eq!(
        Pool::new(0x1000, 256, four).err(),
        Some(PoolError::BadAreaCount)
    );
    // Right count, wrong sizes.
    let two = [100, 200].map(host_area);
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
        pool.unmap(b + 1, 5000, from, CopyBack::AsDirected, &m),
        Err(UnmapError::NotMapped)
    );
    assert_eq!(
        pool.unmap(b + SLOT, 5000 - 2048, from, CopyBack::AsDirected, &m),
        Err(UnmapError::NotMapped)
    );
    assert_eq!(
        pool.unmap(b, 4999, from, CopyBack::AsDirected, &m),
        Err(UnmapError::SizeMismatch)
    );
    assert_eq!(
        pool.unmap(c, 3000, to, CopyBack::AsDirected, &m),
        Err(UnmapError::WrongKind)
    );
    assert_eq!(
        pool.unmap(base - 1, 1, to, CopyBack::AsDirected, &m),
        Err(UnmapError::NotMapped)
    );
    assert_eq!(
        pool.unmap(pool.end(), 1, to, CopyBack::AsDirected, &m),
        Err(UnmapError::NotMapped)
    );
    assert_eq!(
        pool.unmap(u64::MAX, 1, to, CopyBack::AsDirected, &m),
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
        pool.sync_for_cpu(Owner::NONE, b, 5001, from, &m),
        Err(UnmapError::OutOfRange)
    );
    assert_eq!(
        pool.sync_for_cpu(Owner::NONE, b + 4999, 2, from, &m),
        Err(UnmapError::OutOfRange)
    );
    assert_eq!(
        pool.sync_for_cpu(Owner::NONE, b + 5000, 0, from, &m),
        Err(UnmapError::NotMapped)
    );
    assert_eq!(
        pool.sync_for_cpu(Owner::NONE, b - 1, 1, from, &m),
        Err(UnmapError::NotMapped)
    );
    assert_eq!(
        pool.sync_for_device(Owner::NONE, b + 10, usize::MAX, from, &m),
        Err(UnmapError::OutOfRange)
    );
    assert_eq!(
        pool.sync_for_device(Owner::NONE, c, 1, to, &m),
        Err(UnmapError::WrongKind)
    );
    // The direction must be the mapping's; a block is freed as what it is.
    assert_eq!(
        pool.unmap(b, 5000, to, CopyBack::AsDirected, &m),
        Err(UnmapError::WrongDirection)
    );
    assert_eq!(
        pool.sync_for_cpu(Owner::NONE, b, 1, Direction::Bidirectional, &m),
        Err(UnmapError::WrongDirection)
    );
    assert_eq!(pool.free(c, 3000, Block::Pages), Err(UnmapError::WrongKind));
    assert_eq!(snapshot(&pool), snap);
    assert_eq!(m.calls(), calls);
    let s = pool.stats();
    assert_eq!((s.bad_unmaps, s.bad_syncs), (13, 7));
    // Ranges inside the mapping are fine.
    pool.sync_for_cpu(Owner::NONE, b + 4999, 1, from, &m)
        .unwrap();
    pool.sync_for_cpu(Owner::NONE, b + 2500, 0, from, &m)
        .unwrap();
    pool.unmap(b, 5000, from, CopyBack::AsDirected, &m).unwrap();
    assert_eq!(
        pool.unmap(b, 5000, from, CopyBack::AsDirected, &m),
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

/// A scatterlist whose second buffer fails: the first's slots were taken
/// with `reserve_for` and are given back unfilled, so none of its bytes
/// ever entered the window; a list that maps whole is filled by a sync.
#[test]
fn reserve_copies_nothing_in() {
    let base = 0x10_0000;
    let pool = host_pool(base, 256, 1);
    let m = Machine::new(0x20_0000);
    let (orig, window) = (0x1000, 256 * SLOT_SIZE);
    let seen = |what: &str| {
        let w = m.read(base, window);
        assert!(
            w.iter().all(|&b| b != 7),
            "{what}: the window holds the original's bytes"
        );
    };
    for dir in [Direction::ToDevice, Direction::Bidirectional] {
        m.write(orig, &[7; 4096]);
        let (calls, before) = (m.calls(), pool.stats().bytes_to_device);
        let c = masked(0);
        let first = pool
            .reserve_for(Owner::NONE, 0, orig, 4096, dir, &c, &m)
            .unwrap();
        assert_eq!(m.calls(), calls, "{dir:?}: reserve_for copied");
        seen("reserved");
        let second = pool.reserve_for(Owner::NONE, 0, orig, SEGMENT_SIZE + 1, dir, &c, &m);
        assert_eq!(second, Err(MapError::TooLarge));
        pool.unmap(first, 4096, dir, CopyBack::Skip, &m).unwrap();
        seen("given back");
        assert_eq!(
            m.read(orig, 4096),
            [7; 4096],
            "{dir:?}: the original changed"
        );
        assert_eq!(
            pool.stats().bytes_to_device,
            before,
            "counted bytes never copied"
        );
        // The list maps whole: each buffer's sync copies it in.
        let b = pool
            .reserve_for(Owner::NONE, 0, orig, 4096, dir, &c, &m)
            .unwrap();
        pool.sync_for_device(Owner::NONE, b, 4096, dir, &m).unwrap();
        assert_eq!(m.read(b, 4096), [7; 4096]);
        assert_eq!(pool.stats().bytes_to_device, before + 4096);
        pool.unmap(b, 4096, dir, CopyBack::Skip, &m).unwrap();
        m.write(b, &[0; 4096]);
    }
    // A receive buffer is zeroed at once, as by `map`.
    m.write(base, &vec![9; window]);
    let b = pool
        .reserve_for(
            Owner::NONE,
            0,
            orig,
            4096,
            Direction::FromDevice,
            &masked(0),
            &m,
        )
        .unwrap();
    assert_eq!(m.read(b, 4096), [0; 4096]);
    pool.unmap(b, 4096, Direction::FromDevice, CopyBack::Skip, &m)
        .unwrap();
    check_pool(&pool);
}

#[test]
fn copies_per_direction() {
    let base = 0x10_0000;
    for receive in [Receive::Zero, Receive::CopyOriginal] {
        let pool = host_pool(base, 256, 1).with_receive(receive);
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
                // Only what the device must read enters the window.
                let zeroed = dir == Direction::FromDevice && receive == Receive::Zero;
                let first: u8 = if zeroed { 0 } else { 1 };
                assert_eq!(m.read(b, 100), [first; 100], "map of {dir:?}, {receive:?}");
                m.write(b, &[2; 60]); // the device writes part of the buffer
                m.write(orig + 90, &[3; 10]); // the CPU writes the original
                pool.sync_for_device(Owner::NONE, b + 90, 10, dir, &m)
                    .unwrap();
                let want: u8 = if dir == Direction::FromDevice {
                    first
                } else {
                    3
                };
                assert_eq!(m.read(b + 90, 10), [want; 10]);
                pool.sync_for_cpu(Owner::NONE, b + 50, 10, dir, &m).unwrap();
                let want: u8 = if dir == Direction::ToDevice { 1 } else { 2 };
                assert_eq!(m.read(orig + 50, 10), [want; 10]);
                pool.unmap(b, 100, dir, copy_back(skip), &m).unwrap();
                let back = dir != Direction::ToDevice && !skip;
                assert_eq!(m.read(orig, 50), [if back { 2 } else { 1 }; 50]);
                // Bytes the device did not write come back as the bounce
                // buffer held them: zeros, or the original's own bytes.
                assert_eq!(m.read(orig + 60, 30), [if back { first } else { 1 }; 30]);
            }
        }
    }
}

#[test]
fn receive_buffers_stay_out_of_the_window() {
    let base = 0x10_0000;
    let pool = host_pool(base, 256, 1);
    assert_eq!(pool.receive(), Receive::Zero);
    let m = Machine::new(0x20_0000);
    // A receive buffer full of a secret, as a fresh page-cache page is.
    m.write(0x1000, &[0x5e; 8192]);
    let b = pool
        .map(0, 0x1000, 8192, Direction::FromDevice, &masked(0), &m)
        .unwrap();
    assert!(m.read(base, 256 * SLOT_SIZE).iter().all(|&x| x != 0x5e));
    assert_eq!(
        pool.stats().bytes_to_device,
        0,
        "nothing went to the device"
    );
    assert_eq!(pool.stats().bytes_zeroed, 8192);
    pool.unmap(b, 8192, Direction::FromDevice, CopyBack::AsDirected, &m)
        .unwrap();
    // Unwritten by the device, it came back as zeros.
    assert_eq!(m.read(0x1000, 8192), [0; 8192]);
    // The control: the same buffer mapped for the device to read is copied.
    m.write(0x1000, &[0x5e; 8192]);
    let b = pool
        .map(0, 0x1000, 8192, Direction::ToDevice, &masked(0), &m)
        .unwrap();
    assert_eq!(m.read(b, 8192), [0x5e; 8192]);
    assert_eq!(pool.stats().bytes_to_device, 8192);
}

#[test]
fn no_stale_data() {
    let base = 0x10_0000;
    for receive in [Receive::Zero, Receive::CopyOriginal] {
        let pool = host_pool(base, 128, 1).with_receive(receive);
        let m = Machine::new(0x20_0000);
        // A first mapping leaves secret bytes in the whole pool.
        m.write(0x1000, &[0x5e; SEGMENT_SIZE]);
        let b = pool
            .map(0, 0x1000, SEGMENT_SIZE, Direction::ToDevice, &masked(0), &m)
            .unwrap();
        pool.unmap(
            b,
            SEGMENT_SIZE,
            Direction::ToDevice,
            CopyBack::AsDirected,
            &m,
        )
        .unwrap();
        for dir in [Direction::FromDevice, Direction::Bidirectional] {
            // The next mapping: the device writes only 10 bytes of it.
            m.write(0x8_0000, &[0x11; 4096]);
            let b2 = pool.map(0, 0x8_0000, 4096, dir, &masked(0), &m).unwrap();
            m.write(b2, &[0xdd; 10]);
            pool.unmap(b2, 4096, dir, CopyBack::AsDirected, &m).unwrap();
            let got = m.read(0x8_0000, 4096);
            assert_eq!(&got[..10], &[0xdd; 10]);
            let rest = if dir == Direction::FromDevice && receive == Receive::Zero {
                0
            } else {
                0x11
            };
            assert!(
                got[10..].iter().all(|&x| x == rest),
                "stale pool bytes leaked to the CPU"
            );
        }
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
    pool.unmap(freed, 4096, d, CopyBack::AsDirected, &m)
        .unwrap();
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
        pool.unmap(b, 4096, d, CopyBack::Skip, &m).unwrap();
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
        pool.unmap(b, 1, d, CopyBack::AsDirected, &m).unwrap();
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
        pool.unmap(b, SEGMENT_SIZE, d, CopyBack::AsDirected, &m)
            .unwrap();
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

/// A slot inside a mapping finds its head through the head bitmap: never a
/// head of the segment before, never a mapping that ended below it, and
/// never a slot past the end of a partial last segment.
#[test]
fn inner_slots_find_their_mapping() {
    let base = 0x10_0000;
    // Two whole segments and a partial one of 72 slots.
    let pool = host_pool(base, 328, 1);
    let m = Machine::new(0x20_0000);
    let d = Direction::Bidirectional;
    // Segment 0 ends with a mapping of 4 slots (124..128); segment 1 starts
    // with 2 free slots, then a mapping of 4 slots (130..134).
    let fill = pool
        .map(0, 0x1000, 124 * SLOT_SIZE, d, &masked(0), &m)
        .unwrap();
    let last = pool
        .map(0, 0x1000, 4 * SLOT_SIZE, d, &masked(0), &m)
        .unwrap();
    let pad = pool
        .map(0, 0x1000, 2 * SLOT_SIZE, d, &masked(0), &m)
        .unwrap();
    let inner = pool
        .map(0, 0x3000, 4 * SLOT_SIZE, d, &masked(0), &m)
        .unwrap();
    assert_eq!(
        (last, pad, inner),
        (base + 124 * SLOT, base + 128 * SLOT, base + 130 * SLOT)
    );
    pool.unmap(pad, 2 * SLOT_SIZE, d, CopyBack::Skip, &m)
        .unwrap();
    // Every slot of `inner` finds it, to its last byte.
    for k in 0..4 {
        let at = inner + k * SLOT + 100;
        assert_eq!(
            pool.sync_for_cpu(Owner::NONE, at, 16, d, &m),
            Ok(()),
            "slot {k} of inner"
        );
    }
    // The two free slots at the start of segment 1 belong to nothing, not to
    // the mapping that ends segment 0.
    for k in 128..130 {
        assert_eq!(
            pool.sync_for_cpu(Owner::NONE, base + k * SLOT, 16, d, &m),
            Err(UnmapError::NotMapped),
            "free slot {k}"
        );
    }
    // Past the end of `inner`, and past the end of the pool.
    assert_eq!(
        pool.sync_for_cpu(Owner::NONE, inner + 4 * SLOT, 1, d, &m),
        Err(UnmapError::NotMapped)
    );
    assert_eq!(
        pool.sync_for_cpu(Owner::NONE, base + 328 * SLOT, 1, d, &m),
        Err(UnmapError::NotMapped)
    );
    // The rest of segment 1, then the partial last segment, whole.
    let rest = pool
        .map(0, 0x1000, 122 * SLOT_SIZE, d, &masked(0), &m)
        .unwrap();
    assert_eq!(rest, base + 134 * SLOT);
    assert_eq!(
        pool.map(0, 0x1000, 73 * SLOT_SIZE, d, &masked(0), &m),
        Err(MapError::Full)
    );
    let tail = pool
        .map(0, 0x1000, 72 * SLOT_SIZE, d, &masked(0), &m)
        .unwrap();
    assert_eq!(tail, base + 256 * SLOT);
    check_pool(&pool);
    for (b, n) in [(fill, 124), (last, 4), (inner, 4), (rest, 122), (tail, 72)] {
        pool.unmap(b, n * SLOT_SIZE, d, CopyBack::AsDirected, &m)
            .unwrap();
    }
    check_pool(&pool);
}

#[test]
fn hiwater_sums_areas() {
    let pool = host_pool(0x10_0000, 512, 4);
    let m = Machine::new(0x30_0000);
    let d = Direction::ToDevice;
    // Areas peak at different times: the pool-wide peak is 3 slots, and the
    // sum of per-area peaks (2 + 2 + 1), the pool's mark, says 5: an upper
    // bound. (`a`'s block stays parked in area 0's cache, counted in its
    // mark.)
    let a = pool
        .map(0, 0x1000, 2 * SLOT_SIZE, d, &masked(0), &m)
        .unwrap();
    pool.unmap(a, 2 * SLOT_SIZE, d, CopyBack::AsDirected, &m)
        .unwrap();
    let b = pool
        .map(1, 0x1000, 2 * SLOT_SIZE, d, &masked(0), &m)
        .unwrap();
    let c = pool.map(2, 0x1000, 1, d, &masked(0), &m).unwrap();
    let s = pool.stats();
    assert_eq!((s.used, s.used_hiwater), (3, 5));
    pool.unmap(b, 2 * SLOT_SIZE, d, CopyBack::AsDirected, &m)
        .unwrap();
    pool.unmap(c, 1, d, CopyBack::AsDirected, &m).unwrap();
    assert_eq!(pool.stats().used_hiwater, 5);
}

#[test]
fn owners_are_counted_until_their_last_block_goes() {
    let pool = host_pool(0x10_0000, 1024, 2);
    let m = Machine::new(0x30_0000);
    let (a, b) = (Owner::new(7), Owner::new(0xabc));
    let d = Direction::Bidirectional;
    let c = masked(0);
    let s1 = pool.map_for(a, 0, 0x1000, 3000, d, &c, &m).unwrap();
    let s2 = pool.map_for(a, 1, 0x3000, 100, d, &c, &m).unwrap();
    let blk = pool
        .alloc_for(a, 0, 16384, Block::Coherent, &c, &m)
        .unwrap();
    let other = pool.alloc_for(b, 1, 4096, Block::Coherent, &c, &m).unwrap();
    let anon = pool.map(0, 0x5000, 10, d, &c, &m).unwrap();
    assert_eq!(pool.held_by(a), 3);
    assert_eq!(pool.held_by(b), 1);
    assert_eq!(pool.held_by(Owner::NONE), 1);
    // 3000 and 100 bytes take 2 and 1 slots, 16 KiB 8.
    let (ha, hb) = (pool.held(a), pool.held(b));
    assert_eq!((ha.blocks, ha.slots, hb.blocks, hb.slots), (3, 11, 1, 2));
    // The owner shares the head's word with the original address: the
    // copy back must still find the original.
    m.write(s1, &[0x5a; 3000]);
    pool.unmap_for(a, s1, 3000, d, CopyBack::AsDirected, &m)
        .unwrap();
    assert_eq!(m.read(0x1000, 3000), vec![0x5a; 3000]);
    pool.unmap_for(a, s2, 100, d, CopyBack::AsDirected, &m)
        .unwrap();
    assert_eq!(pool.held_by(a), 1);
    // Another owner's free of it is refused, and changes nothing.
    assert_eq!(
        pool.free_for(b, blk, 16384, Block::Coherent),
        Err(UnmapError::OtherOwner)
    );
    assert_eq!(pool.held_by(a), 1);
    pool.free_for(a, blk, 16384, Block::Coherent).unwrap();
    assert_eq!(pool.held_by(a), 0);
    assert_eq!(pool.held_by(b), 1);
    pool.free_for(b, other, 4096, Block::Coherent).unwrap();
    pool.unmap(anon, 10, d, CopyBack::Skip, &m).unwrap();
    assert_eq!(pool.held_by(b) + pool.held_by(Owner::NONE), 0);
    check_pool(&pool);
}

#[test]
fn owner_tags_and_address_bits() {
    assert_eq!(Owner::BITS + ORIG_BITS, 64);
    assert_eq!(Owner::new(0xffff).get(), (1 << Owner::BITS) - 1);
    let pool = host_pool(0x10_0000, 256, 1);
    let m = Machine::new(0x20_0000);
    let d = Direction::ToDevice;
    // An original whose last byte has more than 52 bits is no physical
    // address: refused before anything is taken.
    let top = 1u64 << ORIG_BITS;
    assert_eq!(
        pool.map(0, top - 2, 4, d, &masked(0), &m),
        Err(MapError::Invalid)
    );
    assert_eq!(
        pool.map(0, top, 1, d, &masked(0), &m),
        Err(MapError::Invalid)
    );
    assert_eq!(pool.stats().used, 0);
    assert_eq!(m.calls(), 0);
}

#[test]
fn each_owner_bucket_has_its_use_counted() {
    let pool = host_pool(0x10_0000, 1024, 2);
    let m = Machine::new(0x30_0000);
    let d = Direction::Bidirectional;
    let c = masked(0);
    let usage = |o: Owner| {
        let u = pool.usage(o);
        (u.used, u.hiwater, u.largest)
    };
    // Two owners whose tags share a bucket, and one in another.
    let [a, b, other] = owners();
    assert!(a.bucket() == b.bucket() && a.bucket() != other.bucket());
    // Tags of devices side by side differ in their high bits: they land in
    // buckets apart.
    let side_by_side: Vec<usize> = (0..16).map(|k| Owner::new(k << 8 | 7).bucket()).collect();
    assert!(side_by_side
        .iter()
        .all(|b| side_by_side.iter().filter(|c| *c == b).count() == 1));
    assert_eq!(usage(a), (0, 0, 0));
    // 3000 bytes (2 slots) in area 0, 100 (1) in area 1, 16 KiB (8) in area
    // 0, and a request no region can hold, which still counts as the
    // largest.
    let s1 = pool.map_for(a, 0, 0x1000, 3000, d, &c, &m).unwrap();
    let s2 = pool.map_for(a, 1, 0x3000, 100, d, &c, &m).unwrap();
    let blk = pool
        .alloc_for(a, 0, 16384, Block::Coherent, &c, &m)
        .unwrap();
    assert_eq!(
        pool.map_for(a, 0, 0x1000, SEGMENT_SIZE + 1, d, &c, &m),
        Err(MapError::TooLarge)
    );
    assert_eq!(usage(a), (11, 11, SEGMENT_SIZE + 1));
    assert_eq!(usage(other), (0, 0, 0));
    pool.unmap_for(a, s2, 100, d, CopyBack::AsDirected, &m)
        .unwrap();
    pool.free_for(a, blk, 16384, Block::Coherent).unwrap();
    assert_eq!(usage(a), (2, 11, SEGMENT_SIZE + 1));
    // Restarted (its driver probes again): the mark starts at what it
    // holds, the largest request at 0.
    pool.restart_usage(a);
    assert_eq!(usage(a), (2, 2, 0));
    // An owner whose tag shares the bucket is counted with it; another
    // bucket apart.
    let s3 = pool.map_for(b, 1, 0x5000, 4096, d, &c, &m).unwrap();
    let s4 = pool.map_for(other, 0, 0x7000, 1, d, &c, &m).unwrap();
    assert_eq!(usage(a), (4, 4, 4096));
    assert_eq!(usage(b), usage(a));
    assert_eq!(usage(other), (1, 1, 1));
    // A refused unmap changes nothing.
    assert!(pool.unmap_for(b, s3, 4095, d, CopyBack::Skip, &m).is_err());
    assert_eq!(usage(a), (4, 4, 4096));
    pool.unmap_for(a, s1, 3000, d, CopyBack::Skip, &m).unwrap();
    pool.unmap_for(b, s3, 4096, d, CopyBack::Skip, &m).unwrap();
    pool.unmap_for(other, s4, 1, d, CopyBack::Skip, &m).unwrap();
    assert_eq!((usage(a), usage(other)), ((0, 4, 4096), (0, 1, 1)));
    check_pool(&pool);
}

#[test]
fn an_unmap_while_a_sync_copies_is_refused() {
    // A driver that unmaps while another of its threads syncs the mapping
    // breaks the DMA API; the pool must not free slots the sync still copies
    // into, or the copy would land in whatever mapping takes them next.
    let base = 0x10_0000;
    let pool = host_pool(base, 128, 1);
    let m = Machine::new(base as usize + 128 * SLOT_SIZE);
    let dir = Direction::Bidirectional;
    let b = pool.map(0, 0x1000, 4096, dir, &masked(0), &m).unwrap();
    let during = |unmap: &dyn Fn() -> Result<(), UnmapError>| {
        // The mapping stays whole while the sync copies.
        assert_eq!(unmap(), Err(UnmapError::Busy));
        pool.unpark_all();
        assert_eq!(pool.stats().used, 2);
        let other = pool.map(0, 0x8000, 4096, dir, &masked(0), &m).unwrap();
        assert_ne!(other, b);
        pool.unmap(other, 4096, dir, CopyBack::AsDirected, &m)
            .unwrap();
    };
    let unmap = || pool.unmap(b, 4096, dir, CopyBack::AsDirected, &m);
    let skip = || pool.unmap(b, 4096, dir, CopyBack::Skip, &m);
    pool.sync_for_device(Owner::NONE, b, 4096, dir, &During(&m, || during(&unmap)))
        .unwrap();
    pool.sync_for_cpu(Owner::NONE, b, 100, dir, &During(&m, || during(&skip)))
        .unwrap();
    // Counted out: the unmap goes through now.
    assert_eq!(pool.stats().bad_unmaps, 2);
    check_pool(&pool);
    unmap().unwrap();
    pool.unpark_all();
    assert_eq!(pool.stats().used, 0);
    check_pool(&pool);
}

#[test]
fn a_sync_or_unmap_while_an_unmap_copies_back_is_refused() {
    let base = 0x10_0000;
    let pool = host_pool(base, 128, 1);
    let m = Machine::new(base as usize + 128 * SLOT_SIZE);
    let dir = Direction::FromDevice;
    let b = pool.map(0, 0x1000, 3000, dir, &masked(0), &m).unwrap();
    let during = || {
        // Claimed by the unmap: no longer live for anyone else, not freed
        // before its copy is done.
        assert_eq!(
            pool.sync_for_cpu(Owner::NONE, b, 3000, dir, &m),
            Err(UnmapError::NotMapped)
        );
        assert_eq!(
            pool.unmap(b, 3000, dir, CopyBack::AsDirected, &m),
            Err(UnmapError::NotMapped)
        );
        assert_eq!(pool.stats().used, 2);
    };
    pool.unmap(b, 3000, dir, CopyBack::AsDirected, &During(&m, during))
        .unwrap();
    pool.unpark_all();
    let s = pool.stats();
    assert_eq!((s.used, s.unmaps, s.bad_unmaps, s.bad_syncs), (0, 1, 1, 1));
    check_pool(&pool);
}

#[test]
fn the_cache_hands_a_parked_block_out_once() {
    let base = 0x10_0000;
    let pool = host_pool(base, 256, 1);
    let m = Machine::new(base as usize + 256 * SLOT_SIZE);
    let (d, page) = (Direction::ToDevice, PAGE_SIZE);
    let map = |orig| pool.map(0, orig, page, d, &masked(0), &m).unwrap();
    let unmap = |b| pool.unmap(b, page, d, CopyBack::AsDirected, &m).unwrap();
    // An unmap parks its page; the next map of a page takes it, and only
    // that one.
    let a = map(0x1000);
    unmap(a);
    let b = map(0x2000);
    assert_eq!(b, a);
    let c = map(0x3000);
    assert_ne!(c, a);
    unmap(b);
    unmap(c);
    check_pool(&pool);
    // Four CPUs of one area map at once, with a page parked: each block to
    // one map.
    let barrier = std::sync::Barrier::new(4);
    for round in 0..200u64 {
        unmap(map(0x1000));
        let got: Vec<u64> = std::thread::scope(|s| {
            let hs: Vec<_> = (0..4u64)
                .map(|t| {
                    let (barrier, map) = (&barrier, &map);
                    s.spawn(move || {
                        barrier.wait();
                        map(0x10000 + (round % 8 + t) * 0x1000)
                    })
                })
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let mut sorted = got.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(
            sorted.len(),
            got.len(),
            "a block handed out twice: {got:x?}"
        );
        assert_eq!(pool.stats().used, 8);
        check_pool(&pool);
        got.into_iter().for_each(unmap);
    }
}

#[test]
fn a_parked_block_is_nobodys() {
    let base = 0x10_0000;
    let pool = host_pool(base, 128, 1);
    let m = Machine::new(base as usize + 128 * SLOT_SIZE);
    let (d, page) = (Direction::FromDevice, PAGE_SIZE);
    let [x, _, y] = owners();
    // A device's last unmap (a late one: its driver gone) parks its page.
    // The device then holds nothing, so its region lets it go; the page is
    // counted for nobody until a map takes it, for its own device.
    let a = pool.map_for(x, 0, 0x1000, page, d, &masked(0), &m).unwrap();
    assert_eq!((pool.held_by(x), pool.usage(x).used), (1, 2));
    pool.unmap_for(x, a, page, d, CopyBack::AsDirected, &m)
        .unwrap();
    assert_eq!((pool.held_by(x), pool.usage(x).used), (0, 0));
    assert_eq!(pool.stats().used, 0);
    let b = pool.map_for(y, 0, 0x2000, page, d, &masked(0), &m).unwrap();
    assert_eq!(b, a);
    assert_eq!((pool.held_by(x), pool.usage(x).used), (0, 0));
    assert_eq!((pool.held_by(y), pool.usage(y).used), (1, 2));
    // Zeroed for its new receive buffer, like any other.
    assert!(m.read(b, page).iter().all(|&v| v == 0));
    // The old device's stale unmap of the address (a double unmap, a late
    // one of a mapping it unmapped already) is refused: the mapping is y's,
    // and stays so, counted and unmapped by y alone.
    m.write(0x1000, &[0x77; 4096]);
    assert_eq!(
        pool.unmap_for(x, a, page, d, CopyBack::AsDirected, &m),
        Err(UnmapError::OtherOwner)
    );
    assert_eq!(
        m.read(0x1000, page),
        vec![0x77; page],
        "nothing copied back"
    );
    // So is its stale sync, either way: neither y's bytes into x's old
    // original, nor (the other way) over what y's device wrote.
    m.write(b, &[0x5a; 4096]);
    for for_cpu in [true, false] {
        let r = if for_cpu {
            pool.sync_for_cpu(x, a + 8, 100, d, &m)
        } else {
            pool.sync_for_device(x, a, page, d, &m)
        };
        assert_eq!(r, Err(UnmapError::OtherOwner));
    }
    assert_eq!(m.read(0x1000, page), vec![0x77; page], "nothing synced");
    assert_eq!(m.read(b, page), vec![0x5a; page]);
    pool.sync_for_cpu(y, b + 8, 100, d, &m).unwrap();
    assert_eq!((pool.held_by(y), pool.usage(y).used), (1, 2));
    // A syncing or unmapping driver that kept the old address finds nothing.
    pool.unmap_for(y, b, page, d, CopyBack::AsDirected, &m)
        .unwrap();
    assert_eq!(
        pool.sync_for_cpu(Owner::NONE, a, page, d, &m),
        Err(UnmapError::NotMapped)
    );
    assert_eq!(
        pool.unmap_for(x, a, page, d, CopyBack::AsDirected, &m),
        Err(UnmapError::NotMapped)
    );
    check_pool(&pool);
}

#[test]
fn a_parked_block_never_makes_a_map_fail() {
    // Eight slots, a mapping at most two: four pages fill the pool. One
    // unmapped page stays parked; a one-slot map, which the parked page does
    // not fit, gets it back from the cache rather than fail.
    let base = 0x10_0000;
    let pool = host_pool(base, 8, 1);
    let m = Machine::new(base as usize + 8 * SLOT_SIZE);
    let d = Direction::ToDevice;
    let pages: Vec<u64> = (0..4)
        .map(|i| {
            pool.map(0, 0x1000 * (i + 1), PAGE_SIZE, d, &masked(0), &m)
                .unwrap()
        })
        .collect();
    assert_eq!(
        pool.map(0, 0x8000, 1, d, &masked(0), &m),
        Err(MapError::Full)
    );
    pool.unmap(pages[0], PAGE_SIZE, d, CopyBack::AsDirected, &m)
        .unwrap();
    let one = pool.map(0, 0x8000, 1, d, &masked(0), &m).unwrap();
    assert_eq!(one, pages[0]);
    let two = pool.map(0, 0x9000, 1, d, &masked(0), &m).unwrap();
    assert_eq!(two, pages[0] + SLOT_SIZE as u64);
    assert_eq!(pool.stats().used, 8);
    check_pool(&pool);
}
