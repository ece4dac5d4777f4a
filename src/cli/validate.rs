//! `ingest validate CONFIG...`: load each config and report every failure.

use anyhow::Result;
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `ingest validate`.
#[derive(Args, Debug)]
pub struct ValidateArgs {
    /// Dataset config YAML files.
    #[arg(required = true)]
    pub configs: Vec<PathBuf>,
}

/// Runs `ingest validate`: exit 0 when every config is valid, 2 otherwise.
///
/// # Errors
/// None of its own; config errors are printed and counted.
pub fn run(args: ValidateArgs) -> Result<ExitCode> {
    let mut bad = 0;
    for path in &args.configs {
        match crate::config::load(path) {
            Ok(_) => println!("ok {}", path.display()),
            Err(e) => {
                bad += 1;
                for one in e.errors() {
                    eprintln!("error: {one}");
                }
            }
        }
    }
    println!("{} valid, {bad} invalid", args.configs.len() - bad);
    Ok(if bad == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(super::EXIT_USAGE)
    })
}
