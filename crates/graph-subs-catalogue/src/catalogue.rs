//! The resource catalogue: every kind of resource that supports change notifications,
//! the names the documentation gives it, and the path patterns that address it.
//!
//! **Adding a resource is one entry in [`KINDS`].** The permission table generator maps
//! documentation rows to kinds through this table (by label, in any language, and by
//! path), and [`resolve`] maps user input to a kind and pattern through it.

use std::fmt;

use crate::change_type::ChangeType;
use crate::cloud::{ALL_CLOUDS, Cloud, GLOBAL_ONLY};
use crate::resource::{PaymentModel, ResourcePath, Segment};

/// What the catalogue knows of one kind of resource.
#[derive(Debug)]
pub struct KindSpec {
    /// The canonical name, as Graph's resource type is written: `chatMessage`.
    pub name: &'static str,
    /// The Microsoft 365 service behind it: several rules (rich-notification lifetime,
    /// lifecycle notifications, mailbox ownership) depend on it.
    pub service: Service,
    /// The longest a subscription may last, in minutes (see `graph_subs_core::lifetime` for the
    /// source and its date).
    pub max_lifetime_minutes: u32,
    /// The national clouds where subscriptions on it exist.
    pub clouds: &'static [Cloud],
    /// The change types a subscription on it may ask for.
    pub change_types: &'static [ChangeType],
    /// Whether it supports rich notifications (`includeResourceData`); those always need
    /// an encryption certificate.
    pub rich_notifications: bool,
    /// The documented limits on how many subscriptions may exist (empty: none
    /// documented). The emulator enforces them; `explain` prints them.
    pub quotas: &'static [Quota],
    /// Other names the documentation pages give this kind in their permission tables,
    /// in any language, lowercase: `canal` for `channel`. The canonical name needs no entry.
    pub doc_labels: &'static [&'static str],
    /// Example resource paths from the documentation, most common first.
    pub examples: &'static [&'static str],
    /// The path patterns that address this kind. `{...}` matches any one segment or key;
    /// `me` stands for `users/{id}`.
    pub patterns: &'static [PatternSpec],
}

/// A documented limit on how many subscriptions may exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Quota {
    /// The most there may be.
    pub limit: u32,
    /// What the limit applies to.
    pub per: QuotaScope,
    /// Which subscriptions count together.
    pub together: Together,
}

/// What a [`Quota`] applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QuotaScope {
    /// Each mailbox (the user a path's `me` or `users/{id}` names).
    Mailbox,
    /// Each organization (tenant), every app together.
    Organization,
    /// Each app, across tenants.
    App,
    /// Each tenant, across apps.
    Tenant,
    /// Each app in each tenant.
    AppAndTenant,
    /// Not a count of subscriptions: the users one subscription's `$filter` may name.
    UsersInFilter,
}

/// Which subscriptions a [`Quota`] counts together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Together {
    /// Those on this kind of resource only.
    Kind,
    /// Those on every kind of the same [`Service`] with this quota.
    Service,
}

impl Quota {
    /// A quota.
    pub const fn new(limit: u32, per: QuotaScope, together: Together) -> Quota {
        Quota {
            limit,
            per,
            together,
        }
    }
}

const OUTLOOK_QUOTA: &[Quota] = &[Quota::new(1_000, QuotaScope::Mailbox, Together::Service)];
const TEAMS_QUOTA: &[Quota] = &[Quota::new(
    10_000,
    QuotaScope::Organization,
    Together::Service,
)];
const DIRECTORY_QUOTAS: &[Quota] = &[
    Quota::new(50_000, QuotaScope::App, Together::Service),
    Quota::new(1_000, QuotaScope::Tenant, Together::Service),
    Quota::new(100, QuotaScope::AppAndTenant, Together::Service),
];

/// The Microsoft 365 service that owns a kind of resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    /// Exchange Online: messages, events, contacts.
    Outlook,
    /// Microsoft 365 group conversations.
    Groups,
    /// Microsoft Teams, including calls, meetings, Shifts and virtual events.
    Teams,
    /// Microsoft Entra ID directory objects: users, groups.
    Directory,
    /// OneDrive (personal and for Business).
    OneDrive,
    /// SharePoint lists.
    SharePoint,
    /// Microsoft Graph security API.
    Security,
    /// Universal Print.
    UniversalPrint,
    /// Microsoft To Do.
    ToDo,
    /// Microsoft 365 Copilot.
    Copilot,
}

impl Service {
    /// The subscriptions a [`Together::Service`] quota counts together, in words.
    fn counted_together(self) -> &'static str {
        match self {
            Service::Outlook => "all Outlook resources together",
            Service::Directory => "users and groups together",
            Service::Teams => "Teams resources together",
            other => other.title(),
        }
    }

    /// The service's name, in words.
    pub fn title(self) -> &'static str {
        match self {
            Service::Outlook => "Outlook",
            Service::Groups => "Microsoft 365 groups",
            Service::Teams => "Microsoft Teams",
            Service::Directory => "Microsoft Entra ID",
            Service::OneDrive => "OneDrive",
            Service::SharePoint => "SharePoint",
            Service::Security => "Microsoft Graph security",
            Service::UniversalPrint => "Universal Print",
            Service::ToDo => "Microsoft To Do",
            Service::Copilot => "Microsoft 365 Copilot",
        }
    }
}

/// One way to address a kind of resource.
#[derive(Debug)]
pub struct PatternSpec {
    /// The pattern: `teams/{id}/channels/{id}/messages`.
    pub path: &'static str,
    /// What a subscription on it covers, in a few words.
    pub covers: &'static str,
    /// For the Teams limited APIs, the payment models the resource accepts in its query
    /// string (`model=A`, `model=B`); empty for every other resource.
    pub payment_models: &'static [PaymentModel],
    /// Whether `notifyOnUserSpecificProperties=true` is accepted: on one chat, or on the
    /// chats of a user.
    pub user_specific_properties: bool,
    /// Whether only a personal OneDrive accepts it: OneDrive for Business subscribes to
    /// the root folder only, so a subfolder pattern is personal-only.
    pub personal_onedrive_only: bool,
}

const fn p(path: &'static str, covers: &'static str) -> PatternSpec {
    PatternSpec {
        path,
        covers,
        payment_models: &[],
        user_specific_properties: false,
        personal_onedrive_only: false,
    }
}

