"""A C2SP tlog-witness client written from the specs alone, to drive Entente's
witness (`entente witness serve`) with no Entente code on this side.

Specs: https://c2sp.org/tlog-witness (add-checkpoint), https://c2sp.org/signed-note,
https://c2sp.org/tlog-cosignature (cosignature/v1, Ed25519, type 0x04).

    python3 tlog_witness_client.py LOG_URL WITNESS_URL WITNESS_VKEY OLD_SIZE [options]

Takes the log's latest checkpoint from LOG_URL/v1/checkpoint (or --checkpoint
FILE), keeps only the log's own signature line, fetches the RFC 6962
consistency proof from OLD_SIZE to its size from the log's proof API, and
POSTs `old <OLD_SIZE>`, the proof lines, an empty line and the checkpoint to
WITNESS_URL/add-checkpoint. Prints one JSON object: the status, content type
and body of the answer, the checkpoint's size and, on 200, the cosignature's
timestamp once it verified against WITNESS_VKEY (a 200 whose cosignature
does not verify exits 1).

Options:
  --save FILE           write the checkpoint sent to FILE
  --checkpoint FILE     send this checkpoint instead of the latest
  --tamper-proof        flip one bit of the first proof hash
  --forge origin|key    sign a checkpoint of the same tree with a fresh key, as
                        another origin (`origin`) or as this log's (`key`)

Needs `cryptography` (installed by .ci/run).
"""

import base64
import hashlib
import json
import struct
import sys
import urllib.error
import urllib.request

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives import serialization

EM_DASH = "\u2014"


def get(url):
    with urllib.request.urlopen(url, timeout=30) as r:
        return r.read()


def parse_note(text):
    """signed-note: the text (up to and including the last newline before the
    blank line) and its signature lines as (name, key hash, signature)."""
    sep = text.rindex("\n\n")
    body, sigs = text[: sep + 1], text[sep + 2 :]
    lines = []
    for line in sigs.splitlines():
        assert line.startswith(EM_DASH + " "), line
        name, b64 = line[2:].split(" ")
        raw = base64.b64decode(b64, validate=True)
        lines.append((name, raw[:4], raw[4:], line))
    return body, lines


def key_hash(name, typ, key):
    return hashlib.sha256(name.encode() + b"\n" + bytes([typ]) + key).digest()[:4]


def sign_note(body, name, private_key):
    """An Ed25519 (type 0x01) signed note."""
    pub = private_key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    sig = private_key.sign(body.encode())
    line = EM_DASH + " " + name + " " + base64.b64encode(key_hash(name, 0x01, pub) + sig).decode()
    return body + "\n" + line + "\n"


def verify_cosignature(line, body, vkey):
    """tlog-cosignature/v1: checks one line against a witness vkey; returns its timestamp."""
    name, hash_hex, key_b64 = vkey.split("+", 2)
    typed = base64.b64decode(key_b64)
    assert typed[0] == 0x04, "not a cosignature/v1 key"
    key = typed[1:]
    assert key_hash(name, 0x04, key).hex() == hash_hex, "vkey hash"
    assert line.startswith(EM_DASH + " "), line
    got_name, b64 = line[2:].split(" ")
    assert got_name == name, (got_name, name)
    raw = base64.b64decode(b64, validate=True)
    assert raw[:4] == key_hash(name, 0x04, key), "line key hash"
    assert len(raw) == 4 + 8 + 64, "cosignature length"
    (timestamp,) = struct.unpack(">Q", raw[4:12])
    assert timestamp != 0, "the spec forbids a zero timestamp"
    message = ("cosignature/v1\ntime %d\n" % timestamp).encode() + body.encode()
    Ed25519PublicKey.from_public_bytes(key).verify(raw[12:], message)
    return timestamp


def main(argv):
    log_url, witness_url, vkey, old = argv[1], argv[2].rstrip("/"), argv[3], int(argv[4])
    opts = argv[5:]
    flag = lambda f: f in opts
    value = lambda f: opts[opts.index(f) + 1] if f in opts else None

    if value("--checkpoint"):
        text = open(value("--checkpoint")).read()
    else:
        text = get(log_url + "/v1/checkpoint").decode()
    body, sigs = parse_note(text)
    origin, size, root = body.split("\n")[:3]
    size = int(size)
    # Only the log's own line: a checkpoint MAY carry others, but a client
    # sends what it needs.
    log_lines = [s[3] for s in sigs if s[0] == origin]
    checkpoint = body + "\n" + "".join(l + "\n" for l in log_lines)

    forge = value("--forge")
    if forge == "origin":
        other = body.replace(origin, "example.com/not-entente", 1)
        checkpoint = sign_note(other, "example.com/not-entente", Ed25519PrivateKey.generate())
    elif forge == "key":
        checkpoint = sign_note(body, origin, Ed25519PrivateKey.generate())

    proof = []
    if 0 < old < size:
        answer = json.loads(
            get("%s/v1/proofs/consistency?from=%d&to=%d" % (log_url, old, size))
        )
        proof = [base64.b64decode(h) for h in answer["proof"]]
    if flag("--tamper-proof") and proof:
        proof[0] = bytes([proof[0][0] ^ 1]) + proof[0][1:]
    request = "old %d\n" % old
    request += "".join(base64.b64encode(h).decode() + "\n" for h in proof)
    request += "\n" + checkpoint
    if value("--save"):
        open(value("--save"), "w").write(checkpoint)

    req = urllib.request.Request(
        witness_url + "/add-checkpoint", data=request.encode(), method="POST"
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            status, ctype, answer = r.status, r.headers.get("Content-Type", ""), r.read().decode()
    except urllib.error.HTTPError as e:
        status, ctype, answer = e.code, e.headers.get("Content-Type", ""), e.read().decode()
    out = {"status": status, "content_type": ctype, "body": answer, "size": size}
    if status == 200:
        lines = [l for l in answer.split("\n") if l]
        try:
            out["timestamp"] = max(verify_cosignature(l, body, vkey) for l in lines)
        except (AssertionError, InvalidSignature, ValueError) as e:
            print(json.dumps(out))
            print("cosignature does not verify: %r" % (e,), file=sys.stderr)
            return 1
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
