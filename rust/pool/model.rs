// SPDX-License-Identifier: GPL-2.0

//! The pool's test bench: a simulated machine and a model of the pool that
//! random operation sequences are checked against, shared by the property
//! tests (`tests/props.rs`, sequences from proptest) and the fuzzer
//! (`fuzz/`, sequences decoded from libFuzzer's bytes by [`fuzz`]).
//!
//! After every operation the model checks the pool's answer, the bytes of
//! every live mapping, the counters, and every invariant of the slot
//! descriptors; a refused call must change nothing and copy nothing.

#![allow(dead_code)]

use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::Mutex;

use crate::pool::{locked, Heads};
use crate::*;

// ---------------------------------------------------------------------------
// The simulated machine.

/// The host's area: its descriptors and sync counts, and a mutex around
/// the rest.
pub(crate) struct HostArea {
    slots: Vec<Slot>,
    syncs: Vec<AtomicU8>,
    shared: AreaShared,
    state: Mutex<AreaState<Vec<u64>>>,
}

impl AreaLock for HostArea {
    type Bitmap = Vec<u64>;

    fn slots(&self) -> &[Slot] {
        &self.slots
    }

    fn syncs(&self) -> &[AtomicU8] {
        &self.syncs
    }

    fn shared(&self) -> &AreaShared {
        &self.shared
    }

