//! The `sua` binary: a thin shell over [`service::cli`].

fn main() -> std::process::ExitCode {
    service::cli::main()
}
