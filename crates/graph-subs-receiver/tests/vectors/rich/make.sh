#!/usr/bin/env bash
# Generates the Microsoft Graph rich-notification test vector in this directory
# with the OpenSSL command line and coreutils only (no graph-subs code).
# See README.md. Everything is deterministic except the RSA key (and therefore
# the certificate) and the OAEP padding randomness.
set -euo pipefail
cd "$(dirname "$0")"
export LC_ALL=C

# Fixed 32-byte symmetric key K, hex. Derived once with:
#   printf 'graph-subs rich notification vector' | sha256sum
K=a0c9581880074085f5bf3409d5e815e5e05c3e0eb9d29d9aee058bc1f66ae14e
IV=${K:0:32} # IV = first 16 bytes of K

CERT_ID=graph-subs-test-vector
SUBSCRIPTION_ID=10493aa0-4d29-4df5-bc0c-ef742cc6cd7f
CLIENT_STATE=graph-subs-vector-client-state
TENANT_ID=84bd8158-6d4d-4958-8b9f-9d6445542f95
CHAT_ID='19:meeting_x@thread.v2'
MESSAGE_ID=1616990032035
RESOURCE="chats('$CHAT_ID')/messages('$MESSAGE_ID')"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# 1. Test RSA key (2048-bit, PKCS#8 PEM) and self-signed certificate (100 years).
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out key.pem 2>/dev/null
openssl req -x509 -new -key key.pem -sha256 -days 36525 \
  -subj '/CN=graph-subs test vector' -out cert.pem
openssl x509 -in cert.pem -outform der -out "$tmp/cert.der"
base64 -w0 "$tmp/cert.der" > cert.der.b64
THUMBPRINT=$(sha1sum "$tmp/cert.der" | cut -d' ' -f1 | tr a-f A-F)

# 2. Plaintext resource (one line of UTF-8 JSON, no trailing newline, non-ASCII on purpose).
printf '%s' '{"@odata.type":"#Microsoft.Graph.chatMessage","id":"'"$MESSAGE_ID"'","messageType":"message","createdDateTime":"2026-11-23T10:00:00.035Z","body":{"contentType":"html","content":"<p>Hello from the vector – é</p>"},"from":{"user":{"id":"8b081ef6-4792-4def-b2c9-c363a1bf41d5","displayName":"Ada"}},"chatId":"'"$CHAT_ID"'"}' > resource.json
printf '%s' "$K" > symmetric-key.hex

# 3. data = base64(AES-256-CBC(K, IV = K[0..16], PKCS7)(resource.json))
openssl enc -aes-256-cbc -K "$K" -iv "$IV" -nosalt -in resource.json -out "$tmp/data.bin"
DATA=$(base64 -w0 "$tmp/data.bin")

# 4. dataSignature = base64(HMAC-SHA256(K, ciphertext bytes))
SIG=$(openssl dgst -sha256 -mac HMAC -macopt "hexkey:$K" -binary "$tmp/data.bin" | base64 -w0)

# 5. dataKey = base64(RSA-OAEP(SHA-1, MGF1-SHA-1) of K with the certificate's public key)
xxd -r -p <<<"$K" > "$tmp/k.bin"
DATAKEY=$(openssl pkeyutl -encrypt -certin -inkey cert.pem \
  -pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha1 -pkeyopt rsa_mgf1_md:sha1 \
  -in "$tmp/k.bin" | base64 -w0)

# 6. The notification collection, as Graph POSTs it.
cat > notification.json <<JSON
{
  "value": [
    {
      "subscriptionId": "$SUBSCRIPTION_ID",
      "changeType": "created",
      "clientState": "$CLIENT_STATE",
      "subscriptionExpirationDateTime": "2026-11-23T11:00:00.0000000Z",
      "resource": "$RESOURCE",
      "resourceData": {
        "id": "$MESSAGE_ID",
        "@odata.type": "#Microsoft.Graph.chatMessage",
        "@odata.id": "$RESOURCE"
      },
      "encryptedContent": {
        "data": "$DATA",
        "dataSignature": "$SIG",
        "dataKey": "$DATAKEY",
        "encryptionCertificateId": "$CERT_ID",
        "encryptionCertificateThumbprint": "$THUMBPRINT"
      },
      "tenantId": "$TENANT_ID"
    }
  ]
}
JSON

echo "wrote key.pem cert.pem cert.der.b64 resource.json symmetric-key.hex notification.json"
echo "thumbprint $THUMBPRINT"