    fn with<R>(&self, f: impl FnOnce(&mut AreaState<Vec<u64>>) -> R) -> R {
        f(&mut self.state.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

pub(crate) type HostPool = Pool<HostArea, Vec<HostArea>>;

/// A fresh area of `nslots` slots.
pub(crate) fn host_area(nslots: usize) -> HostArea {
    HostArea {
        slots: (0..nslots).map(|_| Slot::default()).collect(),
        syncs: (0..nslots).map(|_| AtomicU8::new(0)).collect(),
        shared: AreaShared::default(),
        state: Mutex::new(AreaState::new(vec![
            0;
            AreaState::<Vec<u64>>::bitmap_words(
                nslots
            )
        ])),
    }
}

pub(crate) fn host_areas(nslots: usize, want_areas: usize) -> Vec<HostArea> {
    let layout = area_layout(nslots, want_areas);
    (0..layout.nareas())
        .map(|i| host_area(layout.area_slots(i)))
        .collect()
}

/// A device that asks only for `min_align_mask` = `mask`.
pub(crate) fn masked(mask: u64) -> Constraints {
    Constraints {
        min_align_mask: mask,
        ..Constraints::NONE
    }
}

pub(crate) fn host_pool(base: u64, nslots: usize, want_areas: usize) -> HostPool {
    Pool::new(base, nslots, host_areas(nslots, want_areas)).expect("valid pool")
}

/// Physical memory: address `a` is byte `a` of `ram`. Copies panic when out
/// of range, which would be a pool bug (the pool only hands out ranges it
/// checked).
pub(crate) struct Machine {
    ram: Mutex<Vec<u8>>,
    /// Number of Copier calls.
    calls: AtomicUsize,
}

impl Machine {
    pub(crate) fn new(size: usize) -> Self {
        Self {
            ram: Mutex::new(vec![0; size]),
            calls: AtomicUsize::new(0),
        }
    }

    pub(crate) fn read(&self, addr: u64, len: usize) -> Vec<u8> {
        let a = addr as usize;
        self.ram.lock().unwrap()[a..a + len].to_vec()
    }

    pub(crate) fn write(&self, addr: u64, data: &[u8]) {
        let a = addr as usize;
        self.ram.lock().unwrap()[a..a + data.len()].copy_from_slice(data);
    }

    pub(crate) fn calls(&self) -> usize {
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
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub(crate) fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }

    pub(crate) fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

pub(crate) const SLOT: u64 = SLOT_SIZE as u64;
pub(crate) const PAGE: u64 = PAGE_SIZE as u64;

/// Every area's invariants hold.
/// [`CopyBack`] from a drawn "skip the CPU sync" flag.
pub(crate) fn copy_back(skip: bool) -> CopyBack {
    if skip {
        CopyBack::Skip
    } else {
        CopyBack::AsDirected
    }
}

pub(crate) fn check_pool(pool: &HostPool) {
    for (i, area) in pool.areas().iter().enumerate() {
        if let Err(e) = locked(area, |st| st.check()) {
            panic!("area {i}: {e}");
        }
        // Checked between calls: no sync is copying.
        if let Some(s) = Heads::of(area).counted_in() {
            panic!("area {i}, slot {s}: a sync is counted in, with none running");
        }
    }
}

/// A copier that runs `during` in the middle of its copies: another call on
/// the same mapping, made while this one is between its checks and its end.
pub(crate) struct During<'a, F: Fn()>(pub(crate) &'a Machine, pub(crate) F);

impl<F: Fn()> Copier for During<'_, F> {
    fn to_bounce(&self, orig: u64, bounce: u64, len: usize) {
        (self.1)();
        self.0.to_bounce(orig, bounce, len);
    }

    fn from_bounce(&self, bounce: u64, orig: u64, len: usize) {
        (self.1)();
        self.0.from_bounce(bounce, orig, len);
    }

    fn zero(&self, bounce: u64, len: usize) {
        self.0.zero(bounce, len);
    }
}

/// Everything but the refusal counters, for "a refused call changes nothing".
pub(crate) fn snapshot(pool: &HostPool) -> impl PartialEq + std::fmt::Debug {
    let areas = pool
        .areas()
        .iter()
        .map(|a| locked(a, |st| st.snapshot()))
        .collect::<Vec<_>>();
    let mut stats = pool.stats();
    stats.bad_unmaps = 0;
    stats.bad_syncs = 0;
    (areas, stats)
}

// ---------------------------------------------------------------------------
// Property tests: random operation sequences against a model.

pub(crate) const MAX_OPS: usize = 200;

pub(crate) const ORIG_BASE: u64 = 0x10_0000;
pub(crate) const ORIG_SIZE: u64 = 0x80_0000;
pub(crate) const POOL_BASES: [u64; 3] = [0x90_0000, 0x90_3000, 0x91_7000];
pub(crate) const MASKS: [u64; 13] = [
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
pub(crate) const DIRS: [Direction; 3] = [
    Direction::ToDevice,
    Direction::FromDevice,
    Direction::Bidirectional,
];

#[derive(Clone, Debug)]
pub(crate) struct PoolCfg {
    pub(crate) base: u64,
    pub(crate) nslots: usize,
    pub(crate) want_areas: usize,
    /// What a `FromDevice` map fills its bounce buffer with.
    pub(crate) receive: Receive,
}

#[derive(Clone, Debug)]
pub(crate) enum Op {
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
    /// A call the pool must refuse, changing nothing.
    Bad {
        pick: u16,
        call: BadCall,
        delta: u32,
    },
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
    owner: Owner,
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
    owner: Owner,
}

/// Whose the maps and allocations of the CPU `cpu` are: three owners, the
/// first two in one bucket, the third in another.
fn owner_of_cpu(cpu: u8) -> Owner {
    let owners = owners();
    owners[cpu as usize % owners.len()]
}

/// Owner 5, the next tag in its bucket, and the next tag in another.
pub(crate) fn owners() -> [Owner; 3] {
    let first = Owner::new(5);
    let tags = || (6..1 << Owner::BITS).map(Owner::new);
    let mate = tags().find(|o| o.bucket() == first.bucket()).unwrap();
    let other = tags().find(|o| o.bucket() != first.bucket()).unwrap();
    [first, mate, other]
}

/// The buckets the owners' use is counted in.
fn owner_buckets() -> [usize; 2] {
    let o = owners();
    [o[0].bucket(), o[2].bucket()]
}

struct Model<'a> {
    pool: &'a HostPool,
    m: &'a Machine,
    cfg: PoolCfg,
    live: Vec<Live>,
    coh: Vec<Coh>,
    /// Recently unmapped or freed `(address, size)`, for double unmaps.
    dead: Vec<(u64, usize)>,
    /// The block each area's cache holds: `(first slot, slots)`.
    parked: Vec<Option<(usize, usize)>>,
    /// The most slots each area had in use at once (parked blocks included).
    area_hiwater: Vec<usize>,
    /// The same for each of `owner_buckets()`, and its largest streaming
    /// request.
    bucket_hiwater: [Vec<usize>; 2],
    bucket_largest: [usize; 2],
    stats: Stats,
}

impl Model<'_> {
    /// Records a request of `size` bytes by `owner`.
    fn requested(&mut self, owner: Owner, size: usize) {
        if let Some(k) = owner_buckets().iter().position(|&b| b == owner.bucket()) {
            self.bucket_largest[k] = self.bucket_largest[k].max(size);
        }
    }

    fn used(&self) -> usize {
        self.live.iter().map(|l| l.nslots).sum::<usize>()
            + self.coh.iter().map(|c| c.nslots).sum::<usize>()
    }

    /// The slots of live mappings and blocks.
    fn occupied(&self) -> Vec<bool> {
        self.occupied_by(false)
    }

    /// The slots of live mappings and blocks, and with `parked` those of
    /// the blocks in the areas' caches.
    fn occupied_by(&self, parked: bool) -> Vec<bool> {
        let mut occ = vec![false; self.cfg.nslots];
        let cached = self.parked.iter().flatten().filter(|_| parked).copied();
        for (first, n) in self
            .live
            .iter()
            .map(|l| (l.first, l.nslots))
            .chain(self.coh.iter().map(|c| (c.first, c.nslots)))
            .chain(cached)
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
        self.feasible_by(false, n, ok)
    }

    /// What the pool does to its caches when it takes `n` slots for a map
    /// (`hit`: one that may take a parked block) from `cpu` under `ok`, and
    /// whether it takes the parked block of `cpu`'s area: that one when it
    /// is the size and fits; otherwise a search, and when the parked blocks
    /// are in the way, every one given back first.
    fn take_parked(
        &mut self,
        cpu: u8,
        hit: bool,
        n: usize,
        ok: impl Fn(u64) -> bool,
    ) -> Option<usize> {
        let area = cpu as usize & (self.parked.len() - 1);
        if hit && n <= 2 {
            if let Some((f, pn)) = self.parked[area] {
                if pn == n && ok(self.slot_addr(f)) {
                    self.parked[area] = None;
                    cover(Cover::CacheHits);
                    return Some(f);
                }
            }
        }
        if !self.feasible_by(true, n, ok) {
            self.parked.fill(None);
        }
        None
    }

    fn feasible_by(&self, parked: bool, n: usize, ok: impl Fn(u64) -> bool) -> bool {
        let occ = self.occupied_by(parked);
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
                    cover(Cover::MapsRefused);
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
                    cover(Cover::MapsRefused);
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
                let owner = owner_of_cpu(cpu);
                self.requested(owner, size);
                // One map in eight is a scatterlist's: its slots taken first
                // (`reserve_for`: nothing the device is to read copied),
                // then the original copied in by a sync of the whole.
                let reserve = seed >> 61 == 0;
                let got = if reserve {
                    pool.reserve_for(owner, cpu as usize, orig, size, dir, &c, m)
                        .inspect(|&b| {
                            if dir.device_reads() {
                                assert_eq!(m.calls(), calls, "reserve_for copied");
                                pool.sync_for_device(owner, b, size, dir, m).unwrap();
                            }
                        })
                } else {
                    pool.map_for(owner, cpu as usize, orig, size, dir, &c, m)
                };
                let rules = match rules {
                    Ok(rules) => rules,
                    Err(want) => {
                        assert_eq!(got, Err(want), "map under {c:?}");
                        assert_eq!(m.calls(), calls);
                        cover(Cover::MapsRefused);
                        return;
                    }
                };
                let hit = match got {
                    Ok(_) | Err(MapError::Full) => self.take_parked(cpu, true, n, &rules),
                    Err(_) => None,
                };
                match got {
                    Ok(bounce) => {
                        if let Some(f) = hit {
                            assert_eq!(bounce - offset, self.slot_addr(f), "the parked block");
                        }
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
                        // A receive buffer's old contents stay out of the
                        // window: its bounce buffer starts as zeros.
                        let copied = dir != Direction::FromDevice
                            || self.cfg.receive == Receive::CopyOriginal;
                        let l = Live {
                            bounce,
                            orig,
                            size,
                            dir,
                            first,
                            nslots: n,
                            owner,
                            exp_bounce: if copied { data.clone() } else { vec![0; size] },
                            exp_orig: data,
                        };
                        self.check_data(&l);
                        self.live.push(l);
                        self.stats.maps += 1;
                        cover(Cover::MapsOk);
                        if reserve {
                            cover(Cover::Reserved);
                        }
                        if copied {
                            self.stats.bytes_to_device += size as u64;
                        } else {
                            self.stats.bytes_zeroed += size as u64;
                        }
                    }
                    Err(MapError::Full) => {
                        assert!(
                            !self.feasible(n, rules),
                            "Full, but a run of {n} slots fits"
                        );
                        assert_eq!(m.calls(), calls);
                        self.stats.failed_maps += 1;
                        cover(Cover::MapsFull);
                    }
                    Err(e) => panic!("map: unexpected {e:?}"),
                }
            }
            Op::Unmap { pick, skip_sync } => {
                let Some(i) = self.pick_live(pick) else {
                    return;
                };
                let mut l = self.live.swap_remove(i);
                pool.unmap_for(l.owner, l.bounce, l.size, l.dir, copy_back(skip_sync), m)
                    .unwrap();
                // A small block goes to its area's cache, if that is empty.
                let area = self.pool.layout().locate(l.first).unwrap().0;
                if l.nslots <= 2 && self.parked[area].is_none() {
                    self.parked[area] = Some((l.first, l.nslots));
                    cover(Cover::Parked);
                }
                if l.dir != Direction::ToDevice && !skip_sync {
                    l.exp_orig = l.exp_bounce.clone();
                    self.stats.bytes_from_device += l.size as u64;
                }
                assert!(m.read(l.orig, l.size) == l.exp_orig, "original after unmap");
                self.stats.unmaps += 1;
                cover(Cover::Unmaps);
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
                    pool.sync_for_cpu(l.owner, at, len, l.dir, m).unwrap();
                    if l.dir != Direction::ToDevice && len > 0 {
                        l.exp_orig[off..off + len].copy_from_slice(&l.exp_bounce[off..off + len]);
                        self.stats.bytes_from_device += len as u64;
                        assert_eq!(m.calls(), calls + 1);
                    }
                } else {
                    pool.sync_for_device(l.owner, at, len, l.dir, m).unwrap();
                    if l.dir != Direction::FromDevice && len > 0 {
                        l.exp_bounce[off..off + len].copy_from_slice(&l.exp_orig[off..off + len]);
                        self.stats.bytes_to_device += len as u64;
                        assert_eq!(m.calls(), calls + 1);
                    }
                }
                self.check_data(&self.live[i]);
                cover(Cover::Syncs);
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
                let owner = owner_of_cpu(cpu);
                let got = pool.alloc_for(owner, cpu as usize, size, block, &c, m);
                let rules = match rules {
                    Ok(rules) => rules,
                    Err(want) => {
                        assert_eq!(got, Err(want), "alloc under {c:?}");
                        assert_eq!(m.calls(), calls);
                        return;
                    }
                };
                if matches!(got, Ok(_) | Err(MapError::Full)) {
                    self.take_parked(cpu, false, n, &rules);
                }
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
                            owner,
                        });
                        self.stats.allocs += 1;
                        cover(Cover::AllocsOk);
                    }
                    Err(MapError::Full) => {
                        assert!(!self.feasible(n, rules), "Full, but {n} slots fit");
                        self.stats.failed_allocs += 1;
                        cover(Cover::AllocsFull);
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
                    pool.sync_for_device(c.owner, at, len, dir, m).unwrap();
                } else {
                    pool.sync_for_cpu(c.owner, at, len, dir, m).unwrap();
                }
                assert_eq!(m.calls(), calls, "a sync of pages copied");
                cover(Cover::Syncs);
            }
            Op::CohWrite { pick, seed } => {
                let Some(i) = self.pick_coh(pick) else { return };
                let c = &self.coh[i];
                m.write(c.addr, &Rng(seed).bytes(c.nslots * SLOT_SIZE));
            }
            Op::Free { pick } => {
                let Some(i) = self.pick_coh(pick) else { return };
                let c = self.coh.swap_remove(i);
                pool.free_for(c.owner, c.addr, c.size, c.block).unwrap();
                self.stats.frees += 1;
                self.dead.push((c.addr, c.size));
            }
            Op::Bad { pick, call, delta } => self.bad(pick, call, delta),
        }
        if self.dead.len() > 32 {
            self.dead.drain(..16);
        }
    }

    /// A call that must be refused and change nothing.
    fn bad(&mut self, pick: u16, call: BadCall, delta: u32) {
        let (pool, m) = (self.pool, self.m);
        let d = u64::from(delta);
        let live = self
            .pick_live(pick)
            .map(|i| (self.live[i].bounce, self.live[i].size, self.live[i].dir));
        let coh = self
            .pick_coh(pick)
            .map(|i| (self.coh[i].addr, self.coh[i].size, self.coh[i].block));
        // Whose the picked mapping and block are: the calls that must fail
        // for another reason name them as their owner would.
        let live_owner = self
            .pick_live(pick)
            .map_or(Owner::NONE, |i| self.live[i].owner);
        let coh_owner = self
            .pick_coh(pick)
            .map_or(Owner::NONE, |i| self.coh[i].owner);
        let other = |o: Owner| *owners().iter().find(|&&x| x != o).expect("three owners");
        let before = snapshot(pool);
        let calls = m.calls();
        let dir = DIRS[pick as usize % 3];
        let (result, sync) = match call {
            BadCall::UnmapInside | BadCall::UnmapBefore => {
                let Some((b, size, dir)) = live else { return };
                let at = if call == BadCall::UnmapInside {
                    b + 1 + d % (size as u64 + 4096)
                } else {
                    b.wrapping_sub(1 + d % 8192)
                };
                if self.is_live(at, size) {
                    return;
                }
                (pool.unmap(at, size, dir, CopyBack::AsDirected, m), false)
            }
            BadCall::UnmapWrongSize => {
                let Some((b, size, dir)) = live else { return };
                let wrong = if d % 2 == 0 || size as u64 <= d / 2 {
                    size + 1 + (d / 2) as usize % 4096
                } else {
                    size - (d / 2) as usize % size
                };
                if wrong == size {
                    return;
                }
                (
                    pool.unmap_for(live_owner, b, wrong, dir, copy_back(d % 3 == 0), m),
                    false,
                )
            }
            BadCall::Again => {
                let Some(&(a, size)) = self.dead.get(pick as usize % self.dead.len().max(1)) else {
                    return;
                };
                if self.is_live(a, size) || self.is_coh(a, size) {
                    return;
                }
                if d % 2 == 0 {
                    (pool.unmap(a, size, dir, CopyBack::AsDirected, m), false)
                } else {
                    (pool.free(a, size, Block::Coherent), false)
                }
            }
            BadCall::Anywhere => {
                let span = self.cfg.nslots as u64 * SLOT + 2 * PAGE;
                let a = self.cfg.base - PAGE + (d * 2654435761) % span;
                let size = 1 + (d % 5000) as usize;
                if self.is_live(a, size) || self.is_coh(a, size) {
                    return;
                }
                (
                    if d % 2 == 0 {
                        pool.unmap(a, size, dir, CopyBack::AsDirected, m)
                    } else {
                        pool.free(a, size, Block::Coherent)
                    },
                    false,
                )
            }
            BadCall::UnmapBlock => {
                let Some((a, size, _)) = coh else { return };
                let r = pool.unmap(a, size, dir, CopyBack::AsDirected, m);
                assert_eq!(r, Err(UnmapError::WrongKind));
                (r, false)
            }
            BadCall::FreeMapping => {
                let Some((b, size, _)) = live else { return };
                let r = pool.free(b, size, Block::Coherent);
                assert_eq!(r, Err(UnmapError::WrongKind));
                (r, false)
            }
            BadCall::FreeWrongSize => {
                let Some((a, size, block)) = coh else { return };
                let wrong = size + 1 + (d % 3000) as usize;
                let r = pool.free_for(coh_owner, a, wrong, block);
                assert_eq!(r, Err(UnmapError::SizeMismatch));
                (r, false)
            }
            BadCall::FreeInside => {
                let Some((a, size, block)) = coh else { return };
                let at = a + 1 + d % (size as u64);
                if self.is_coh(at, size) {
                    return;
                }
                (pool.free(at, size, block), false)
            }
            BadCall::SyncCpuPastEnd | BadCall::SyncDevicePastEnd => {
                let Some((b, size, dir)) = live else { return };
                let off = d as usize % size;
                let len = size - off + 1 + (d as usize / size) % 100;
                let r = if call == BadCall::SyncCpuPastEnd {
                    pool.sync_for_cpu(live_owner, b + off as u64, len, dir, m)
                } else {
                    pool.sync_for_device(live_owner, b + off as u64, len, dir, m)
                };
                assert_eq!(r, Err(UnmapError::OutOfRange));
                (r, true)
            }
            BadCall::SyncPaddingOrCoherent => {
                if let Some((b, size, dir)) = live.filter(|l| l.0 % SLOT != 0) {
                    let pad = b % SLOT;
                    let r = pool.sync_for_cpu(
                        live_owner,
                        b - 1 - d % pad,
                        1 + (d as usize % size),
                        dir,
                        m,
                    );
                    assert_eq!(r, Err(UnmapError::NotMapped));
                    (r, true)
                } else if let Some((a, _, Block::Coherent)) = coh {
                    let r = pool.sync_for_device(coh_owner, a, 1, dir, m);
                    assert_eq!(r, Err(UnmapError::WrongKind));
                    (r, true)
                } else {
                    return;
                }
            }
            BadCall::UnmapOtherDirection | BadCall::SyncOtherDirection => {
                let Some((b, size, mapped)) = live else {
                    return;
                };
                let other = DIRS
                    [(DIRS.iter().position(|&x| x == mapped).unwrap() + 1 + d as usize % 2) % 3];
                if call == BadCall::UnmapOtherDirection {
                    let r = pool.unmap_for(live_owner, b, size, other, copy_back(d % 2 == 0), m);
                    assert_eq!(r, Err(UnmapError::WrongDirection));
                    (r, false)
                } else {
                    if mapped == Direction::Bidirectional {
                        return;
                    }
                    let r = pool.sync_for_device(live_owner, b, size, other, m);
                    assert_eq!(r, Err(UnmapError::WrongDirection));
                    (r, true)
                }
            }
            BadCall::FreeAsOtherBlock => {
                let Some((a, size, block)) = coh else { return };
                let other = if block == Block::Pages {
                    Block::Coherent
                } else {
                    Block::Pages
                };
                let r = pool.free_for(coh_owner, a, size, other);
                assert_eq!(r, Err(UnmapError::WrongKind));
                (r, false)
            }
            BadCall::UnmapOtherOwner => {
                let Some((b, size, dir)) = live else { return };
                let r = pool.unmap_for(other(live_owner), b, size, dir, CopyBack::AsDirected, m);
                assert_eq!(r, Err(UnmapError::OtherOwner));
                (r, false)
            }
            BadCall::FreeOtherOwner => {
                let Some((a, size, block)) = coh else { return };
                let r = pool.free_for(other(coh_owner), a, size, block);
                assert_eq!(r, Err(UnmapError::OtherOwner));
                (r, false)
            }
            BadCall::SyncOtherOwner => {
                let Some((b, size, dir)) = live else { return };
                let off = d as usize % size;
                let len = (d as usize / size) % (size - off + 1);
                let r = if d % 2 == 0 {
                    pool.sync_for_cpu(other(live_owner), b + off as u64, len, dir, m)
                } else {
                    pool.sync_for_device(other(live_owner), b + off as u64, len, dir, m)
                };
                assert_eq!(r, Err(UnmapError::OtherOwner));
                (r, true)
            }
        };
        assert!(result.is_err(), "bad call accepted: {call:?}");
        cover(Cover::BadCallsRefused);
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
        let layout = self.pool.layout();
        let mut per_area = vec![0; layout.nareas()];
        for (first, n) in self
            .live
            .iter()
            .map(|l| (l.first, l.nslots))
            .chain(self.coh.iter().map(|c| (c.first, c.nslots)))
        {
            per_area[layout.locate(first).unwrap().0] += n;
        }
        for (u, p) in per_area.iter_mut().zip(&self.parked) {
            *u += p.map_or(0, |p| p.1);
        }
        for (h, u) in self.area_hiwater.iter_mut().zip(per_area) {
            *h = (*h).max(u);
        }
        self.stats.used_hiwater = self.area_hiwater.iter().sum();
        for (k, bucket) in owner_buckets().iter().enumerate() {
            let mut per_area = vec![0; layout.nareas()];
            for (first, n) in self
                .live
                .iter()
                .filter(|l| l.owner.bucket() == *bucket)
                .map(|l| (l.first, l.nslots))
                .chain(
                    self.coh
                        .iter()
                        .filter(|c| c.owner.bucket() == *bucket)
                        .map(|c| (c.first, c.nslots)),
                )
            {
                per_area[layout.locate(first).unwrap().0] += n;
            }
            let hw = &mut self.bucket_hiwater[k];
            for (h, u) in hw.iter_mut().zip(&per_area) {
                *h = (*h).max(*u);
            }
            let want = Usage {
                used: per_area.iter().sum(),
                hiwater: hw.iter().sum(),
                largest: self.bucket_largest[k],
            };
            for owner in owners().iter().filter(|o| o.bucket() == *bucket) {
                assert_eq!(self.pool.usage(*owner), want, "usage of {owner:?}");
            }
        }
        if used * 4 >= self.cfg.nslots * 3 {
            cover(Cover::NearlyFull);
        }
        assert_eq!(self.pool.stats(), self.stats);
        check_pool(self.pool);
        self.occupied();
    }
}

