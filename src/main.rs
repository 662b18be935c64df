//! The `drift` binary: parse the command line, set up logging, dispatch, map errors to exit
//! codes. Everything else lives in the library.

use clap::Parser;
use drift::cli::{self, Cli, Command, exit};

fn main() {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let sub = std::env::args().skip(1).find(|a| !a.starts_with('-'));
            let code = if e.use_stderr() { exit::usage(sub.as_deref()) } else { exit::OK };
            let _ = e.print();
            std::process::exit(code);
        }
    };
    let default_level = if matches!(&cli.command, Command::Run(r) if !r.once) { "info" } else { "warn" };
    drift::logging::init(cli.log_level.as_deref().unwrap_or(default_level), cli.log_format);
    let result = match &cli.command {
        Command::Check(args) => cli::check(args),
        Command::Reference(cmd) => cli::reference(cmd),
        Command::Validate(args) => cli::validate(args),
        Command::Run(args) => cli::run(args),
        Command::History(args) => cli::history(args),
        Command::Report(args) => cli::report(args),
        Command::Silence(cmd) => cli::silence(cmd),
        Command::Alert(cmd) => cli::alert(cmd),
        Command::Quarantine(cmd) => cli::quarantine(cmd),
    };
    match result {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("drift: error: {e:#}");
            std::process::exit(exit::ERROR);
        }
    }
}
