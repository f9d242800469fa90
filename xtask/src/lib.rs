//! Project automation for graph-subs, run as `cargo xtask <command>`.
//!
//! - `codegen [--check]`: generates `crates/graph-subs-core/src/permissions/table.rs` from
//!   the documentation pages in `docs/upstream/` ([`codegen`]).
//! - `parse-permissions FILE [--json]`: prints the permission rows of one page ([`page`]).
//! - `bench [--no-run]`: runs the criterion benchmarks and writes their tables into
//!   `docs/performance.md` ([`bench`]).
//!
//! The library half exists so that the workspace tests can run the same code.

pub mod bench;
pub mod codegen;
pub mod corpus;
pub mod errata;
pub mod page;
