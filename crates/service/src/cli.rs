//! The `sua` command line. Each subcommand is one variant of [`Command`] holding its own `Args` struct;
//! to add one (e.g. `evaluate`, `export`), add a module with an `Args` type and an `async fn run`, then one
//! variant and one match arm below.

use crate::{
    audit,
    config::{self, Settings},
    server, tokens,
};
use clap::{Args, Parser, Subcommand};
use std::{path::PathBuf, process::ExitCode};
use uuid::Uuid;
use workflow::access::Role;
use workflow::store::Scope;

#[derive(Parser, Debug)]
#[command(
    name = "sua",
    version,
    about = "Stazione Unica Appaltante e-procurement engine"
)]
pub struct Cli {
    /// Extra TOML config file, merged over config/default.toml (also: SUA_CONFIG).
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the HTTP API and the scheduler (applies migrations first).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Administration: tenants and API tokens.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Audit log tools.
    #[command(subcommand)]
    Audit(crate::cli_audit::AuditCommand),
    /// Evaluate bids from a JSON document (lowest price with anomaly exclusion, or quality-price) and
    /// print the explained result as JSON. Exit 2 on invalid input, naming the field.
    Evaluate(crate::cli_evaluate::EvaluateArgs),
    /// Bid receipts: verify one offline against the platform's public key.
    #[command(subcommand)]
    Receipt(crate::cli_receipt::ReceiptCommand),
    /// Transparency exports: ANAC L.190 XML and OCDS.
    #[command(subcommand)]
    Export(crate::cli_export::ExportCommand),
    /// Drive every fixture procurement through the HTTP API on a fresh SQLite file (mail to files, simulated clock); write db, mails, verbali, L.190 XML, OCDS into --out.
    Demo(crate::demo::DemoArgs),
}

#[derive(Subcommand, Debug)]
pub enum AdminCommand {
    /// Issue an API token and print it (only its hash is stored).
    CreateToken(CreateToken),
    /// List the API tokens: hash prefix, role, org, label, created, expires, last use, revoked.
    ListTokens,
    /// Revoke the API token whose SHA-256 starts with the given hex prefix (from list-tokens; at
    /// least 8 characters). Effective on the token's next request.
    RevokeToken(RevokeToken),
    /// Create a Province (SUA tenant) and print its id.
    CreateProvince(CreateProvince),
    /// Create a municipality of a Province and print its id.
    CreateMunicipality(CreateMunicipality),
    /// Document store objects that no row references: list those older than --older-than-hours
    /// (dry run), or remove them with --delete. Younger ones are never touched (uploads in flight).
    DocumentsGc(DocumentsGc),
}

#[derive(Args, Debug)]
pub struct DocumentsGc {
    /// Only objects last modified at least this many hours ago.
    #[arg(long, default_value_t = 24)]
    pub older_than_hours: u32,
    /// Remove the orphans (without it: print them only).
    #[arg(long)]
    pub delete: bool,
}

#[derive(Args, Debug)]
pub struct CreateToken {
    /// platform_admin, sua_buyer, municipality, bidder or commissioner.
    #[arg(long)]
    pub role: String,
    /// Province, municipality, operator or tender id (none for platform_admin).
    #[arg(long)]
    pub org: Option<Uuid>,
    /// Free text (no control characters but tab and newline, no bidirectional overrides).
    #[arg(long, default_value = "")]
    pub label: domain::text::Text,
    /// Days until the token expires; 0: never. Default: `[tokens] default_ttl_days`.
    #[arg(long)]
    pub expires_in_days: Option<u32>,
}

#[derive(Args, Debug)]
pub struct RevokeToken {
    /// Leading hex characters of the token's SHA-256, as `sua admin list-tokens` prints them.
    pub hash_prefix: String,
}

#[derive(Args, Debug)]
pub struct CreateProvince {
    #[arg(long)]
    pub code: domain::text::Text,
    #[arg(long)]
    pub name: domain::text::Text,
}

#[derive(Args, Debug)]
pub struct CreateMunicipality {
    #[arg(long)]
    pub province: Uuid,
    #[arg(long)]
    pub name: domain::text::Text,
    #[arg(long)]
    pub codice_fiscale: String,
    /// The Comune's PEC address (request and contract mails).
    #[arg(long)]
    pub pec: Option<String>,
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    // Pure computations need no configuration, database or runtime, and keep stdout for their JSON.
    if let Command::Evaluate(args) = &cli.command {
        return crate::cli_evaluate::run(args);
    }
    if let Command::Receipt(cmd) = &cli.command {
        return crate::cli_receipt::run(cmd);
    }
    let settings = match config::load(cli.config.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::from(2);
        }
    };
    server::init_tracing(&settings);
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli.command, settings)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

pub async fn run(cmd: Command, settings: Settings) -> anyhow::Result<ExitCode> {
    match cmd {
        Command::Serve => server::serve(settings).await.map(|_| ExitCode::SUCCESS),
        Command::Migrate => {
            crate::runtime::open_db(&settings).await?;
            println!("migrations applied");
            Ok(ExitCode::SUCCESS)
        }
        Command::Admin(a) => admin(a, settings).await,
        Command::Evaluate(args) => Ok(crate::cli_evaluate::run(&args)),
        Command::Receipt(cmd) => Ok(crate::cli_receipt::run(&cmd)),
        Command::Export(cmd) => crate::cli_export::run(cmd, settings).await,
        Command::Demo(args) => crate::demo::run(args, settings).await,
        Command::Audit(cmd) => crate::cli_audit::run(cmd, settings).await,
    }
}

