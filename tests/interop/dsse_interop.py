"""DSSE interoperability check against securesystemslib, an independent DSSE implementation.

verify ENVELOPE_JSON PUBLIC_KEY_B64 KEYID  -> exit 0 if securesystemslib verifies it
sign PAYLOAD_FILE                          -> prints {"envelope": ..., "public_key": b64}
"""
import base64
import json
import sys

from securesystemslib.dsse import Envelope
from securesystemslib.signer import CryptoSigner, SSlibKey

PAYLOAD_TYPE = "application/vnd.entente.statement+json"


def verify(envelope_path, public_key_b64, keyid):
    with open(envelope_path, "rb") as f:
        envelope = Envelope.from_dict(json.load(f))
    raw = base64.b64decode(public_key_b64)
    key = SSlibKey(keyid, "ed25519", "ed25519", {"public": raw.hex()})
    envelope.verify([key], 1)
    print("verified")


def sign(payload_path):
    with open(payload_path, "rb") as f:
        payload = f.read()
    signer = CryptoSigner.generate_ed25519()
    envelope = Envelope(payload=payload, payload_type=PAYLOAD_TYPE, signatures={})
    envelope.sign(signer)
    public = bytes.fromhex(signer.public_key.keyval["public"])
    print(json.dumps({"envelope": envelope.to_dict(), "public_key": base64.b64encode(public).decode()}))


if __name__ == "__main__":
    if sys.argv[1] == "verify":
        verify(*sys.argv[2:5])
    else:
        sign(sys.argv[2])
