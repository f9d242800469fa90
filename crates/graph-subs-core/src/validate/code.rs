//! Every diagnostic [`super::check`] reports has a stable code: the contract scripts rely
//! on (`--json` prints it) and the key of `graph-subs check --explain CODE`.

use std::fmt;
use std::str::FromStr;

/// A diagnostic's stable, kebab-case code. Codes are never renamed or reused: a script may
/// match on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DiagnosticCode {
    /// `missing-property`: a required property is missing.
    MissingProperty,
    /// `wrong-type`: a property has the wrong JSON type.
    WrongType,
    /// `unknown-property`: a property a subscription does not have (Graph refuses the body).
    UnknownProperty,
    /// `duplicate-property`: a property given twice (names compare without regard to case).
    DuplicateProperty,
    /// `read-only-property`: a property only Graph sets.
    ReadOnlyProperty,
    /// `update-cannot-set`: a property an update cannot change.
    UpdateCannotSet,
    /// `update-ignored`: a property an update ignores.
    UpdateIgnored,
    /// `update-needs-expiration-or-url`: an update with neither expirationDateTime nor notificationUrl.
    UpdateNeedsExpirationOrUrl,
    /// `certificate-rotation-incomplete`: a certificate rotation without both certificate properties.
    CertificateRotationIncomplete,
    /// `payment-model-change`: an update that changes the payment model.
    PaymentModelChange,
    /// `subscription-resource-unknown`: an update checked without the subscription's resource.
    SubscriptionResourceUnknown,
    /// `invalid-resource`: a malformed resource path.
    InvalidResource,
    /// `unknown-resource`: a path that names no resource supporting notifications.
    UnknownResource,
    /// `resource-whitespace`: white space around the resource.
    ResourceWhitespace,
    /// `resource-placeholder`: a documentation placeholder such as {id} left in the resource.
    ResourcePlaceholder,
    /// `invalid-change-type`: a malformed changeType.
    InvalidChangeType,
    /// `change-type-not-supported`: a change type the resource does not notify.
    ChangeTypeNotSupported,
    /// `invalid-url`: a notification URL that is not a URL.
    InvalidUrl,
    /// `url-not-https`: a notification URL that is not HTTPS.
    UrlNotHttps,
    /// `url-loopback`: a notification URL on this machine.
    UrlLoopback,
    /// `url-private-address`: a notification URL on a private network address.
    UrlPrivateAddress,
    /// `url-link-local`: a notification URL on a link-local address.
    UrlLinkLocal,
    /// `url-unreachable-address`: a notification URL on an address nobody can be reached at.
    UrlUnreachableAddress,
    /// `url-credentials`: credentials in a notification URL.
    UrlCredentials,
    /// `url-fragment`: a #fragment in a notification URL.
    UrlFragment,
    /// `event-grid-parameter-missing`: an EventGrid: URL without one of its parameters.
    EventGridParameterMissing,
    /// `invalid-expiration`: an expirationDateTime that is not RFC 3339.
    InvalidExpiration,
    /// `expiration-not-in-future`: an expiration in the past.
    ExpirationNotInFuture,
    /// `expiration-beyond-maximum`: an expiration beyond the resource's maximum lifetime.
    ExpirationBeyondMaximum,
    /// `expiration-beyond-rich-maximum`: a renewal too far if the subscription includes resource data.
    ExpirationBeyondRichMaximum,
    /// `expiration-raised`: an expiration under 45 minutes away, which Graph raises.
    ExpirationRaised,
    /// `time-out-of-range`: a check time whose results RFC 3339 cannot write.
    TimeOutOfRange,
    /// `lifecycle-url-required`: a Teams subscription beyond an hour without lifecycleNotificationUrl.
    LifecycleUrlRequired,
    /// `client-state-too-long`: a clientState over 128 characters.
    ClientStateTooLong,
    /// `rich-notifications-not-supported`: includeResourceData on a resource without rich notifications.
    RichNotificationsNotSupported,
    /// `encryption-required`: resource data without an encryption certificate.
    EncryptionRequired,
    /// `certificate-id-too-long`: an encryptionCertificateId over 128 characters.
    CertificateIdTooLong,
    /// `invalid-certificate`: an encryptionCertificate that is not base64.
    InvalidCertificate,
    /// `invalid-tls-version`: an unknown latestSupportedTlsVersion.
    InvalidTlsVersion,
    /// `cloud-not-supported`: a resource that does not exist in the chosen national cloud.
    CloudNotSupported,
    /// `permission-type-not-supported`: a permission type the resource does not support.
    PermissionTypeNotSupported,
    /// `delegated-other-mailbox`: delegated access to a mailbox named by id.
    DelegatedOtherMailbox,
    /// `onedrive-business-root-only`: a OneDrive for Business subscription below the root folder.
    OnedriveBusinessRootOnly,
    /// `drive-item-looks-like-a-file`: a drive item path that names a file.
    DriveItemLooksLikeAFile,
    /// `payment-model-not-applicable`: model= on a resource that is not a Teams limited API.
    PaymentModelNotApplicable,
    /// `evaluation-mode`: a Teams limited API without a payment model.
    EvaluationMode,
    /// `payment-model-not-accepted`: a payment model the resource does not accept.
    PaymentModelNotAccepted,
    /// `user-specific-properties-not-supported`: notifyOnUserSpecificProperties where it does not apply.
    UserSpecificPropertiesNotSupported,
    /// `unknown-query-parameter`: a query parameter Graph gives no meaning.
    UnknownQueryParameter,
    /// `query-options-ignored`: notificationQueryOptions outside Universal Print.
    QueryOptionsIgnored,
}

