// SPDX-License-Identifier: GPL-2.0

//! Property tests: random operation sequences from proptest, checked against
//! the model (`model.rs`); and the fuzzer's corpus, replayed.

use proptest::prelude::*;

use crate::model::*;
use crate::Receive;

#[test]
fn print_proptest_config() {
    eprintln!(
        "proptest random_ops: {} cases, 1..={} operations each (PROPTEST_CASES overrides)",
        proptest_cases(),
        MAX_OPS
    );
}

fn proptest_cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(512)
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
        prop_oneof![3 => Just(Receive::Zero), 1 => Just(Receive::CopyOriginal)],
    )
        .prop_map(|(b, nslots, want_areas, receive)| PoolCfg {
            base: POOL_BASES[b],
            nslots,
            want_areas,
            receive,
        })
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
        12 => (any::<u16>(), prop::sample::select(BadCall::ALL.to_vec()), any::<u32>())
            .prop_map(|(pick, call, delta)| Op::Bad { pick, call, delta }),
    ]
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
    for c in Cover::ALL {
        eprintln!("  {}: {}", c.name(), c.count());
    }
    if let Err(e) = result {
        panic!("{e}");
    }
}

/// What the fuzzer found worth keeping (`fuzz/corpus/pool/`), replayed
/// through the same model as a plain test, so that `make check` runs it
/// without a fuzzer.
#[test]
fn fuzz_corpus() {
    // Where cargo runs the test from (it sets the variable at run time too):
    // a binary cached from another checkout must not read that one's corpus.
    let root =
        std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").into());
    let dir = std::path::Path::new(&root).join("fuzz/corpus/pool");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("the fuzz corpus") {
        let path = entry.expect("a corpus entry").path();
        fuzz(&std::fs::read(&path).expect("a corpus file"));
        n += 1;
    }
    eprintln!("fuzz_corpus: {n} inputs from {} replayed", dir.display());
    assert!(n > 0, "the corpus is empty");
}