/// A OneDrive subfolder: OneDrive for Business accepts only the root folder.
const fn personal_onedrive_only(path: &'static str, covers: &'static str) -> PatternSpec {
    PatternSpec {
        personal_onedrive_only: true,
        ..p(path, covers)
    }
}

/// A chat pattern that accepts `notifyOnUserSpecificProperties`.
const fn user_level(path: &'static str, covers: &'static str) -> PatternSpec {
    PatternSpec {
        user_specific_properties: true,
        ..p(path, covers)
    }
}

/// A Teams limited API: licensing and payment requirements apply.
const fn limited(
    path: &'static str,
    covers: &'static str,
    payment_models: &'static [PaymentModel],
) -> PatternSpec {
    PatternSpec {
        payment_models,
        ..p(path, covers)
    }
}

const ALL_CHANGE_TYPES: &[ChangeType] = &[
    ChangeType::Created,
    ChangeType::Updated,
    ChangeType::Deleted,
];
const UPDATED_ONLY: &[ChangeType] = &[ChangeType::Updated];
const UPDATED_DELETED: &[ChangeType] = &[ChangeType::Updated, ChangeType::Deleted];
const CREATED_ONLY: &[ChangeType] = &[ChangeType::Created];
const CREATED_UPDATED: &[ChangeType] = &[ChangeType::Created, ChangeType::Updated];

const A_OR_B: &[PaymentModel] = &[PaymentModel::A, PaymentModel::B];
const B_ONLY: &[PaymentModel] = &[PaymentModel::B];

