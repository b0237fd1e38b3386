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
        std::io::stdin()
            .read_to_string(&mut s)
            .map(|_| Input::Read(s))
    } else {
        read_file(&args.file)
    };
    let cannot_read = |e: std::io::Error| {
        eprintln!("error: cannot read {}: {e}", args.file.display());
        ExitCode::from(2)
    };
    let input = match input {
        Ok(i) => i,
        Err(e) => return cannot_read(e),
    };
    let input_text = match input.text() {
        Ok(s) => s,
        Err(e) => return cannot_read(e),
    };
    warm_heap(input_text.len());
    // The library writes in blocks of 64 KiB: straight to the descriptor, not through stdout's line
    // buffer (which searches every block for a newline); the standard handle if it cannot be duplicated.
    let stdout = std::io::stdout();
    let result = match stdout.as_fd().try_clone_to_owned() {
        Ok(fd) => evaluation::evaluate_json_to(input_text, args.pretty, std::fs::File::from(fd)),
        Err(_) => evaluation::evaluate_json_to(input_text, args.pretty, stdout.lock()),
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

/// The input document as read: a private copy of the file made by the kernel ([`Mapping`]), or read into a
/// `String` (standard input, a file that is not a regular one, or where the copy cannot be made).
enum Input {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    Mapped(Mapping),
    Read(String),
}

impl Input {
    /// The text, checked to be UTF-8 (the message is `read_to_string`'s when it is not).
    fn text(&self) -> std::io::Result<&str> {
        match self {
            #[cfg(all(target_os = "linux", target_env = "gnu"))]
            Input::Mapped(m) => std::str::from_utf8(m.bytes()).map_err(|_| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    "stream did not contain valid UTF-8",
                )
            }),
            Input::Read(s) => Ok(s),
        }
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn read_file(path: &std::path::Path) -> std::io::Result<Input> {
    let file = std::fs::File::open(path)?;
    if let Some(m) = Mapping::copy_of(&file) {
        return Ok(Input::Mapped(m));
    }
    let mut s = String::new();
    (&file).read_to_string(&mut s)?;
    Ok(Input::Read(s))
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn read_file(path: &std::path::Path) -> std::io::Result<Input> {
    std::fs::read_to_string(path).map(Input::Read)
}

/// A regular file copied into this process's own memory by the kernel, page by page, without a `read` into a
/// buffer of ours: a private writable mapping of the file (`MAP_PRIVATE`), every page of which is then written
/// to in the kernel's sense (`madvise(MADV_POPULATE_WRITE)`, Linux 5.14): each page is copied from the page cache
/// into an anonymous page of this process (copy on write), in one call, without a page fault per page nor the
/// zeroing of fresh memory that `read` into a new buffer costs. On 100,000 bids (5.5 MB) this takes about
/// half the time of `read_to_string` and 1,350 fewer page faults (bench/README.md, "sua evaluate", session 8).
///
/// Why the bytes cannot change under us (which would make `&[u8]` and the `&str` checked from it unsound):
/// once `MADV_POPULATE_WRITE` has succeeded, no page of the mapping is the file's any more; each is a private,
/// anonymous copy that only this process could write, and it is made read-only (`mprotect`) before it is read. A later write to the file, or its truncation, changes the page cache, not these pages: no
/// change and no `SIGBUS`. When the copy cannot be made (an older kernel, the file shortened meanwhile so that a
/// page is past its end, no memory), `madvise` returns an error instead of raising `SIGBUS`, the mapping is
/// removed and the file is read with `read` as before.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
struct Mapping {
    ptr: std::ptr::NonNull<u8>,
    len: usize,
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
impl Mapping {
    /// The copy of `file`; `None` for an empty file or one that is not a regular file, or when the kernel
    /// cannot make it (the caller reads the file instead).
    fn copy_of(file: &std::fs::File) -> Option<Mapping> {
        use std::os::fd::AsRawFd;
        let meta = file.metadata().ok()?;
        let len = usize::try_from(meta.len()).ok()?;
        if !meta.is_file() || len == 0 {
            return None;
        }
        // SAFETY: a new mapping at an address of the kernel's choosing (no existing memory is affected), of a
        // descriptor open for reading; the result is checked against MAP_FAILED.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE,
                file.as_raw_fd(),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return None;
        }
        let mapping = Mapping {
            ptr: std::ptr::NonNull::new(ptr.cast::<u8>())?,
            len,
        };
        // SAFETY: `ptr..ptr + len` is the mapping just made, and no reference to its bytes exists yet.
        let copied = unsafe {
            libc::madvise(ptr, len, libc::MADV_POPULATE_WRITE) == 0
                // read-only from now on: what `bytes` promises is also the hardware's rule
                && libc::mprotect(ptr, len, libc::PROT_READ) == 0
        };
        // on failure `mapping` is dropped here, which removes it
        copied.then_some(mapping)
    }

    fn bytes(&self) -> &[u8] {
        // SAFETY: `len` bytes from `ptr` are mapped for as long as `self` lives (removed only by `drop`), every
        // page of them a private copy already made and read-only (see the type's comment): nothing writes them.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: the mapping made by `copy_of`, removed once; the borrows of `bytes` ended with `&self`'s.
        unsafe {
            libc::munmap(self.ptr.as_ptr().cast(), self.len);
        }
    }
}

/// Large blocks (up to 32 MiB) from malloc's heap, kept there when freed, instead of each its own mapping
/// returned to the system on `free`: the vectors of the reading (the bids as slices of the input, the
/// duplicate-id set) are freed before the ranking's are made, which then reuse their pages instead of faulting
/// in new ones. On 100,000 bids: 5,190 page faults instead of 7,035, a quarter less system time, the same peak
/// memory (bench/README.md, "sua evaluate"). Also one heap for every thread (`M_ARENA_MAX`). glibc only;
/// elsewhere the allocator's defaults are kept.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn keep_freed_memory() {
    // 32 MiB: glibc's upper limit for the mmap threshold on 64-bit systems (a larger value is refused)
    const LIMIT: libc::c_int = 32 << 20;
    // SAFETY: `mallopt` only sets three parameters of malloc; nothing else runs yet (no other thread exists).
    // A refusal (return value 0) leaves the defaults, which are correct, only slower.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, LIMIT);
        libc::mallopt(libc::M_TRIM_THRESHOLD, LIMIT);
        // one heap for all threads: the evaluation's second thread (on large inputs) allocates in the heap
        // warmed and reused by the first instead of a heap of its own, which would only add to the peak memory
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn keep_freed_memory() {}

/// Makes malloc's heap twice as large as the input (at most 24 MiB) and has the kernel fill its pages in one
/// call (`madvise(MADV_POPULATE_WRITE)`) before the evaluation allocates there, instead of one page fault per
/// page of fresh memory as the evaluation first writes it: on 100,000 bids (5.5 MB, about 13 MB of heap) a
/// page fault costs about 1 µs, a page filled this way half of that (bench/README.md, "sua evaluate", session
/// 8). The block is freed at once and stays in the heap ([`keep_freed_memory`]: below its trim threshold), where
/// the evaluation's vectors are then made. Twice the input: the heap the lowest-price evaluation of large
/// inputs takes, so that peak memory does not grow (more would be resident for nothing; what the evaluation
/// needs beyond it is faulted in as before). glibc only, after `keep_freed_memory`.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn warm_heap(input_len: usize) {
    const PAGE: usize = 4096;
    let len = input_len.saturating_mul(2).min(24 << 20);
    if len < 64 * PAGE {
        return;
    }
    let mut block: Vec<u8> = Vec::with_capacity(len);
    let start = (block.as_mut_ptr() as usize).next_multiple_of(PAGE);
    let end = (block.as_mut_ptr() as usize + len) / PAGE * PAGE;
    // SAFETY: `start..end` is inside `block`'s allocation, which holds no value (capacity only) and is freed
    // right after; populating maps zero-filled pages where none are mapped yet and changes no byte of a page
    // already there. An error (an older kernel) only leaves the pages to be faulted in later.
    unsafe {
        libc::madvise(
            start as *mut libc::c_void,
            end - start,
            libc::MADV_POPULATE_WRITE,
        );
    }
    drop(block);
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn warm_heap(_input_len: usize) {}
