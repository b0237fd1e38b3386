//! Envelope encryption, streaming, tampering, binding, KEK rotation and the opening rule.

use chrono::{DateTime, Duration, TimeZone, Utc};
use proptest::prelude::*;
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use sealing::*;

const MARKER: &[u8] = b"RIBASSO-SEGRETO-12.345%";

fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

fn id(s: &str) -> ContextId {
    s.parse().unwrap()
}

fn ctx(kind: EnvelopeKind) -> EnvelopeContext {
    EnvelopeContext {
        tender: id("T-2026-001"),
        lot: id("L1"),
        bid: id("B-42"),
        kind,
        version: 1,
    }
}

fn ring() -> Keyring {
    Keyring::new(
        Kek::from_bytes("kek-2026".parse().unwrap(), [7; 32]),
        vec![],
    )
    .unwrap()
}

fn deadline() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 30, 12, 0, 0).unwrap()
}

/// A lot where everything may be opened (quality-price, all milestones reached).
fn lot_all_open() -> LotOpeningState {
    LotOpeningState {
        criterion: AwardCriterion::QualityPrice,
        sequence: OpeningSequence::Standard,
        status: LotStatus::Active,
        deadline: deadline(),
        milestones: Milestones {
            opening_session_started: true,
            admission_decided: true,
            technical_scores_frozen: true,
            economic_ranking_done: true,
        },
    }
}

fn admitted() -> BidOpeningState {
    BidOpeningState {
        standing: BidStanding::Current,
        admission: Admission::Admitted,
    }
}

fn after() -> DateTime<Utc> {
    deadline() + Duration::days(3)
}

fn opening_key(
    ring: &Keyring,
    wrapped: &WrappedKey,
    ctx: &EnvelopeContext,
) -> Result<OpeningKey, KeyError> {
    let permit = authorize_opening(ctx, &lot_all_open(), &admitted(), after()).unwrap();
    ring.opening_key(wrapped, &permit)
}

fn file(name: &str) -> ItemId {
    ItemId::File(id(name))
}

/// Seals `data` pushing it in slices of the given sizes (cycled).
fn seal_in_slices(
    key: &SealingKey,
    item: &ItemId,
    data: &[u8],
    slices: &[usize],
    seed: u64,
) -> (Vec<u8>, SealedSummary) {
    let mut sealer = Sealer::new(key, item, &mut rng(seed));
    let mut out = Vec::new();
    let mut pos = 0;
    let mut i = 0;
    while pos < data.len() {
        let n = slices[i % slices.len()].max(1).min(data.len() - pos);
        out.extend(sealer.update(&data[pos..pos + n]).unwrap());
        pos += n;
        i += 1;
    }
    let (tail, summary) = sealer.finish().unwrap();
    out.extend(tail);
    (out, summary)
}

fn open_in_slices(
    key: &OpeningKey,
    item: &ItemId,
    sealed: &[u8],
    slice: usize,
) -> Result<(Vec<u8>, Sha256Digest), OpenError> {
    let mut opener = Opener::new(key, item);
    let mut out = Vec::new();
    for part in sealed.chunks(slice.max(1)) {
        out.extend(opener.update(part)?);
    }
    let (tail, digest, len) = opener.finish()?;
    out.extend(tail);
    assert_eq!(len, out.len() as u64);
    Ok((out, digest))
}

