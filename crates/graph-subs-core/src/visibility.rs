//! Which subscriptions `GET /subscriptions` returns, for the four scenarios of the List
//! page, and what it never returns (`clientState`).
//!
//! | caller | sees |
//! |---|---|
//! | delegated, with the permission used to create | subscriptions this app created for the signed-in user |
//! | application, with the permission used to create | subscriptions this app created, for itself or any user |
//! | delegated non-admin, `Subscription.Read.All` | subscriptions any app created for the signed-in user |
//! | delegated admin (work or school), `Subscription.Read.All` | subscriptions any app created for any user |

use crate::subscription::Subscription;

/// The kind of account a delegated caller signs in with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Account {
    /// A work or school account.
    WorkOrSchool,
    /// A personal Microsoft account.
    Personal,
}

/// Who calls `GET /subscriptions`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// An app acting for a signed-in user.
    Delegated {
        /// The calling app.
        app_id: String,
        /// The signed-in user.
        user_id: String,
        /// The user's account type.
        account: Account,
        /// Whether the user is an administrator (only work or school accounts can be).
        admin: bool,
        /// Whether the app holds the delegated `Subscription.Read.All` permission.
        subscription_read_all: bool,
    },
    /// An app acting as itself.
    Application {
        /// The calling app.
        app_id: String,
    },
}

/// What the List page's scenarios let a caller see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Subscriptions this app created for the signed-in user.
    ThisAppForSignedInUser,
    /// Subscriptions this app created, for itself or for any user.
    ThisAppForAnyone,
    /// Subscriptions any app created for the signed-in user.
    AnyAppForSignedInUser,
    /// Every subscription of the tenant.
    AnyAppForAnyUser,
}

/// Who created a subscription: the app, and the user (delegated) or service principal
/// (application) in `creatorId`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner<'a> {
    /// `applicationId`.
    pub application_id: &'a str,
    /// `creatorId`.
    pub creator_id: &'a str,
}

impl<'a> Owner<'a> {
    /// The owner a subscription records (an unset id is empty, and matches no caller).
    pub fn of(subscription: &'a Subscription) -> Owner<'a> {
        Owner {
            application_id: subscription.application_id.as_deref().unwrap_or_default(),
            creator_id: subscription.creator_id.as_deref().unwrap_or_default(),
        }
    }
}

/// The scenario a caller falls in.
pub fn scope(caller: &Caller) -> Scope {
    match caller {
        Caller::Application { .. } => Scope::ThisAppForAnyone,
        Caller::Delegated {
            subscription_read_all: false,
            ..
        } => Scope::ThisAppForSignedInUser,
        Caller::Delegated {
            admin: true,
            account: Account::WorkOrSchool,
            subscription_read_all: true,
            ..
        } => Scope::AnyAppForAnyUser,
        Caller::Delegated { .. } => Scope::AnyAppForSignedInUser,
    }
}

/// Whether the caller's listing includes a subscription.
pub fn can_see(caller: &Caller, owner: Owner<'_>) -> bool {
    let (app, user) = match caller {
        Caller::Application { app_id } => (app_id.as_str(), None),
        Caller::Delegated {
            app_id, user_id, ..
        } => (app_id.as_str(), Some(user_id.as_str())),
    };
    let for_user = user == Some(owner.creator_id);
    let by_app = owner.application_id == app;
    match scope(caller) {
        Scope::ThisAppForSignedInUser => by_app && for_user,
        Scope::ThisAppForAnyone => by_app,
        Scope::AnyAppForSignedInUser => for_user,
        Scope::AnyAppForAnyUser => true,
    }
}

/// The subscriptions a caller sees, in the order given.
pub fn visible<'a, T>(
    caller: &Caller,
    subscriptions: &'a [T],
    owner: impl Fn(&T) -> Owner<'_>,
) -> Vec<&'a T> {
    subscriptions
        .iter()
        .filter(|s| can_see(caller, owner(s)))
        .collect()
}

/// A subscription as List returns it: `clientState` is never returned ("for security
/// reasons"), so it is `null` whatever it was.
pub fn as_listed(subscription: &Subscription) -> Subscription {
    Subscription {
        client_state: None,
        ..subscription.clone()
    }
}

