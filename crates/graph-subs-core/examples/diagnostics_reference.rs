//! Prints `docs/diagnostics.md`, the reference of every diagnostic code:
//! `cargo xtask codegen` runs it and writes (or, with `--check`, compares) the file.

// This program's one job is to print the reference; the library itself never prints.
#![allow(clippy::print_stdout)]

fn main() {
    print!("{}", graph_subs_core::validate::reference_markdown());
}
