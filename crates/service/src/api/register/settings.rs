//! The register's configurable rules.
//!
//! The uncertain legal points (rotation scope, value bands, streak, the c.6 exemption, the c.4 quality
//! attestation, "ove esistenti", the art. 50 c.2 motivation, SOA class limits) are the fields of
//! [`::register::SelectionConfig`]. The defaults are the pure crate's; a deployment changes them with a JSON
//! file named by the environment variable `SUA_REGISTER_CONFIG` (read once, at the first request that needs
//! it; an unreadable or invalid file makes those requests fail with a 500 and a log line naming the problem,
//! never a silent fallback to the defaults). The dated thresholds are `domain`'s official table.

use crate::error::AppError;
use ::register::SelectionConfig;
use domain::thresholds::ThresholdTable;
use std::sync::OnceLock;

/// The environment variable naming the JSON file of the [`SelectionConfig`].
pub const CONFIG_ENV: &str = "SUA_REGISTER_CONFIG";

pub struct RegisterSettings {
    pub selection: SelectionConfig,
    pub thresholds: ThresholdTable,
}

static SETTINGS: OnceLock<Result<RegisterSettings, String>> = OnceLock::new();

/// Parses a configuration document (the content of the `SUA_REGISTER_CONFIG` file).
pub fn parse_config(text: &str) -> Result<SelectionConfig, String> {
    let de = &mut serde_json::Deserializer::from_str(text);
    let cfg: SelectionConfig = serde_path_to_error::deserialize(de)
        .map_err(|e| format!("{CONFIG_ENV}: {}: {}", e.path(), e.inner()))?;
    if cfg.rotation.streak == 0 {
        return Err(format!("{CONFIG_ENV}: rotation.streak must be at least 1"));
    }
    Ok(cfg)
}

fn load() -> Result<RegisterSettings, String> {
    let selection = match std::env::var(CONFIG_ENV) {
        Ok(path) if !path.is_empty() => {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| format!("{CONFIG_ENV}: cannot read {path}: {e}"))?;
            parse_config(&text)?
        }
        _ => SelectionConfig::default(),
    };
    Ok(RegisterSettings {
        selection,
        thresholds: ThresholdTable::official(),
    })
}

/// The settings in force (loaded once).
pub fn get() -> Result<&'static RegisterSettings, AppError> {
    SETTINGS
        .get_or_init(load)
        .as_ref()
        .map_err(|e| AppError::Internal(anyhow::anyhow!("{e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_config_round_trips_and_bad_documents_name_the_field() {
        let text = serde_json::to_string(&SelectionConfig::default()).unwrap();
        assert_eq!(parse_config(&text).unwrap(), SelectionConfig::default());
        let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
        v["rotation"]["scope"] = "everywhere".into();
        let err = parse_config(&v.to_string()).unwrap_err();
        assert!(err.contains("rotation.scope"), "{err}");
        v["rotation"]["scope"] = "sua".into();
        v["rotation"]["streak"] = 0.into();
        let err = parse_config(&v.to_string()).unwrap_err();
        assert!(err.contains("streak"), "{err}");
    }

    #[test]
    fn the_example_in_the_docs_parses() {
        let doc = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../docs/register.md"
        ))
        .unwrap();
        let block = doc
            .split("```json\n")
            .nth(1)
            .and_then(|b| b.split("```").next())
            .expect("a json block in docs/register.md");
        let cfg = parse_config(block).unwrap();
        assert_eq!(cfg.rotation.scope, ::register::RotationScope::Sua);
        assert_eq!(cfg.rotation.bands.len(), 2);
        assert_eq!(cfg.eligibility.soa_required_from.cents(), 15_000_000);
    }
}