pub(crate) fn run_ops(cfg: PoolCfg, ops: &[Op]) {
    let pool = host_pool(cfg.base, cfg.nslots, cfg.want_areas).with_receive(cfg.receive);
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
        parked: vec![None; pool.nareas()],
        area_hiwater: vec![0; pool.nareas()],
        bucket_hiwater: core::array::from_fn(|_| vec![0; pool.nareas()]),
        bucket_largest: [0; 2],
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
        pool.unmap_for(l.owner, l.bounce, l.size, l.dir, CopyBack::AsDirected, &m)
            .unwrap();
        if l.dir != Direction::ToDevice {
            assert!(m.read(l.orig, l.size) == l.exp_bounce);
            model.stats.bytes_from_device += l.size as u64;
        }
        model.stats.unmaps += 1;
        let area = pool.layout().locate(l.first).unwrap().0;
        if l.nslots <= 2 && model.parked[area].is_none() {
            model.parked[area] = Some((l.first, l.nslots));
        }
    }
    while let Some(c) = model.coh.pop() {
        pool.free_for(c.owner, c.addr, c.size, c.block).unwrap();
        model.stats.frees += 1;
    }
    model.check();
    // What the caches hold goes back to the areas.
    pool.unpark_all();
    model.parked.fill(None);
    model.check();
    assert_eq!(pool.stats().used, 0);
    // Every slot is free again, in maximal runs: as a freshly made area.
    let layout = pool.layout();
    for (i, area) in pool.areas().iter().enumerate() {
        let fresh = host_area(layout.area_slots(i));
        assert!(locked(area, |st| st.snapshot().0) == locked(&fresh, |st| st.snapshot().0));
    }
}

