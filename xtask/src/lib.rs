//! Project automation for graph-subs, run as `cargo xtask <command>`.
//!
//! - `codegen [--check]`: generates `crates/graph-subs-core/src/permissions/table.rs` from
//!   the documentation pages in `docs/upstream/` ([`codegen`]).
//! - `parse-permissions FILE [--json]`: prints the permission rows of one page ([`page`]).
//! - `bench [--no-run] [--only check|emulator] [--quick]`: runs the criterion benchmarks
//!   of `check` ([`bench`]) and the emulator's load benchmark ([`emulator_bench`]), and
//!   writes their sections of `docs/performance.md`.
//!
//! The library half exists so that the workspace tests can run the same code.

pub mod bench;
pub mod codegen;
pub mod corpus;
pub mod emulator_bench;
pub mod errata;
pub mod page;
