//! What `sua evaluate FILE [--pretty]` does, without the rest of `sua`: for profiling the library on a large
//! input (bench/README.md, "sua evaluate").
//!
//!     cargo build --release -p evaluation --example evaluate_file
//!     python3 bench/gen_bids.py 100000 > /tmp/bids-100k.json
//!     REPS=20 perf record -g target/release/examples/evaluate_file /tmp/bids-100k.json > /dev/null
//!     valgrind --tool=callgrind target/release/examples/evaluate_file /tmp/bids-100k.json > /dev/null
//!
//! `REPS=N` evaluates N times (the input is read once).

use std::io::Write;
use std::os::fd::AsFd;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let pretty = args.iter().any(|a| a == "--pretty");
    let Some(path) = args.iter().find(|a| *a != "--pretty") else {
        eprintln!("usage: evaluate_file [--pretty] FILE");
        return ExitCode::from(2);
    };
    let input = match std::fs::read_to_string(path) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: cannot read {path}: {e}");
            return ExitCode::from(2);
        }
    };
    let reps: usize = std::env::var("REPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    for _ in 0..reps {
        let out = match std::io::stdout().as_fd().try_clone_to_owned() {
            Ok(fd) => std::fs::File::from(fd),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        };
        if let Err(e) = evaluation::evaluate_json_to(&input, pretty, out) {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    }
    std::io::stdout().flush().ok();
    ExitCode::SUCCESS
}