/// Every resource kind, alphabetically.
pub static KINDS: &[KindSpec] = &[
    KindSpec {
        name: "aiInteraction",
        service: Service::Copilot,
        max_lifetime_minutes: 4_320,
        clouds: ALL_CLOUDS,
        change_types: ALL_CHANGE_TYPES,
        rich_notifications: true,
        quotas: &[],
        doc_labels: &["copilot ai interaction"],
        examples: &["copilot/interactionHistory/getAllEnterpriseInteractions"],
        patterns: &[
            p(
                "copilot/interactionHistory/getAllEnterpriseInteractions",
                "Copilot AI interactions in the organization",
            ),
            p(
                "copilot/users/{userId}/interactionHistory/getAllEnterpriseInteractions",
                "Copilot AI interactions a user is part of",
            ),
        ],
    },
    KindSpec {
        name: "callRecord",
        service: Service::Teams,
        max_lifetime_minutes: 4_230,
        clouds: ALL_CLOUDS,
        change_types: CREATED_ONLY,
        rich_notifications: false,
        quotas: &[Quota::new(100, QuotaScope::Organization, Together::Kind)],
        doc_labels: &[],
        examples: &["communications/callRecords"],
        patterns: &[p(
            "communications/callRecords",
            "call records of the organization",
        )],
    },
    KindSpec {
        name: "callRecording",
        service: Service::Teams,
        max_lifetime_minutes: 4_320,
        clouds: ALL_CLOUDS,
        change_types: CREATED_ONLY,
        rich_notifications: true,
        quotas: TEAMS_QUOTA,
        doc_labels: &["enregistrement d’appel"],
        examples: &["communications/onlineMeetings/getAllRecordings"],
        patterns: &[
            p(
                "communications/onlineMeetings/getAllRecordings",
                "all meeting recordings in the organization",
            ),
            p(
                "communications/onlineMeetings/{onlineMeetingId}/recordings",
                "recordings of one meeting",
            ),
            p(
                "users/{userId}/onlineMeetings/getAllRecordings",
                "recordings of meetings a user organizes",
            ),
        ],
    },
    KindSpec {
        name: "callTranscript",
        service: Service::Teams,
        max_lifetime_minutes: 4_320,
        clouds: ALL_CLOUDS,
        change_types: CREATED_ONLY,
        rich_notifications: true,
        quotas: TEAMS_QUOTA,
        doc_labels: &["transcription d’appel"],
        examples: &["communications/onlineMeetings/getAllTranscripts"],
        patterns: &[
            p(
                "communications/onlineMeetings/getAllTranscripts",
                "all meeting transcripts in the organization",
            ),
            p(
                "communications/onlineMeetings/{onlineMeetingId}/transcripts",
                "transcripts of one meeting",
            ),
            p(
                "users/{userId}/onlineMeetings/getAllTranscripts",
                "transcripts of meetings a user organizes",
            ),
        ],
    },
    KindSpec {
        name: "channel",
        service: Service::Teams,
        max_lifetime_minutes: 4_320,
        clouds: ALL_CLOUDS,
        change_types: ALL_CHANGE_TYPES,
        rich_notifications: true,
        quotas: TEAMS_QUOTA,
        doc_labels: &["canal", "canaux", "channels"],
        examples: &["teams/{id}/channels", "teams/getAllChannels"],
        patterns: &[
            p("teams/getAllChannels", "all channels in the organization"),
            p("teams/{id}/channels", "channels of one team"),
        ],
    },
    KindSpec {
        name: "chat",
        service: Service::Teams,
        max_lifetime_minutes: 4_320,
        clouds: ALL_CLOUDS,
        change_types: ALL_CHANGE_TYPES,
        rich_notifications: true,
        quotas: TEAMS_QUOTA,
        doc_labels: &["conversation", "conversations", "chats"],
        examples: &["chats", "chats/{id}", "users/{id}/chats"],
        patterns: &[
            p("chats", "all chats in the organization"),
            user_level("chats/{id}", "one chat"),
            user_level("users/{id}/chats", "chats a user is part of"),
            limited(
                "appCatalogs/teamsApps/{id}/installedToChats",
                "chats where a Teams app is installed",
                B_ONLY,
            ),
        ],
    },
    KindSpec {
        name: "chatMessage",
        service: Service::Teams,
        max_lifetime_minutes: 4_320,
        clouds: ALL_CLOUDS,
        change_types: ALL_CHANGE_TYPES,
        rich_notifications: true,
        quotas: TEAMS_QUOTA,
        doc_labels: &["message de conversation", "messages de conversation"],
        examples: &[
            "chats/{id}/messages",
            "chats/getAllMessages",
            "teams/{id}/channels/{id}/messages",
            "teams/getAllMessages",
            "users/{id}/chats/getAllMessages",
            "me/chats/getAllMessages",
        ],
        patterns: &[
            p(
                "teams/{id}/channels/{id}/messages",
                "messages of one channel",
            ),
            limited(
                "teams/getAllMessages",
                "all channel messages in the organization",
                A_OR_B,
            ),
            p("chats/{id}/messages", "messages of one chat"),
            limited(
                "chats/getAllMessages",
                "all chat messages in the organization",
                A_OR_B,
            ),
            limited(
                "users/{id}/chats/getAllMessages",
                "messages of every chat a user is part of",
                B_ONLY,
            ),
            limited(
                "appCatalogs/teamsApps/{id}/installedToChats/getAllMessages",
                "messages of chats where a Teams app is installed",
                B_ONLY,
            ),
        ],
    },
    KindSpec {
        name: "contact",
        service: Service::Outlook,
        max_lifetime_minutes: 10_080,
        clouds: ALL_CLOUDS,
        change_types: ALL_CHANGE_TYPES,
        rich_notifications: true,
        quotas: OUTLOOK_QUOTA,
        doc_labels: &["contacts"],
        examples: &["me/contacts"],
        patterns: &[
            p("users/{id}/contacts", "contacts of a user"),
            p(
                "users/{id}/contactFolders/{id}/contacts",
                "contacts in one folder",
            ),
        ],
    },
    KindSpec {
        name: "conversationMember",
        service: Service::Teams,
        max_lifetime_minutes: 4_320,
        clouds: ALL_CLOUDS,
        change_types: ALL_CHANGE_TYPES,
        rich_notifications: true,
        quotas: TEAMS_QUOTA,
        doc_labels: &["membre de conversation", "membres de conversation"],
        examples: &[
            "chats/{id}/members",
            "chats/getAllMembers",
            "teams/{id}/members",
            "teams/{id}/channels/getAllMembers",
        ],
        patterns: &[
            limited(
                "chats/getAllMembers",
                "members of every chat in the organization",
                A_OR_B,
            ),
            p("chats/{id}/members", "members of one chat"),
            limited(
                "appCatalogs/teamsApps/{id}/installedToChats/getAllMembers",
                "members of chats where a Teams app is installed",
                B_ONLY,
            ),
            p("teams/{id}/members", "members of one team"),
            p(
                "teams/{id}/channels/getAllMembers",
                "members of every channel of a team",
            ),
            limited(
                "teams/getAllMembers",
                "members of every team in the organization",
                A_OR_B,
            ),
        ],
    },
    KindSpec {
        name: "driveItem",
        service: Service::OneDrive,
        max_lifetime_minutes: 42_300,
        clouds: ALL_CLOUDS,
        change_types: UPDATED_ONLY,
        rich_notifications: false,
        quotas: &[],
        doc_labels: &["élément de lecteur"],
        examples: &["me/drive/root", "drives/{id}/root", "users/{id}/drive/root"],
        patterns: &[
            p(
                "users/{id}/drive/root",
                "the root folder of a user's OneDrive",
            ),
            p("drives/{id}/root", "the root folder of a drive"),
            p(
                "sites/{id}/drive/root",
                "the root folder of a site's document library",
            ),
            p(
                "groups/{id}/drive/root",
                "the root folder of a group's drive",
            ),
            personal_onedrive_only(
                "users/{id}/drive/items/{id}",
                "one folder of a user's OneDrive",
            ),
            personal_onedrive_only("drives/{id}/items/{id}", "one folder of a drive"),
        ],
    },
    KindSpec {
        name: "event",
        service: Service::Outlook,
        max_lifetime_minutes: 10_080,
        clouds: ALL_CLOUDS,
        change_types: ALL_CHANGE_TYPES,
        rich_notifications: true,
        quotas: OUTLOOK_QUOTA,
        doc_labels: &["événement", "événements", "events"],
        examples: &["me/events"],
        patterns: &[
            p("users/{id}/events", "events of a user's calendars"),
            p(
                "users/{id}/calendar/events",
                "events of a user's default calendar",
            ),
            p("users/{id}/calendars/{id}/events", "events of one calendar"),
        ],
    },
    KindSpec {
        name: "group",
        service: Service::Directory,
        max_lifetime_minutes: 41_760,
        clouds: ALL_CLOUDS,
        change_types: UPDATED_DELETED,
        rich_notifications: false,
        quotas: DIRECTORY_QUOTAS,
        doc_labels: &["groupe", "groupes", "groups"],
        examples: &["groups"],
        patterns: &[p("groups", "all groups"), p("groups/{id}", "one group")],
    },
    KindSpec {
        name: "groupConversation",
        service: Service::Groups,
        max_lifetime_minutes: 4_230,
        clouds: ALL_CLOUDS,
        change_types: ALL_CHANGE_TYPES,
        rich_notifications: false,
        quotas: &[],
        doc_labels: &["group conversation", "conversation de groupe"],
        examples: &["groups('{id}')/conversations"],
        patterns: &[p("groups/{id}/conversations", "conversations of one group")],
    },
    KindSpec {
        name: "list",
        service: Service::SharePoint,
        max_lifetime_minutes: 42_300,
        clouds: ALL_CLOUDS,
        change_types: UPDATED_ONLY,
        rich_notifications: false,
        quotas: &[],
        doc_labels: &["liste", "listes", "sharepoint list"],
        examples: &["sites/{site-id}/lists/{list-id}"],
        patterns: &[p("sites/{site-id}/lists/{list-id}", "one SharePoint list")],
    },
    KindSpec {
        name: "message",
        service: Service::Outlook,
        max_lifetime_minutes: 10_080,
        clouds: ALL_CLOUDS,
        change_types: ALL_CHANGE_TYPES,
        rich_notifications: true,
        quotas: OUTLOOK_QUOTA,
        doc_labels: &["messages"],
        examples: &["me/messages", "me/mailFolders('inbox')/messages"],
        patterns: &[
            p("users/{id}/messages", "messages of a user's mailbox"),
            p(
                "users/{id}/mailFolders/{id}/messages",
                "messages in one mail folder",
            ),
        ],
    },
    KindSpec {
        name: "offerShiftRequest",
        service: Service::Teams,
        max_lifetime_minutes: 360,
        clouds: ALL_CLOUDS,
        change_types: ALL_CHANGE_TYPES,
        rich_notifications: false,
        quotas: &[],
        doc_labels: &[],
        examples: &["teams/{id}/schedule/offerShiftRequests"],
        patterns: &[p(
            "teams/{id}/schedule/offerShiftRequests",
            "offer shift requests of one team",
        )],
    },
    KindSpec {
        name: "openShiftChangeRequest",
        service: Service::Teams,
        max_lifetime_minutes: 360,
        clouds: ALL_CLOUDS,
        change_types: ALL_CHANGE_TYPES,
        rich_notifications: false,
        quotas: &[],
        doc_labels: &[],
        examples: &["teams/{id}/schedule/openShiftChangeRequests"],
        patterns: &[p(
            "teams/{id}/schedule/openShiftChangeRequests",
            "open shift change requests of one team",
        )],
    },
    KindSpec {
        name: "presence",
        service: Service::Teams,
        max_lifetime_minutes: 60,
        clouds: ALL_CLOUDS,
        change_types: UPDATED_ONLY,
        rich_notifications: true,
        quotas: &[Quota::new(650, QuotaScope::UsersInFilter, Together::Kind)],
        doc_labels: &["présence"],
        examples: &[
            "communications/presences/{id}",
            "communications/presences?$filter=id in ('{id}','{id}')",
        ],
        patterns: &[
            p("communications/presences/{id}", "the presence of one user"),
            p(
                "communications/presences",
                "the presence of the users a `$filter` names (up to 650)",
            ),
        ],
    },
    KindSpec {
        name: "printer",
        service: Service::UniversalPrint,
        max_lifetime_minutes: 4_230,
        clouds: ALL_CLOUDS,
        change_types: ALL_CHANGE_TYPES,
        rich_notifications: false,
        quotas: &[],
        doc_labels: &["imprimante", "imprimantes"],
        examples: &["print/printers/{id}/jobs"],
        patterns: &[p("print/printers/{id}/jobs", "print jobs of one printer")],
    },
    KindSpec {
        name: "printTaskDefinition",
        service: Service::UniversalPrint,
        max_lifetime_minutes: 4_230,
        clouds: ALL_CLOUDS,
        change_types: ALL_CHANGE_TYPES,
        rich_notifications: false,
        quotas: &[],
        doc_labels: &[],
        examples: &["print/taskDefinitions/{id}/tasks"],
        patterns: &[p(
            "print/taskDefinitions/{id}/tasks",
            "tasks of one print task definition",
        )],
    },
    KindSpec {
        name: "securityAlert",
        service: Service::Security,
        max_lifetime_minutes: 43_200,
        clouds: ALL_CLOUDS,
        change_types: ALL_CHANGE_TYPES,
        rich_notifications: false,
        quotas: &[],
        doc_labels: &["security alert", "alerte de sécurité", "alert"],
        examples: &["security/alerts?$filter=status eq 'New'"],
        patterns: &[p(
            "security/alerts",
            "security alerts the `$filter` selects",
        )],
    },
    KindSpec {
        name: "shift",
        service: Service::Teams,
        max_lifetime_minutes: 360,
        clouds: ALL_CLOUDS,
        change_types: ALL_CHANGE_TYPES,
        rich_notifications: false,
        quotas: &[],
        doc_labels: &[],
        examples: &["teams/{id}/schedule/shifts"],
        patterns: &[p("teams/{id}/schedule/shifts", "shifts of one team")],
    },
    KindSpec {
        name: "swapShiftsChangeRequest",
        service: Service::Teams,
        max_lifetime_minutes: 360,
        clouds: ALL_CLOUDS,
        change_types: ALL_CHANGE_TYPES,
        rich_notifications: false,
        quotas: &[],
        doc_labels: &[],
        examples: &["teams/{id}/schedule/swapShiftsChangeRequests"],
        patterns: &[p(
            "teams/{id}/schedule/swapShiftsChangeRequests",
            "swap shift requests of one team",
        )],
    },
    KindSpec {
        name: "team",
        service: Service::Teams,
        max_lifetime_minutes: 4_320,
        clouds: ALL_CLOUDS,
        change_types: ALL_CHANGE_TYPES,
        rich_notifications: true,
        quotas: TEAMS_QUOTA,
        doc_labels: &["équipe", "équipes", "teams"],
        examples: &["teams", "teams/{id}"],
        patterns: &[
            p("teams", "all teams in the organization"),
            p("teams/{id}", "one team"),
        ],
    },
    KindSpec {
        name: "timeOffRequest",
        service: Service::Teams,
        max_lifetime_minutes: 360,
        clouds: ALL_CLOUDS,
        change_types: ALL_CHANGE_TYPES,
        rich_notifications: false,
        quotas: &[],
        doc_labels: &[],
        examples: &["teams/{id}/schedule/timeOffRequests"],
        patterns: &[p(
            "teams/{id}/schedule/timeOffRequests",
            "time off requests of one team",
        )],
    },
    KindSpec {
        name: "todoTask",
        service: Service::ToDo,
        max_lifetime_minutes: 4_230,
        clouds: GLOBAL_ONLY,
        change_types: ALL_CHANGE_TYPES,
        rich_notifications: false,
        quotas: &[],
        doc_labels: &["tâche"],
        examples: &["me/todo/lists/{id}/tasks"],
        patterns: &[p(
            "users/{id}/todo/lists/{id}/tasks",
            "tasks of one To Do list",
        )],
    },
    KindSpec {
        name: "user",
        service: Service::Directory,
        max_lifetime_minutes: 41_760,
        clouds: ALL_CLOUDS,
        change_types: UPDATED_DELETED,
        rich_notifications: false,
        quotas: DIRECTORY_QUOTAS,
        doc_labels: &["utilisateur", "utilisateurs", "users"],
        examples: &["users", "users/{id}"],
        patterns: &[p("users", "all users"), p("users/{id}", "one user")],
    },
    KindSpec {
        name: "virtualEventWebinar",
        service: Service::Teams,
        max_lifetime_minutes: 1_440,
        clouds: ALL_CLOUDS,
        change_types: CREATED_UPDATED,
        rich_notifications: false,
        quotas: &[],
        doc_labels: &["webinaire"],
        examples: &["solutions/virtualEvents/webinars/{id}"],
        patterns: &[
            p("solutions/virtualEvents/webinars/{id}", "one webinar"),
            p(
                "solutions/virtualEvents/webinars/{id}/sessions",
                "sessions of one webinar",
            ),
            p(
                "solutions/virtualEvents/webinars/{id}/registrations",
                "registrations of one webinar",
            ),
            p(
                "solutions/virtualEvents/webinars/{id}/getAttendanceReports",
                "attendance reports of one webinar",
            ),
        ],
    },
];