/// What a caller's `GET /subscriptions` returns, each as List writes it.
pub fn listing<'a>(
    caller: &'a Caller,
    subscriptions: impl IntoIterator<Item = &'a Subscription> + 'a,
) -> impl Iterator<Item = Subscription> + 'a {
    subscriptions
        .into_iter()
        .filter(move |s| can_see(caller, Owner::of(s)))
        .map(as_listed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delegated(user: &str, account: Account, admin: bool, read_all: bool) -> Caller {
        Caller::Delegated {
            app_id: "app-1".into(),
            user_id: user.into(),
            account,
            admin,
            subscription_read_all: read_all,
        }
    }

    /// (application, creator) of the subscriptions in a tenant.
    const SUBSCRIPTIONS: &[(&str, &str)] = &[
        ("app-1", "ada"),
        ("app-1", "bob"),
        ("app-2", "ada"),
        ("app-2", "bob"),
        ("app-1", "app-1-service-principal"),
    ];

    /// (application, creator) of one subscription.
    type Sub = (&'static str, &'static str);

    fn seen(caller: &Caller) -> Vec<Sub> {
        visible(caller, SUBSCRIPTIONS, |&(application_id, creator_id)| {
            Owner {
                application_id,
                creator_id,
            }
        })
        .into_iter()
        .copied()
        .collect()
    }

    #[test]
    fn the_four_scenarios_of_the_list_page() {
        use Account::{Personal, WorkOrSchool};
        let cases: Vec<(Caller, Scope, Vec<Sub>)> = vec![
            (
                delegated("ada", WorkOrSchool, false, false),
                Scope::ThisAppForSignedInUser,
                vec![("app-1", "ada")],
            ),
            (
                delegated("ada", Personal, false, false),
                Scope::ThisAppForSignedInUser,
                vec![("app-1", "ada")],
            ),
            // An admin without Subscription.Read.All sees no more than anyone.
            (
                delegated("ada", WorkOrSchool, true, false),
                Scope::ThisAppForSignedInUser,
                vec![("app-1", "ada")],
            ),
            (
                Caller::Application {
                    app_id: "app-1".into(),
                },
                Scope::ThisAppForAnyone,
                vec![
                    ("app-1", "ada"),
                    ("app-1", "bob"),
                    ("app-1", "app-1-service-principal"),
                ],
            ),
            (
                delegated("ada", WorkOrSchool, false, true),
                Scope::AnyAppForSignedInUser,
                vec![("app-1", "ada"), ("app-2", "ada")],
            ),
            (
                delegated("ada", Personal, false, true),
                Scope::AnyAppForSignedInUser,
                vec![("app-1", "ada"), ("app-2", "ada")],
            ),
            // Admin rights exist only for work or school accounts.
            (
                delegated("ada", Personal, true, true),
                Scope::AnyAppForSignedInUser,
                vec![("app-1", "ada"), ("app-2", "ada")],
            ),
            (
                delegated("ada", WorkOrSchool, true, true),
                Scope::AnyAppForAnyUser,
                SUBSCRIPTIONS.to_vec(),
            ),
        ];
        for (caller, expected_scope, expected) in cases {
            assert_eq!(scope(&caller), expected_scope, "{caller:?}");
            assert_eq!(seen(&caller), expected, "{caller:?}");
        }
    }

    #[test]
    fn list_never_returns_client_state() {
        let stored: Subscription = serde_json::from_value(serde_json::json!({
            "id": "7f105c7d",
            "resource": "me/messages",
            "applicationId": "app-1",
            "creatorId": "ada",
            "changeType": "created",
            "clientState": "secretClientValue",
            "notificationUrl": "https://webhook.example.com/notify",
            "expirationDateTime": "2026-11-23T09:00:00Z"
        }))
        .unwrap();
        let caller = delegated("ada", Account::WorkOrSchool, false, false);
        let listed: Vec<Subscription> = listing(&caller, [&stored]).collect();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].client_state, None);
        assert_eq!(
            serde_json::to_value(&listed[0]).unwrap()["clientState"],
            serde_json::Value::Null
        );
        assert_eq!(listed[0].id, "7f105c7d");
        assert_eq!(
            stored.client_state.as_ref().map(|c| c.expose()),
            Some("secretClientValue")
        );
        let other = delegated("bob", Account::WorkOrSchool, false, false);
        assert_eq!(listing(&other, [&stored]).count(), 0);
    }
}
