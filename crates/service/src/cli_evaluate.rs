//! `sua evaluate FILE|-`: one JSON document in (a file, or standard input for `-`), one JSON result out.
//!
//! The whole computation and the input format live in [`evaluation::evaluate_json_to`]; this is only the
//! shell around it: exit 0 with the result on stdout (compact JSON, or indented with `--pretty`, written
//! to a buffer as it is serialized), exit 2 with a message naming the bad field on stderr, exit 1 when
//! the result cannot be written.

use clap::Args;
use std::io::Read;
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args, Debug)]
pub struct EvaluateArgs {
    /// The JSON input document, or `-` to read standard input.
    pub file: PathBuf,
    /// Indent the JSON result (two spaces) instead of writing it on one line; the value is the same.
    #[arg(long)]
    pub pretty: bool,
}

/// Runs the evaluation; never needs the configuration, the database or the runtime.
pub fn run(args: &EvaluateArgs) -> ExitCode {
    keep_freed_memory();
    let input = if args.file.as_os_str() == "-" {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s).map(|_| s)
    } else {
        std::fs::read_to_string(&args.file)
    };
    let input = match input {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", args.file.display());
            return ExitCode::from(2);
        }
    };
    // The library writes in blocks of 64 KiB: straight to the descriptor, not through stdout's line
    // buffer (which searches every block for a newline); the standard handle if it cannot be duplicated.
    let stdout = std::io::stdout();
    let result = match stdout.as_fd().try_clone_to_owned() {
        Ok(fd) => evaluation::evaluate_json_to(&input, args.pretty, std::fs::File::from(fd)),
        Err(_) => evaluation::evaluate_json_to(&input, args.pretty, stdout.lock()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(evaluation::EvaluateError::Input(e)) => {
            eprintln!("error: {}: {}", e.path, e.message);
            ExitCode::from(2)
        }
        Err(e @ evaluation::EvaluateError::Write(_)) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Large blocks (up to 32 MiB) from malloc's heap, kept there when freed, instead of each its own mapping
/// returned to the system on `free`: the vectors of the reading (the bids as slices of the input, the
/// duplicate-id set) are freed before the ranking's are made, which then reuse their pages instead of faulting
/// in new ones. On 100,000 bids: 5,190 page faults instead of 7,035, a quarter less system time, the same peak
/// memory (bench/README.md, "sua evaluate"). glibc only; elsewhere the allocator's defaults are kept.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn keep_freed_memory() {
    // 32 MiB: glibc's upper limit for the mmap threshold on 64-bit systems (a larger value is refused)
    const LIMIT: libc::c_int = 32 << 20;
    // SAFETY: `mallopt` only sets two thresholds of malloc; nothing else runs yet (no other thread exists).
    // A refusal (return value 0) leaves the defaults, which are correct, only slower.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, LIMIT);
        libc::mallopt(libc::M_TRIM_THRESHOLD, LIMIT);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn keep_freed_memory() {}