/// A kind of resource from the catalogue.
#[derive(Clone, Copy)]
pub struct ResourceKind(&'static KindSpec);

impl ResourceKind {
    /// Every kind in the catalogue.
    pub fn all() -> impl Iterator<Item = ResourceKind> {
        KINDS.iter().map(ResourceKind)
    }

    /// The kind with this canonical name (`chatMessage`), compared case-insensitively.
    pub fn from_name(name: &str) -> Option<ResourceKind> {
        ResourceKind::all().find(|k| k.name().eq_ignore_ascii_case(name.trim()))
    }

    /// The kind a documentation page names with this label: the canonical name or one of
    /// the [`KindSpec::doc_labels`], compared without regard to case, spacing or the
    /// apostrophe used.
    pub fn from_doc_label(label: &str) -> Option<ResourceKind> {
        let wanted = normalize_label(label);
        ResourceKind::all().find(|k| {
            normalize_label(k.name()) == wanted
                || k.0.doc_labels.iter().any(|l| normalize_label(l) == wanted)
        })
    }

    /// The canonical name.
    pub fn name(self) -> &'static str {
        self.0.name
    }

    /// The documented quotas, in words: `1,000 subscriptions per mailbox (all Outlook
    /// resources together)`; `None` when none is documented.
    pub fn quota_summary(self) -> Option<String> {
        let quotas = self.0.quotas;
        let first = quotas.first()?;
        if first.per == QuotaScope::UsersInFilter {
            return Some(format!(
                "{} users per subscription (in the `$filter`)",
                crate::quote::thousands(u64::from(first.limit))
            ));
        }
        let parts: Vec<String> = quotas
            .iter()
            .enumerate()
            .map(|(i, q)| {
                let per = match q.per {
                    QuotaScope::Mailbox => "per mailbox",
                    QuotaScope::Organization => "per organization",
                    QuotaScope::App => "per app",
                    QuotaScope::Tenant => "per tenant across apps",
                    QuotaScope::AppAndTenant => "per app and tenant",
                    QuotaScope::UsersInFilter => "users per subscription",
                };
                let noun = if i == 0 { " subscriptions" } else { "" };
                format!(
                    "{}{noun} {per}",
                    crate::quote::thousands(u64::from(q.limit))
                )
            })
            .collect();
        let mut text = parts.join("; ");
        if quotas.iter().any(|q| q.together == Together::Service) {
            text.push_str(&format!(" ({})", self.0.service.counted_together()));
        }
        Some(text)
    }

    /// Everything the catalogue knows of this kind.
    pub fn spec(self) -> &'static KindSpec {
        self.0
    }

    /// The patterns that address this kind.
    pub fn patterns(self) -> impl Iterator<Item = Pattern> {
        self.0
            .patterns
            .iter()
            .map(move |spec| Pattern { kind: self, spec })
    }
}

