//! The vcmock binary: parses the command line and hands over to the library.

use clap::Parser as _;

fn main() -> std::process::ExitCode {
    vcmock::cli::run(vcmock::config::Cli::parse())
}