impl DiagnosticCode {
    /// Every code, in the order the reference lists them.
    pub const ALL: [DiagnosticCode; 50] = [
        DiagnosticCode::MissingProperty,
        DiagnosticCode::WrongType,
        DiagnosticCode::UnknownProperty,
        DiagnosticCode::DuplicateProperty,
        DiagnosticCode::ReadOnlyProperty,
        DiagnosticCode::UpdateCannotSet,
        DiagnosticCode::UpdateIgnored,
        DiagnosticCode::UpdateNeedsExpirationOrUrl,
        DiagnosticCode::CertificateRotationIncomplete,
        DiagnosticCode::PaymentModelChange,
        DiagnosticCode::SubscriptionResourceUnknown,
        DiagnosticCode::InvalidResource,
        DiagnosticCode::UnknownResource,
        DiagnosticCode::ResourceWhitespace,
        DiagnosticCode::ResourcePlaceholder,
        DiagnosticCode::InvalidChangeType,
        DiagnosticCode::ChangeTypeNotSupported,
        DiagnosticCode::InvalidUrl,
        DiagnosticCode::UrlNotHttps,
        DiagnosticCode::UrlLoopback,
        DiagnosticCode::UrlPrivateAddress,
        DiagnosticCode::UrlLinkLocal,
        DiagnosticCode::UrlUnreachableAddress,
        DiagnosticCode::UrlCredentials,
        DiagnosticCode::UrlFragment,
        DiagnosticCode::EventGridParameterMissing,
        DiagnosticCode::InvalidExpiration,
        DiagnosticCode::ExpirationNotInFuture,
        DiagnosticCode::ExpirationBeyondMaximum,
        DiagnosticCode::ExpirationBeyondRichMaximum,
        DiagnosticCode::ExpirationRaised,
        DiagnosticCode::TimeOutOfRange,
        DiagnosticCode::LifecycleUrlRequired,
        DiagnosticCode::ClientStateTooLong,
        DiagnosticCode::RichNotificationsNotSupported,
        DiagnosticCode::EncryptionRequired,
        DiagnosticCode::CertificateIdTooLong,
        DiagnosticCode::InvalidCertificate,
        DiagnosticCode::InvalidTlsVersion,
        DiagnosticCode::CloudNotSupported,
        DiagnosticCode::PermissionTypeNotSupported,
        DiagnosticCode::DelegatedOtherMailbox,
        DiagnosticCode::OnedriveBusinessRootOnly,
        DiagnosticCode::DriveItemLooksLikeAFile,
        DiagnosticCode::PaymentModelNotApplicable,
        DiagnosticCode::EvaluationMode,
        DiagnosticCode::PaymentModelNotAccepted,
        DiagnosticCode::UserSpecificPropertiesNotSupported,
        DiagnosticCode::UnknownQueryParameter,
        DiagnosticCode::QueryOptionsIgnored,
    ];