fn normalize_label(label: &str) -> String {
    label
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('’', "'")
        .to_lowercase()
}

impl PartialEq for ResourceKind {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self.0, other.0)
    }
}
impl Eq for ResourceKind {}

impl std::hash::Hash for ResourceKind {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.name.hash(state);
    }
}

impl fmt::Debug for ResourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for ResourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One pattern of one kind.
#[derive(Clone, Copy)]
pub struct Pattern {
    kind: ResourceKind,
    spec: &'static PatternSpec,
}

impl Pattern {
    /// The kind this pattern addresses.
    pub fn kind(self) -> ResourceKind {
        self.kind
    }

    /// The pattern text, such as `chats/{id}/messages`.
    pub fn path(self) -> &'static str {
        self.spec.path
    }

    /// What a subscription on it covers.
    pub fn covers(self) -> &'static str {
        self.spec.covers
    }

    /// Whether only a personal OneDrive accepts subscriptions on it.
    pub fn personal_onedrive_only(self) -> bool {
        self.spec.personal_onedrive_only
    }

    /// Whether it accepts `notifyOnUserSpecificProperties=true`.
    pub fn accepts_user_specific_properties(self) -> bool {
        self.spec.user_specific_properties
    }

    /// The payment models it accepts; empty when it is not a Teams limited API.
    pub fn payment_models(self) -> &'static [PaymentModel] {
        self.spec.payment_models
    }

    /// The pattern whose text is `path` (exactly as in the catalogue).
    pub fn from_path(path: &str) -> Option<Pattern> {
        ResourceKind::all()
            .flat_map(ResourceKind::patterns)
            .find(|p| p.path() == path)
    }

    fn tokens(self) -> impl Iterator<Item = PatternToken> {
        self.spec.path.split('/').map(|t| {
            if t.starts_with('{') && t.ends_with('}') {
                PatternToken::Param
            } else {
                PatternToken::Literal(t)
            }
        })
    }
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self.spec, other.spec)
    }
}
impl Eq for Pattern {}

impl fmt::Debug for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.path(), self.kind)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PatternToken {
    Literal(&'static str),
    Param,
}

/// A path flattened for matching: `groups('x')/conversations` and `groups/x/conversations`
/// both become `groups`, value, `conversations`; `me` becomes `users`, value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PathToken<'a> {
    /// A plain segment: matches a literal of the same name or a parameter.
    Name(&'a str),
    /// A key, an address or the user `me` stands for: matches only a parameter.
    Value,
}

fn path_tokens(path: &ResourcePath) -> Vec<PathToken<'_>> {
    let mut tokens = Vec::with_capacity(path.segments().len() + 2);
    for (i, segment) in path.segments().iter().enumerate() {
        match segment {
            Segment::Name(name) if i == 0 && name.eq_ignore_ascii_case("me") => {
                tokens.extend([PathToken::Name("users"), PathToken::Value]);
            }
            Segment::Name(name) => tokens.push(PathToken::Name(name)),
            Segment::Keyed { name, .. } => {
                tokens.extend([PathToken::Name(name), PathToken::Value]);
            }
            // `root:/folder:` is an item addressed by path, like `items/{id}`.
            Segment::Addressed { .. } => {
                tokens.extend([PathToken::Name("items"), PathToken::Value]);
            }
        }
    }
    tokens
}

/// Every pattern of the catalogue with its tokens, in the catalogue's order, split once:
/// [`resolve`] runs for every request the emulator serves and every subscription of a
/// keeper's round, and splitting each pattern's text again each time was most of its
/// cost.
fn tokenized_patterns() -> &'static [(Pattern, Box<[PatternToken]>)] {
    static PATTERNS: std::sync::OnceLock<Vec<(Pattern, Box<[PatternToken]>)>> =
        std::sync::OnceLock::new();
    PATTERNS.get_or_init(|| {
        ResourceKind::all()
            .flat_map(ResourceKind::patterns)
            .map(|pattern| (pattern, pattern.tokens().collect()))
            .collect()
    })
}