/// What the random sequences exercised, summed over all cases.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Cover {
    MapsOk,
    MapsFull,
    MapsRefused,
    Unmaps,
    Syncs,
    AllocsOk,
    AllocsFull,
    BadCallsRefused,
    NearlyFull,
    Parked,
    CacheHits,
    Reserved,
}

impl Cover {
    pub(crate) const ALL: [Cover; 12] = [
        Cover::MapsOk,
        Cover::MapsFull,
        Cover::MapsRefused,
        Cover::Unmaps,
        Cover::Syncs,
        Cover::AllocsOk,
        Cover::AllocsFull,
        Cover::BadCallsRefused,
        Cover::NearlyFull,
        Cover::Parked,
        Cover::CacheHits,
        Cover::Reserved,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Cover::MapsOk => "maps ok",
            Cover::MapsFull => "maps Full",
            Cover::MapsRefused => "maps refused (size, address, device limits)",
            Cover::Unmaps => "unmaps",
            Cover::Syncs => "syncs",
            Cover::AllocsOk => "allocs ok",
            Cover::AllocsFull => "allocs Full",
            Cover::BadCallsRefused => "bad calls refused",
            Cover::NearlyFull => "ops at >= 75% of the pool used",
            Cover::Parked => "small blocks parked in an area's cache",
            Cover::CacheHits => "maps that took a parked block",
            Cover::Reserved => "maps whose slots were taken before the copy (reserve_for)",
        }
    }

    /// How many times the sequences run so far got here.
    pub(crate) fn count(self) -> usize {
        COVERAGE[self as usize].load(Ordering::Relaxed)
    }
}

