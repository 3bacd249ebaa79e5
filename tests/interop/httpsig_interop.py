"""RFC 9421 interoperability check: sign a request with http-message-signatures
(pyauth), an independent implementation, and send it to an Entente server.

sign_and_get URL KEY_PK8 KEYID  -> signs GET URL with the Ed25519 PKCS#8 key,
                                   sends it with urllib, prints the status, and
                                   the body on stdout.
sign_post URL KEY_PK8 KEYID BODY_FILE
                                -> signs POST URL with the body of BODY_FILE,
                                   its RFC 9530 Content-Digest (sha-256, computed
                                   here with hashlib) covered, and prints the
                                   request's headers as one JSON object.
"""
import base64
import hashlib
import json
import secrets
import sys
import urllib.error
import urllib.request

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from http_message_signatures import HTTPMessageSigner, algorithms
from http_message_signatures.resolvers import HTTPSignatureKeyResolver


# PKCS#8 v1 and v2 (RFC 8410 / RFC 5958) Ed25519 keys start with these bytes;
# the 32-byte seed follows. ring writes v2, whose trailing public-key field
# some versions of `cryptography` refuse, so the seed is taken out directly.
ED25519_PKCS8_PREFIXES = (
    bytes.fromhex("302e020100300506032b657004220420"),
    bytes.fromhex("3051020101300506032b657004220420"),
    bytes.fromhex("3053020101300506032b657004220420"),
)


def load_ed25519_pkcs8(path):
    with open(path, "rb") as f:
        der = f.read()
    prefix = der[:16]
    if prefix not in ED25519_PKCS8_PREFIXES:
        return serialization.load_der_private_key(der, password=None)
    return ed25519.Ed25519PrivateKey.from_private_bytes(der[16:48])


class Resolver(HTTPSignatureKeyResolver):
    def __init__(self, key):
        self.key = key

    def resolve_private_key(self, key_id):
        return self.key


class Request:
    def __init__(self, method, url):
        self.method = method
        self.url = url
        self.headers = {}


def sign_and_get(url, key_path, keyid):
    key = load_ed25519_pkcs8(key_path)
    request = Request("GET", url)
    signer = HTTPMessageSigner(signature_algorithm=algorithms.ED25519, key_resolver=Resolver(key))
    signer.sign(
        request,
        key_id=keyid,
        nonce=base64.b16encode(secrets.token_bytes(16)).decode().lower(),
        covered_component_ids=("@method", "@target-uri"),
    )
    req = urllib.request.Request(url, headers=request.headers, method="GET")
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            status, body = resp.status, resp.read()
    except urllib.error.HTTPError as e:
        status, body = e.code, e.read()
    print(status)
    print(body.decode(errors="replace"))
    print(request.headers, file=sys.stderr)


def sign_post(url, key_path, keyid, body_path):
    key = load_ed25519_pkcs8(key_path)
    with open(body_path, "rb") as f:
        body = f.read()
    request = Request("POST", url)
    request.headers["Content-Type"] = "application/json"
    digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
    request.headers["Content-Digest"] = "sha-256=:" + digest + ":"
    signer = HTTPMessageSigner(signature_algorithm=algorithms.ED25519, key_resolver=Resolver(key))
    signer.sign(
        request,
        key_id=keyid,
        nonce=base64.b16encode(secrets.token_bytes(16)).decode().lower(),
        covered_component_ids=("@method", "@target-uri", "content-digest"),
        # The library checks our hashlib digest against the body, then signs it.
        body=body,
        use_existing_digest=True,
    )
    print(json.dumps(dict(request.headers)))


if __name__ == "__main__":
    if sys.argv[1] == "sign_post":
        sign_post(*sys.argv[2:6])
    else:
        sign_and_get(*sys.argv[2:5])
