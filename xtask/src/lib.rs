//! Project automation for graph-subs, run as `cargo xtask <command>`.
//!
//! - `codegen [--check]`: generates `crates/graph-subs-core/src/permissions/table.rs` from
//!   the documentation pages in `docs/upstream/` ([`codegen`]).
//! - `parse-permissions FILE [--json]`: prints the permission rows of one page ([`page`]).
//! - `bench [--no-run] [--only check|emulator|manage|receiver|keeper] [--quick]
//!   [--no-python]`: runs the criterion benchmarks of `check` ([`bench`]), the emulator's
//!   load benchmark ([`emulator_bench`]), the client's ([`manage_bench`]), the receiver's
//!   ([`receiver_bench`], [`rich_bench`]), the keeper's scale benchmark
//!   ([`keeper_bench`]) and its replicas on PostgreSQL ([`replicas_bench`]), and writes
//!   their sections of `docs/performance.md`
//!   ([`json_bench`] runs all but the first).
//!
//! The library half exists so that the workspace tests can run the same code.

pub mod bench;
pub mod codegen;
pub mod corpus;
pub mod emulator_bench;
pub mod errata;
pub mod json_bench;
pub mod keeper_bench;
pub mod manage_bench;
pub mod page;
pub mod receiver_bench;
pub mod replicas_bench;
pub mod rich_bench;
