//! `graph-subs keep`: keeps an app's subscriptions alive from a declarative
//! configuration (issue 10).
//!
//! Built so far (the design of the rest is `docs/keeper.md`):
//! - the desired state: [`config`] reads the TOML file (tenants, their credentials, the
//!   subscriptions each should have) and checks all of it offline with the core's rules,
//!   every problem at once, each at its line in the file with a hint;
//! - the decision: [`reconcile::plan`], what to create, adopt, renew, replace, delete or
//!   forget for a tenant, from the configuration, the store and Graph's List answer;
//! - the durable state: [`store::Store`], SQLite or PostgreSQL, intents written before
//!   the calls they announce, versioned migrations run at open.

pub mod config;
pub mod metrics;
pub mod ops;
pub mod reconcile;
pub mod run;
pub mod setup;
pub mod store;
