//! Writes 1,000,000 lots as L.190 XML (split at 5 MiB, as in production) and reports throughput and peak
//! memory. Run with `cargo run --release -p anac --example l190_million [LOTS] [DIR]`.
//!
//! Without DIR the bytes go to a counting sink (measures the writer alone); with DIR the files are
//! written there (adds the disk). Lots cycle through a pool of 1,000 distinct, valid lots so that the
//! input itself takes constant memory. Peak memory is the process's VmHWM (Linux).

#[path = "../tests/common/mod.rs"]
mod common;

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::time::Instant;

use anac::l190::{Rules, SplitOptions, write_split};

struct Counting(u64);

impl Write for Counting {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let n: usize = args
        .next()
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(1_000_000);
    let dir = args.next();
    let pool: Vec<_> = (0..1000).map(common::lot).collect();
    let lots = pool.iter().cycle().take(n);
    let opts = SplitOptions::new("https://www.provincia.esempio.it/trasparenza/l190/2023");
    let before = peak_rss_kib();
    let start = Instant::now();
    let files = match &dir {
        Some(d) => write_split(
            &common::meta(2023),
            lots,
            &opts,
            &Rules::default(),
            |name| {
                File::create(std::path::Path::new(d).join(name))
                    .map(|f| Box::new(BufWriter::new(f)) as Box<dyn Write>)
            },
        )?,
        None => write_split(&common::meta(2023), lots, &opts, &Rules::default(), |_| {
            Ok(Box::new(Counting(0)) as Box<dyn Write>)
        })?,
    };
    let secs = start.elapsed().as_secs_f64();
    let bytes: u64 = files.iter().map(|f| f.bytes).sum();
    let lots: u64 = files.iter().map(|f| f.lots).sum();
    println!(
        "{lots} lots, {} files, {:.1} MB in {secs:.2} s = {:.1} MB/s ({:.0} lots/s)",
        files.len(),
        bytes as f64 / 1e6,
        bytes as f64 / 1e6 / secs,
        lots as f64 / secs
    );
    println!(
        "peak RSS: {} KiB before writing, {} KiB at the end",
        before.unwrap_or(0),
        peak_rss_kib().unwrap_or(0)
    );
    Ok(())
}
