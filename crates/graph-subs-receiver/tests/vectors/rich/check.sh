#!/usr/bin/env bash
# Verifies the committed rich-notification vector with the OpenSSL command line
# and coreutils only. Exits non-zero on any mismatch. See README.md.
set -euo pipefail
cd "$(dirname "$0")"
export LC_ALL=C

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
ok()  { echo "ok   $*"; }
bad() { echo "FAIL $*"; fail=1; }

# Reads a string field of encryptedContent from the pretty-printed notification.json
# (one "key": "value" per line; no jq needed).
field() {
  local v
  v=$(sed -n "s/^ *\"$1\": \"\\([^\"]*\\)\",\\{0,1\\}\$/\\1/p" notification.json)
  [ -n "$v" ] && [ "$(printf '%s\n' "$v" | wc -l)" -eq 1 ] || { echo "FAIL cannot read $1 from notification.json" >&2; exit 1; }
  printf '%s' "$v"
}

K=$(tr -d '[:space:]' < symmetric-key.hex)
[[ $K =~ ^[0-9a-f]{64}$ ]] || { echo "FAIL symmetric-key.hex is not 64 lowercase hex chars"; exit 1; }
IV=${K:0:32}

DATA=$(field data)
SIG=$(field dataSignature)
DATAKEY=$(field dataKey)
THUMBPRINT=$(field encryptionCertificateThumbprint)
CERT_ID=$(field encryptionCertificateId)

# key.pem: PKCS#8, 2048-bit RSA, matching cert.pem.
head -n1 key.pem | grep -qx -- '-----BEGIN PRIVATE KEY-----' && ok "key.pem is PKCS#8 PEM" || bad "key.pem is not PKCS#8 PEM"
openssl pkey -in key.pem -noout -text 2>/dev/null | grep -q 'Private-Key: (2048 bit' && ok "key.pem is RSA 2048" || bad "key.pem is not RSA 2048"
openssl pkey -in key.pem -pubout > "$tmp/pub-key.pem"
openssl x509 -in cert.pem -noout -pubkey > "$tmp/pub-cert.pem"
cmp -s "$tmp/pub-key.pem" "$tmp/pub-cert.pem" && ok "cert.pem public key matches key.pem" || bad "cert.pem public key does not match key.pem"

# cert.der.b64 is cert.pem's DER; thumbprint = uppercase hex SHA-1 of the DER.
openssl x509 -in cert.pem -outform der -out "$tmp/cert.der"
base64 -d cert.der.b64 > "$tmp/cert-b64.der"
cmp -s "$tmp/cert.der" "$tmp/cert-b64.der" && ok "cert.der.b64 is cert.pem's DER" || bad "cert.der.b64 differs from cert.pem"
TP=$(sha1sum "$tmp/cert.der" | cut -d' ' -f1 | tr a-f A-F)
[ "$TP" = "$THUMBPRINT" ] && ok "encryptionCertificateThumbprint $TP" || bad "thumbprint: computed $TP, notification has $THUMBPRINT"
[ "$CERT_ID" = graph-subs-test-vector ] && ok "encryptionCertificateId $CERT_ID" || bad "encryptionCertificateId is $CERT_ID"

# dataKey: RSA-OAEP (SHA-1, MGF1-SHA-1) decrypt with key.pem == K.
printf '%s' "$DATAKEY" | base64 -d > "$tmp/datakey.bin"
if openssl pkeyutl -decrypt -inkey key.pem \
    -pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha1 -pkeyopt rsa_mgf1_md:sha1 \
    -in "$tmp/datakey.bin" -out "$tmp/k.bin" 2>"$tmp/err"; then
  KD=$(xxd -p -c 256 "$tmp/k.bin")
  [ "$KD" = "$K" ] && ok "dataKey decrypts to symmetric-key.hex" || bad "dataKey decrypts to $KD, expected $K"
else
  bad "dataKey RSA-OAEP decryption failed: $(cat "$tmp/err")"
fi

# dataSignature: HMAC-SHA256(K, ciphertext bytes).
printf '%s' "$DATA" | base64 -d > "$tmp/data.bin"
S=$(openssl dgst -sha256 -mac HMAC -macopt "hexkey:$K" -binary "$tmp/data.bin" | base64 -w0)
[ "$S" = "$SIG" ] && ok "dataSignature is HMAC-SHA256 of the ciphertext" || bad "dataSignature: computed $S, notification has $SIG"

# data: AES-256-CBC, IV = K[0..16], PKCS7 -> resource.json byte for byte.
if openssl enc -d -aes-256-cbc -K "$K" -iv "$IV" -nosalt -in "$tmp/data.bin" -out "$tmp/plain" 2>"$tmp/err"; then
  cmp -s "$tmp/plain" resource.json && ok "data decrypts to resource.json ($(wc -c < resource.json) bytes)" || bad "data does not decrypt to resource.json"
else
  bad "data AES-256-CBC decryption failed: $(cat "$tmp/err")"
fi
# resource.json: one line, no trailing newline, contains non-ASCII.
[ "$(tail -c1 resource.json | xxd -p)" != 0a ] && [ "$(wc -l < resource.json)" -eq 0 ] && ok "resource.json is one line without trailing newline" || bad "resource.json has a newline"
[ "$(tr -d '\000-\177' < resource.json | wc -c)" -gt 0 ] && ok "resource.json contains non-ASCII" || bad "resource.json is pure ASCII"

if [ "$fail" -ne 0 ]; then echo "vector check FAILED"; exit 1; fi
echo "vector check passed"
