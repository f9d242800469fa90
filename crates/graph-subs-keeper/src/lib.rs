//! `graph-subs keep`: keeps an app's subscriptions alive from a declarative
//! configuration (issue 10).
//!
//! This part is the desired state: [`config`] reads the TOML file (tenants, their
//! credentials, the subscriptions each should have) and checks all of it offline with the
//! core's rules, every problem at once, each at its line in the file with a hint.

pub mod config;
