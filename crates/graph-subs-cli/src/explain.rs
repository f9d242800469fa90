//! `graph-subs explain RESOURCE [--now RFC3339] [--json]`: everything known about a resource.

use std::io::Write;

use chrono::{DateTime, Utc};
use graph_subs_core::Operation;
use graph_subs_core::catalogue::{Resource, Service};
use graph_subs_core::cloud::ALL_CLOUDS;
use graph_subs_core::lifetime::{self, TEAMS_LIFECYCLE_THRESHOLD, rfc3339 as time};
use graph_subs_core::payment_model::METERING_NOTE;
use graph_subs_core::permissions::{self, PermissionType};
use serde::Serialize;

use crate::permissions::{JsonCells, json_cells, resolve, show_cell};
use crate::{Exit, Report};

/// Everything known about a resource: kind, permissions, lifetime, change types,
/// rich notifications, payment models, clouds, quotas.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  graph-subs explain me/messages\n  \
    graph-subs explain 'chats/getAllMessages?model=A' --json")]
pub(crate) struct Args {
    /// The resource, as a subscription's `resource` property writes it.
    resource: String,
    /// Compute the latest expiration as if now were this time (RFC 3339).
    #[arg(long, value_parser = crate::check::parse_time)]
    now: Option<DateTime<Utc>>,
    /// Print JSON for scripts.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonOperation {
    documented: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    closest_operation: Option<&'static str>,
    #[serde(flatten)]
    permissions: JsonCells,
    /// Where another page of the operation differs from the seed page the row follows.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    notes: Vec<&'static str>,
}

