//! Throughput of the L.190 writer (checks + XML formatting), in bytes of XML per second.
//! Target: ≥ 100 MB/s. The 1,000,000-lot run with peak memory is `examples/l190_million.rs`.

#[path = "../tests/common/mod.rs"]
mod common;

use std::hint::black_box;
use std::io;

use anac::l190::{Rules, SplitOptions, write_dataset, write_split};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const LOTS: usize = 10_000;

fn bench(c: &mut Criterion) {
    let pool: Vec<_> = (0..1000).map(common::lot).collect();
    let meta = common::meta(2023);
    let mut sized = Vec::new();
    write_dataset(
        &meta,
        "https://x.example/d.xml",
        pool.iter().cycle().take(LOTS),
        &Rules::default(),
        &mut sized,
    )
    .unwrap();
    let mut g = c.benchmark_group("l190");
    g.throughput(Throughput::Bytes(sized.len() as u64));
    g.bench_function("write_dataset_10k_lots", |b| {
        b.iter(|| {
            write_dataset(
                &meta,
                "https://x.example/d.xml",
                pool.iter().cycle().take(LOTS),
                &Rules::default(),
                io::sink(),
            )
            .unwrap()
        })
    });
    let opts = SplitOptions {
        max_bytes: 512 * 1024,
        ..SplitOptions::new("https://x.example/l190")
    };
    g.bench_function("write_split_10k_lots_512KiB_files", |b| {
        b.iter(|| {
            black_box(
                write_split(
                    &meta,
                    pool.iter().cycle().take(LOTS),
                    &opts,
                    &Rules::default(),
                    |_| Ok(io::sink()),
                )
                .unwrap(),
            )
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
