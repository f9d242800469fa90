//! The `graph-subs` binary: see the `graph_subs_cli` library.

use std::process::ExitCode;

fn main() -> ExitCode {
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    graph_subs_cli::run(std::env::args_os(), &mut stdout.lock(), &mut stderr.lock()).into()
}
