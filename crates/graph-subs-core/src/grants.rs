//! What an access token grants, read from its claims, and whether that is enough for an
//! operation on a resource: the one rule the emulator (after checking the signature) and
//! the client (before sending a request) both apply.
//!
//! The claims are those the Microsoft identity platform writes in Graph tokens: `tid`,
//! `scp` (delegated permissions, space separated), `roles` (application permissions) and
//! `wids` (directory roles of the signed-in user). Reading them needs no key: this module
//! decides nothing about whether a token is genuine.

use crate::Operation;
use crate::catalogue::Resource;
use crate::permissions::{self, PermissionType};

/// The tenant of personal Microsoft accounts: a delegated token issued in it is a
/// personal account's.
pub const CONSUMER_TENANT_ID: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";

/// The template id of the Global Administrator directory role, as `wids` lists it.
pub const GLOBAL_ADMINISTRATOR_ROLE: &str = "62e90394-69f5-4237-9190-012177145e10";

/// What a token lets its bearer do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grants {
    /// Delegated (work or personal) or application.
    pub permission_type: PermissionType,
    /// The permissions in `scp` or `roles`.
    pub permissions: Vec<String>,
    /// The signed-in user is a global administrator (delegated work accounts only).
    pub admin: bool,
}

impl Grants {
    /// Reads the grants from a token's claims. A token with `scp` is delegated (personal
    /// in the consumer tenant), one without is an application's.
    pub fn from_claims(
        tenant_id: &str,
        scp: Option<&str>,
        roles: &[String],
        wids: &[String],
    ) -> Grants {
        match scp {
            Some(scp) => {
                let permission_type = if tenant_id.eq_ignore_ascii_case(CONSUMER_TENANT_ID) {
                    PermissionType::DelegatedPersonal
                } else {
                    PermissionType::DelegatedWork
                };
                Grants {
                    permission_type,
                    permissions: scp.split_whitespace().map(str::to_owned).collect(),
                    admin: permission_type == PermissionType::DelegatedWork
                        && wids
                            .iter()
                            .any(|w| w.eq_ignore_ascii_case(GLOBAL_ADMINISTRATOR_ROLE)),
                }
            }
            None => Grants {
                permission_type: PermissionType::Application,
                permissions: roles.to_vec(),
                admin: false,
            },
        }
    }

    /// Whether the token holds `permission` (compared without regard to case).
    pub fn has(&self, permission: &str) -> bool {
        self.permissions
            .iter()
            .any(|p| p.eq_ignore_ascii_case(permission))
    }

    /// Whether these grants allow `operation` on `resource`: one of the permissions the
    /// documentation lists for it and this permission type must be held. A resource no
    /// page documents is allowed (nothing to check against).
    pub fn authorize(&self, resource: &Resource, operation: Operation) -> Result<(), Denied> {
        let Some(requirement) = permissions::required(resource, operation) else {
            return Ok(());
        };
        match requirement.cell(self.permission_type) {
            None => Err(Denied::NotSupported {
                permission_type: self.permission_type,
            }),
            Some(needed) if needed.iter().any(|p| self.has(p.name)) => Ok(()),
            Some(needed) => Err(Denied::Missing {
                permission_type: self.permission_type,
                needed: needed.iter().map(|p| p.name).collect(),
            }),
        }
    }
}

/// Why grants do not allow an operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denied {
    /// The resource cannot be used with this permission type at all.
    NotSupported {
        /// The token's permission type.
        permission_type: PermissionType,
    },
    /// None of the permissions that would do is held.
    Missing {
        /// The token's permission type.
        permission_type: PermissionType,
        /// Any one of them would do, least privileged first.
        needed: Vec<&'static str>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resource(path: &str) -> Resource {
        crate::catalogue::resolve(&path.parse().unwrap()).unwrap()
    }

    #[test]
    fn claims_say_the_permission_type_and_permissions() {
        let app = Grants::from_claims("t", None, &["Mail.Read".into()], &[]);
        assert_eq!(app.permission_type, PermissionType::Application);
        assert!(app.has("mail.read"));
        let work = Grants::from_claims(
            "t",
            Some("Mail.Read  Chat.Read"),
            &[],
            &[GLOBAL_ADMINISTRATOR_ROLE.into()],
        );
        assert_eq!(work.permission_type, PermissionType::DelegatedWork);
        assert_eq!(work.permissions, ["Mail.Read", "Chat.Read"]);
        assert!(work.admin);
        let personal = Grants::from_claims(CONSUMER_TENANT_ID, Some("Mail.Read"), &[], &[]);
        assert_eq!(personal.permission_type, PermissionType::DelegatedPersonal);
    }

    #[test]
    fn authorization_follows_the_documented_rows() {
        let app = Grants::from_claims("t", None, &["Mail.Read".into()], &[]);
        assert_eq!(
            app.authorize(&resource("users/a/messages"), Operation::Create),
            Ok(())
        );
        assert_eq!(
            app.authorize(&resource("chats/getAllMessages"), Operation::Create),
            Err(Denied::Missing {
                permission_type: PermissionType::Application,
                needed: vec!["Chat.Read.All"],
            })
        );
        let user = Grants::from_claims("t", Some("Chat.Read.All"), &[], &[]);
        assert_eq!(
            user.authorize(&resource("chats/getAllMessages"), Operation::Create),
            Err(Denied::NotSupported {
                permission_type: PermissionType::DelegatedWork
            })
        );
    }
}
