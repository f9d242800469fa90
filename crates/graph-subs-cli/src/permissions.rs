//! `graph-subs permissions RESOURCE [--op OP] [--auth TYPE] [--json]`.

use std::io::Write;

use clap::ValueEnum;
use graph_subs_core::Operation;
use graph_subs_core::catalogue::{self, Resource, UnknownResource};
use graph_subs_core::permissions::{self, Cell, PermissionType, Requirement};
use graph_subs_core::resource::ResourcePath;
use serde::Serialize;

use crate::{Exit, Report};

/// Which permission a subscription operation needs on a resource.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
    graph-subs permissions me/messages\n  \
    graph-subs permissions 'teams/{id}/channels/{id}/messages' --op update --auth application\n  \
    graph-subs permissions chats/getAllMessages --json")]
pub(crate) struct Args {
    /// The resource, as a subscription's `resource` property writes it: `me/messages`,
    /// `groups('{id}')/conversations`, `chats/getAllMessages?model=A`.
    resource: String,
    /// The subscription operation.
    #[arg(long, value_enum, default_value_t = OpArg::Create)]
    op: OpArg,
    /// Show only this permission type.
    #[arg(long, value_enum)]
    auth: Option<AuthArg>,
    /// Print JSON for scripts instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum OpArg {
    Create,
    Update,
    Delete,
    List,
}

