// SPDX-License-Identifier: GPL-2.0

//! Multi-threaded tests: CPUs mapping and unmapping at once, and two unmaps
//! of one mapping racing.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Barrier;

use crate::model::*;
use crate::*;

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
                                // A receive buffer's bounce slots start
                                // as zeros, not as the original.
                                let mut expect = if dir == Direction::FromDevice {
                                    vec![0; size]
                                } else {
                                    data
                                };
                                assert_eq!(m.read(bounce, size), expect);
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
                        pool.unmap(bounce, size, dir, CopyBack::AsDirected, m)
                            .unwrap();
                        assert_eq!(m.read(orig, size), expect);
                    }
                }
                for (_, bounce, orig, size, dir, expect) in live {
                    pool.unmap(bounce, size, dir, CopyBack::AsDirected, m)
                        .unwrap();
                    assert_eq!(m.read(orig, size), expect);
                }
            });
        }
    });
    check_pool(&pool);
    pool.unpark_all();
    let s = pool.stats();
    eprintln!(
        "threads_map_unmap: {s:?}, {} Full",
        fulls.load(Ordering::Relaxed)
    );
    assert_eq!(s.used, 0);
    assert_eq!(s.maps, s.unmaps);
    assert!(s.used_hiwater > 0 && s.used_hiwater <= nslots);
}

