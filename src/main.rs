//! The vcmock binary: hands the command line over to the library.

fn main() -> std::process::ExitCode {
    vcmock::run_cli()
}