impl From<OpArg> for Operation {
    fn from(op: OpArg) -> Operation {
        match op {
            OpArg::Create => Operation::Create,
            OpArg::Update => Operation::Update,
            OpArg::Delete => Operation::Delete,
            OpArg::List => Operation::List,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum AuthArg {
    DelegatedWork,
    DelegatedPersonal,
    Application,
}

impl From<AuthArg> for PermissionType {
    fn from(auth: AuthArg) -> PermissionType {
        match auth {
            AuthArg::DelegatedWork => PermissionType::DelegatedWork,
            AuthArg::DelegatedPersonal => PermissionType::DelegatedPersonal,
            AuthArg::Application => PermissionType::Application,
        }
    }
}

pub(crate) fn run(args: &Args, out: &mut dyn Write) -> Result<Exit, Report> {
    let resource = resolve(&args.resource)?;
    let operation = Operation::from(args.op);
    let Some(requirement) = permissions::required(&resource, operation) else {
        return Err(Report::new(
            Exit::No,
            format!(
                "no documentation page lists the permissions for {} ({})",
                resource.kind(),
                resource.pattern().path()
            ),
        )
        .hint(
            "graph-subs knows this resource, but none of the pages in docs/upstream has a row for it; \
             check the Graph documentation of the resource",
        )
        .code("not-documented"));
    };
    let types: Vec<PermissionType> = match args.auth {
        Some(auth) => vec![auth.into()],
        None => PermissionType::ALL.to_vec(),
    };
    if args.json {
        write_json(out, &resource, &requirement, &types)?;
    } else {
        write_human(out, &resource, &requirement, &types)?;
    }
    Ok(Exit::Success)
}

/// Parses and resolves the resource argument, or explains what is wrong with it.
pub(crate) fn resolve(text: &str) -> Result<Resource, Report> {
    let path = ResourcePath::parse(text).map_err(|e| {
        let report = Report::new(
            Exit::Usage,
            format!(
                "invalid resource path `{}`",
                graph_subs_core::quote::value(text.trim())
            ),
        )
        .code("invalid-resource")
        .caused_by(&e);
        match e.hint() {
            Some(hint) => report.hint(hint),
            None => report,
        }
    })?;
    catalogue::resolve(&path).map_err(unknown_resource)
}

fn unknown_resource(e: UnknownResource) -> Report {
    let width = e
        .suggestions
        .iter()
        .map(|p| p.path().len())
        .max()
        .unwrap_or(0);
    let list: Vec<String> = e
        .suggestions
        .iter()
        .map(|p| format!("    {:<width$}  {}: {}", p.path(), p.kind(), p.covers()))
        .collect();
    let hint = match e.lookalike {
        Some(_) => e.hint(),
        None => format!("the closest known resources are:\n{}", list.join("\n")),
    };
    Report::new(Exit::Usage, e.to_string())
        .code("unknown-resource")
        .hint(hint)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonPermission {
    name: &'static str,
    resource_specific_consent: bool,
}

type JsonCell = Option<Vec<JsonPermission>>;

fn json_cell(cell: Cell) -> JsonCell {
    cell.map(|permissions| {
        permissions
            .iter()
            .map(|p| JsonPermission {
                name: p.name,
                resource_specific_consent: p.resource_specific_consent,
            })
            .collect()
    })
}

/// Each column is left out when `--auth` picks another; `null` means not supported.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct JsonCells {
    #[serde(skip_serializing_if = "Option::is_none")]
    delegated_work: Option<JsonCell>,
    #[serde(skip_serializing_if = "Option::is_none")]
    delegated_personal: Option<JsonCell>,
    #[serde(skip_serializing_if = "Option::is_none")]
    application: Option<JsonCell>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonAnswer<'a> {
    resource: String,
    kind: &'static str,
    pattern: &'static str,
    operation: &'static str,
    documented: bool,
    /// When `documented` is false: the operation whose row is shown.
    #[serde(skip_serializing_if = "Option::is_none")]
    closest_operation: Option<&'static str>,
    permissions: JsonCells,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    notes: &'a [String],
}

/// The cells of the permission types asked for.
pub(crate) fn json_cells(requirement: &Requirement, types: &[PermissionType]) -> JsonCells {
    let column = |t: PermissionType| types.contains(&t).then(|| json_cell(requirement.cell(t)));
    JsonCells {
        delegated_work: column(PermissionType::DelegatedWork),
        delegated_personal: column(PermissionType::DelegatedPersonal),
        application: column(PermissionType::Application),
    }
}

fn write_json(
    out: &mut dyn Write,
    resource: &Resource,
    requirement: &Requirement,
    types: &[PermissionType],
) -> Result<(), Report> {
    let answer = JsonAnswer {
        resource: resource.canonical_path().to_string(),
        kind: resource.kind().name(),
        pattern: resource.pattern().path(),
        operation: requirement.operation.as_str(),
        documented: requirement.documented,
        closest_operation: (!requirement.documented)
            .then_some(requirement.source_operation.as_str()),
        permissions: json_cells(requirement, types),
        notes: &notes(resource, requirement),
    };
    serde_json::to_writer_pretty(&mut *out, &answer).map_err(std::io::Error::from)?;
    writeln!(out)?;
    Ok(())
}

fn page_name(operation: Operation) -> &'static str {
    match operation {
        Operation::Create => "Create subscription",
        Operation::Update => "Update subscription",
        Operation::Delete => "Delete subscription",
        Operation::List => "List subscriptions",
    }
}

/// What a reader must know to read the answer right.
fn notes(resource: &Resource, requirement: &Requirement) -> Vec<String> {
    let mut notes = Vec::new();
    if !requirement.documented {
        notes.push(format!(
            "the {} page has no row for this resource; these are the permissions of the {} page",
            page_name(requirement.operation),
            page_name(requirement.source_operation)
        ));
    }
    if requirement.rows().len() > 1 {
        notes.push(format!(
            "{} has a row per account type: personal Microsoft accounts use the personal OneDrive row, \
             work or school accounts and applications the OneDrive for Business row",
            resource.kind()
        ));
    }
    notes.extend(requirement.notes().into_iter().map(str::to_owned));
    notes
}

pub(crate) fn show_cell(cell: Cell) -> String {
    match cell {
        None => "not supported".to_owned(),
        Some(permissions) => permissions
            .iter()
            .map(|p| {
                if p.resource_specific_consent {
                    format!("{} (RSC)", p.name)
                } else {
                    p.name.to_owned()
                }
            })
            .collect::<Vec<_>>()
            .join(", "),
    }
}

fn write_human(
    out: &mut dyn Write,
    resource: &Resource,
    requirement: &Requirement,
    types: &[PermissionType],
) -> Result<(), Report> {
    let pattern = resource.pattern();
    writeln!(
        out,
        "{}  ({}: {})",
        resource.canonical_path(),
        resource.kind(),
        pattern.covers()
    )?;
    writeln!(
        out,
        "Permissions to {}, least privileged first; any one of them is enough:",
        match requirement.operation {
            Operation::Create => "create a subscription",
            Operation::Update => "update (renew) a subscription",
            Operation::Delete => "delete a subscription",
            Operation::List => "list subscriptions",
        }
    )?;
    writeln!(out)?;
    let width = types.iter().map(|t| t.title().len()).max().unwrap_or(0);
    for &t in types {
        writeln!(
            out,
            "  {:<width$}  {}",
            t.title(),
            show_cell(requirement.cell(t))
        )?;
    }
    let mut notes = notes(resource, requirement);
    if requirement.uses_resource_specific_consent() {
        notes.push(
            "RSC: resource-specific consent, granted for one team or chat by its owner instead of tenant-wide"
                .to_owned(),
        );
    }
    if !notes.is_empty() {
        writeln!(out)?;
        for note in notes {
            writeln!(out, "note: {note}")?;
        }
    }
    Ok(())
}