static COVERAGE: [AtomicUsize; Cover::ALL.len()] =
    [const { AtomicUsize::new(0) }; Cover::ALL.len()];

fn cover(what: Cover) {
    COVERAGE[what as usize].fetch_add(1, Ordering::Relaxed);
}

/// A call the pool must refuse: the model picks a live mapping or block (or
/// a dead one, or an address around the pool) and breaks one rule of the
/// DMA API with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BadCall {
    /// Unmap at an address inside a mapping.
    UnmapInside,
    /// Unmap at an address before a mapping.
    UnmapBefore,
    /// Unmap with a size other than the mapped one.
    UnmapWrongSize,
    /// Unmap or free something already unmapped or freed.
    Again,
    /// Unmap or free anywhere in and around the pool.
    Anywhere,
    /// Unmap a block from `alloc`.
    UnmapBlock,
    /// Free a streaming mapping.
    FreeMapping,
    /// Free a block with a size other than the allocated one.
    FreeWrongSize,
    /// Free at an address inside a block.
    FreeInside,
    /// Sync for the CPU past the end of a mapping.
    SyncCpuPastEnd,
    /// Sync for the device past the end of a mapping.
    SyncDevicePastEnd,
    /// Sync in the padding before a mapping, or a coherent block.
    SyncPaddingOrCoherent,
    /// Unmap with a direction the mapping was not made for.
    UnmapOtherDirection,
    /// Sync with a direction the mapping was not made for.
    SyncOtherDirection,
    /// Free a block as the other kind of block.
    FreeAsOtherBlock,
    /// Unmap a mapping as another owner (a stale unmap of its address).
    UnmapOtherOwner,
    /// Free a block as another owner.
    FreeOtherOwner,
    /// Sync part of a mapping as another owner (a stale sync of its
    /// address), either way.
    SyncOtherOwner,
}

