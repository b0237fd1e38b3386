//! `sua audit verify [--head FILE]` and `sua audit head --province ID`: the chain's own check, and the check
//! of a saved head (published at `/.well-known/sua/audit-head/{province}`, or inside a bid receipt) against
//! the database, so that removing the newest entries is seen.

use crate::{audit, config::Settings, sealed};
use clap::{Args, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use uuid::Uuid;
use workflow::audit_head::{self, HeadCheck};

#[derive(Subcommand, Debug)]
pub enum AuditCommand {
    /// Check the hash chain; exit 1 and name the first broken entry if any. With --head, also check a saved
    /// signed head (a head file or a bid receipt): exit 1 naming the missing entries if the chain was rolled
    /// back behind it.
    Verify(VerifyArgs),
    /// Print the signed head of a Province's audit chain (what the well-known URL serves), to save it.
    Head(HeadArgs),
}

#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// A saved head (`/.well-known/sua/audit-head/{province}`, `sua audit head`) or a bid receipt carrying
    /// `audit_head`; its signature is checked with the configured receipt keys (current and retired).
    #[arg(long)]
    pub head: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct HeadArgs {
    /// The Province's id.
    #[arg(long)]
    pub province: Uuid,
}

pub async fn run(cmd: AuditCommand, settings: Settings) -> anyhow::Result<ExitCode> {
    let db = crate::runtime::open_db(&settings).await?;
    match cmd {
        AuditCommand::Head(a) => {
            let keys = sealed::service_keys(&settings.sealing).map_err(anyhow::Error::msg)?;
            let now = audit::truncate_micros(chrono::Utc::now());
            let head = sealed::signed_audit_head(&db.conn, &keys, a.province, now)
                .await
                .map_err(anyhow::Error::msg)?;
            println!("{}", head.to_json());
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Verify(v) => {
            let mut code = match audit::verify(&db.conn).await? {
                audit::Verdict::Intact { entries, chains } => {
                    println!("audit chain intact: {entries} entries in {chains} chains");
                    ExitCode::SUCCESS
                }
                audit::Verdict::Broken { chain, seq, reason } => {
                    println!("audit chain broken: chain {chain}, entry {seq}: {reason}");
                    ExitCode::FAILURE
                }
            };
            if let Some(path) = v.head {
                let saved = saved_head(&path, &settings)?;
                let seq = i64::try_from(saved.sequence)?;
                let hash = saved.hash.to_string();
                match audit_head::check(&db.conn, saved.chain.as_str(), seq, &hash).await? {
                    HeadCheck::Present => println!(
                        "saved head present: entry {seq} of chain {} (sha256 {hash})",
                        saved.chain
                    ),
                    HeadCheck::Missing { from, to } => {
                        println!(
                            "audit chain rolled back: entries {from} to {to} of chain {} are missing \
                             (the saved head names entry {seq} with sha256 {hash}; the chain now ends at entry {})",
                            saved.chain,
                            from - 1
                        );
                        code = ExitCode::FAILURE;
                    }
                    HeadCheck::Rewritten { found } => {
                        println!(
                            "audit chain rewritten: entry {seq} of chain {} has sha256 {found}, the saved head \
                             says {hash}",
                            saved.chain
                        );
                        code = ExitCode::FAILURE;
                    }
                }
            }
            Ok(code)
        }
    }
}

/// The head saved in `path` (a head file or a receipt), its signature checked with the configured keys.
fn saved_head(path: &PathBuf, settings: &Settings) -> anyhow::Result<sealing::ChainHead> {
    let bytes = std::fs::read(path)
        .map_err(|e| anyhow::anyhow!("--head: cannot read {}: {e}", path.display()))?;
    let keys = sealed::service_keys(&settings.sealing).map_err(anyhow::Error::msg)?;
    let is_receipt = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .is_some_and(|v| v.get("receipt").is_some());
    if is_receipt {
        let r = sealing::verify_with_keys(&bytes, &keys.published)
            .map_err(|e| anyhow::anyhow!("--head {}: {e}", path.display()))?;
        return r.audit_head.ok_or_else(|| {
            anyhow::anyhow!(
                "--head {}: this receipt carries no audit head (issued before heads were added)",
                path.display()
            )
        });
    }
    let h = sealing::verify_audit_head(&bytes, &keys.published)
        .map_err(|e| anyhow::anyhow!("--head {}: {e}", path.display()))?;
    Ok(h.chain_head())
}
