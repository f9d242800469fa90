//! The vocabulary of Microsoft Graph change-notification subscriptions: what a resource
//! path is, which resources exist, and the shape of the documentation's permission tables.
//!
//! This crate is the part of the domain that `cargo xtask codegen` needs to read the
//! documentation pages: it holds no generated data, so the generator can always run, even
//! when the table it writes is missing or broken. Use it through
//! `graph-subs-core`, which re-exports every module;
//! depend on it directly only to read paths and the catalogue without the rules.
//!
//! # Overview
//!
//! - [`resource::ResourcePath`]: a parsed resource path, with structured errors naming the
//!   bad segment.
//! - [`catalogue`]: every resource kind that supports change notifications, and
//!   [`catalogue::resolve`]; adding a resource is one entry in [`catalogue::KINDS`].
//! - [`permission`]: the columns, cells and rows of a permission table.
//! - [`quote`]: how user text is shown in messages (shortened, invisible and lookalike
//!   characters named).
//! - [`cloud`], [`change_type`], [`Operation`].
//!
//! # Example
//!
//! ```
//! use graph_subs_catalogue::catalogue::resolve;
//!
//! let resource = resolve(&"me/mailFolders('Inbox')/messages".parse()?)?;
//! assert_eq!(resource.kind().name(), "message");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod catalogue;
pub mod change_type;
pub mod cloud;
mod operation;
pub mod permission;
pub mod quote;
pub mod resource;

pub use operation::{Operation, UnknownOperation};
