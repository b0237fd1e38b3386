//! Streaming seal throughput: 256 MiB pushed through a `Sealer` in 64 KiB slices, and the same
//! through an `Opener`. Run with `cargo bench -p sealing`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use sealing::{
    ContextId, EnvelopeContext, EnvelopeKind, ItemId, Kek, Keyring, LotOpeningState, Opener, Sealer,
};
use std::hint::black_box;

const TOTAL: usize = 256 * 1024 * 1024;
const SLICE: usize = 64 * 1024;

fn ctx() -> EnvelopeContext {
    EnvelopeContext {
        tender: "t-bench".parse().unwrap(),
        lot: "l1".parse().unwrap(),
        bid: "b1".parse().unwrap(),
        kind: EnvelopeKind::Technical,
        version: 1,
    }
}

fn bench(c: &mut Criterion) {
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let ring = Keyring::new(Kek::from_bytes("k1".parse().unwrap(), [9; 32]), vec![]).unwrap();
    let (wrapped, key) = ring.new_envelope_key(&ctx(), &mut rng);
    let item = ItemId::File(ContextId::parse_field("file", "doc-1").unwrap());
    let slice: Vec<u8> = (0..SLICE).map(|i| (i * 31 % 251) as u8).collect();

    let mut g = c.benchmark_group("seal_stream_256MiB");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(TOTAL as u64));
    g.bench_function("seal_64KiB_slices", |b| {
        b.iter(|| {
            let mut sealer = Sealer::new(&key, &item, &mut rng);
            let mut out = Vec::with_capacity(2 * sealing::SEALED_CHUNK_LEN);
            let mut sealed = 0usize;
            for _ in 0..TOTAL / SLICE {
                sealer.update_into(black_box(&slice), &mut out).unwrap();
                sealed += out.len(); // a service would write `out` to the store here
                out.clear();
            }
            let (tail, summary) = sealer.finish().unwrap();
            black_box((sealed + tail.len(), summary))
        })
    });

    // Seal once, then measure opening.
    let mut sealer = Sealer::new(&key, &item, &mut rng);
    let mut sealed = Vec::with_capacity(sealing::sealed_len(TOTAL as u64) as usize);
    for _ in 0..TOTAL / SLICE {
        sealer.update_into(&slice, &mut sealed).unwrap();
    }
    let (tail, summary) = sealer.finish().unwrap();
    sealed.extend_from_slice(&tail);
    let lot = LotOpeningState {
        criterion: sealing::AwardCriterion::QualityPrice,
        sequence: sealing::OpeningSequence::Standard,
        status: sealing::LotStatus::Active,
        deadline: chrono::DateTime::UNIX_EPOCH,
        milestones: sealing::Milestones {
            opening_session_started: true,
            admission_decided: true,
            technical_scores_frozen: false,
            economic_ranking_done: false,
        },
    };
    let bid = sealing::BidOpeningState {
        standing: sealing::BidStanding::Current,
        admission: sealing::Admission::Admitted,
    };
    let permit =
        sealing::authorize_opening(&ctx(), &lot, &bid, chrono::DateTime::UNIX_EPOCH).unwrap();
    let okey = ring.opening_key(&wrapped, &permit).unwrap();
    g.bench_function("open_64KiB_slices", |b| {
        b.iter(|| {
            let mut opener = Opener::new(&okey, &item);
            let mut out = Vec::with_capacity(2 * sealing::SEALED_CHUNK_LEN);
            for part in sealed.chunks(SLICE) {
                opener.update_into(black_box(part), &mut out).unwrap();
                out.clear();
            }
            black_box(opener.finish_verified(&summary).unwrap())
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
