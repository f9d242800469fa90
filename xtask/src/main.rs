//! `cargo xtask`: see the library documentation.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use xtask::codegen::{self, Mode, Outcome};
use xtask::corpus::show_cell;
use xtask::page::{parse_page, rows_json};
use xtask::{
    bench, emulator_bench, keeper_bench, manage_bench, receiver_bench, replicas_bench, rich_bench,
};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "graph-subs project automation")]
struct Cli {
    #[command(subcommand)]
    command: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Generate the permission table from docs/upstream (and its errata), then
    /// docs/diagnostics.md from the core.
    Codegen {
        /// Fail, without writing, when a committed file is stale.
        #[arg(long)]
        check: bool,
    },
    /// Print the permission rows of one documentation page, in page order.
    ParsePermissions {
        /// The page: plain text, pipe table or Markdown.
        file: PathBuf,
        /// Print JSON: {"rows":[{"label", "path", "delegatedWork", "delegatedPersonal", "application"}]}.
        #[arg(long)]
        json: bool,
    },
    /// Run the criterion benchmarks of `check` and the emulator's load benchmark, and
    /// write their results into docs/performance.md.
    Bench {
        /// The package holding the benchmarks.
        #[arg(long, default_value = "graph-subs-cli")]
        package: String,
        /// The bench target.
        #[arg(long, default_value = "check")]
        bench: String,
        /// Do not run: write the tables from the results criterion and the emulator's
        /// bench already have.
        #[arg(long)]
        no_run: bool,
        /// Run one part only: `check` (criterion), `emulator`, `manage` (the client and
        /// the commands), `receiver` or `keeper` (100,000 subscriptions over a simulated
        /// week, about 6 minutes, then three replicas on PostgreSQL, one killed every
        /// simulated hour).
        #[arg(long, value_parser = ["check", "emulator", "manage", "receiver", "keeper"])]
        only: Option<String>,
        /// The emulator's and the client's benches in their small versions: for trying
        /// them, judged by no goal.
        #[arg(long)]
        quick: bool,
        /// Leave the Python SDK out of the client's bench (otherwise
        /// examples/python/.venv is made from PyPI when missing).
        #[arg(long)]
        no_python: bool,
        /// Arguments for the benchmark binary, after `--` (a filter, `--sample-size`...):
        /// the tables then hold only what this run measured.
        #[arg(last = true)]
        criterion_args: Vec<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Task::Codegen { check } => run_codegen(check),
        Task::ParsePermissions { file, json } => parse_permissions(&file, json),
        Task::Bench {
            package,
            bench,
            no_run,
            only,
            quick,
            no_python,
            criterion_args,
        } => run_bench(
            &bench::Options {
                package,
                bench,
                no_run,
                criterion_args,
            },
            only.as_deref(),
            quick,
            no_python,
        ),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run_codegen(check: bool) -> Result<ExitCode> {
    let mode = if check { Mode::Check } else { Mode::Write };
    let root = codegen::workspace_root();
    let (generated, table) = codegen::run(&root, mode)?;
    print!("{}", generated.summary());
    let table_fresh = report(codegen::TABLE, table);
    // After the table: the core that renders the reference compiles the table on disk.
    let diagnostics = codegen::run_diagnostics(&root, mode)?;
    let diagnostics_fresh = report(codegen::DIAGNOSTICS, diagnostics);
    Ok(if table_fresh && diagnostics_fresh {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Says what became of a generated file; false when `--check` found it stale.
fn report(file: &str, outcome: Outcome) -> bool {
    match outcome {
        Outcome::UpToDate => println!("{file} is up to date"),
        Outcome::Written => println!("wrote {file}"),
        Outcome::Stale => {
            eprintln!("error: {file} is stale: run `cargo xtask codegen` and commit the result");
            return false;
        }
    }
    true
}

fn run_bench(
    options: &bench::Options,
    only: Option<&str>,
    quick: bool,
    no_python: bool,
) -> Result<ExitCode> {
    let root = codegen::workspace_root();
    let part = |name: &str| only.is_none_or(|o| o == name);
    if part("check") {
        run_check_bench(&root, options)?;
    }
    if part("emulator") {
        let results = emulator_bench::run(&root, options.no_run, quick)?;
        println!(
            "wrote the emulator's measurements ({:.0} s) into {}",
            results.seconds,
            bench::DOC
        );
    }
    if part("manage") {
        let python = if no_python || options.no_run {
            None
        } else {
            match manage_bench::python_sdk(&root) {
                Ok(python) => Some(python),
                Err(why) => {
                    eprintln!("warning: the Python SDK is left out: {why}");
                    None
                }
            }
        };
        let results = manage_bench::run(&root, options.no_run, quick, python)?;
        println!(
            "wrote the client's measurements ({:.0} s) into {}",
            results.seconds,
            bench::DOC
        );
    }
    if part("receiver") {
        let results = receiver_bench::run(&root, options.no_run, quick)?;
        println!(
            "wrote the receiver's measurement ({:.0} notifications a second) into {}",
            results.throughput,
            bench::DOC
        );
        let rich = rich_bench::run(&root, options.no_run, quick)?;
        println!(
            "wrote the rich notifications' measurement ({:.0} a second at most) into {}",
            rich.saturation.throughput,
            bench::DOC
        );
    }
    if part("keeper") {
        let results = keeper_bench::run(&root, options.no_run, quick)?;
        println!(
            "wrote the keeper's measurements ({} subscriptions over {} simulated days, {:.0} s) into {}",
            results.subscriptions,
            results.days,
            results.seconds,
            bench::DOC
        );
        let replicas = replicas_bench::run(&root, options.no_run, quick)?;
        println!(
            "wrote the replicas' measurements ({} kills over {} simulated days, {:.0} s) into {}",
            replicas.week.kills,
            replicas.days,
            replicas.seconds,
            bench::DOC
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn run_check_bench(root: &std::path::Path, options: &bench::Options) -> Result<()> {
    let results = bench::run(root, options)?;
    let over: Vec<&str> = results
        .iter()
        .filter(|m| m.per_unit_ns() >= bench::TARGET_NS)
        .map(|m| m.id.as_str())
        .collect();
    println!("wrote {} benchmarks into {}", results.len(), bench::DOC);
    if !over.is_empty() {
        println!("over the 20 ms target: {}", over.join(", "));
    }
    Ok(())
}

fn parse_permissions(file: &PathBuf, json: bool) -> Result<ExitCode> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("cannot read `{}`", file.display()))?;
    let rows = parse_page(&text).with_context(|| format!("in `{}`", file.display()))?;
    if json {
        println!("{}", rows_json(&rows));
    } else {
        for row in &rows {
            println!("line {:>3}  {}", row.line, row.title());
            for (column, cell) in xtask::corpus::COLUMNS.iter().zip(row.cells()) {
                println!("           {column:<18} {}", show_cell(cell));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
