//! The OpenSSL-made test vector (`tests/vectors/rich`), as the receiver's tests read it.

use graph_subs_core::notification::{ChangeNotification, EncryptedContent, Notifications};
use graph_subs_receiver::rich::DecryptionKeys;

/// A file of the vector.
pub(crate) fn vector(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/vectors/rich/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// Keys holding the private key in `pem`.
pub(crate) fn keys_of(pem: &str) -> DecryptionKeys {
    let mut keys = DecryptionKeys::new();
    keys.add_pem(pem).unwrap();
    keys
}

/// The vector's notification.
pub(crate) fn vector_notification() -> ChangeNotification {
    let body: Notifications<ChangeNotification> =
        serde_json::from_str(&vector("notification.json")).unwrap();
    body.value.into_iter().next().unwrap()
}

/// Its encrypted content.
#[allow(dead_code)] // Not every test file uses each helper.
pub(crate) fn vector_content() -> EncryptedContent {
    vector_notification().encrypted_content.unwrap()
}
