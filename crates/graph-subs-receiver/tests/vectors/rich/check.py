#!/usr/bin/env python3
"""Verifies the committed rich-notification vector with the Python `cryptography`
package (independent of check.sh's OpenSSL CLI calls and of graph-subs' Rust code).
Exits non-zero on any mismatch. See README.md."""
import base64
import hashlib
import hmac
import json
import sys
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, padding, serialization
from cryptography.hazmat.primitives.asymmetric import padding as asym_padding
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

here = Path(__file__).resolve().parent
failed = False


def check(cond, what):
    global failed
    print(("ok   " if cond else "FAIL ") + what)
    failed |= not cond


notification = json.loads((here / "notification.json").read_text(encoding="utf-8"))
item = notification["value"][0]
enc = item["encryptedContent"]
key_hex = (here / "symmetric-key.hex").read_text().strip()
k = bytes.fromhex(key_hex)
check(len(k) == 32, "symmetric-key.hex is 32 bytes")

key_pem = (here / "key.pem").read_bytes()
check(key_pem.startswith(b"-----BEGIN PRIVATE KEY-----"), "key.pem is PKCS#8 PEM")
private_key = serialization.load_pem_private_key(key_pem, password=None)
check(isinstance(private_key, rsa.RSAPrivateKey) and private_key.key_size == 2048, "key.pem is RSA 2048")

cert = x509.load_pem_x509_certificate((here / "cert.pem").read_bytes())
der = cert.public_bytes(serialization.Encoding.DER)
check(base64.b64decode((here / "cert.der.b64").read_text().strip()) == der, "cert.der.b64 is cert.pem's DER")
check(cert.public_key().public_numbers() == private_key.public_key().public_numbers(),
      "cert.pem public key matches key.pem")
thumbprint = hashlib.sha1(der).hexdigest().upper()
check(thumbprint == enc["encryptionCertificateThumbprint"], f"encryptionCertificateThumbprint {thumbprint}")
check(enc["encryptionCertificateId"] == "graph-subs-test-vector", f"encryptionCertificateId {enc['encryptionCertificateId']}")

try:
    k_dec = private_key.decrypt(
        base64.b64decode(enc["dataKey"]),
        asym_padding.OAEP(mgf=asym_padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None),
    )
    check(k_dec == k, "dataKey decrypts to symmetric-key.hex")
except ValueError as e:
    check(False, f"dataKey RSA-OAEP decryption failed: {e}")

ciphertext = base64.b64decode(enc["data"])
sig = hmac.new(k, ciphertext, hashlib.sha256).digest()
check(hmac.compare_digest(sig, base64.b64decode(enc["dataSignature"])), "dataSignature is HMAC-SHA256 of the ciphertext")

resource = (here / "resource.json").read_bytes()
try:
    decryptor = Cipher(algorithms.AES(k), modes.CBC(k[:16])).decryptor()
    padded = decryptor.update(ciphertext) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    plain = unpadder.update(padded) + unpadder.finalize()
    check(plain == resource, f"data decrypts to resource.json ({len(resource)} bytes)")
except ValueError as e:
    check(False, f"data AES-256-CBC decryption failed: {e}")

check(b"\n" not in resource, "resource.json is one line without trailing newline")
text = resource.decode("utf-8")
check(not text.isascii(), "resource.json contains non-ASCII")
obj = json.loads(text)
check(obj["id"] == item["resourceData"]["id"], "decrypted resource id matches resourceData.id")
check(item["resource"] == item["resourceData"]["@odata.id"], "resource matches resourceData.@odata.id")

if failed:
    print("vector check FAILED")
    sys.exit(1)
print("vector check passed")
