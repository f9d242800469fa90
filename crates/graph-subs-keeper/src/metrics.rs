//! What `/metrics` shows, in Prometheus' text format (version 0.0.4): counters the
//! rounds add to, and gauges each tenant's last round sets from the store.
//!
//! Every series is prefixed `graph_subs_keeper_`. Labels are the tenant's name from the
//! configuration, an action, an operation and a reason from a fixed list
//! ([`crate::run::reason`]): the number of series is bounded by the configuration.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use graph_subs_core::notification::LifecycleEvent;

use crate::store::{Row, State};

/// Per tenant, from its rows after its last round.
#[derive(Debug, Clone, Default)]
struct TenantGauges {
    by_state: BTreeMap<&'static str, u64>,
    nearest_expiry: Option<DateTime<Utc>>,
}

#[derive(Debug, Default)]
struct Inner {
    /// `action` -> count.
    actions: BTreeMap<String, u64>,
    /// (`operation`, `reason`) -> count.
    failures: BTreeMap<(String, String), u64>,
    /// `event` -> count.
    lifecycle: BTreeMap<String, u64>,
    /// (`tenant`, `result`) -> count.
    rounds: BTreeMap<(String, &'static str), u64>,
    tenants: BTreeMap<String, TenantGauges>,
    /// `tenant` -> whether this replica holds its lease (several replicas only).
    leases: BTreeMap<String, bool>,
    /// Extra lines (the receiver's counters), already formatted.
    extra: String,
}

/// The keeper's counters and gauges.
#[derive(Debug, Default)]
pub struct Metrics(Mutex<Inner>);

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP graph_subs_keeper_{name} {help}");
    let _ = writeln!(out, "# TYPE graph_subs_keeper_{name} {kind}");
}

fn escape(label: &str) -> String {
    label
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl Metrics {
    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `n` more of `action` (`created`, `renewed`...).
    pub fn count(&self, action: &str, n: usize) {
        if n > 0 {
            *self.inner().actions.entry(action.to_owned()).or_default() += n as u64;
        }
    }

    /// One more failure of `operation` for `reason`.
    pub fn failure(&self, operation: &str, reason: &str) {
        *self
            .inner()
            .failures
            .entry((operation.to_owned(), reason.to_owned()))
            .or_default() += 1;
    }

    /// One more lifecycle event.
    pub fn lifecycle(&self, event: &LifecycleEvent) {
        let name = match event {
            LifecycleEvent::Other(_) => "other".to_owned(),
            known => known.to_string(),
        };
        *self.inner().lifecycle.entry(name).or_default() += 1;
    }

    /// One more round of `tenant`.
    pub fn round(&self, tenant: &str, ok: bool) {
        *self
            .inner()
            .rounds
            .entry((tenant.to_owned(), if ok { "ok" } else { "failed" }))
            .or_default() += 1;
    }

    /// Whether this replica holds `tenant`'s lease now.
    pub fn lease(&self, tenant: &str, held: bool) {
        self.inner().leases.insert(tenant.to_owned(), held);
    }

    /// `tenant`'s rows, as its last round left them.
    pub fn tenant_rows(&self, tenant: &str, rows: &[Row]) {
        let mut gauges = TenantGauges::default();
        for row in rows {
            let state = match (row.state, &row.graph_id) {
                (State::Active | State::Renewing, None) => "missing",
                (state, _) => state.as_str(),
            };
            *gauges.by_state.entry(state).or_default() += 1;
            if row.graph_id.is_some()
                && let Some(at) = row.expires_at
            {
                gauges.nearest_expiry = Some(gauges.nearest_expiry.map_or(at, |n| n.min(at)));
            }
        }
        self.inner().tenants.insert(tenant.to_owned(), gauges);
    }

    /// Lines to append as they are (another component's metrics, in the same format).
    pub fn set_extra(&self, text: String) {
        self.inner().extra = text;
    }

    /// The text `/metrics` answers, with `now` (Graph's) for the seconds to the nearest
    /// expiry.
    pub fn render(&self, now: DateTime<Utc>) -> String {
        let inner = self.inner();
        let mut out = String::new();
        family(
            &mut out,
            "subscriptions",
            "gauge",
            "Subscriptions the store remembers, by tenant and state.",
        );
        for (tenant, gauges) in &inner.tenants {
            for (state, n) in &gauges.by_state {
                let _ = writeln!(
                    out,
                    "graph_subs_keeper_subscriptions{{tenant=\"{}\",state=\"{state}\"}} {n}",
                    escape(tenant)
                );
            }
        }
        family(
            &mut out,
            "nearest_expiry_seconds",
            "gauge",
            "Seconds until the tenant's first subscription expires, by Graph's clock.",
        );
        for (tenant, gauges) in &inner.tenants {
            if let Some(at) = gauges.nearest_expiry {
                let _ = writeln!(
                    out,
                    "graph_subs_keeper_nearest_expiry_seconds{{tenant=\"{}\"}} {}",
                    escape(tenant),
                    (at - now).num_seconds()
                );
            }
        }
        family(
            &mut out,
            "actions_total",
            "counter",
            "Calls that succeeded, by action (created, adopted, renewed, deleted, reauthorized).",
        );
        for (action, n) in &inner.actions {
            let _ = writeln!(
                out,
                "graph_subs_keeper_actions_total{{action=\"{}\"}} {n}",
                escape(action)
            );
        }
        family(
            &mut out,
            "failures_total",
            "counter",
            "Calls that failed, by operation and reason.",
        );
        for ((operation, reason), n) in &inner.failures {
            let _ = writeln!(
                out,
                "graph_subs_keeper_failures_total{{operation=\"{}\",reason=\"{}\"}} {n}",
                escape(operation),
                escape(reason)
            );
        }
        family(
            &mut out,
            "lifecycle_events_total",
            "counter",
            "Lifecycle notifications received, by event.",
        );
        for (event, n) in &inner.lifecycle {
            let _ = writeln!(
                out,
                "graph_subs_keeper_lifecycle_events_total{{event=\"{}\"}} {n}",
                escape(event)
            );
        }
        family(
            &mut out,
            "rounds_total",
            "counter",
            "Reconcile rounds, by tenant and result.",
        );
        for ((tenant, result), n) in &inner.rounds {
            let _ = writeln!(
                out,
                "graph_subs_keeper_rounds_total{{tenant=\"{}\",result=\"{result}\"}} {n}",
                escape(tenant)
            );
        }
        if !inner.leases.is_empty() {
            family(
                &mut out,
                "lease_held",
                "gauge",
                "1 when this replica holds the tenant's lease (several replicas on PostgreSQL).",
            );
            for (tenant, held) in &inner.leases {
                let _ = writeln!(
                    out,
                    "graph_subs_keeper_lease_held{{tenant=\"{}\"}} {}",
                    escape(tenant),
                    u8::from(*held)
                );
            }
        }
        out.push_str(&inner.extra);
        out
    }
}