/// How many literals of a pattern (its tokens, `want`) the path matches, or `None` when
/// it does not match.
fn match_score(want: &[PatternToken], tokens: &[PathToken<'_>]) -> Option<usize> {
    if want.len() != tokens.len() {
        return None;
    }
    let mut literals = 0;
    for (want, got) in want.iter().zip(tokens) {
        match (want, got) {
            (PatternToken::Param, _) => {}
            (PatternToken::Literal(l), PathToken::Name(n)) if l.eq_ignore_ascii_case(n) => {
                literals += 1;
            }
            _ => return None,
        }
    }
    Some(literals)
}

/// Whose data a path addresses, when it starts with `me` or `users/{id}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// `me/...`: the signed-in user.
    SignedInUser,
    /// `users/{id}/...`: the user with that id or user principal name, as written.
    User(String),
}

/// A resource path the catalogue recognises.
#[derive(Debug, Clone)]
pub struct Resource {
    path: ResourcePath,
    pattern: Pattern,
}

impl Resource {
    /// The path as given.
    pub fn path(&self) -> &ResourcePath {
        &self.path
    }

    /// The kind of resource.
    pub fn kind(&self) -> ResourceKind {
        self.pattern.kind
    }

    /// The catalogue pattern the path matches.
    pub fn pattern(&self) -> Pattern {
        self.pattern
    }

    /// The path with known segment names in the catalogue's spelling
    /// (`Me/MailFolders('Inbox')/Messages` → `me/mailFolders('Inbox')/messages`); ids,
    /// keys and the query string as written.
    pub fn canonical_path(&self) -> ResourcePath {
        let literals: Vec<&str> = self
            .pattern
            .tokens()
            .filter_map(|t| match t {
                PatternToken::Literal(l) => Some(l),
                PatternToken::Param => None,
            })
            .collect();
        let recase = |name: &str| -> String {
            if name.eq_ignore_ascii_case("me") {
                return "me".to_owned();
            }
            literals
                .iter()
                .find(|l| l.eq_ignore_ascii_case(name))
                .map_or_else(|| name.to_owned(), |l| (*l).to_owned())
        };
        let segments = self
            .path
            .segments()
            .iter()
            .map(|s| match s {
                Segment::Name(n) => Segment::Name(recase(n)),
                Segment::Keyed { name, key } => Segment::Keyed {
                    name: recase(name),
                    key: key.clone(),
                },
                Segment::Addressed { name, path } => Segment::Addressed {
                    name: name.clone(),
                    path: path.clone(),
                },
            })
            .collect();
        self.path.with_segments(segments)
    }

    /// Whose data the path addresses, when it names a user.
    pub fn subject(&self) -> Option<Subject> {
        let mut segments = self.path.segments().iter();
        match segments.next()? {
            Segment::Name(n) if n.eq_ignore_ascii_case("me") => Some(Subject::SignedInUser),
            Segment::Name(n) if n.eq_ignore_ascii_case("users") => match segments.next()? {
                Segment::Name(id) => Some(Subject::User(id.clone())),
                _ => None,
            },
            Segment::Keyed { name, key } if name.eq_ignore_ascii_case("users") => {
                Some(Subject::User(key.trim_matches('\'').to_owned()))
            }
            _ => None,
        }
    }
}

/// A path that names no resource in the catalogue.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{}` is not a resource that supports change notifications", crate::quote::shortened(.path))]
pub struct UnknownResource {
    /// The path as given.
    pub path: String,
    /// The closest known patterns, closest first.
    pub suggestions: Vec<Pattern>,
    /// A character of the path that only looks like ASCII or is invisible, when the path
    /// written with plain ASCII names a known resource: `me/mеssages` with a Cyrillic `е`.
    pub lookalike: Option<crate::quote::Suspicious>,
}

impl UnknownResource {
    /// How to fix it, in one sentence: the lookalike character to retype, or the closest
    /// known resources.
    pub fn hint(&self) -> String {
        match self.lookalike {
            Some(found) => format!(
                "the path contains {found}; typed in plain ASCII it names a known resource: retype it"
            ),
            None => {
                let closest: Vec<String> = self
                    .suggestions
                    .iter()
                    .map(|s| format!("`{}`", s.path()))
                    .collect();
                format!("the closest known resources are {}", closest.join(", "))
            }
        }
    }
}

/// How many suggestions [`UnknownResource`] carries.
const SUGGESTIONS: usize = 3;

/// How many segments of an unknown path the suggestions compare: no pattern is longer, so
/// the rest only adds insertions, and the cost stays bounded whatever the input.
const COMPARED_TOKENS: usize = 16;

/// Finds the catalogue pattern a path matches. When several match, the one with the most
/// literal segments wins (`teams/getAllMessages` over `teams/{id}`).
///
/// ```
/// use graph_subs_catalogue::catalogue::resolve;
/// use graph_subs_catalogue::resource::ResourcePath;
///
/// let path: ResourcePath = "me/mailFolders('Inbox')/messages".parse()?;
/// let resource = resolve(&path)?;
/// assert_eq!(resource.kind().name(), "message");
/// assert_eq!(resource.pattern().path(), "users/{id}/mailFolders/{id}/messages");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn resolve(path: &ResourcePath) -> Result<Resource, UnknownResource> {
    match best_pattern(path) {
        Some(pattern) => Ok(Resource {
            path: path.clone(),
            pattern,
        }),
        None => Err(unknown(path)),
    }
}

/// [`resolve`], keeping the path it is given instead of a copy.
impl TryFrom<ResourcePath> for Resource {
    type Error = UnknownResource;

    fn try_from(path: ResourcePath) -> Result<Resource, UnknownResource> {
        match best_pattern(&path) {
            Some(pattern) => Ok(Resource { path, pattern }),
            None => Err(unknown(&path)),
        }
    }
}

/// The most specific pattern `path` matches.
fn best_pattern(path: &ResourcePath) -> Option<Pattern> {
    let tokens = path_tokens(path);
    let mut best: Option<(usize, Pattern)> = None;
    for (pattern, want) in tokenized_patterns() {
        if let Some(score) = match_score(want, &tokens)
            && best.is_none_or(|(s, _)| score > s)
        {
            best = Some((score, *pattern));
        }
    }
    best.map(|(_, pattern)| pattern)
}

