//! The `ingest` command: parse arguments, run one subcommand, map the result to an exit code
//! (0 success, 1 some targets failed, 2 usage or config error).

use std::process::ExitCode;

fn main() -> ExitCode {
    cryoet_ingest::cli::main()
}
