//! The pure domain of Microsoft Graph change-notification subscriptions.
//!
//! `graph-subs-core` answers, before any call is made, what a subscription needs: which
//! resource a path names, which permission each operation requires for each account
//! type. It does no I/O and never reads the clock: everything it needs is an argument,
//! everything it decides is a returned value. The HTTP client, the emulator and the CLI
//! all call these same functions.
//!
//! # Overview
//!
//! - [`resource::ResourcePath`]: a parsed resource path (`me/mailFolders('Inbox')/messages`,
//!   `chats/getAllMessages?model=A`), with structured errors naming the bad segment.
//! - [`catalogue`]: every resource kind that supports change notifications, and
//!   [`catalogue::resolve`] to map a path to its kind and pattern. Adding a resource is
//!   one entry in [`catalogue::KINDS`].
//! - [`permissions`]: the permission tables of the four operation pages, generated from
//!   the documentation by `cargo xtask codegen`, and [`permissions::required`].
//! - [`lifetime`]: maximum lifetimes, the 45-minute floor, and a renewal plan that spreads
//!   due times; every function takes `now`.
//! - [`payment_model`]: which Teams limited APIs accept `model=A` and `model=B`.
//! - [`cloud`]: the four national clouds, their roots, and what each supports.
//! - [`validate`]: every rule a create or update body must follow, as diagnostics.
//! - [`visibility`]: which subscriptions List returns to a caller, and never `clientState`.
//! - [`Operation`]: create, update, delete, list.
//!
//! # Example
//!
//! ```
//! use graph_subs_core::{catalogue, permissions, Operation};
//! use graph_subs_core::permissions::PermissionType;
//!
//! let path = "/teams/{id}/channels/{id}/messages".parse()?;
//! let resource = catalogue::resolve(&path)?;
//! assert_eq!(resource.kind().name(), "chatMessage");
//!
//! let needed = permissions::required(&resource, Operation::Create).expect("documented");
//! let app = needed.cell(PermissionType::Application).expect("supported");
//! assert_eq!(app[0].name, "ChannelMessage.Read.Group");
//! assert!(app[0].resource_specific_consent);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub use graph_subs_catalogue::{Operation, UnknownOperation};
pub use graph_subs_catalogue::{catalogue, change_type, cloud, quote, resource};

pub mod grants;
pub mod lifetime;
pub mod notification;
pub mod notification_url;
pub mod payment_model;
pub mod permissions;
pub mod quota;
pub mod request;
pub mod subscription;
pub mod validate;
pub mod visibility;