    /// The code as written: `expiration-beyond-maximum`.
    pub fn as_str(self) -> &'static str {
        match self {
            DiagnosticCode::MissingProperty => "missing-property",
            DiagnosticCode::WrongType => "wrong-type",
            DiagnosticCode::UnknownProperty => "unknown-property",
            DiagnosticCode::DuplicateProperty => "duplicate-property",
            DiagnosticCode::ReadOnlyProperty => "read-only-property",
            DiagnosticCode::UpdateCannotSet => "update-cannot-set",
            DiagnosticCode::UpdateIgnored => "update-ignored",
            DiagnosticCode::UpdateNeedsExpirationOrUrl => "update-needs-expiration-or-url",
            DiagnosticCode::CertificateRotationIncomplete => "certificate-rotation-incomplete",
            DiagnosticCode::PaymentModelChange => "payment-model-change",
            DiagnosticCode::SubscriptionResourceUnknown => "subscription-resource-unknown",
            DiagnosticCode::InvalidResource => "invalid-resource",
            DiagnosticCode::UnknownResource => "unknown-resource",
            DiagnosticCode::ResourceWhitespace => "resource-whitespace",
            DiagnosticCode::ResourcePlaceholder => "resource-placeholder",
            DiagnosticCode::InvalidChangeType => "invalid-change-type",
            DiagnosticCode::ChangeTypeNotSupported => "change-type-not-supported",
            DiagnosticCode::InvalidUrl => "invalid-url",
            DiagnosticCode::UrlNotHttps => "url-not-https",
            DiagnosticCode::UrlLoopback => "url-loopback",
            DiagnosticCode::UrlPrivateAddress => "url-private-address",
            DiagnosticCode::UrlLinkLocal => "url-link-local",
            DiagnosticCode::UrlUnreachableAddress => "url-unreachable-address",
            DiagnosticCode::UrlCredentials => "url-credentials",
            DiagnosticCode::UrlFragment => "url-fragment",
            DiagnosticCode::EventGridParameterMissing => "event-grid-parameter-missing",
            DiagnosticCode::InvalidExpiration => "invalid-expiration",
            DiagnosticCode::ExpirationNotInFuture => "expiration-not-in-future",
            DiagnosticCode::ExpirationBeyondMaximum => "expiration-beyond-maximum",
            DiagnosticCode::ExpirationBeyondRichMaximum => "expiration-beyond-rich-maximum",
            DiagnosticCode::ExpirationRaised => "expiration-raised",
            DiagnosticCode::TimeOutOfRange => "time-out-of-range",
            DiagnosticCode::LifecycleUrlRequired => "lifecycle-url-required",
            DiagnosticCode::ClientStateTooLong => "client-state-too-long",
            DiagnosticCode::RichNotificationsNotSupported => "rich-notifications-not-supported",
            DiagnosticCode::EncryptionRequired => "encryption-required",
            DiagnosticCode::CertificateIdTooLong => "certificate-id-too-long",
            DiagnosticCode::InvalidCertificate => "invalid-certificate",
            DiagnosticCode::InvalidTlsVersion => "invalid-tls-version",
            DiagnosticCode::CloudNotSupported => "cloud-not-supported",
            DiagnosticCode::PermissionTypeNotSupported => "permission-type-not-supported",
            DiagnosticCode::DelegatedOtherMailbox => "delegated-other-mailbox",
            DiagnosticCode::OnedriveBusinessRootOnly => "onedrive-business-root-only",
            DiagnosticCode::DriveItemLooksLikeAFile => "drive-item-looks-like-a-file",
            DiagnosticCode::PaymentModelNotApplicable => "payment-model-not-applicable",
            DiagnosticCode::EvaluationMode => "evaluation-mode",
            DiagnosticCode::PaymentModelNotAccepted => "payment-model-not-accepted",
            DiagnosticCode::UserSpecificPropertiesNotSupported => {
                "user-specific-properties-not-supported"
            }
            DiagnosticCode::UnknownQueryParameter => "unknown-query-parameter",
            DiagnosticCode::QueryOptionsIgnored => "query-options-ignored",
        }
    }

    /// What the code is about, in a few words.
    pub fn summary(self) -> &'static str {
        match self {
            DiagnosticCode::MissingProperty => "a required property is missing",
            DiagnosticCode::WrongType => "a property has the wrong JSON type",
            DiagnosticCode::UnknownProperty => {
                "a property a subscription does not have (Graph refuses the body)"
            }
            DiagnosticCode::DuplicateProperty => {
                "a property given twice (names compare without regard to case)"
            }
            DiagnosticCode::ReadOnlyProperty => "a property only Graph sets",
            DiagnosticCode::UpdateCannotSet => "a property an update cannot change",
            DiagnosticCode::UpdateIgnored => "a property an update ignores",
            DiagnosticCode::UpdateNeedsExpirationOrUrl => {
                "an update with neither expirationDateTime nor notificationUrl"
            }
            DiagnosticCode::CertificateRotationIncomplete => {
                "a certificate rotation without both certificate properties"
            }
            DiagnosticCode::PaymentModelChange => "an update that changes the payment model",
            DiagnosticCode::SubscriptionResourceUnknown => {
                "an update checked without the subscription's resource"
            }
            DiagnosticCode::InvalidResource => "a malformed resource path",
            DiagnosticCode::UnknownResource => {
                "a path that names no resource supporting notifications"
            }
            DiagnosticCode::ResourceWhitespace => "white space around the resource",
            DiagnosticCode::ResourcePlaceholder => {
                "a documentation placeholder such as {id} left in the resource"
            }
            DiagnosticCode::InvalidChangeType => "a malformed changeType",
            DiagnosticCode::ChangeTypeNotSupported => "a change type the resource does not notify",
            DiagnosticCode::InvalidUrl => "a notification URL that is not a URL",
            DiagnosticCode::UrlNotHttps => "a notification URL that is not HTTPS",
            DiagnosticCode::UrlLoopback => "a notification URL on this machine",
            DiagnosticCode::UrlPrivateAddress => "a notification URL on a private network address",
            DiagnosticCode::UrlLinkLocal => "a notification URL on a link-local address",
            DiagnosticCode::UrlUnreachableAddress => {
                "a notification URL on an address nobody can be reached at"
            }
            DiagnosticCode::UrlCredentials => "credentials in a notification URL",
            DiagnosticCode::UrlFragment => "a #fragment in a notification URL",
            DiagnosticCode::EventGridParameterMissing => {
                "an EventGrid: URL without one of its parameters"
            }
            DiagnosticCode::InvalidExpiration => "an expirationDateTime that is not RFC 3339",
            DiagnosticCode::ExpirationNotInFuture => "an expiration in the past",
            DiagnosticCode::ExpirationBeyondMaximum => {
                "an expiration beyond the resource's maximum lifetime"
            }
            DiagnosticCode::ExpirationBeyondRichMaximum => {
                "a renewal too far if the subscription includes resource data"
            }
            DiagnosticCode::ExpirationRaised => {
                "an expiration under 45 minutes away, which Graph raises"
            }
            DiagnosticCode::TimeOutOfRange => "a check time whose results RFC 3339 cannot write",
            DiagnosticCode::LifecycleUrlRequired => {
                "a Teams subscription beyond an hour without lifecycleNotificationUrl"
            }
            DiagnosticCode::ClientStateTooLong => "a clientState over 128 characters",
            DiagnosticCode::RichNotificationsNotSupported => {
                "includeResourceData on a resource without rich notifications"
            }
            DiagnosticCode::EncryptionRequired => "resource data without an encryption certificate",
            DiagnosticCode::CertificateIdTooLong => {
                "an encryptionCertificateId over 128 characters"
            }
            DiagnosticCode::InvalidCertificate => "an encryptionCertificate that is not base64",
            DiagnosticCode::InvalidTlsVersion => "an unknown latestSupportedTlsVersion",
            DiagnosticCode::CloudNotSupported => {
                "a resource that does not exist in the chosen national cloud"
            }
            DiagnosticCode::PermissionTypeNotSupported => {
                "a permission type the resource does not support"
            }
            DiagnosticCode::DelegatedOtherMailbox => "delegated access to a mailbox named by id",
            DiagnosticCode::OnedriveBusinessRootOnly => {
                "a OneDrive for Business subscription below the root folder"
            }
            DiagnosticCode::DriveItemLooksLikeAFile => "a drive item path that names a file",
            DiagnosticCode::PaymentModelNotApplicable => {
                "model= on a resource that is not a Teams limited API"
            }
            DiagnosticCode::EvaluationMode => "a Teams limited API without a payment model",
            DiagnosticCode::PaymentModelNotAccepted => {
                "a payment model the resource does not accept"
            }
            DiagnosticCode::UserSpecificPropertiesNotSupported => {
                "notifyOnUserSpecificProperties where it does not apply"
            }
            DiagnosticCode::UnknownQueryParameter => "a query parameter Graph gives no meaning",
            DiagnosticCode::QueryOptionsIgnored => {
                "notificationQueryOptions outside Universal Print"
            }
        }
    }
}