/// Why `path` is no resource of the catalogue, with what it may have meant.
fn unknown(path: &ResourcePath) -> UnknownResource {
    let text = path.to_string();
    let lookalike = crate::quote::skeleton(&text)
        .and_then(|plain| ResourcePath::parse(&plain).ok())
        .filter(|plain| best_pattern(plain).is_some())
        .and_then(|_| crate::quote::suspicious(&text));
    UnknownResource {
        path: text,
        suggestions: suggest(&path_tokens(path)),
        lookalike,
    }
}

/// The patterns closest to an unknown path: an edit distance over segments, where a
/// parameter matches anything and two names cost their normalised Levenshtein distance.
/// A lone kind name or documentation label (`presence`) suggests that kind's patterns.
fn suggest(tokens: &[PathToken<'_>]) -> Vec<Pattern> {
    let tokens = &tokens[..tokens.len().min(COMPARED_TOKENS)];
    // Labels are short: a long name is none, and normalising it would copy it four times.
    if let [PathToken::Name(name)] = tokens
        && name.len() <= 64
        && let Some(kind) =
            ResourceKind::from_name(name).or_else(|| ResourceKind::from_doc_label(name))
    {
        return kind.patterns().take(SUGGESTIONS).collect();
    }
    let mut scored: Vec<(f64, usize, Pattern)> = ResourceKind::all()
        .flat_map(ResourceKind::patterns)
        .enumerate()
        .map(|(order, pattern)| (segment_distance(pattern, tokens), order, pattern))
        .collect();
    scored.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    scored
        .into_iter()
        .take(SUGGESTIONS)
        .map(|(_, _, p)| p)
        .collect()
}

fn segment_distance(pattern: Pattern, tokens: &[PathToken<'_>]) -> f64 {
    let want: Vec<PatternToken> = pattern.tokens().collect();
    let substitution = |w: PatternToken, g: PathToken<'_>| -> f64 {
        match (w, g) {
            (PatternToken::Param, _) => 0.0,
            (PatternToken::Literal(_), PathToken::Value) => 1.0,
            // A name much longer than the literal is far from it whatever its letters:
            // skipping the comparison keeps a 1 MB segment as cheap as a short one.
            (PatternToken::Literal(l), PathToken::Name(n)) if n.len() > 2 * l.len() + 8 => 1.0,
            (PatternToken::Literal(l), PathToken::Name(n)) => {
                1.0 - strsim::normalized_levenshtein(&l.to_lowercase(), &n.to_lowercase())
            }
        }
    };
    // Classic dynamic programme, one row at a time.
    let mut previous: Vec<f64> = (0..=tokens.len()).map(|j| j as f64).collect();
    for (i, &w) in want.iter().enumerate() {
        let mut current = vec![(i + 1) as f64; tokens.len() + 1];
        for (j, &g) in tokens.iter().enumerate() {
            current[j + 1] = (previous[j] + substitution(w, g))
                .min(previous[j + 1] + 1.0)
                .min(current[j] + 1.0);
        }
        previous = current;
    }
    previous[tokens.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn kind_of(path: &str) -> Result<(&'static str, &'static str), Vec<&'static str>> {
        let parsed = ResourcePath::parse(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        resolve(&parsed)
            .map(|r| (r.kind().name(), r.pattern().path()))
            .map_err(|e| e.suggestions.iter().map(|p| p.path()).collect())
    }

    #[track_caller]
    fn check(path: &str, kind: &str, pattern: &str) {
        assert_eq!(kind_of(path), Ok((kind, pattern)), "{path}");
    }

    /// Every example path the reference lists (graph-subscriptions.md, "Resource paths").
    #[test]
    fn every_documented_example_resolves() {
        let cases = [
            ("communications/callRecords", "callRecord"),
            ("chats/{id}/messages", "chatMessage"),
            ("chats/getAllMessages", "chatMessage"),
            ("teams/{id}/channels/{id}/messages", "chatMessage"),
            ("teams/getAllMessages", "chatMessage"),
            ("users/{id}/chats/getAllMessages", "chatMessage"),
            ("me/chats/getAllMessages", "chatMessage"),
            ("me/contacts", "contact"),
            ("groups('{id}')/conversations", "groupConversation"),
            ("me/drive/root", "driveItem"),
            ("drives/{id}/root", "driveItem"),
            ("users/{id}/drive/root", "driveItem"),
            ("me/events", "event"),
            ("groups", "group"),
            ("sites/{site-id}/lists/{list-id}", "list"),
            ("me/mailFolders('inbox')/messages", "message"),
            ("me/mailfolders('inbox')/messages", "message"),
            ("me/messages", "message"),
            ("/communications/presences/{id}", "presence"),
            (
                "/communications/presences?$filter=id in ('{id}','{id}')",
                "presence",
            ),
            ("print/printers/{id}/jobs", "printer"),
            ("print/taskDefinitions/{id}/tasks", "printTaskDefinition"),
            ("security/alerts?$filter=status eq 'New'", "securityAlert"),
            ("users", "user"),
            ("users/{id}", "user"),
            ("teams", "team"),
            ("teams/{id}", "team"),
            ("teams/{id}/channels", "channel"),
            ("teams/getAllChannels", "channel"),
            ("teams/{id}/members", "conversationMember"),
            ("teams/{id}/schedule/shifts", "shift"),
            (
                "teams/{id}/schedule/offerShiftRequests",
                "offerShiftRequest",
            ),
            (
                "teams/{id}/schedule/openShiftChangeRequests",
                "openShiftChangeRequest",
            ),
            (
                "teams/{id}/schedule/swapShiftsChangeRequests",
                "swapShiftsChangeRequest",
            ),
            ("teams/{id}/schedule/timeOffRequests", "timeOffRequest"),
            ("chats", "chat"),
            ("chats/{id}", "chat"),
            ("chats/{id}/members", "conversationMember"),
            ("chats/getAllMembers", "conversationMember"),
            ("appCatalogs/teamsApps/{id}/installedToChats", "chat"),
            (
                "appCatalogs/teamsApps/{id}/installedToChats/getAllMessages",
                "chatMessage",
            ),
            (
                "appCatalogs/teamsApps/{id}/installedToChats/getAllMembers",
                "conversationMember",
            ),
            (
                "communications/onlineMeetings/getAllRecordings",
                "callRecording",
            ),
            (
                "communications/onlineMeetings/getAllTranscripts",
                "callTranscript",
            ),
            (
                "communications/onlineMeetings/{id}/recordings",
                "callRecording",
            ),
            (
                "communications/onlineMeetings/{id}/transcripts",
                "callTranscript",
            ),
            (
                "users/{id}/onlineMeetings/getAllRecordings",
                "callRecording",
            ),
            (
                "users/{id}/onlineMeetings/getAllTranscripts",
                "callTranscript",
            ),
            ("me/todo/lists/{id}/tasks", "todoTask"),
        ];
        for (path, kind) in cases {
            let parsed = ResourcePath::parse(path).unwrap();
            let resolved = resolve(&parsed).unwrap_or_else(|e| panic!("{path}: {e}"));
            assert_eq!(resolved.kind().name(), kind, "{path}");
        }
    }

    #[test]
    fn the_most_specific_pattern_wins_and_keys_equal_segments() {
        check(
            "teams/getAllMessages",
            "chatMessage",
            "teams/getAllMessages",
        );
        check("teams/19:abc@thread.v2", "team", "teams/{id}");
        check(
            "chats/getAllMembers",
            "conversationMember",
            "chats/getAllMembers",
        );
        check("chats/19:abc@unq.gbl.spaces", "chat", "chats/{id}");
        check(
            "groups/{id}/conversations",
            "groupConversation",
            "groups/{id}/conversations",
        );
        check(
            "Users/{id}/MailFolders('Inbox')/Messages",
            "message",
            "users/{id}/mailFolders/{id}/messages",
        );
        check(
            "me/drive/root:/Documents:",
            "driveItem",
            "users/{id}/drive/items/{id}",
        );
        check("me", "user", "users/{id}");
    }

    #[test]
    fn every_catalogue_example_resolves_to_its_kind() {
        for kind in ResourceKind::all() {
            assert!(!kind.spec().examples.is_empty(), "{kind} has no example");
            for example in kind.spec().examples {
                let path = ResourcePath::parse(example).unwrap();
                assert_eq!(resolve(&path).map(|r| r.kind()), Ok(kind), "{example}");
            }
        }
    }

    #[test]
    fn every_pattern_resolves_to_itself() {
        for pattern in ResourceKind::all().flat_map(ResourceKind::patterns) {
            let path = ResourcePath::parse(pattern.path()).unwrap();
            assert_eq!(resolve(&path).map(|r| r.pattern()), Ok(pattern));
            // Taking the path resolves it alike.
            let owned = Resource::try_from(path.clone()).unwrap();
            assert_eq!((owned.pattern(), owned.path()), (pattern, &path));
        }
        let unknown = ResourcePath::parse("users/{id}/messagez").unwrap();
        assert_eq!(
            Resource::try_from(unknown.clone()).err(),
            resolve(&unknown).err()
        );
    }

    #[test]
    fn names_and_labels_are_unique() {
        let mut seen = HashSet::new();
        for kind in ResourceKind::all() {
            for label in std::iter::once(kind.name()).chain(kind.spec().doc_labels.iter().copied())
            {
                assert!(
                    seen.insert(normalize_label(label)),
                    "label `{label}` is used twice"
                );
                assert_eq!(ResourceKind::from_doc_label(label), Some(kind), "{label}");
            }
        }
        assert_eq!(
            ResourceKind::from_doc_label("Alerte  de Sécurité"),
            ResourceKind::from_name("securityAlert")
        );
        assert_eq!(
            ResourceKind::from_doc_label("canal"),
            ResourceKind::from_name("channel")
        );
        assert_eq!(ResourceKind::from_doc_label("nothing"), None);
    }

    #[test]
    fn kinds_are_sorted_so_the_table_stays_reviewable() {
        let names: Vec<&str> = KINDS.iter().map(|k| k.name).collect();
        let mut sorted = names.clone();
        sorted.sort_by_key(|n| n.to_lowercase());
        assert_eq!(names, sorted);
    }

    #[test]
    fn unknown_paths_get_the_closest_patterns() {
        assert_eq!(
            kind_of("teams/{id}/chanels").unwrap_err()[0],
            "teams/{id}/channels"
        );
        assert_eq!(kind_of("me/mesages").unwrap_err()[0], "users/{id}/messages");
        assert_eq!(
            kind_of("chats/{id}/mesages").unwrap_err()[0],
            "chats/{id}/messages"
        );
        assert_eq!(
            kind_of("presence").unwrap_err(),
            ["communications/presences/{id}", "communications/presences"]
        );
        assert_eq!(kind_of("nothing/like/this").unwrap_err().len(), SUGGESTIONS);
    }

    #[test]
    fn canonical_path_uses_the_catalogue_spelling() {
        let path = ResourcePath::parse("/Me/MAILFOLDERS('Inbox')/Messages?model=A").unwrap();
        let resource = resolve(&path).unwrap();
        assert_eq!(
            resource.canonical_path().to_string(),
            "me/mailFolders('Inbox')/messages?model=A"
        );
    }

    #[test]
    fn lookalike_letters_are_named_in_the_hint() {
        let path = ResourcePath::parse("me/m\u{435}ssages").unwrap();
        let e = resolve(&path).unwrap_err();
        assert_eq!(
            e.hint(),
            "the path contains U+0435 CYRILLIC SMALL LETTER IE, which looks like `e`; typed in plain ASCII it names a known resource: retype it"
        );
        // An id with non-ASCII letters is just an id.
        assert!(resolve(&ResourcePath::parse("users/\u{430}da/messages").unwrap()).is_ok());
        let e = resolve(&ResourcePath::parse("teams/{id}/chanels").unwrap()).unwrap_err();
        assert_eq!(e.lookalike, None);
        assert!(
            e.hint()
                .starts_with("the closest known resources are `teams/{id}/channels`")
        );
    }

    #[test]
    fn a_huge_unknown_path_gets_a_short_message() {
        let path = ResourcePath::parse(&format!("{}/x", "y".repeat(1 << 20))).unwrap();
        let e = resolve(&path).unwrap_err();
        assert!(e.to_string().len() < 150, "{e}");
        assert_eq!(e.suggestions.len(), SUGGESTIONS);
    }

    #[test]
    fn subject_names_the_user() {
        let subject = |p: &str| resolve(&ResourcePath::parse(p).unwrap()).unwrap().subject();
        assert_eq!(subject("me/messages"), Some(Subject::SignedInUser));
        assert_eq!(
            subject("users/ada@contoso.com/messages"),
            Some(Subject::User("ada@contoso.com".into()))
        );
        assert_eq!(
            subject("users('ada')/events"),
            Some(Subject::User("ada".into()))
        );
        assert_eq!(subject("groups"), None);
    }
}
