//! `sua receipt verify FILE --key KEYFILE`: checks a bid receipt offline against the platform's published
//! Ed25519 key (PEM, base64 or the JWK Set served by the platform). The verification itself is
//! [`sealing::verify_receipt_file`]; this is the shell around it.

use clap::{Args, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Subcommand, Debug)]
pub enum ReceiptCommand {
    /// Verify a receipt's signature; print what it attests (exit 0) or why it fails (exit 1).
    Verify(VerifyArgs),
}

#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// The receipt file (JSON) as the bidder received it.
    pub file: PathBuf,
    /// The platform's public key: PEM, base64, or the JWK Set published by the platform.
    #[arg(long)]
    pub key: PathBuf,
}

/// Runs offline: needs neither the configuration nor the database.
pub fn run(cmd: &ReceiptCommand) -> ExitCode {
    let ReceiptCommand::Verify(args) = cmd;
    let receipt = match std::fs::read(&args.file) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", args.file.display());
            return ExitCode::from(2);
        }
    };
    let key = match std::fs::read_to_string(&args.key) {
        Ok(k) => k,
        Err(e) => {
            eprintln!("error: --key: cannot read {}: {e}", args.key.display());
            return ExitCode::from(2);
        }
    };
    match sealing::verify_receipt_file(&receipt, &key) {
        Ok(r) => {
            println!("valid signature\n{}", r.describe());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("invalid receipt: {e}");
            ExitCode::FAILURE
        }
    }
}