impl fmt::Display for DiagnosticCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A text that is no diagnostic code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{}` is not a diagnostic code", crate::quote::shortened(.given))]
pub struct UnknownDiagnosticCode {
    /// The text given.
    pub given: String,
    /// The closest code, when one is close.
    pub closest: Option<DiagnosticCode>,
}

impl FromStr for DiagnosticCode {
    type Err = UnknownDiagnosticCode;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase();
        // Codes are short: a long text is none, and comparing it would cost its length.
        if wanted.len() > 64 {
            return Err(UnknownDiagnosticCode {
                given: s.to_owned(),
                closest: None,
            });
        }
        if let Some(code) = DiagnosticCode::ALL
            .into_iter()
            .find(|c| c.as_str() == wanted)
        {
            return Ok(code);
        }
        let closest = DiagnosticCode::ALL
            .into_iter()
            .map(|c| (strsim::normalized_levenshtein(c.as_str(), &wanted), c))
            .filter(|(score, _)| *score >= 0.6)
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, c)| c);
        Err(UnknownDiagnosticCode {
            given: s.to_owned(),
            closest,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_kebab_case_and_parse_back() {
        let mut seen = std::collections::HashSet::new();
        for code in DiagnosticCode::ALL {
            let text = code.as_str();
            assert!(seen.insert(text), "{text} twice");
            assert!(
                text.chars().all(|c| c.is_ascii_lowercase() || c == '-'),
                "{text}"
            );
            assert_eq!(text.parse::<DiagnosticCode>(), Ok(code));
        }
        let e = "url-loopbak".parse::<DiagnosticCode>().unwrap_err();
        assert_eq!(e.closest, Some(DiagnosticCode::UrlLoopback));
    }
}
