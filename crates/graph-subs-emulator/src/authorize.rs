//! `GET /{tenant}/oauth2/v2.0/authorize`: the identity platform's authorization endpoint,
//! named in the OpenID configuration but not emulated.
//!
//! # Why it exists
//!
//! MSAL (and so azure-identity's `ClientSecretCredential`) reads the tenant's OpenID
//! configuration before its first token request and requires `authorization_endpoint`
//! besides `token_endpoint` (OpenID Connect Discovery makes it a required field), even for
//! the client-credentials flow, which never calls it. The emulator publishes it so that
//! MSAL starts, and answers here with an OAuth error that says what the emulator does
//! support, rather than with a 404 a reader would take for a broken link.
//!
//! What else MSAL asks for, and why the emulator does not serve it:
//!
//! - **Instance discovery** (`/common/discovery/instance`): MSAL sends it to
//!   `login.microsoftonline.com` for any authority host it does not know, never to the
//!   authority itself, so no emulator endpoint could answer it; clients turn it off
//!   (`disable_instance_discovery=True` in azure-identity, `instance_discovery=False` in
//!   MSAL).
//! - **Region discovery** happens only when a region is configured.

use axum::extract::Path;
use axum::http::StatusCode;

use crate::error::OAuthError;

/// `GET /{tenant}/oauth2/v2.0/authorize`: always an `unsupported_response_type` error.
pub(crate) async fn authorize(Path(tenant): Path<String>) -> OAuthError {
    OAuthError {
        status: StatusCode::BAD_REQUEST,
        error: "unsupported_response_type",
        description: format!(
            "The graph-subs emulator does not emulate interactive sign-in for tenant '{}': it issues tokens with the client-credentials flow at its token endpoint (POST /{{tenant}}/oauth2/v2.0/token, for apps given with --app) and for any caller at POST /emulator/token.",
            graph_subs_core::quote::shortened(&tenant)
        ),
        codes: Vec::new(),
    }
}