/// Per operation; `null` when no page documents the resource for any operation.
#[derive(Serialize)]
struct JsonOperations {
    create: Option<JsonOperation>,
    update: Option<JsonOperation>,
    delete: Option<JsonOperation>,
    list: Option<JsonOperation>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonLifetime {
    maximum_minutes: i64,
    with_resource_data_minutes: i64,
    latest_expiration: String,
    /// Teams: a `lifecycleNotificationUrl` is needed for expirations beyond this.
    lifecycle_notification_url_required_beyond_minutes: Option<i64>,
    source_date: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonRich {
    supported: bool,
    encryption_required: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonModels {
    limited_api: bool,
    accepted: Vec<&'static str>,
    given: Option<&'static str>,
    note: Option<&'static str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonExplanation {
    resource: String,
    kind: &'static str,
    pattern: &'static str,
    covers: &'static str,
    service: &'static str,
    permissions: JsonOperations,
    lifetime: JsonLifetime,
    change_types: Vec<&'static str>,
    rich_notifications: JsonRich,
    payment_models: JsonModels,
    clouds: Vec<&'static str>,
    quota: Option<String>,
}

fn explanation(resource: &Resource, now: DateTime<Utc>) -> JsonExplanation {
    let kind = resource.kind();
    let spec = kind.spec();
    let pattern = resource.pattern();
    let accepted = pattern.payment_models();
    JsonExplanation {
        resource: resource.canonical_path().to_string(),
        kind: kind.name(),
        pattern: pattern.path(),
        covers: pattern.covers(),
        service: spec.service.title(),
        permissions: {
            let of = |op| {
                permissions::required(resource, op).map(|r| JsonOperation {
                    documented: r.documented,
                    closest_operation: (!r.documented).then_some(r.source_operation.as_str()),
                    permissions: json_cells(&r, &PermissionType::ALL),
                    notes: r.notes(),
                })
            };
            JsonOperations {
                create: of(Operation::Create),
                update: of(Operation::Update),
                delete: of(Operation::Delete),
                list: of(Operation::List),
            }
        },
        lifetime: JsonLifetime {
            maximum_minutes: lifetime::max_lifetime(kind, false).num_minutes(),
            with_resource_data_minutes: lifetime::max_lifetime(kind, true).num_minutes(),
            latest_expiration: time(lifetime::latest_expiration(kind, false, now)),
            lifecycle_notification_url_required_beyond_minutes: (spec.service == Service::Teams
                && lifetime::max_lifetime(kind, false) > TEAMS_LIFECYCLE_THRESHOLD)
                .then_some(TEAMS_LIFECYCLE_THRESHOLD.num_minutes()),
            source_date: lifetime::SOURCE_DATE,
        },
        change_types: spec.change_types.iter().map(|t| t.as_str()).collect(),
        rich_notifications: JsonRich {
            supported: spec.rich_notifications,
            encryption_required: spec.rich_notifications,
        },
        payment_models: JsonModels {
            limited_api: !accepted.is_empty(),
            accepted: accepted.iter().map(|m| m.as_str()).collect(),
            given: resource.path().query().payment_model().map(|m| m.as_str()),
            note: (!accepted.is_empty()).then_some(METERING_NOTE),
        },
        clouds: ALL_CLOUDS
            .iter()
            .filter(|c| c.supports(kind))
            .map(|c| c.as_str())
            .collect(),
        quota: kind.quota_summary(),
    }
}

pub(crate) fn run(args: &Args, out: &mut dyn Write, now: DateTime<Utc>) -> Result<Exit, Report> {
    let resource = resolve(&args.resource)?;
    let now = args.now.unwrap_or(now);
    let explained = explanation(&resource, now);
    if args.json {
        serde_json::to_writer_pretty(&mut *out, &explained).map_err(std::io::Error::from)?;
        writeln!(out)?;
    } else {
        write_human(out, &resource, &explained)?;
    }
    Ok(Exit::Success)
}

fn write_human(
    out: &mut dyn Write,
    resource: &Resource,
    e: &JsonExplanation,
) -> Result<(), Report> {
    writeln!(out, "{}", e.resource)?;
    writeln!(out, "  {}: {} ({})", e.kind, e.covers, e.service)?;
    writeln!(out)?;
    writeln!(
        out,
        "Permissions, least privileged first (any one is enough):"
    )?;
    let width = PermissionType::ALL
        .iter()
        .map(|t| t.title().len())
        .max()
        .unwrap_or(0);
    for op in Operation::ALL {
        match permissions::required(resource, op) {
            None => writeln!(out, "  {op:<7} no page documents it")?,
            Some(r) => {
                let source = if r.documented {
                    String::new()
                } else {
                    format!(
                        "  (not on the {op} page; the {} page's row)",
                        r.source_operation
                    )
                };
                writeln!(out, "  {op}{source}")?;
                for t in PermissionType::ALL {
                    writeln!(out, "    {:<width$}  {}", t.title(), show_cell(r.cell(t)))?;
                }
                for note in r.notes() {
                    writeln!(out, "    note: {note}")?;
                }
            }
        }
    }
    writeln!(out)?;
    let l = &e.lifetime;
    writeln!(
        out,
        "Lifetime: at most {} minutes; latest expiration now: {}",
        l.maximum_minutes, l.latest_expiration
    )?;
    if l.with_resource_data_minutes != l.maximum_minutes {
        writeln!(
            out,
            "  with resource data: at most {} minutes",
            l.with_resource_data_minutes
        )?;
    }
    if let Some(threshold) = l.lifecycle_notification_url_required_beyond_minutes {
        writeln!(
            out,
            "  lifecycleNotificationUrl required beyond {threshold} minutes"
        )?;
    }
    writeln!(
        out,
        "  renew before it expires; shorter requests are raised to 45 minutes (lifetimes as of {})",
        l.source_date
    )?;
    writeln!(out, "Change types: {}", e.change_types.join(", "))?;
    writeln!(
        out,
        "Rich notifications: {}",
        if e.rich_notifications.supported {
            "supported; resource data is encrypted: give encryptionCertificate and encryptionCertificateId"
        } else {
            "not supported (basic notifications only)"
        }
    )?;
    let m = &e.payment_models;
    if m.limited_api {
        let accepted: Vec<String> = m.accepted.iter().map(|a| format!("model={a}")).collect();
        let given = m.given.map_or("none (evaluation mode)".to_owned(), |g| {
            format!("model={g}")
        });
        writeln!(
            out,
            "Payment models: Teams limited API; accepts {}; given: {given}",
            accepted.join(", ")
        )?;
        writeln!(out, "  note: {METERING_NOTE}")?;
    } else {
        writeln!(out, "Payment models: not a limited API")?;
    }
    writeln!(out, "Clouds: {}", e.clouds.join(", "))?;
    writeln!(
        out,
        "Quota: {}",
        e.quota.as_deref().unwrap_or("none documented")
    )?;
    Ok(())
}
