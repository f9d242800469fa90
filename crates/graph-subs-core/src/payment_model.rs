//! Payment models of the Teams limited APIs (the "Remarque" sections of the seed pages).
//!
//! `/teams/getAllMessages`, `/chats/getAllMessages`, `/teams/getAllMembers` and
//! `/chats/getAllMembers` accept `model=A` and `model=B`; `/users/{id}/chats/getAllMessages`
//! (and `/me/...`) and the `installedToChats` resources accept only `model=B`. Without a
//! model the subscription runs in evaluation mode. A model cannot be added or changed by
//! PATCH: create a new subscription.
//!
//! Which resource accepts which model is data in the catalogue
//! ([`crate::catalogue::PatternSpec::payment_models`]).

use crate::catalogue::Resource;
use crate::resource::PaymentModel;

/// The day Microsoft stopped metering the Teams limited APIs. Graph has ignored `model`
/// since; the documented rules stay the rules graph-subs checks.
pub const METERING_ENDED: &str = "2025-08-25";

/// The note every payment-model diagnostic carries.
pub const METERING_NOTE: &str = "Microsoft stopped metering the Teams limited APIs on 2025-08-25 and Graph now ignores `model`; the rule is the documented one";

/// What the `model` of a resource amounts to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelVerdict {
    /// Not a limited API and no model given: nothing to say.
    NotApplicable,
    /// Not a limited API, yet a model was given.
    NotLimited {
        /// The model given.
        given: PaymentModel,
    },
    /// A limited API without a model: evaluation mode.
    Evaluation {
        /// The models it would accept.
        accepted: &'static [PaymentModel],
    },
    /// A limited API with a model it accepts.
    Accepted(PaymentModel),
    /// A limited API with a model it does not accept.
    NotAccepted {
        /// The model given.
        given: PaymentModel,
        /// The models it accepts.
        accepted: &'static [PaymentModel],
    },
}

/// Judges the `model` in a resource's query string.
pub fn judge(resource: &Resource) -> ModelVerdict {
    let accepted = resource.pattern().payment_models();
    match (resource.path().query().payment_model(), accepted.is_empty()) {
        (None, true) => ModelVerdict::NotApplicable,
        (Some(given), true) => ModelVerdict::NotLimited { given },
        (None, false) => ModelVerdict::Evaluation { accepted },
        (Some(given), false) if accepted.contains(&given) => ModelVerdict::Accepted(given),
        (Some(given), false) => ModelVerdict::NotAccepted { given, accepted },
    }
}

/// Whether an update changes a subscription's model: PATCH cannot, a new subscription
/// is needed. `before` is the subscription's resource, `after` the one the update asks for.
pub fn changes_model(before: &Resource, after: &Resource) -> bool {
    before.path().query().payment_model() != after.path().query().payment_model()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::resolve;
    use crate::resource::ResourcePath;

    fn verdict(path: &str) -> ModelVerdict {
        judge(&resolve(&ResourcePath::parse(path).unwrap()).unwrap())
    }

    const AB: &[PaymentModel] = &[PaymentModel::A, PaymentModel::B];
    const B: &[PaymentModel] = &[PaymentModel::B];

    #[test]
    fn each_limited_api_accepts_its_models() {
        let cases = [
            (
                "chats/getAllMessages?model=A",
                ModelVerdict::Accepted(PaymentModel::A),
            ),
            (
                "teams/getAllMessages?model=B",
                ModelVerdict::Accepted(PaymentModel::B),
            ),
            (
                "chats/getAllMembers?model=A",
                ModelVerdict::Accepted(PaymentModel::A),
            ),
            (
                "teams/getAllMembers?model=A",
                ModelVerdict::Accepted(PaymentModel::A),
            ),
            (
                "me/chats/getAllMessages?model=B",
                ModelVerdict::Accepted(PaymentModel::B),
            ),
            (
                "me/chats/getAllMessages?model=A",
                ModelVerdict::NotAccepted {
                    given: PaymentModel::A,
                    accepted: B,
                },
            ),
            (
                "users/{id}/chats/getAllMessages?model=A",
                ModelVerdict::NotAccepted {
                    given: PaymentModel::A,
                    accepted: B,
                },
            ),
            (
                "appCatalogs/teamsApps/{id}/installedToChats?model=A",
                ModelVerdict::NotAccepted {
                    given: PaymentModel::A,
                    accepted: B,
                },
            ),
            (
                "appCatalogs/teamsApps/{id}/installedToChats/getAllMessages?model=B",
                ModelVerdict::Accepted(PaymentModel::B),
            ),
            (
                "appCatalogs/teamsApps/{id}/installedToChats/getAllMembers?model=A",
                ModelVerdict::NotAccepted {
                    given: PaymentModel::A,
                    accepted: B,
                },
            ),
            (
                "chats/getAllMessages",
                ModelVerdict::Evaluation { accepted: AB },
            ),
            (
                "me/chats/getAllMessages",
                ModelVerdict::Evaluation { accepted: B },
            ),
            ("me/messages", ModelVerdict::NotApplicable),
            (
                "chats/{id}/messages?model=A",
                ModelVerdict::NotLimited {
                    given: PaymentModel::A,
                },
            ),
        ];
        for (path, expected) in cases {
            assert_eq!(verdict(path), expected, "{path}");
        }
    }

    #[test]
    fn a_patch_cannot_change_the_model() {
        let r = |p: &str| resolve(&ResourcePath::parse(p).unwrap()).unwrap();
        assert!(changes_model(
            &r("chats/getAllMessages?model=A"),
            &r("chats/getAllMessages?model=B")
        ));
        assert!(changes_model(
            &r("chats/getAllMessages"),
            &r("chats/getAllMessages?model=B")
        ));
        assert!(!changes_model(
            &r("chats/getAllMessages?model=B"),
            &r("/Chats/getAllMessages?model=B")
        ));
    }
}
