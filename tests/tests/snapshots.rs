//! Snapshots a reviewer reads: the generated permission table, and what `graph-subs
//! permissions` prints for representative resources (stdout, stderr and exit status).

use graph_subs_core::permissions::{AccountScope, Cell, PermissionType, rows};
use graph_subs_tests::graph_subs;

fn show(cell: Cell) -> String {
    match cell {
        None => "-".to_owned(),
        Some(permissions) => permissions
            .iter()
            .map(|p| {
                format!(
                    "{}{}",
                    p.name,
                    if p.resource_specific_consent { "*" } else { "" }
                )
            })
            .collect::<Vec<_>>()
            .join(", "),
    }
}

#[test]
fn generated_permission_table() {
    let mut text = String::new();
    for row in rows() {
        let scope = match row.account_scope {
            AccountScope::Any => "",
            AccountScope::Personal => " [personal]",
            AccountScope::Organizational => " [work/school]",
        };
        text.push_str(&format!(
            "{:<6} {} {}{scope}\n",
            row.operation,
            row.kind,
            row.pattern.unwrap_or("(every pattern)")
        ));
        for t in PermissionType::ALL {
            text.push_str(&format!(
                "         {:<18} {}\n",
                t.as_str(),
                show(row.cell(t))
            ));
        }
        for note in row.notes {
            text.push_str(&format!("         note: {note}\n"));
        }
    }
    insta::assert_snapshot!(text);
}

#[track_caller]
fn transcript(name: &str, args: &[&str]) {
    let run = graph_subs(args);
    insta::assert_snapshot!(name, run.transcript(args));
}

#[test]
fn permissions_outputs() {
    transcript("message_create", &["permissions", "me/messages"]);
    transcript(
        "channel_messages_update_application",
        &[
            "permissions",
            "teams/{id}/channels/{id}/messages",
            "--op",
            "update",
            "--auth",
            "application",
        ],
    );
    transcript(
        "chat_list_rsc",
        &["permissions", "/chats/19:abc@thread.v2", "--op", "list"],
    );
    transcript(
        "channels_update_seed_note",
        &["permissions", "teams/{id}/channels", "--op", "update"],
    );
    transcript(
        "presence_delete_undocumented",
        &[
            "permissions",
            "communications/presences/{id}",
            "--op",
            "delete",
        ],
    );
    transcript(
        "drive_json",
        &["permissions", "me/drive/root", "--op", "update", "--json"],
    );
    transcript(
        "chat_messages_json",
        &["permissions", "chats/getAllMessages?model=A", "--json"],
    );
    transcript("unknown_resource", &["permissions", "teams/{id}/chanels"]);
    transcript(
        "malformed_path",
        &["permissions", "groups('{id}'/conversations"],
    );
    transcript(
        "absolute_url",
        &["permissions", "https://graph.microsoft.com/v1.0/me/events"],
    );
    transcript("bad_flag", &["permissions", "me/events", "--auth", "admin"]);
    transcript(
        "nothing_documented",
        &["permissions", "teams/getAllMembers"],
    );
}

#[test]
fn explain_outputs() {
    let now = "2026-11-22T09:00:00Z";
    transcript(
        "explain_chat_messages",
        &["explain", "chats/getAllMessages?model=A", "--now", now],
    );
    transcript(
        "explain_presence",
        &["explain", "communications/presences/{id}", "--now", now],
    );
    transcript(
        "explain_channels",
        &["explain", "teams/{id}/channels", "--now", now],
    );
    transcript(
        "explain_drive_json",
        &["explain", "me/drive/root", "--now", now, "--json"],
    );
    transcript("explain_unknown", &["explain", "me/notes"]);
}
