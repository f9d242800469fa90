//! The `graph-subs` binary: see the `graph_subs_cli` library.

use std::process::ExitCode;

fn main() -> ExitCode {
    // Standard error stays unlocked: the services' `tracing` logs write to it too.
    let stdout = std::io::stdout();
    graph_subs_cli::run(
        std::env::args_os(),
        &mut stdout.lock(),
        &mut std::io::stderr(),
    )
    .into()
}