#[test]
fn racing_double_unmap_frees_once() {
    let base = 0x10_0000;
    let pool = host_pool(base, 256, 2);
    let m = Machine::new(0x20_0000);
    // Slow copies widen the windows between an unmap's claim and its
    // release, and a sync's count in and out.
    let slow = During(&m, || {
        std::thread::sleep(std::time::Duration::from_micros(300))
    });
    let barrier = Barrier::new(3);
    let mut retried = 0;
    for i in 0..300 {
        let size = 1 + (i * 97) % 20_000;
        let dir = DIRS[i % 3];
        let b = pool.map(i, 0x1000, size, dir, &masked(0), &slow).unwrap();
        let (oks, busy) = (AtomicUsize::new(0), AtomicUsize::new(0));
        std::thread::scope(|s| {
            // Two unmaps of the same mapping and a sync race: at most one
            // unmap wins; the others see the mapping gone, or held by the
            // other unmap or by the sync (`Busy`), and leave it as it was.
            for _ in 0..2 {
                s.spawn(|| {
                    barrier.wait();
                    match pool.unmap(b, size, dir, CopyBack::AsDirected, &slow) {
                        Ok(()) => {
                            oks.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(UnmapError::Busy) => {
                            busy.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(e) => assert_eq!(e, UnmapError::NotMapped),
                    }
                });
            }
            s.spawn(|| {
                barrier.wait();
                if let Err(e) = pool.sync_for_cpu(Owner::NONE, b, size, dir, &slow) {
                    assert_eq!(e, UnmapError::NotMapped);
                }
            });
        });
        check_pool(&pool);
        match oks.load(Ordering::Relaxed) {
            1 => {}
            // Both refused: the mapping is still live, and unmaps now.
            0 => {
                assert!(busy.load(Ordering::Relaxed) > 0);
                pool.unmap(b, size, dir, CopyBack::AsDirected, &m).unwrap();
                retried += 1;
            }
            n => panic!("{n} unmaps of one mapping succeeded"),
        }
        check_pool(&pool);
    }
    pool.unpark_all();
    let s = pool.stats();
    assert_eq!((s.used, s.maps, s.unmaps), (0, 300, 300));
    assert_eq!(s.bad_unmaps, 300 + retried);
}

/// Another owner's stale unmap, repeated, never takes the mapping from its
/// owner even for a moment: the owner's syncs and its own unmap meanwhile
/// all work (a claim made before the owner check would turn them away).
#[test]
fn another_owners_stale_unmap_leaves_the_mapping_alone() {
    let base = 0x10_0000;
    let pool = host_pool(base, 64, 1);
    let m = Machine::new(0x20_0000);
    let [x, _, y] = owners();
    let (d, page) = (Direction::Bidirectional, PAGE_SIZE);
    let b = pool.map_for(y, 0, 0x1000, page, d, &masked(0), &m).unwrap();
    let stop = std::sync::atomic::AtomicBool::new(false);
    let (stale, refused) = (AtomicUsize::new(0), AtomicUsize::new(0));
    std::thread::scope(|s| {
        s.spawn(|| {
            while !stop.load(Ordering::Relaxed) {
                let r = pool.unmap_for(x, b, page, d, CopyBack::Skip, &m);
                assert!(r.is_err(), "another owner's unmap succeeded");
                stale.fetch_add(1, Ordering::Relaxed);
            }
        });
        // Until the stale unmaps have run alongside for a while (bounded,
        // should that thread die).
        let mut n = 0;
        while n < 200_000 || (stale.load(Ordering::Relaxed) < 10_000 && n < 20_000_000) {
            if pool.sync_for_cpu(y, b, 1, d, &m).is_err() {
                refused.fetch_add(1, Ordering::Relaxed);
            }
            n += 1;
        }
        stop.store(true, Ordering::Relaxed);
    });
    assert!(
        stale.load(Ordering::Relaxed) >= 10_000,
        "the stale unmaps did not run"
    );
    assert_eq!(
        refused.load(Ordering::Relaxed),
        0,
        "the owner's syncs were refused"
    );
    pool.unmap_for(y, b, page, d, CopyBack::AsDirected, &m)
        .unwrap();
    check_pool(&pool);
}

/// An area that runs `HOOK` once, on the thread that armed it, the next time
/// the pool asks for its sync counts: in a sync, between the look-up of the
/// mapping under the lock and its count-in on the mapping, which is where a
/// lock-free unmap and map can run on other CPUs.
struct Hooked(HostArea);

thread_local! {
    static ARMED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

type Hook = Box<dyn Fn() + Send + Sync>;
static HOOK: std::sync::Mutex<Option<Hook>> = std::sync::Mutex::new(None);
/// How many times the hook ran: a test whose hook never ran proves nothing.
static HOOK_RAN: AtomicUsize = AtomicUsize::new(0);

impl AreaLock for Hooked {
    type Bitmap = Vec<u64>;

    fn slots(&self) -> &[Slot] {
        self.0.slots()
    }

    fn syncs(&self) -> &[std::sync::atomic::AtomicU8] {
        if ARMED.with(|a| a.replace(false)) {
            if let Some(f) = HOOK.lock().unwrap().as_ref() {
                f();
                HOOK_RAN.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.0.syncs()
    }

    fn shared(&self) -> &AreaShared {
        self.0.shared()
    }

    fn with<R>(&self, f: impl FnOnce(&mut AreaState<Vec<u64>>) -> R) -> R {
        self.0.with(f)
    }
}

/// A driver's bug (a sync racing the unmap of its mapping) must not make the
/// pool copy between two mappings: between the sync's look-up and its
/// count-in, the mapping is unmapped on another CPU, its block parked, and a
/// map of the same kind, size and offset takes it from the area's cache, all
/// without the area's lock. The sync is refused, and copies nothing.
#[test]
fn a_sync_never_copies_for_the_next_mapping_of_its_slots() {
    let pool: &'static Pool<Hooked, Vec<Hooked>> = Box::leak(Box::new(
        Pool::new(0x10_0000, 128, vec![Hooked(host_area(128))]).unwrap(),
    ));
    let m: &'static Machine = Box::leak(Box::new(Machine::new(0x20_0000)));
    let c = Constraints::NONE;
    let d = Direction::Bidirectional;
    let page = 4096;
    // Mapping 1 of `o1`; the next mapping of its slots will be of `o2`.
    let (o1, o2) = (0x1000, 0x3000);
    m.write(o1, &[0x11; 4096]);
    m.write(o2, &[0x22; 4096]);
    for towards_device in [true, false] {
        let b1 = pool.map(0, o1, page, d, &c, m).unwrap();
        m.write(b1, &[0x33; 4096]);
        let b2 = std::sync::Arc::new(AtomicUsize::new(0));
        let seen = b2.clone();
        *HOOK.lock().unwrap() = Some(Box::new(move || {
            std::thread::scope(|s| {
                s.spawn(|| {
                    pool.unmap(b1, page, d, CopyBack::Skip, m).unwrap();
                    let b = pool.map(0, o2, page, d, &c, m).unwrap();
                    seen.store(b as usize, Ordering::Relaxed);
                });
            });
        }));
        let ran = HOOK_RAN.load(Ordering::Relaxed);
        ARMED.with(|a| a.set(true));
        let r = if towards_device {
            pool.sync_for_device(Owner::NONE, b1, page, d, m)
        } else {
            pool.sync_for_cpu(Owner::NONE, b1, page, d, m)
        };
        assert_eq!(HOOK_RAN.load(Ordering::Relaxed), ran + 1, "the hook ran");
        // The cache gave the new mapping the same slots: the case at stake.
        assert_eq!(b2.load(Ordering::Relaxed) as u64, b1);
        assert_eq!(r, Err(UnmapError::NotMapped));
        // Mapping 2's bounce buffer holds its own original, not mapping 1's;
        // mapping 1's original is untouched.
        assert_eq!(m.read(b1, page), vec![0x22; page]);
        assert_eq!(m.read(o1, page), vec![0x11; page]);
        pool.unmap(b1, page, d, CopyBack::Skip, m).unwrap();
    }
    assert_eq!(pool.stats().bad_syncs, 2);
}