impl BadCall {
    pub(crate) const ALL: [BadCall; 18] = [
        BadCall::UnmapInside,
        BadCall::UnmapBefore,
        BadCall::UnmapWrongSize,
        BadCall::Again,
        BadCall::Anywhere,
        BadCall::UnmapBlock,
        BadCall::FreeMapping,
        BadCall::FreeWrongSize,
        BadCall::FreeInside,
        BadCall::SyncCpuPastEnd,
        BadCall::SyncDevicePastEnd,
        BadCall::SyncPaddingOrCoherent,
        BadCall::UnmapOtherDirection,
        BadCall::SyncOtherDirection,
        BadCall::FreeAsOtherBlock,
        BadCall::UnmapOtherOwner,
        BadCall::FreeOtherOwner,
        BadCall::SyncOtherOwner,
    ];
}

/// Bytes as the fuzzer hands them, read as little-endian fields; zeros once
/// they run out.
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn take<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0; N];
        let n = N.min(self.0.len());
        out[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        out
    }
    fn u8(&mut self) -> u8 {
        self.take::<1>()[0]
    }
    fn u16(&mut self) -> u16 {
        u16::from_le_bytes(self.take())
    }
    fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.take())
    }
    fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.take())
    }
    fn bool(&mut self) -> bool {
        self.u8() & 1 != 0
    }
}

