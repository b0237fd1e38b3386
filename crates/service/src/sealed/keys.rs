//! `[sealing]` keys: the KEK(s) that wrap envelope data keys and the Ed25519 key that signs receipts.
//!
//! Production keys come from configuration or the environment (`SUA_SEALING__KEK__ID`,
//! `SUA_SEALING__KEK__KEY_B64`, `SUA_SEALING__RECEIPT_KEY_ID`, `SUA_SEALING__RECEIPT_SIGNING_KEY_PEM` or
//! `SUA_SEALING__RECEIPT_SIGNING_SEED_B64`). When a key is not configured, a development key is generated
//! on first use into `sealing.key_dir` (default `./data/keys`) and reused afterwards, so `sua serve` works
//! with no setup. Such keys are fine for a demo, not for production (a warning is logged).

use base64::{Engine, engine::general_purpose::STANDARD};
use sealing::{Kek, KeyId, Keyring, PublishedKey, ReceiptSigner};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

/// A key-encryption key: id (`[A-Za-z0-9_-]{1,64}`) and 32 bytes of base64.
#[derive(Clone, Serialize, Deserialize)]
pub struct KekSetting {
    pub id: String,
    pub key_b64: String,
}

impl std::fmt::Debug for KekSetting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KekSetting")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// `[sealing]` settings. Secrets are never printed by `Debug`.
#[derive(Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SealingSettings {
    /// Where development keys are generated when none is configured.
    pub key_dir: PathBuf,
    /// The current KEK: wraps every new data key.
    pub kek: Option<KekSetting>,
    /// Retired KEKs: still unwrap data keys wrapped before a rotation (docs/sealing.md §2).
    pub retired_keks: Vec<KekSetting>,
    /// Id of the receipt signing key, printed on each receipt (`key_id`).
    pub receipt_key_id: Option<String>,
    /// The Ed25519 receipt signing key as PKCS#8 PEM (`openssl genpkey -algorithm ed25519`).
    pub receipt_signing_key_pem: Option<String>,
    /// Or the 32-byte Ed25519 seed, base64.
    pub receipt_signing_seed_b64: Option<String>,
    /// Public keys of earlier signing keys (PEM, base64 or JWK Set, each with its key id where the format
    /// carries one), kept in the published set so that old receipts stay verifiable.
    pub retired_receipt_public_keys: Vec<String>,
}

impl Default for SealingSettings {
    fn default() -> Self {
        SealingSettings {
            key_dir: PathBuf::from("data/keys"),
            kek: None,
            retired_keks: Vec::new(),
            receipt_key_id: None,
            receipt_signing_key_pem: None,
            receipt_signing_seed_b64: None,
            retired_receipt_public_keys: Vec::new(),
        }
    }
}

impl std::fmt::Debug for SealingSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealingSettings")
            .field("key_dir", &self.key_dir)
            .field("kek", &self.kek)
            .field("retired_keks", &self.retired_keks)
            .field("receipt_key_id", &self.receipt_key_id)
            .finish_non_exhaustive()
    }
}

/// The loaded keys.
pub struct SealKeys {
    pub ring: Keyring,
    pub signer: ReceiptSigner,
    /// The current public key first, then the retired ones.
    pub published: Vec<PublishedKey>,
}

const DEV_KEK_ID: &str = "dev-kek-1";
const DEV_KEK_FILE: &str = "dev-kek-1.b64";
const DEV_SIG_ID: &str = "dev-sig-1";
const DEV_SIG_FILE: &str = "dev-sig-1.pem";

fn kek(field: &str, k: &KekSetting) -> anyhow::Result<Kek> {
    Kek::from_base64(&k.id, &k.key_b64).map_err(|e| anyhow::anyhow!("{field}: {e}"))
}

/// Write `content` to `path` only if it does not exist (temp file, fsync, hard link: never clobbers a key
/// another process wrote first). Returns the content actually at `path`.
fn create_once(path: &Path, content: &str) -> anyhow::Result<String> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)
        .map_err(|e| anyhow::anyhow!("sealing.key_dir: cannot create {}: {e}", dir.display()))?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("key"),
        std::process::id()
    ));
    {
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts
            .open(&tmp)
            .map_err(|e| anyhow::anyhow!("sealing.key_dir: cannot write {}: {e}", tmp.display()))?;
        f.write_all(content.as_bytes())?;
        f.sync_all()?;
    }
    let linked = std::fs::hard_link(&tmp, path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => {
            tracing::warn!(path = %path.display(), "generated a development sealing key: configure [sealing] keys in production");
            Ok(content.to_owned())
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => read_key(path),
        Err(e) => Err(anyhow::anyhow!(
            "sealing.key_dir: cannot create {}: {e}",
            path.display()
        )),
    }
}

fn read_key(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("sealing.key_dir: cannot read {}: {e}", path.display()))
}

fn key_id(field: &str, s: &str) -> anyhow::Result<KeyId> {
    s.parse::<KeyId>()
        .map_err(|e| anyhow::anyhow!("{field}: {e}"))
}

