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
    #[arg(long, default_value = "")]
    pub label: String,
}

#[derive(Args, Debug)]
pub struct CreateProvince {
    #[arg(long)]
    pub code: String,
    #[arg(long)]
    pub name: String,
}

#[derive(Args, Debug)]
pub struct CreateMunicipality {
    #[arg(long)]
    pub province: Uuid,
    #[arg(long)]
    pub name: String,
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

async fn admin(cmd: AdminCommand, settings: Settings) -> anyhow::Result<ExitCode> {
    use crate::db::entities::{municipality, province};
    use sea_orm::{ActiveModelTrait, EntityTrait, Set};
    if let AdminCommand::DocumentsGc(g) = &cmd {
        crate::docstore::gc::run(&settings, g.older_than_hours, g.delete).await?;
        return Ok(ExitCode::SUCCESS);
    }
    let db = crate::runtime::open_db(&settings).await?;
    let now = crate::audit::truncate_micros(chrono::Utc::now());
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
            let (id, token) = tokens::issue(&w.txn, role, t.org, &t.label, now).await?;
            println!("{token}");
            (
                "token.issue",
                "api_token",
                id,
                serde_json::json!({"role": role, "org": t.org, "label": t.label}),
            )
        }
        AdminCommand::CreateProvince(p) => {
            let id = Uuid::now_v7();
            province::ActiveModel {
                id: sea_orm::Set(id),
                code: Set(p.code.trim().to_uppercase()),
                name: Set(p.name.clone()),
                created_at: Set(now),
            }
            .insert(&w.txn)
            .await?;
            println!("{id}");
            (
                "province.create",
                "province",
                id,
                serde_json::json!({"code": p.code, "name": p.name}),
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
                name: Set(m.name.clone()),
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
                serde_json::json!({"province_id": m.province, "name": m.name, "codice_fiscale": cf.to_string()}),
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