/// Decodes a pool and an operation sequence from `data` (the same shapes as
/// the property tests draw), and runs them against the model.
pub fn fuzz(data: &[u8]) {
    let mut b = Bytes(data);
    let mut cfg = PoolCfg {
        base: POOL_BASES[usize::from(b.u8()) % POOL_BASES.len()],
        nslots: 1 + usize::from(b.u16()) % 1300,
        want_areas: 0,
        receive: Receive::Zero,
    };
    // One byte for both: the corpus from before `receive` existed decodes to
    // the same area counts.
    let areas = b.u8();
    cfg.want_areas = usize::from(areas) % 9;
    if areas & 0x80 != 0 {
        cfg.receive = Receive::CopyOriginal;
    }
    let mut ops = Vec::new();
    while !b.0.is_empty() && ops.len() < MAX_OPS {
        let op = match b.u8() % 12 {
            0..=2 => Op::Map {
                class: b.u8() % 10,
                raw: b.u32(),
                dir: b.u8() % 3,
                mask: b.u8() % MASKS.len() as u8,
                cons: b.u8(),
                cpu: b.u8(),
                seed: b.u64(),
            },
            3 => Op::Unmap {
                pick: b.u16(),
                skip_sync: b.bool(),
            },
            4 => Op::DevWrite {
                pick: b.u16(),
                x: b.u32(),
                y: b.u32(),
                seed: b.u64(),
            },
            5 => Op::CpuWrite {
                pick: b.u16(),
                x: b.u32(),
                y: b.u32(),
                seed: b.u64(),
            },
            6 => Op::SyncCpu {
                pick: b.u16(),
                x: b.u32(),
                y: b.u32(),
            },
            7 => Op::SyncDev {
                pick: b.u16(),
                x: b.u32(),
                y: b.u32(),
            },
            8 => Op::Alloc {
                raw: b.u32(),
                pages: b.bool(),
                cons: b.u8(),
                cpu: b.u8(),
            },
            9 => Op::SyncPages {
                pick: b.u16(),
                x: b.u32(),
                y: b.u32(),
                for_device: b.bool(),
            },
            10 => Op::Free { pick: b.u16() },
            _ => Op::Bad {
                pick: b.u16(),
                call: BadCall::ALL[usize::from(b.u8()) % BadCall::ALL.len()],
                delta: b.u32(),
            },
        };
        ops.push(op);
    }
    run_ops(cfg, &ops);
}