/// Load (or, for development, generate) the keys described by `s`.
pub fn load(s: &SealingSettings) -> anyhow::Result<SealKeys> {
    let mut rng = rand::rng();
    let current = match &s.kek {
        Some(k) => kek("sealing.kek", k)?,
        None => {
            let path = s.key_dir.join(DEV_KEK_FILE);
            let text = if path.exists() {
                read_key(&path)?
            } else {
                let (_, b64) = Kek::generate(key_id("sealing.kek.id", DEV_KEK_ID)?, &mut rng);
                create_once(&path, &b64)?
            };
            Kek::from_base64(DEV_KEK_ID, &text)
                .map_err(|e| anyhow::anyhow!("sealing.key_dir ({}): {e}", path.display()))?
        }
    };
    let retired = s
        .retired_keks
        .iter()
        .enumerate()
        .map(|(i, k)| kek(&format!("sealing.retired_keks[{i}]"), k))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let ring = Keyring::new(current, retired).map_err(|e| anyhow::anyhow!("sealing: {e}"))?;

    let sig_id = |default: &str| {
        key_id(
            "sealing.receipt_key_id",
            s.receipt_key_id.as_deref().unwrap_or(default),
        )
    };
    let signer = match (&s.receipt_signing_key_pem, &s.receipt_signing_seed_b64) {
        (Some(_), Some(_)) => anyhow::bail!(
            "sealing.receipt_signing_key_pem: give either the PEM or the seed, not both"
        ),
        (Some(pem), None) => ReceiptSigner::from_pkcs8_pem(sig_id("sig-1")?, pem)
            .map_err(|e| anyhow::anyhow!("sealing.receipt_signing_key_pem: {e}"))?,
        (None, Some(seed)) => {
            let bytes = STANDARD.decode(seed.trim()).map_err(|e| {
                anyhow::anyhow!("sealing.receipt_signing_seed_b64: not base64: {e}")
            })?;
            let seed: [u8; 32] = bytes.as_slice().try_into().map_err(|_| {
                anyhow::anyhow!(
                    "sealing.receipt_signing_seed_b64: expected 32 bytes, got {}",
                    bytes.len()
                )
            })?;
            ReceiptSigner::from_seed(sig_id("sig-1")?, seed)
        }
        (None, None) => {
            let path = s.key_dir.join(DEV_SIG_FILE);
            let pem = if path.exists() {
                read_key(&path)?
            } else {
                let (_, pem) = ReceiptSigner::generate(sig_id(DEV_SIG_ID)?, &mut rng);
                create_once(&path, &pem)?
            };
            ReceiptSigner::from_pkcs8_pem(sig_id(DEV_SIG_ID)?, &pem)
                .map_err(|e| anyhow::anyhow!("sealing.key_dir ({}): {e}", path.display()))?
        }
    };
    let mut published = vec![signer.public_key()];
    for (i, text) in s.retired_receipt_public_keys.iter().enumerate() {
        let keys = sealing::parse_public_keys(text)
            .map_err(|e| anyhow::anyhow!("sealing.retired_receipt_public_keys[{i}]: {e}"))?;
        published.extend(keys);
    }
    Ok(SealKeys {
        ring,
        signer,
        published,
    })
}

type Cache = Mutex<Vec<(String, Arc<SealKeys>)>>;

/// The keys for these settings, loaded once per process (and per distinct settings).
pub fn keys(s: &SealingSettings) -> anyhow::Result<Arc<SealKeys>> {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(Vec::new()));
    let dir = std::path::absolute(&s.key_dir).unwrap_or_else(|_| s.key_dir.clone());
    let id = format!(
        "{}|{}",
        dir.display(),
        serde_json::to_string(s).unwrap_or_default()
    );
    let mut guard = cache.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((_, k)) = guard.iter().find(|(k, _)| *k == id) {
        return Ok(k.clone());
    }
    let k = Arc::new(load(s)?);
    guard.push((id, k.clone()));
    Ok(k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn development_keys_are_generated_once_then_reused() {
        let dir = tempfile::tempdir().unwrap();
        let s = SealingSettings {
            key_dir: dir.path().join("keys"),
            ..Default::default()
        };
        let a = load(&s).unwrap();
        let b = load(&s).unwrap();
        assert_eq!(a.signer.public_key().key, b.signer.public_key().key);
        assert_eq!(a.ring.current_id().as_str(), DEV_KEK_ID);
        assert!(dir.path().join("keys").join(DEV_KEK_FILE).exists());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("keys").join(DEV_SIG_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "key file readable by others: {mode:o}");
        }
    }

    #[test]
    fn configured_keys_are_used_and_bad_ones_refused_naming_the_field() {
        let dir = tempfile::tempdir().unwrap();
        let s = SealingSettings {
            key_dir: dir.path().join("none"),
            kek: Some(KekSetting {
                id: "kek-2026".into(),
                key_b64: STANDARD.encode([7u8; 32]),
            }),
            receipt_key_id: Some("sig-2026".into()),
            receipt_signing_seed_b64: Some(STANDARD.encode([9u8; 32])),
            ..Default::default()
        };
        let k = load(&s).unwrap();
        assert_eq!(k.ring.current_id().as_str(), "kek-2026");
        assert_eq!(k.signer.key_id().as_str(), "sig-2026");
        assert!(!dir.path().join("none").exists(), "no dev key written");

        let bad = SealingSettings {
            kek: Some(KekSetting {
                id: "kek-2026".into(),
                key_b64: STANDARD.encode([7u8; 16]),
            }),
            ..s.clone()
        };
        let e = load(&bad).err().unwrap().to_string();
        assert!(e.contains("sealing.kek"), "{e}");
        let bad = SealingSettings {
            receipt_signing_seed_b64: Some("!!".into()),
            ..s.clone()
        };
        let e = load(&bad).err().unwrap().to_string();
        assert!(e.contains("sealing.receipt_signing_seed_b64"), "{e}");
        let bad = SealingSettings {
            retired_keks: vec![KekSetting {
                id: "kek-2026".into(),
                key_b64: STANDARD.encode([8u8; 32]),
            }],
            ..s
        };
        let e = load(&bad).err().unwrap().to_string();
        assert!(e.contains("kek-2026"), "{e}");
        assert!(!format!("{bad:?}").contains(&STANDARD.encode([8u8; 32])));
    }
}