/// `sua admin list-tokens`: one line per token, tab-separated, under a header.
async fn list_tokens(
    db: &sea_orm::DatabaseConnection,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<()> {
    let when = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map_or_else(
            || "-".to_owned(),
            |t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        )
    };
    println!("hash_prefix\trole\torg\tlabel\tcreated\texpires\tlast_used\tstatus");
    for t in tokens::list(db).await? {
        let status = tokens::refusal(&t, now).unwrap_or("active");
        println!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
            &t.token_hash[..tokens::HASH_PREFIX_LEN],
            t.role,
            t.org_id.map_or_else(|| "-".to_owned(), |o| o.to_string()),
            if t.label.is_empty() {
                "-".to_owned()
            } else {
                t.label.replace(['\t', '\n'], " ")
            },
            when(Some(t.created_at)),
            when(t.expires_at),
            when(t.last_used_at),
            status,
        );
    }
    Ok(())
}

async fn admin(cmd: AdminCommand, settings: Settings) -> anyhow::Result<ExitCode> {
    use crate::db::entities::{municipality, province};
    use sea_orm::{ActiveModelTrait, EntityTrait, Set};
    if let AdminCommand::DocumentsGc(g) = &cmd {
        crate::docstore::gc::run(&settings, g.older_than_hours, g.delete).await?;
        return Ok(ExitCode::SUCCESS);
    }
    let db = crate::runtime::open_db(&settings).await?;
    let now = crate::audit::truncate_micros(chrono::Utc::now());
    if let AdminCommand::ListTokens = &cmd {
        list_tokens(&db.conn, now).await?;
        return Ok(ExitCode::SUCCESS);
    }
    // a municipality belongs to its Province's chain; tokens and Provinces to the platform's
    let scope = match &cmd {
        AdminCommand::CreateMunicipality(m) => Scope::Province(m.province),
        _ => Scope::Platform,
    };
    let w = db.write(scope).await?;
    let (action, kind, id, after) = match cmd {
        AdminCommand::CreateToken(t) => {
            let role = Role::parse(&t.role).ok_or_else(|| {
                anyhow::anyhow!(
                    "--role: unknown role {:?} (platform_admin, sua_buyer, municipality, bidder, commissioner)",
                    t.role
                )
            })?;
            workflow::access::check_org(&w.txn, role, t.org)
                .await
                .map_err(|e| anyhow::anyhow!("--org: {e}"))?;
            let expires_at = match t.expires_in_days {
                Some(0) => None,
                Some(d) => Some(now + chrono::TimeDelta::days(i64::from(d))),
                None => tokens::default_expiry(&settings.tokens, now),
            };
            let (id, token) = tokens::issue(&w.txn, role, t.org, &t.label, now, expires_at).await?;
            println!("{token}");
            (
                "token.issue",
                "api_token",
                id,
                serde_json::json!({"role": role, "org": t.org, "label": t.label, "expires_at": expires_at}),
            )
        }
        AdminCommand::RevokeToken(r) => {
            let row = tokens::find_by_prefix(&w.txn, &r.hash_prefix)
                .await
                .map_err(|e| anyhow::anyhow!("hash prefix: {e}"))?;
            if !tokens::revoke(&w.txn, &row, now).await? {
                anyhow::bail!("hash prefix: the token was already revoked");
            }
            println!(
                "revoked {} ({}, {})",
                &row.token_hash[..tokens::HASH_PREFIX_LEN],
                row.role,
                row.label
            );
            (
                "token.revoke",
                "api_token",
                row.id,
                serde_json::json!({"role": row.role, "org": row.org_id, "revoked_at": now}),
            )
        }
        AdminCommand::ListTokens => anyhow::bail!("list-tokens is run before opening a write"),
        AdminCommand::CreateProvince(p) => {
            let id = Uuid::now_v7();
            province::ActiveModel {
                id: sea_orm::Set(id),
                code: Set(p.code.trim().to_uppercase()),
                name: Set(p.name.to_string()),
                created_at: Set(now),
            }
            .insert(&w.txn)
            .await?;
            println!("{id}");
            (
                "province.create",
                "province",
                id,
                serde_json::json!({"code": p.code.as_str(), "name": p.name.as_str()}),
            )
        }
        AdminCommand::CreateMunicipality(m) => {
            let cf: domain::ids::CodiceFiscale = m
                .codice_fiscale
                .parse()
                .map_err(|e| anyhow::anyhow!("--codice-fiscale: {e}"))?;
            if province::Entity::find_by_id(m.province)
                .one(&w.txn)
                .await?
                .is_none()
            {
                anyhow::bail!("--province: no such province");
            }
            let id = Uuid::now_v7();
            municipality::ActiveModel {
                id: Set(id),
                province_id: Set(m.province),
                name: Set(m.name.to_string()),
                codice_fiscale: Set(cf.to_string()),
                created_at: Set(now),
                pec: Set(m
                    .pec
                    .as_deref()
                    .map(|p| crate::input::pec("pec", p))
                    .transpose()
                    .map_err(|e| anyhow::anyhow!("--pec: {e}"))?),
            }
            .insert(&w.txn)
            .await?;
            println!("{id}");
            (
                "municipality.create",
                "municipality",
                id,
                serde_json::json!({"province_id": m.province, "name": m.name.as_str(), "codice_fiscale": cf.to_string()}),
            )
        }
        AdminCommand::DocumentsGc(_) => anyhow::bail!("documents-gc is run before opening a write"),
    };
    audit::append(
        &w.txn,
        now,
        audit::Entry {
            chain: scope,
            actor: "cli",
            action,
            object_kind: kind,
            object_id: id.to_string(),
            before: None,
            after: Some(after),
        },
    )
    .await?;
    w.commit().await?;
    Ok(ExitCode::SUCCESS)
}