fn data(len: usize) -> Vec<u8> {
    let mut v: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
    if len > MARKER.len() + 10 {
        v[5..5 + MARKER.len()].copy_from_slice(MARKER);
    }
    v
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn round_trip_at_chunk_boundaries_with_digest_and_exact_length() {
    let ring = ring();
    let c = ctx(EnvelopeKind::Technical);
    let (wrapped, skey) = ring.new_envelope_key(&c, &mut rng(1));
    let okey = opening_key(&ring, &wrapped, &c).unwrap();
    for len in [
        0,
        1,
        CHUNK_LEN - 1,
        CHUNK_LEN,
        CHUNK_LEN + 1,
        2 * CHUNK_LEN,
        3 * CHUNK_LEN + 17,
    ] {
        let plain = data(len);
        let (sealed, summary) =
            seal_bytes(&skey, &file("f1"), &plain, &mut rng(len as u64)).unwrap();
        assert_eq!(summary.plaintext_len, len as u64);
        assert_eq!(summary.plaintext_sha256, Sha256Digest::of(&plain));
        assert_eq!(summary.sealed_len, sealed.len() as u64, "len {len}");
        assert_eq!(sealed_len(len as u64), sealed.len() as u64, "len {len}");
        let (opened, digest) = open_bytes(&okey, &file("f1"), &sealed).unwrap();
        assert_eq!(opened, plain, "len {len}");
        assert_eq!(digest, summary.plaintext_sha256);
    }
}

#[test]
fn the_marker_never_appears_in_sealed_output_nor_in_the_wrapped_key() {
    let ring = ring();
    let c = ctx(EnvelopeKind::Economic);
    let (wrapped, skey) = ring.new_envelope_key(&c, &mut rng(2));
    let plain = data(3 * CHUNK_LEN);
    assert!(contains(&plain, MARKER));
    let (sealed, _) = seal_bytes(&skey, &file("offer.pdf"), &plain, &mut rng(3)).unwrap();
    assert!(!contains(&sealed, MARKER));
    let manifest = EnvelopeManifest {
        data: serde_json::json!({ "ribasso": String::from_utf8_lossy(MARKER) }),
        files: vec![EnvelopeManifest::file_entry(
            id("offer.pdf"),
            "offerta-economica.pdf",
            "application/pdf",
            &seal_bytes(&skey, &file("x"), b"y", &mut rng(4)).unwrap().1,
        )],
    };
    let sealed_manifest = seal_manifest(&skey, &manifest, &mut rng(5)).unwrap();
    assert!(!contains(&sealed_manifest.0, MARKER));
    assert!(!contains(&sealed_manifest.0, b"offerta-economica"));
    assert!(!contains(wrapped.to_text().as_bytes(), MARKER));
    // ...and it is all there once opened.
    let okey = opening_key(&ring, &wrapped, &c).unwrap();
    assert_eq!(open_manifest(&okey, &sealed_manifest.0).unwrap(), manifest);
}

#[test]
fn sealing_twice_gives_different_ciphertexts() {
    let ring = ring();
    let c = ctx(EnvelopeKind::Economic);
    let (_, skey) = ring.new_envelope_key(&c, &mut rng(2));
    let a = seal_bytes(&skey, &file("f"), b"same", &mut rng(10))
        .unwrap()
        .0;
    let b = seal_bytes(&skey, &file("f"), b"same", &mut rng(11))
        .unwrap()
        .0;
    assert_ne!(a, b);
}

struct Fixture {
    okey: OpeningKey,
    sealed: Vec<u8>,
    summary: SealedSummary,
    plain: Vec<u8>,
}

fn fixture(len: usize) -> Fixture {
    let ring = ring();
    let c = ctx(EnvelopeKind::Technical);
    let (wrapped, skey) = ring.new_envelope_key(&c, &mut rng(20));
    let plain = data(len);
    let (sealed, summary) = seal_bytes(&skey, &file("f1"), &plain, &mut rng(21)).unwrap();
    Fixture {
        okey: opening_key(&ring, &wrapped, &c).unwrap(),
        sealed,
        summary,
        plain,
    }
}

#[test]
fn any_flipped_bit_in_header_body_or_tag_is_detected() {
    let f = fixture(2 * CHUNK_LEN + 100);
    let positions = [
        0,                                    // magic
        4,                                    // format version
        HEADER_LEN - 1,                       // nonce prefix
        HEADER_LEN,                           // first chunk body
        HEADER_LEN + CHUNK_LEN + 3,           // first chunk tag
        HEADER_LEN + SEALED_CHUNK_LEN + 1000, // second chunk body
        f.sealed.len() - 1,                   // last tag
    ];
    for p in positions {
        let mut bad = f.sealed.clone();
        bad[p] ^= 0x01;
        let err = open_bytes(&f.okey, &file("f1"), &bad).unwrap_err();
        assert!(
            matches!(
                err,
                OpenError::ChunkAuthentication { .. }
                    | OpenError::BadMagic
                    | OpenError::UnsupportedVersion(_)
            ),
            "pos {p}: {err:?}"
        );
    }
}

#[test]
fn swapped_chunks_are_detected_and_the_opener_stays_poisoned() {
    let f = fixture(3 * CHUNK_LEN + 5);
    let mut bad = f.sealed.clone();
    let (a, b) = (HEADER_LEN, HEADER_LEN + SEALED_CHUNK_LEN);
    let first = f.sealed[a..b].to_vec();
    let second = f.sealed[b..b + SEALED_CHUNK_LEN].to_vec();
    bad[a..b].copy_from_slice(&second);
    bad[b..b + SEALED_CHUNK_LEN].copy_from_slice(&first);
    assert_eq!(
        open_bytes(&f.okey, &file("f1"), &bad),
        Err(OpenError::ChunkAuthentication { chunk: 0 })
    );

    let mut opener = Opener::new(&f.okey, &file("f1"));
    assert!(opener.update(&bad).is_err());
    assert_eq!(opener.update(&f.sealed), Err(OpenError::Poisoned));
}

#[test]
fn truncation_and_appended_bytes_are_detected() {
    let f = fixture(3 * CHUNK_LEN + 5);
    // Drop the final chunk: the stream now ends with a non-last chunk.
    let cut = HEADER_LEN + 3 * SEALED_CHUNK_LEN;
    assert_eq!(
        open_bytes(&f.okey, &file("f1"), &f.sealed[..cut]),
        Err(OpenError::Truncated)
    );
    // Cut in the middle of a chunk, or inside the header, or to nothing.
    assert!(open_bytes(&f.okey, &file("f1"), &f.sealed[..cut - 7]).is_err());
    assert_eq!(
        open_bytes(&f.okey, &file("f1"), &f.sealed[..10]),
        Err(OpenError::TruncatedHeader(10))
    );
    assert_eq!(
        open_bytes(&f.okey, &file("f1"), &[]),
        Err(OpenError::TruncatedHeader(0))
    );
    assert_eq!(
        open_bytes(&f.okey, &file("f1"), &f.sealed[..HEADER_LEN + 3]),
        Err(OpenError::Truncated)
    );
    // Appending anything after the last chunk fails too.
    let mut longer = f.sealed.clone();
    longer.extend_from_slice(&[0u8; 16]);
    assert!(open_bytes(&f.okey, &file("f1"), &longer).is_err());
    // Garbage that is not a sealed stream.
    assert_eq!(
        open_bytes(
            &f.okey,
            &file("f1"),
            b"%PDF-1.7 not sealed at all, plain text"
        ),
        Err(OpenError::BadMagic)
    );
}

#[test]
fn finish_verified_checks_length_and_digest_against_the_stored_summary() {
    let f = fixture(CHUNK_LEN + 9);
    let run = |summary: &SealedSummary| {
        let mut o = Opener::new(&f.okey, &file("f1"));
        let mut out = o.update(&f.sealed).unwrap();
        out.extend(o.finish_verified(summary)?);
        Ok::<_, OpenError>(out)
    };
    assert_eq!(run(&f.summary).unwrap(), f.plain);
    let wrong_digest = SealedSummary {
        plaintext_sha256: Sha256Digest::of(b"other"),
        ..f.summary
    };
    assert!(matches!(
        run(&wrong_digest),
        Err(OpenError::DigestMismatch { .. })
    ));
    let wrong_len = SealedSummary {
        plaintext_len: 1,
        ..f.summary
    };
    assert!(matches!(
        run(&wrong_len),
        Err(OpenError::LengthMismatch { expected: 1, .. })
    ));
}

#[test]
fn a_ciphertext_moved_to_another_bid_envelope_version_or_item_fails_to_open() {
    let ring = ring();
    let c = ctx(EnvelopeKind::Economic);
    let (wrapped, skey) = ring.new_envelope_key(&c, &mut rng(30));
    let (sealed, _) = seal_bytes(&skey, &file("f1"), b"ribasso 12,345%", &mut rng(31)).unwrap();
    let okey = opening_key(&ring, &wrapped, &c).unwrap();
    assert!(open_bytes(&okey, &file("f1"), &sealed).is_ok());
    // Same envelope, other item.
    assert!(open_bytes(&okey, &file("f2"), &sealed).is_err());
    assert!(open_bytes(&okey, &ItemId::Manifest, &sealed).is_err());

    // The wrapped key copied to other envelope rows does not unwrap.
    let others = [
        EnvelopeContext {
            bid: id("B-43"),
            ..c.clone()
        },
        EnvelopeContext {
            lot: id("L2"),
            ..c.clone()
        },
        EnvelopeContext {
            tender: id("T-2026-002"),
            ..c.clone()
        },
        EnvelopeContext {
            kind: EnvelopeKind::Administrative,
            ..c.clone()
        },
        EnvelopeContext {
            version: 2,
            ..c.clone()
        },
    ];
    for other in &others {
        assert!(
            matches!(
                opening_key(&ring, &wrapped, other),
                Err(KeyError::UnwrapFailed(_))
            ),
            "{other:?}"
        );
        assert!(ring.sealing_key(&wrapped, other).is_err());
    }
    // Even with the key of the other envelope, the moved ciphertext does not open.
    for other in &others {
        let (w2, _) = ring.new_envelope_key(other, &mut rng(32));
        let k2 = opening_key(&ring, &w2, other).unwrap();
        assert!(open_bytes(&k2, &file("f1"), &sealed).is_err());
    }
}

#[test]
fn kek_rotation_rewraps_keys_and_old_files_stay_readable() {
    let old = Kek::from_bytes("kek-2025".parse().unwrap(), [1; 32]);
    let ring_old = Keyring::new(old, vec![]).unwrap();
    let c = ctx(EnvelopeKind::Administrative);
    let (wrapped, skey) = ring_old.new_envelope_key(&c, &mut rng(40));
    let plain = data(CHUNK_LEN * 2 + 3);
    let (sealed, summary) = seal_bytes(&skey, &file("dgue.xml"), &plain, &mut rng(41)).unwrap();

    // New current KEK, old one retired but still present.
    let ring_new = Keyring::new(
        Kek::from_bytes("kek-2026".parse().unwrap(), [2; 32]),
        vec![Kek::from_bytes("kek-2025".parse().unwrap(), [1; 32])],
    )
    .unwrap();
    assert!(ring_new.needs_rewrap(&wrapped));
    let rewrapped = ring_new.rewrap(&wrapped, &c, &mut rng(42)).unwrap();
    assert_eq!(rewrapped.kek_id().as_str(), "kek-2026");
    assert!(!ring_new.needs_rewrap(&rewrapped));
    assert_ne!(rewrapped, wrapped);

    // Once every DEK is re-wrapped the old KEK can go: the same sealed bytes still open.
    let ring_final = Keyring::new(
        Kek::from_bytes("kek-2026".parse().unwrap(), [2; 32]),
        vec![],
    )
    .unwrap();
    let okey = opening_key(&ring_final, &rewrapped, &c).unwrap();
    let (opened, digest) = open_bytes(&okey, &file("dgue.xml"), &sealed).unwrap();
    assert_eq!(opened, plain);
    assert_eq!(digest, summary.plaintext_sha256);
    // ...but a row that was missed names the unknown KEK.
    assert_eq!(
        opening_key(&ring_final, &wrapped, &c).unwrap_err(),
        KeyError::UnknownKek("kek-2025".parse().unwrap())
    );
    // A KEK with the right id but the wrong bytes does not unwrap.
    let impostor = Keyring::new(
        Kek::from_bytes("kek-2026".parse().unwrap(), [3; 32]),
        vec![],
    )
    .unwrap();
    assert!(matches!(
        opening_key(&impostor, &rewrapped, &c),
        Err(KeyError::UnwrapFailed(_))
    ));
}

#[test]
fn wrapped_keys_round_trip_as_text_and_malformed_text_is_refused() {
    let ring = ring();
    let c = ctx(EnvelopeKind::Technical);
    let (wrapped, _) = ring.new_envelope_key(&c, &mut rng(50));
    let text = wrapped.to_text();
    assert!(text.starts_with("sua-wk1.kek-2026."));
    assert_eq!(WrappedKey::parse(&text).unwrap(), wrapped);
    assert!(matches!(
        WrappedKey::parse("sua-wk2.k.AAAA"),
        Err(KeyError::Malformed(_))
    ));
    assert!(matches!(
        WrappedKey::parse("sua-wk1.k.AAAA"),
        Err(KeyError::Malformed("wrong length"))
    ));
    assert!(matches!(
        WrappedKey::parse("sua-wk1.k"),
        Err(KeyError::Malformed(_))
    ));
    assert!(matches!(
        WrappedKey::parse("sua-wk1..AAAA"),
        Err(KeyError::Id { .. })
    ));
    // Tampered wrapped key fails to unwrap.
    let mut raw = text.into_bytes();
    let last = raw.len() - 2;
    raw[last] = if raw[last] == b'A' { b'B' } else { b'A' };
    let tampered = WrappedKey::parse(std::str::from_utf8(&raw).unwrap()).unwrap();
    assert!(matches!(
        opening_key(&ring, &tampered, &c),
        Err(KeyError::UnwrapFailed(_))
    ));
}

#[test]
fn keks_from_configuration_are_checked() {
    assert!(Kek::from_base64("k1", "AAAA").is_err_and(|e| e.to_string().contains("kek.key")));
    assert!(
        Kek::from_base64("k 1", &"A".repeat(44)).is_err_and(|e| e.to_string().contains("kek.id"))
    );
    assert!(Kek::from_base64("k1", "not base64!").is_err());
    let (k, b64) = Kek::generate("k1".parse().unwrap(), &mut rng(60));
    let again = Kek::from_base64("k1", &b64).unwrap();
    assert!(!format!("{k:?}").contains(b64.as_str()));
    let dup = Keyring::new(k, vec![again]);
    assert_eq!(
        dup.unwrap_err(),
        KeyError::DuplicateKek("k1".parse().unwrap())
    );
}

#[test]
fn manifest_commitment_and_duplicate_files() {
    let ring = ring();
    let c = ctx(EnvelopeKind::Economic);
    let (wrapped, skey) = ring.new_envelope_key(&c, &mut rng(70));
    let (_, s1) = seal_bytes(&skey, &file("d1"), b"one", &mut rng(71)).unwrap();
    let entry = EnvelopeManifest::file_entry(id("d1"), "a.pdf", "application/pdf", &s1);
    let m = EnvelopeManifest {
        data: serde_json::json!({"ribasso": "12.345"}),
        files: vec![entry.clone()],
    };
    let sealed = seal_manifest(&skey, &m, &mut rng(72)).unwrap();
    let digest = m.digest(&skey, &sealed);
    assert_eq!((digest.kind, digest.version), (EnvelopeKind::Economic, 1));
    assert_eq!(digest.sealed_manifest_sha256, Sha256Digest::of(&sealed.0));
    assert_eq!(
        digest.files,
        vec![FileDigest {
            media_type: "application/pdf".into(),
            name: "a.pdf".into(),
            sha256: Sha256Digest::of(b"one"),
            size: 3,
        }]
    );
    let okey = opening_key(&ring, &wrapped, &c).unwrap();
    assert_eq!(okey.check_commitment(&digest.key_commitment), Ok(()));
    assert_eq!(open_manifest(&okey, &sealed.0).unwrap(), m);
    // A manifest cannot be opened as a file or vice versa.
    assert!(open_bytes(&okey, &file("d1"), &sealed.0).is_err());
    let dup = EnvelopeManifest {
        data: serde_json::Value::Null,
        files: vec![entry.clone(), entry],
    };
    assert!(matches!(
        seal_manifest(&skey, &dup, &mut rng(73)),
        Err(ManifestError::DuplicateFile(_))
    ));
}

#[test]
fn a_substituted_data_key_is_caught_by_the_key_commitment_on_the_receipt() {
    let ring = ring();
    let c = ctx(EnvelopeKind::Economic);
    let (_, honest) = ring.new_envelope_key(&c, &mut rng(100));
    // The platform later swaps in another wrapped DEK for the same envelope row.
    let (substitute, _) = ring.new_envelope_key(&c, &mut rng(101));
    let receipt_commitment = honest.key_commitment();
    let okey = opening_key(&ring, &substitute, &c).unwrap();
    assert_eq!(
        okey.check_commitment(&receipt_commitment),
        Err(KeyError::CommitmentMismatch)
    );
    // Same DEK, another envelope context: another commitment.
    let (_, other) = ring.new_envelope_key(
        &EnvelopeContext {
            version: 2,
            ..c.clone()
        },
        &mut rng(100),
    );
    assert_ne!(other.key_commitment(), receipt_commitment);
    // KEK rotation keeps the DEK, hence the commitment.
    let (wrapped, key) = ring.new_envelope_key(&c, &mut rng(102));
    let rotated = Keyring::new(
        Kek::from_bytes("kek-2027".parse().unwrap(), [8; 32]),
        vec![Kek::from_bytes("kek-2026".parse().unwrap(), [7; 32])],
    )
    .unwrap();
    let rewrapped = rotated.rewrap(&wrapped, &c, &mut rng(103)).unwrap();
    let okey = opening_key(&rotated, &rewrapped, &c).unwrap();
    assert_eq!(okey.check_commitment(&key.key_commitment()), Ok(()));
}

#[test]
fn blocking_stream_adapters_round_trip_and_reject_tampering() {
    let ring = ring();
    let c = ctx(EnvelopeKind::Technical);
    let (wrapped, skey) = ring.new_envelope_key(&c, &mut rng(80));
    let plain = data(5 * CHUNK_LEN / 2);
    let mut sealed = Vec::new();
    let summary = seal_stream(
        &skey,
        &file("f"),
        &mut rng(81),
        plain.as_slice(),
        &mut sealed,
    )
    .unwrap();
    let okey = opening_key(&ring, &wrapped, &c).unwrap();
    let mut opened = Vec::new();
    open_stream(&okey, &file("f"), &summary, sealed.as_slice(), &mut opened).unwrap();
    assert_eq!(opened, plain);
    sealed[HEADER_LEN + 5] ^= 0x80;
    let mut sink = Vec::new();
    assert!(matches!(
        open_stream(&okey, &file("f"), &summary, sealed.as_slice(), &mut sink),
        Err(StreamIoError::Open(OpenError::ChunkAuthentication {
            chunk: 0
        }))
    ));
}

// ---------------------------------------------------------------- opening rule

fn lot(criterion: AwardCriterion, sequence: OpeningSequence, m: Milestones) -> LotOpeningState {
    LotOpeningState {
        criterion,
        sequence,
        status: LotStatus::Active,
        deadline: deadline(),
        milestones: m,
    }
}

const NONE: Milestones = Milestones {
    opening_session_started: false,
    admission_decided: false,
    technical_scores_frozen: false,
    economic_ranking_done: false,
};

#[test]
fn standard_order_a_then_b_after_admission_then_c_after_frozen_scores() {
    use EnvelopeKind::*;
    use OpeningRefusal as R;
    let q = AwardCriterion::QualityPrice;
    let std = OpeningSequence::Standard;
    let now = after();
    let bid = admitted();
    // Before the deadline nothing opens, even with every milestone set.
    let before = deadline() - Duration::seconds(1);
    for k in EnvelopeKind::ALL {
        assert_eq!(
            may_open(k, &lot_all_open(), &bid, before),
            Err(R::BeforeDeadline {
                deadline: deadline()
            })
        );
    }
    assert!(
        may_open(Administrative, &lot_all_open(), &bid, deadline()).is_ok(),
        "at the deadline instant"
    );

    let started = Milestones {
        opening_session_started: true,
        ..NONE
    };
    assert_eq!(
        may_open(Administrative, &lot(q, std, NONE), &bid, now),
        Err(R::SessionNotStarted)
    );
    assert_eq!(
        may_open(Administrative, &lot(q, std, started), &bid, now),
        Ok(())
    );
    assert_eq!(
        may_open(Technical, &lot(q, std, started), &bid, now),
        Err(R::AdmissionNotDecided)
    );
    assert_eq!(
        may_open(Economic, &lot(q, std, started), &bid, now),
        Err(R::AdmissionNotDecided)
    );

    let admitted_m = Milestones {
        admission_decided: true,
        ..started
    };
    assert_eq!(
        may_open(Technical, &lot(q, std, admitted_m), &bid, now),
        Ok(())
    );
    assert_eq!(
        may_open(Economic, &lot(q, std, admitted_m), &bid, now),
        Err(R::TechnicalScoresNotFrozen)
    );

    let frozen = Milestones {
        technical_scores_frozen: true,
        ..admitted_m
    };
    assert_eq!(may_open(Economic, &lot(q, std, frozen), &bid, now), Ok(()));
}

#[test]
fn lowest_price_has_no_b_and_opens_c_after_admission() {
    use EnvelopeKind::*;
    let lp = AwardCriterion::LowestPrice;
    let m = Milestones {
        opening_session_started: true,
        admission_decided: true,
        ..NONE
    };
    let l = lot(lp, OpeningSequence::Standard, m);
    assert_eq!(
        may_open(Technical, &l, &admitted(), after()),
        Err(OpeningRefusal::NoTechnicalEnvelope)
    );
    assert_eq!(may_open(Economic, &l, &admitted(), after()), Ok(()));
    let not_yet = lot(
        lp,
        OpeningSequence::Standard,
        Milestones {
            opening_session_started: true,
            ..NONE
        },
    );
    assert_eq!(
        may_open(Economic, &not_yet, &admitted(), after()),
        Err(OpeningRefusal::AdmissionNotDecided)
    );
}

#[test]
fn excluded_pending_superseded_and_withdrawn_bids_and_closed_lots_are_refused() {
    use EnvelopeKind::*;
    use OpeningRefusal as R;
    let l = lot_all_open();
    let now = after();
    let excluded = BidOpeningState {
        standing: BidStanding::Current,
        admission: Admission::Excluded,
    };
    let pending = BidOpeningState {
        standing: BidStanding::Current,
        admission: Admission::Pending,
    };
    assert_eq!(
        may_open(Administrative, &l, &excluded, now),
        Ok(()),
        "A of an excluded bid was already opened"
    );
    assert_eq!(
        may_open(Technical, &l, &excluded, now),
        Err(R::BidExcluded(Technical))
    );
    assert_eq!(
        may_open(Economic, &l, &excluded, now),
        Err(R::BidExcluded(Economic))
    );
    assert_eq!(
        may_open(Economic, &l, &pending, now),
        Err(R::AdmissionPending)
    );
    for k in EnvelopeKind::ALL {
        let sup = BidOpeningState {
            standing: BidStanding::Superseded,
            ..admitted()
        };
        let wd = BidOpeningState {
            standing: BidStanding::Withdrawn,
            ..admitted()
        };
        assert_eq!(may_open(k, &l, &sup, now), Err(R::Superseded));
        assert_eq!(may_open(k, &l, &wd, now), Err(R::Withdrawn));
        let closed = LotOpeningState {
            status: LotStatus::Closed,
            ..l
        };
        let susp = LotOpeningState {
            status: LotStatus::Suspended,
            ..l
        };
        assert_eq!(may_open(k, &closed, &admitted(), now), Err(R::LotClosed));
        assert_eq!(may_open(k, &susp, &admitted(), now), Err(R::LotSuspended));
    }
}

#[test]
fn inversione_procedimentale_opens_offers_first_and_a_after_the_ranking() {
    use EnvelopeKind::*;
    use OpeningRefusal as R;
    let inv = OpeningSequence::InversioneProcedimentale;
    let started = Milestones {
        opening_session_started: true,
        ..NONE
    };
    let pending = BidOpeningState {
        standing: BidStanding::Current,
        admission: Admission::Pending,
    };
    let q = lot(AwardCriterion::QualityPrice, inv, started);
    assert_eq!(may_open(Technical, &q, &pending, after()), Ok(()));
    assert_eq!(
        may_open(Economic, &q, &pending, after()),
        Err(R::TechnicalScoresNotFrozen)
    );
    assert_eq!(
        may_open(Administrative, &q, &pending, after()),
        Err(R::EconomicRankingNotDone)
    );
    let lp = lot(AwardCriterion::LowestPrice, inv, started);
    assert_eq!(may_open(Economic, &lp, &pending, after()), Ok(()));
    let ranked = lot(
        AwardCriterion::LowestPrice,
        inv,
        Milestones {
            economic_ranking_done: true,
            ..started
        },
    );
    assert_eq!(may_open(Administrative, &ranked, &pending, after()), Ok(()));
}

#[test]
fn a_permit_opens_only_the_envelope_it_was_granted_for() {
    let ring = ring();
    let a = ctx(EnvelopeKind::Administrative);
    let c = ctx(EnvelopeKind::Economic);
    let (_, _) = ring.new_envelope_key(&a, &mut rng(90));
    let (wrapped_c, _) = ring.new_envelope_key(&c, &mut rng(91));
    let only_a = lot(
        AwardCriterion::QualityPrice,
        OpeningSequence::Standard,
        Milestones {
            opening_session_started: true,
            ..NONE
        },
    );
    let permit_a = authorize_opening(&a, &only_a, &admitted(), after()).unwrap();
    assert_eq!(permit_a.authorized_at(), after());
    // Using A's permit on C's wrapped key fails: the permit fixes the context used to unwrap.
    assert!(matches!(
        ring.opening_key(&wrapped_c, &permit_a),
        Err(KeyError::UnwrapFailed(_))
    ));
    assert_eq!(
        authorize_opening(&c, &only_a, &admitted(), after()).unwrap_err(),
        OpeningRefusal::AdmissionNotDecided
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn any_slicing_of_input_and_ciphertext_round_trips(
        len in 0usize..(3 * CHUNK_LEN + 50),
        slices in proptest::collection::vec(1usize..(CHUNK_LEN + 300), 1..6),
        open_slice in 1usize..(2 * SEALED_CHUNK_LEN),
        seed in any::<u64>(),
    ) {
        let ring = ring();
        let c = ctx(EnvelopeKind::Technical);
        let (wrapped, skey) = ring.new_envelope_key(&c, &mut rng(seed));
        let plain = data(len);
        let (sealed, summary) = seal_in_slices(&skey, &file("p"), &plain, &slices, seed);
        // The ciphertext layout does not depend on how the input was sliced.
        prop_assert_eq!(sealed.len() as u64, sealed_len(len as u64));
        let okey = opening_key(&ring, &wrapped, &c).unwrap();
        let (opened, digest) = open_in_slices(&okey, &file("p"), &sealed, open_slice).unwrap();
        prop_assert_eq!(&opened, &plain);
        prop_assert_eq!(digest, summary.plaintext_sha256);
    }

    #[test]
    fn any_single_byte_change_is_detected(
        len in 0usize..(2 * CHUNK_LEN + 10),
        pos_frac in 0.0f64..1.0,
        xor in 1u8..=255,
    ) {
        let f = fixture(len);
        let pos = ((f.sealed.len() as f64) * pos_frac) as usize % f.sealed.len();
        let mut bad = f.sealed.clone();
        bad[pos] ^= xor;
        prop_assert!(open_bytes(&f.okey, &file("f1"), &bad).is_err());
    }
}

/// Every combination of facts: (1) reaching more milestones or a later time never revokes a
/// permission; (2) in the standard sequence, C is never openable while A (or, for quality-price,
/// B) is not; (3) nothing opens before the deadline.
#[test]
fn exhaustive_opening_rule_is_monotone_and_ordered() {
    let bools = [false, true];
    let mut all_m = Vec::new();
    for a in bools {
        for b in bools {
            for c in bools {
                for d in bools {
                    all_m.push(Milestones {
                        opening_session_started: a,
                        admission_decided: b,
                        technical_scores_frozen: c,
                        economic_ranking_done: d,
                    });
                }
            }
        }
    }
    let le = |x: &Milestones, y: &Milestones| {
        (!x.opening_session_started || y.opening_session_started)
            && (!x.admission_decided || y.admission_decided)
            && (!x.technical_scores_frozen || y.technical_scores_frozen)
            && (!x.economic_ranking_done || y.economic_ranking_done)
    };
    let mut checked = 0;
    for criterion in [AwardCriterion::LowestPrice, AwardCriterion::QualityPrice] {
        for sequence in [
            OpeningSequence::Standard,
            OpeningSequence::InversioneProcedimentale,
        ] {
            for admission in [Admission::Pending, Admission::Admitted, Admission::Excluded] {
                let bid = BidOpeningState {
                    standing: BidStanding::Current,
                    admission,
                };
                for m in &all_m {
                    let l = lot(criterion, sequence, *m);
                    for k in EnvelopeKind::ALL {
                        assert!(
                            may_open(k, &l, &bid, deadline() - Duration::milliseconds(1)).is_err()
                        );
                        let ok = may_open(k, &l, &bid, deadline()).is_ok();
                        assert_eq!(ok, may_open(k, &l, &bid, after()).is_ok());
                        for m2 in all_m.iter().filter(|m2| le(m, m2)) {
                            let later =
                                may_open(k, &lot(criterion, sequence, *m2), &bid, after()).is_ok();
                            assert!(
                                !ok || later,
                                "{k:?} revoked: {m:?} -> {m2:?} {criterion:?} {sequence:?} {admission:?}"
                            );
                            checked += 1;
                        }
                    }
                    if sequence == OpeningSequence::Standard
                        && may_open(EnvelopeKind::Economic, &l, &bid, after()).is_ok()
                    {
                        assert!(may_open(EnvelopeKind::Administrative, &l, &bid, after()).is_ok());
                        if criterion == AwardCriterion::QualityPrice {
                            assert!(may_open(EnvelopeKind::Technical, &l, &bid, after()).is_ok());
                        }
                    }
                }
            }
        }
    }
    assert!(checked > 1000);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Arbitrary bytes given to the opener, in arbitrary slices, give an error, never a panic,
    /// and never plaintext.
    #[test]
    fn garbage_never_panics_nor_opens(
        mut bytes in proptest::collection::vec(any::<u8>(), 0..300),
        keep_header in any::<bool>(),
        slice in 1usize..64,
    ) {
        let f = fixture(10);
        if keep_header && bytes.len() >= HEADER_LEN {
            bytes[..HEADER_LEN].copy_from_slice(&f.sealed[..HEADER_LEN]);
        }
        prop_assert!(open_in_slices(&f.okey, &file("f1"), &bytes, slice).is_err());
        prop_assert!(WrappedKey::parse(&String::from_utf8_lossy(&bytes)).is_err());
    }
}
