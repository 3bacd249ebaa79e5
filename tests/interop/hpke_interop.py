"""Sealed-body interoperability check against pyhpke, an independent HPKE (RFC 9180) implementation.

The content key K is wrapped for each reader with HPKE base mode, suite
DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 / ChaCha20-Poly1305, info =
"entente-seal/v1" 0x00 kind 0x00 author 0x00 reader, aad = the commitment
SHA-256("entente-seal-commit/v1" 0x00 K). The body's JSON, padded with spaces
to a multiple of 256 bytes, is under ChaCha20-Poly1305 with K, nonce zero and
aad "entente-seal/v1" 0x00 kind 0x00 author (pyca/cryptography).

open SEALED_JSON_FILE SECRET_B64 KIND AUTHOR READER
    -> prints the body's JSON; exits non-zero with a message if it does not open
seal BODY_JSON_FILE KIND AUTHOR READER PUBLIC_B64 OUT_FILE
    -> writes the Sealed JSON of the body, sealed to READER's key alone
"""
import base64
import hashlib
import json
import os
import sys

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from pyhpke import AEADId, CipherSuite, KDFId, KEMId, KEMKey

DOMAIN = b"entente-seal/v1"
COMMIT_DOMAIN = b"entente-seal-commit/v1"
PAD_TO = 256
NONCE = bytes(12)
SUITE = CipherSuite.new(KEMId.DHKEM_X25519_HKDF_SHA256, KDFId.HKDF_SHA256, AEADId.CHACHA20_POLY1305)
# The clear reference each kind's body may carry (the body field is the refs field).
REFS = {
    "revision": "proposal",
    "endorsement": "proposal",
    "message": "thread",
    "position": "subject",
    "assessment": "supersedes",
}


def context(kind, author, reader=None):
    parts = [kind, author] + ([reader] if reader is not None else [])
    return DOMAIN + b"".join(b"\x00" + p.encode() for p in parts)


def commitment(content_key):
    return hashlib.sha256(COMMIT_DOMAIN + b"\x00" + content_key).digest()


def key_id(public_raw):
    return hashlib.sha256(public_raw).digest()[:16].hex()


def fail(message):
    print(f"hpke_interop: {message}", file=sys.stderr)
    sys.exit(1)


def open_sealed(sealed_path, secret_b64, kind, author, reader):
    with open(sealed_path, "rb") as f:
        sealed = json.load(f)
    secret = X25519PrivateKey.from_private_bytes(base64.b64decode(secret_b64.strip(), validate=True))
    public_raw = secret.public_key().public_bytes_raw()
    wraps = [w for w in sealed["keys"] if w["to"] == reader]
    if len(wraps) != 1:
        fail(f"{len(wraps)} wrapped keys for {reader}, not 1")
    wrap = wraps[0]
    if wrap["key"] != key_id(public_raw):
        fail(f"the key for {reader} is wrapped to key id {wrap['key']}, not {key_id(public_raw)}")
    enc = base64.b64decode(wrap["enc"], validate=True)
    wrapped = base64.b64decode(wrap["wrapped"], validate=True)
    signed_commitment = base64.b64decode(sealed["commitment"], validate=True)
    if len(enc) != 32 or len(wrapped) != 48:
        fail(f"enc is {len(enc)} bytes and wrapped {len(wrapped)}, not 32 and 48")
    try:
        recipient = SUITE.create_recipient_context(
            enc, KEMKey.from_pyca_cryptography_key(secret), info=context(kind, author, reader)
        )
        content_key = recipient.open(wrapped, aad=signed_commitment)
    except Exception as e:
        fail(f"the key wrapped for {reader} does not open with pyhpke: {e!r}")
    if len(content_key) != 32 or commitment(content_key) != signed_commitment:
        fail(f"the content key wrapped for {reader} does not match the commitment")
    ciphertext = base64.b64decode(sealed["ciphertext"], validate=True)
    try:
        plain = ChaCha20Poly1305(content_key).decrypt(NONCE, ciphertext, context(kind, author))
    except Exception as e:
        fail(f"the ciphertext does not open: {e!r}")
    if len(plain) == 0 or len(plain) % PAD_TO != 0:
        fail(f"the plaintext is {len(plain)} bytes, not a multiple of {PAD_TO}")
    text = plain.rstrip(b" ")
    try:
        json.loads(text)
    except ValueError as e:
        fail(f"the opened body is not JSON: {e}")
    sys.stdout.write(text.decode())
    sys.stdout.write("\n")


def seal(body_path, kind, author, reader, public_b64, out_path):
    with open(body_path, "rb") as f:
        body = f.read()
    public_raw = base64.b64decode(public_b64.strip(), validate=True)
    public = X25519PublicKey.from_public_bytes(public_raw)
    content_key = os.urandom(32)
    signed_commitment = commitment(content_key)

    padded = body + b" " * (max(1, -(-len(body) // PAD_TO)) * PAD_TO - len(body))
    ciphertext = ChaCha20Poly1305(content_key).encrypt(NONCE, padded, context(kind, author))

    enc, sender = SUITE.create_sender_context(
        KEMKey.from_pyca_cryptography_key(public), info=context(kind, author, reader)
    )
    wrapped = sender.seal(content_key, aad=signed_commitment)

    b64 = lambda b: base64.b64encode(b).decode()  # noqa: E731
    sealed = {}
    field = REFS.get(kind)
    value = json.loads(body).get(field) if field else None
    if value is not None:
        sealed["refs"] = {field: value}
    sealed["commitment"] = b64(signed_commitment)
    sealed["ciphertext"] = b64(ciphertext)
    sealed["keys"] = [{"to": reader, "key": key_id(public_raw), "enc": b64(enc), "wrapped": b64(wrapped)}]
    with open(out_path, "w") as f:
        json.dump(sealed, f)


if __name__ == "__main__":
    if len(sys.argv) == 7 and sys.argv[1] == "open":
        open_sealed(*sys.argv[2:7])
    elif len(sys.argv) == 8 and sys.argv[1] == "seal":
        seal(*sys.argv[2:8])
    else:
        fail(__doc__.split("\n\n")[-1])
