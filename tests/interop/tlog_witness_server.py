"""A C2SP tlog-witness written from the specs alone, with no Entente code: the
log server pushes its checkpoints here, and Entente clients count this
witness's cosignatures by its verifier key.

Specs: https://c2sp.org/tlog-witness, https://c2sp.org/signed-note,
https://c2sp.org/tlog-checkpoint, https://c2sp.org/tlog-cosignature, RFC 6962.

    python3 tlog_witness_server.py LOG_VKEY WITNESS_NAME

Listens on a free loopback port and prints one JSON line
{"listening": URL, "vkey": VKEY}, then serves POST /add-checkpoint. State
(the latest cosigned size and root) is kept in memory only: enough for a
test, not for a real witness, which must persist it before answering.

Needs `cryptography` (installed by .ci/run).
"""

import base64
import hashlib
import http.server
import json
import struct
import sys
import threading
import time

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

EM_DASH = "\u2014"
EMPTY_ROOT = hashlib.sha256(b"").digest()


def key_hash(name, typ, key):
    return hashlib.sha256(name.encode() + b"\n" + bytes([typ]) + key).digest()[:4]


def node(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def verify_consistency(old_size, new_size, old_root, new_root, proof):
    """RFC 9162 section 2.1.4.2."""
    if old_size == new_size:
        return not proof and old_root == new_root
    if old_size == 0 or old_size > new_size or not proof:
        return False
    if old_size & (old_size - 1) == 0:  # a power of two: old_root is a node
        proof = [old_root] + proof
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node(c, fr)
            sr = node(c, sr)
            while fn & 1 == 0 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root


class Witness:
    def __init__(self, log_vkey, name):
        origin, hash_hex, key_b64 = log_vkey.split("+", 2)
        typed = base64.b64decode(key_b64)
        assert typed[0] == 0x01 and key_hash(origin, 0x01, typed[1:]).hex() == hash_hex
        self.origin = origin
        self.log_key = Ed25519PublicKey.from_public_bytes(typed[1:])
        self.log_hash = key_hash(origin, 0x01, typed[1:])
        self.name = name
        self.key = Ed25519PrivateKey.generate()
        raw = self.key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self.hash = key_hash(name, 0x04, raw)
        self.vkey = "%s+%s+%s" % (name, self.hash.hex(), base64.b64encode(b"\x04" + raw).decode())
        self.size, self.root = 0, None
        self.lock = threading.Lock()

    def add_checkpoint(self, body):
        """(status, content type, answer) for one request body."""
        try:
            text = body.decode()
            head, note = text.split("\n\n", 1)
            lines = head.split("\n")
            assert lines[0].startswith("old ")
            old = int(lines[0][4:])
            assert str(old) == lines[0][4:]
            proof = [base64.b64decode(l, validate=True) for l in lines[1:]]
            assert len(proof) <= 63 and all(len(h) == 32 for h in proof)
            sep = note.rindex("\n\n")
            cp_body, sigs = note[: sep + 1], note[sep + 2 :]
            origin, size, root = cp_body.split("\n")[:3]
            size, root = int(size), base64.b64decode(root, validate=True)
        except (AssertionError, ValueError, IndexError):
            return 400, "text/plain", "malformed\n"
        if origin != self.origin:
            return 404, "text/plain", "unknown origin\n"
        verified = False
        for line in sigs.splitlines():
            if not line.startswith(EM_DASH + " "):
                return 400, "text/plain", "malformed signature line\n"
            name, b64 = line[2:].split(" ", 1)
            raw = base64.b64decode(b64)
            if name != self.origin or raw[:4] != self.log_hash:
                continue  # unknown keys are ignored
            try:
                self.log_key.verify(raw[4:], cp_body.encode())
                verified = True
            except InvalidSignature:
                return 403, "text/plain", "bad log signature\n"
        if not verified:
            return 403, "text/plain", "no log signature\n"
        if old > size:
            return 400, "text/plain", "old size past the checkpoint\n"
        with self.lock:
            if old != self.size:
                return 409, "text/x.tlog.size", "%d\n" % self.size
            if size == 0 and root != EMPTY_ROOT:
                return 422, "text/plain", "bad empty root\n"
            if old == 0:
                if proof:
                    return 422, "text/plain", "proof from 0\n"
            elif not verify_consistency(old, size, self.root, root, proof):
                return 422, "text/plain", "inconsistent\n"
            self.size, self.root = size, root
            ts = int(time.time())
            msg = ("cosignature/v1\ntime %d\n" % ts).encode() + cp_body.encode()
            sig = self.hash + struct.pack(">Q", ts) + self.key.sign(msg)
            return 200, "text/plain", "%s %s %s\n" % (EM_DASH, self.name, base64.b64encode(sig).decode())


def main(argv):
    witness = Witness(argv[1], argv[2])

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            if self.path.rstrip("/").split("/")[-1] != "add-checkpoint":
                self.send_error(404)
                return
            n = int(self.headers.get("Content-Length", "0"))
            if n > (1 << 20) + 4096:
                self.send_error(413)
                return
            status, ctype, answer = witness.add_checkpoint(self.rfile.read(n))
            data = answer.encode()
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    url = "http://127.0.0.1:%d" % server.server_address[1]
    print(json.dumps({"listening": url, "vkey": witness.vkey}), flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main(sys.argv)
