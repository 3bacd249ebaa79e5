#!/usr/bin/env python3
"""An independent verifier of Entente archives (`entente-archive/v1`).

Written from docs/protocol.md and docs/archive.md, not from the Rust code:
Python's standard library and pyca/cryptography (Ed25519) only.

    verify_archive.py ARCHIVE [--log-key VKEY] [--frameworks DIR]

It checks the header, the log's signature on the checkpoint, every entry's
leaf hash and inclusion proof, the tree's root recomputed from every leaf,
the canonical form of every envelope, every statement's shape and its one
JSON form, every DSSE signature against the roster folded so far, every
roster and policy rule of the fold (amendments and their decisions, and
the supplier registry, included), and the witnesses' cosignatures against
the final roster. Sealed bodies are not opened (no keys): their clear parts
are folded, as a host folds them, and they are counted. On success it
prints the declarations (the adopted proposals) as a JSON array on stdout,
in the shape `entente declaration list --json` prints, and a summary on
stderr; on failure it prints `ARCHIVE DOES NOT VERIFY — entry N: reason`
(or the bundle-level reason) on stderr and exits 3. Usage errors exit 2.

--log-key: the log's verifier key pinned out of band (`name+hash+base64`);
without it the bundle's own key is used (integrity, not authorship).
--frameworks: a folder of framework TOML files (config/frameworks) the
bundled frameworks must be identical to; without it the bundled ones are
judged with as they are.
"""

import argparse
import base64
import binascii
import hashlib
import json
import os
import re
import sys
import tomllib
import unicodedata

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

PAYLOAD_TYPE = "application/vnd.entente.statement+json"
FORMAT = "entente-archive/v1"
EM_DASH = "\u2014"
MAX_NOTE_SIZE = 1024 * 1024
MAX_NOTE_SIGNATURES = 100
ALG_ED25519 = 0x01
ALG_COSIGNATURE_V1 = 0x04
WITNESS_PREFIX = "entente-witness/"
MAX_SHORT_TEXT = 500
MAX_LONG_TEXT = 64 * 1024
MAX_ITEMS = 64
MAX_RECIPIENTS = 64
MAX_WRAPS = 65
PAD_TO = 256
TAG_LEN = 16
U32 = 2**32 - 1
U64 = 2**64 - 1

TLPS = ["CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED"]
RESTRICTED = {"AMBER", "AMBER+STRICT", "RED"}
ROLES = {"secretariat", "member", "observer"}
KINDS = [
    "admission", "key_rotation", "key_revocation", "assessment", "proposal",
    "revision", "endorsement", "position", "message", "amendment", "amendment_rejection",
    "supplier_entry", "supplier_merge",
]
ROSTER_KINDS = {"admission", "key_rotation", "key_revocation"}
REGISTRY_KINDS = {"supplier_entry", "supplier_merge"}


class Bad(Exception):
    """Something in the bundle does not verify."""


class Refused(Bad):
    """The fold refuses a statement: `slug` is the refusal's problem slug."""

    def __init__(self, slug, msg):
        super().__init__(f"{slug}: {msg}")
        self.slug = slug


# ------------------------------------------------------------------ encodings

def strict_json(data):
    """JSON text (bytes) as values: UTF-8, no key twice in any object, no
    NaN/Infinity, no floats (no signed field is one), no lone surrogates."""
    try:
        text = data.decode("utf-8") if isinstance(data, (bytes, bytearray)) else data
    except UnicodeDecodeError as e:
        raise Bad(f"not UTF-8: {e}")

    def pairs(items):
        out = {}
        for k, v in items:
            if k in out:
                raise Bad(f"duplicate key {k!r}")
            out[k] = v
        return out

    def no_constant(name):
        raise Bad(f"{name} is not JSON")

    def no_float(text):
        raise Bad(f"number {text} is not an integer")

    try:
        value = json.loads(text, object_pairs_hook=pairs, parse_constant=no_constant,
                           parse_float=no_float)
    except json.JSONDecodeError as e:
        raise Bad(f"not JSON: {e}")
    _check_strings(value)
    return value


def _check_strings(v):
    if isinstance(v, str):
        try:
            v.encode("utf-8")
        except UnicodeEncodeError:
            raise Bad("a string holds a lone surrogate")
    elif isinstance(v, list):
        for x in v:
            _check_strings(x)
    elif isinstance(v, dict):
        for k, x in v.items():
            _check_strings(k)
            _check_strings(x)


_STD = re.compile(r"^[A-Za-z0-9+/]*={0,2}$")
_URL = re.compile(r"^[A-Za-z0-9_-]*={0,2}$")


def b64_strict(s):
    """Standard alphabet, padded, canonical (re-encoding gives `s` back)."""
    if not isinstance(s, str) or len(s) % 4 or not _STD.match(s):
        raise Bad("not standard padded base64")
    try:
        raw = base64.b64decode(s, validate=True)
    except binascii.Error:
        raise Bad("not standard padded base64")
    if base64.b64encode(raw).decode() != s:
        raise Bad("not canonical base64")
    return raw


def b64_lenient(s):
    """Standard padded; else URL-safe padded; else URL-safe unpadded; each
    canonical (no stray padding or trailing bits)."""
    if not isinstance(s, str):
        raise Bad("base64 must be a string")
    try:
        return b64_strict(s)
    except Bad:
        pass
    if _URL.match(s):
        if len(s) % 4 == 0:
            try:
                raw = base64.urlsafe_b64decode(s)
                if base64.urlsafe_b64encode(raw).decode() == s:
                    return raw
            except binascii.Error:
                pass
        if "=" not in s and len(s) % 4 != 1:
            try:
                raw = base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
                if base64.urlsafe_b64encode(raw).decode().rstrip("=") == s:
                    return raw
            except binascii.Error:
                pass
    raise Bad("not base64")


def b64(raw):
    return base64.b64encode(raw).decode()


def same_json(a, b):
    """Equal as JSON values: objects as sets of members, arrays in order, and
    a number never equal to a boolean (Python's `True == 1`)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_json(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_json(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def sha256(*parts):
    h = hashlib.sha256()
    for p in parts:
        h.update(p)
    return h.digest()


def key_id(raw):
    """Key id of a raw 32-byte key: hex of the first 16 bytes of its SHA-256."""
    return sha256(raw)[:16].hex()


def ed25519_ok(public, message, signature):
    if len(public) != 32 or len(signature) != 64:
        return False
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(signature, message)
        return True
    except (InvalidSignature, ValueError):
        return False


# ------------------------------------------------------------------ RFC 3339

_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[\x00-\x7f](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?"
    r"(?:([Zz])|([+-])(\d{2}):(\d{2}))$", re.S)


def _days_from_civil(y, m, d):
    y -= m <= 2
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _civil_from_days(z):
    z += 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + (3 if mp < 10 else -9)
    return y + (m <= 2), m, d


def _month_len(y, m):
    if m == 2:
        return 29 if (y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)) else 28
    return 30 if m in (4, 6, 9, 11) else 31


class Time:
    """An RFC 3339 date-time: the instant (UTC nanoseconds) and its offset."""

    def __init__(self, text):
        m = _RFC3339.match(text) if isinstance(text, str) else None
        if not m:
            raise Bad(f"{text!r} is not an RFC 3339 date-time")
        y, mo, d, h, mi, s = (int(m.group(i)) for i in range(1, 7))
        frac = m.group(7)
        nanos = int((frac + "000000000")[:9]) if frac else 0
        if m.group(8):
            off = 0
        else:
            oh, om = int(m.group(10)), int(m.group(11))
            if oh > 23 or om > 59:
                raise Bad(f"{text!r}: bad offset")
            off = (oh * 60 + om) * (-1 if m.group(9) == "-" else 1)
        leap = s == 60
        if leap:
            s, nanos = 59, 999_999_999
        if not (1 <= mo <= 12 and 1 <= d <= _month_len(y, mo) and h <= 23 and mi <= 59 and s <= 59):
            raise Bad(f"{text!r} is not a valid date-time")
        local = ((_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s) * 10**9) + nanos
        self.ns = local - off * 60 * 10**9
        self.offset = off
        if leap:
            days, rest = divmod(self.ns, 86400 * 10**9)
            uy, um, ud = _civil_from_days(days)
            if rest != 86400 * 10**9 - 1 or ud != _month_len(uy, um):
                raise Bad(f"{text!r}: not a leap second")

    def __str__(self):
        """As the reference writes it: `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`."""
        local = self.ns + self.offset * 60 * 10**9
        days, rest = divmod(local, 86400 * 10**9)
        y, mo, d = _civil_from_days(days)
        secs, nanos = divmod(rest, 10**9)
        out = f"{y:04d}-{mo:02d}-{d:02d}T{secs // 3600:02d}:{secs // 60 % 60:02d}:{secs % 60:02d}"
        if nanos:
            out += "." + f"{nanos:09d}".rstrip("0")
        if self.offset == 0:
            return out + "Z"
        sign = "-" if self.offset < 0 else "+"
        return out + f"{sign}{abs(self.offset) // 60:02d}:{abs(self.offset) % 60:02d}"


# ------------------------------------------------------------------ shapes

def obj(v, what, required, optional=(), defaulted=()):
    """A closed JSON object: every required field, optional and defaulted
    ones, nothing else. An optional field given as null counts as absent; a
    defaulted one may be absent but not null."""
    if not isinstance(v, dict):
        raise Bad(f"{what} is not a JSON object")
    allowed = set(required) | set(optional) | set(defaulted)
    for k in v:
        if k not in allowed:
            raise Bad(f"{what}: unknown field {k!r}")
    for k in required:
        if k not in v:
            raise Bad(f"{what}: missing field {k!r}")
    return {k: v[k] for k in v if not (k in optional and v[k] is None)}


def string(v, what):
    if not isinstance(v, str):
        raise Bad(f"{what} is not a string")
    return v


def integer(v, what, top=U64):
    if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= top:
        raise Bad(f"{what} is not an integer in 0..={top}")
    return v


def array(v, what):
    if not isinstance(v, list):
        raise Bad(f"{what} is not an array")
    return v


def code(v, what="delegation code"):
    if not isinstance(v, str) or not re.fullmatch(r"[A-Z][A-Z0-9]{1,7}", v):
        raise Bad(f"{what} {v!r} is not 2 to 8 capital letters or digits starting with a letter")
    return v


def hex_id(v, what, digits):
    if not isinstance(v, str) or not re.fullmatch(f"[0-9a-f]{{{digits}}}", v):
        raise Bad(f"{what} {v!r} is not {digits} lowercase hex digits")
    return v


def statement_id(v, what="statement id"):
    return hex_id(v, what, 64)


def kid(v, what="key id"):
    return hex_id(v, what, 32)


def ed_key(v, what):
    """An Ed25519 public key: strict standard base64 of 32 bytes (surrounding
    whitespace trimmed)."""
    raw = b64_strict(string(v, what).strip())
    if len(raw) != 32:
        raise Bad(f"{what} is not 32 bytes")
    return raw


def x_key(v, what):
    """An X25519 public key: base64 (lenient) of 32 bytes, whitespace trimmed."""
    raw = b64_lenient(string(v, what).strip())
    if len(raw) != 32:
        raise Bad(f"{what} is not 32 bytes")
    return raw


def short_text(v, what, required):
    v = string(v, what)
    if required and not v.strip():
        raise Bad(f"{what} must not be empty")
    if len(v) > MAX_SHORT_TEXT:
        raise Bad(f"{what} is longer than {MAX_SHORT_TEXT} characters")
    if any(unicodedata.category(c) == "Cc" for c in v):
        raise Bad(f"{what} holds control characters")
    return v


def long_text(v, what, required):
    v = string(v, what)
    if required and not v.strip():
        raise Bad(f"{what} must not be empty")
    if len(v.encode("utf-8")) > MAX_LONG_TEXT:
        raise Bad(f"{what} is longer than {MAX_LONG_TEXT} bytes")
    if any(unicodedata.category(c) == "Cc" and c not in "\n\t\r" for c in v):
        raise Bad(f"{what} holds control characters")
    return v


def bounded(v, what, required):
    v = array(v, what)
    if required and not v:
        raise Bad(f"{what} must not be empty")
    if len(v) > MAX_ITEMS:
        raise Bad(f"{what} has more than {MAX_ITEMS} items")
    return v


def rule(v):
    """`unanimous`, `silence`, `threshold:N` (N >= 1), `fraction:A/B` (0 < A <= B)."""
    v = string(v, "rule")
    num = r"\+?[0-9]+"
    if v in ("unanimous", "silence"):
        return (v,)
    m = re.fullmatch(f"threshold:({num})", v)
    if m and int(m.group(1)) <= U32:
        n = int(m.group(1))
        if n == 0:
            raise Bad("threshold must be at least 1")
        return ("threshold", n)
    m = re.fullmatch(f"fraction:({num})/({num})", v)
    if m and int(m.group(1)) <= U32 and int(m.group(2)) <= U32:
        a, b = int(m.group(1)), int(m.group(2))
        if a == 0 or b == 0 or a > b:
            raise Bad("fraction A/B needs 0 < A <= B")
        return ("fraction", a, b)
    raise Bad(f"rule {v!r} is not unanimous, threshold:N, fraction:A/B or silence")


def rule_text(r):
    if r[0] == "threshold":
        return f"threshold:{r[1]}"
    if r[0] == "fraction":
        return f"fraction:{r[1]}/{r[2]}"
    return r[0]


def distribution(v):
    d = obj(v, "distribution", ["tlp"], defaulted=["to"])
    tlp = string(d["tlp"], "tlp")
    if tlp not in TLPS:
        raise Bad(f"TLP {tlp!r} is not one of {', '.join(TLPS)}")
    to = [code(c, "recipient") for c in array(d.get("to", []), "to")]
    if tlp in RESTRICTED and not to:
        raise Bad("AMBER, AMBER+STRICT and RED name at least one recipient")
    if tlp not in RESTRICTED and to:
        raise Bad("CLEAR and GREEN take no recipients")
    if len(to) > MAX_RECIPIENTS:
        raise Bad(f"at most {MAX_RECIPIENTS} recipients")
    return {"tlp": tlp, "to": to}


def dist_json(d):
    return {"tlp": d["tlp"], "to": d["to"]} if d["to"] else {"tlp": d["tlp"]}


def body_admission(v):
    b = obj(v, "admission", ["delegation", "name", "role", "public_key"], ["encryption_key"])
    role = string(b["role"], "role")
    if role not in ROLES:
        raise Bad(f"role {role!r} is not one of secretariat, member, observer")
    return {
        "delegation": code(b["delegation"]),
        "name": short_text(b["name"], "name", True),
        "role": role,
        "public_key": ed_key(b["public_key"], "public_key"),
        "encryption_key": x_key(b["encryption_key"], "encryption_key") if "encryption_key" in b else None,
    }


def body_key_rotation(v):
    b = obj(v, "key_rotation", ["new_key"], ["new_encryption_key"])
    return {
        "new_key": ed_key(b["new_key"], "new_key"),
        "new_encryption_key": x_key(b["new_encryption_key"], "new_encryption_key")
        if "new_encryption_key" in b else None,
    }


def body_key_revocation(v):
    b = obj(v, "key_revocation", ["key"], defaulted=["reason"])
    return {"key": kid(b["key"]), "reason": short_text(b.get("reason", ""), "reason", False)}


SEGMENTS = {"core", "ran", "transport", "management"}
RISKS = {"low", "moderate", "high", "critical"}


def body_assessment(v):
    b = obj(v, "assessment", ["supplier", "framework", "framework_version", "segments", "ratings",
                              "verdict"], ["supersedes"])
    s = obj(b["supplier"], "supplier", ["name", "country"])
    supplier = {"name": short_text(s["name"], "supplier.name", True),
                "country": short_text(s["country"], "supplier.country", True)}
    segments = bounded(b["segments"], "segments", True)
    for seg in segments:
        if seg not in SEGMENTS:
            raise Bad(f"segment {seg!r} is not one of {sorted(SEGMENTS)}")
    if len(set(segments)) != len(segments):
        raise Bad("segments lists a segment twice")
    ratings = []
    for r in bounded(b["ratings"], "ratings", True):
        r = obj(r, "rating", ["criterion", "risk", "rationale"], defaulted=["evidence"])
        risk = string(r["risk"], "risk")
        if risk not in RISKS:
            raise Bad(f"risk {risk!r} is not one of low, moderate, high, critical")
        evidence = bounded(r.get("evidence", []), "ratings.evidence", False)
        ratings.append({
            "criterion": short_text(r["criterion"], "ratings.criterion", True),
            "risk": risk,
            "rationale": long_text(r["rationale"], "ratings.rationale", True),
            "evidence": [short_text(e, "ratings.evidence", True) for e in evidence],
        })
    verdict = obj(b["verdict"], "verdict", ["decision"], defaulted=["mitigations", "transition"])
    decision = string(verdict["decision"], "decision")
    if decision == "trusted":
        obj(b["verdict"], "verdict", ["decision"])
        written_verdict = {"decision": decision}
    elif decision == "conditional":
        vv = obj(b["verdict"], "verdict", ["decision", "mitigations"])
        mitigations = [short_text(m, "verdict.mitigations", True)
                       for m in bounded(vv["mitigations"], "verdict.mitigations", True)]
        written_verdict = {"decision": decision, "mitigations": mitigations}
    elif decision == "untrusted":
        vv = obj(b["verdict"], "verdict", ["decision", "transition"])
        written_verdict = {"decision": decision,
                           "transition": short_text(vv["transition"], "verdict.transition", True)}
    else:
        raise Bad(f"decision {decision!r} is not trusted, conditional or untrusted")
    return {
        "supplier": supplier,
        "framework": short_text(b["framework"], "framework", True),
        "framework_version": integer(b["framework_version"], "framework_version", U32),
        "segments": segments,
        "ratings": ratings,
        "decision": decision,
        "verdict": written_verdict,
        "supersedes": statement_id(b["supersedes"], "supersedes") if "supersedes" in b else None,
    }


def body_proposal(v):
    b = obj(v, "proposal", ["title", "text", "participants", "rule", "deadline"])
    participants = [code(c, "participant") for c in bounded(b["participants"], "participants", True)]
    if len(set(participants)) != len(participants):
        raise Bad("participants lists a delegation twice")
    r = rule(b["rule"])
    if r[0] == "threshold" and r[1] > len(participants):
        raise Bad(f"threshold:{r[1]} is more than the {len(participants)} participants")
    return {
        "title": short_text(b["title"], "title", True),
        "text": long_text(b["text"], "text", True),
        "participants": participants,
        "rule": r,
        "deadline": Time(string(b["deadline"], "deadline")),
    }


def id_list(v, what):
    """A list (at most 64) of statement ids, none twice."""
    ids = [statement_id(x, what) for x in bounded(v, what, False)]
    if len(set(ids)) != len(ids):
        raise Bad(f"{what} lists an amendment twice")
    return ids


def body_revision(v):
    b = obj(v, "revision", ["proposal", "text"], defaulted=["note", "amendments"])
    return {"proposal": statement_id(b["proposal"], "proposal"),
            "text": long_text(b["text"], "text", True),
            "note": short_text(b.get("note", ""), "note", False),
            "amendments": id_list(b.get("amendments", []), "amendments")}


def body_amendment(v):
    b = obj(v, "amendment", ["proposal", "revision", "text"], defaulted=["note"])
    return {"proposal": statement_id(b["proposal"], "proposal"),
            "revision": hex_id(b["revision"], "revision digest", 64),
            "text": long_text(b["text"], "text", True),
            "note": short_text(b.get("note", ""), "note", False)}


def body_amendment_rejection(v):
    b = obj(v, "amendment_rejection", ["proposal", "amendment", "reason"])
    return {"proposal": statement_id(b["proposal"], "proposal"),
            "amendment": statement_id(b["amendment"], "amendment"),
            "reason": long_text(b["reason"], "reason", True)}


def body_endorsement(v):
    b = obj(v, "endorsement", ["proposal", "revision", "position"])
    p = b["position"]
    stance = string(obj(p, "position", ["stance"], defaulted=["reservation", "reason"])["stance"], "stance")
    if stance in ("endorse", "abstain"):
        obj(p, "position", ["stance"])
        position = {"stance": stance}
    elif stance == "endorse_with_reservation":
        pp = obj(p, "position", ["stance", "reservation"])
        position = {"stance": stance, "reservation": long_text(pp["reservation"], "reservation", True)}
    elif stance == "object":
        pp = obj(p, "position", ["stance", "reason"])
        position = {"stance": stance, "reason": long_text(pp["reason"], "reason", True)}
    else:
        raise Bad(f"stance {stance!r} is not endorse, endorse_with_reservation, object or abstain")
    return {"proposal": statement_id(b["proposal"], "proposal"),
            "revision": hex_id(b["revision"], "revision digest", 64),
            "position": position}


def body_position(v):
    b = obj(v, "position", ["title", "text"], ["subject"])
    return {"title": short_text(b["title"], "title", True),
            "text": long_text(b["text"], "text", True),
            "subject": statement_id(b["subject"], "subject") if "subject" in b else None}


def body_message(v):
    b = obj(v, "message", ["thread", "text"])
    return {"thread": statement_id(b["thread"], "thread"), "text": long_text(b["text"], "text", True)}


def body_supplier_entry(v):
    b = obj(v, "supplier_entry", ["name", "country"], defaulted=["aliases"])
    name = short_text(b["name"], "name", True)
    aliases = [short_text(a, "alias", True) for a in bounded(b.get("aliases", []), "aliases", False)]
    keys = [supplier_key(n) for n in [name] + aliases]
    if len(set(keys)) != len(keys):
        raise Bad("a name or alias is given twice (names compare by their keys)")
    return {"name": name, "country": short_text(b["country"], "country", True), "aliases": aliases}


def body_supplier_merge(v):
    b = obj(v, "supplier_merge", ["into", "from"])
    into, from_ = short_text(b["into"], "into", True), short_text(b["from"], "from", True)
    if supplier_key(into) == supplier_key(from_):
        raise Bad("a supplier is not merged into itself")
    return {"into": into, "from": from_}


BODIES = {
    "admission": body_admission, "key_rotation": body_key_rotation,
    "key_revocation": body_key_revocation, "assessment": body_assessment,
    "proposal": body_proposal, "revision": body_revision, "endorsement": body_endorsement,
    "position": body_position, "message": body_message,
    "amendment": body_amendment, "amendment_rejection": body_amendment_rejection,
    "supplier_entry": body_supplier_entry, "supplier_merge": body_supplier_merge,
}

# The clear references each kind may carry in a sealed body, and those it must.
REFS_OF_KIND = {"revision": {"proposal", "amendments"}, "endorsement": {"proposal"},
                "amendment": {"proposal"}, "amendment_rejection": {"proposal", "amendments"},
                "message": {"thread"}, "position": {"subject"}, "assessment": {"supersedes"}}
REQUIRED_REFS = {"revision": {"proposal"}, "endorsement": {"proposal"}, "amendment": {"proposal"},
                 "amendment_rejection": {"proposal", "amendments"}, "message": {"thread"}}


def body_sealed(kind, v):
    s = obj(obj(v, "sealed body", ["sealed"])["sealed"], "sealed",
            ["commitment", "ciphertext", "keys"], defaulted=["refs"])
    raw_refs = obj(s.get("refs", {}), "refs", [], ["proposal", "thread", "subject", "supersedes"],
                   ["amendments"])
    refs = {k: statement_id(x, f"refs.{k}") for k, x in raw_refs.items() if k != "amendments"}
    amendments = [statement_id(x, "refs.amendments")
                  for x in bounded(raw_refs.get("amendments", []), "refs.amendments", False)]
    if len(set(amendments)) != len(amendments):
        raise Bad("the clear references name an amendment twice")
    if amendments:
        refs["amendments"] = amendments
    if kind in ROSTER_KINDS:
        raise Bad("roster statements are never sealed")
    if (not REQUIRED_REFS.get(kind, set()) <= set(refs)
            or not set(refs) <= REFS_OF_KIND.get(kind, set())
            or (kind == "amendment_rejection" and len(amendments) != 1)):
        raise Bad(f"the clear references of a sealed {kind} are not those a {kind} has")
    commitment = b64_lenient(string(s["commitment"], "commitment"))
    if len(commitment) != 32:
        raise Bad("commitment is not 32 bytes")
    ciphertext = b64_lenient(string(s["ciphertext"], "ciphertext"))
    keys = array(s["keys"], "keys")
    wraps = []
    for w in keys:
        w = obj(w, "wrapped key", ["to", "key", "enc", "wrapped"])
        enc = b64_lenient(string(w["enc"], "enc"))
        if len(enc) != 32:
            raise Bad("enc is not 32 bytes")
        wraps.append({"to": code(w["to"]), "key": kid(w["key"]), "enc": enc,
                      "wrapped": b64_lenient(string(w["wrapped"], "wrapped"))})
    if not 1 <= len(wraps) <= MAX_WRAPS:
        raise Bad(f"a sealed body has 1 to {MAX_WRAPS} wrapped keys, not {len(wraps)}")
    if len({w["to"] for w in wraps}) != len(wraps):
        raise Bad("a sealed body wraps its key once per reader")
    if any(len(w["wrapped"]) != 48 for w in wraps):
        raise Bad("a wrapped key is 48 bytes")
    text = len(ciphertext) - TAG_LEN
    if text <= 0 or text % PAD_TO:
        raise Bad("a sealed body's ciphertext is a multiple of 256 bytes and a 16-byte tag")
    return {"refs": refs, "keys": wraps, "commitment": commitment, "ciphertext": ciphertext}


def written_body(kind, b):
    """An open body as the reference writes it back: every field, except
    that an absent optional field and an empty `amendments` are left out
    (`docs/protocol.md`, section 3, "How the CLI writes a payload")."""
    def some(out, **fields):
        out.update({k: v for k, v in fields.items() if v is not None and v != []})
        return out
    if kind == "admission":
        return some({"delegation": b["delegation"], "name": b["name"], "role": b["role"],
                     "public_key": b64(b["public_key"])},
                    encryption_key=b64(b["encryption_key"]) if b["encryption_key"] else None)
    if kind == "key_rotation":
        return some({"new_key": b64(b["new_key"])},
                    new_encryption_key=b64(b["new_encryption_key"]) if b["new_encryption_key"] else None)
    if kind == "key_revocation":
        return {"key": b["key"], "reason": b["reason"]}
    if kind == "assessment":
        return some({"supplier": b["supplier"], "framework": b["framework"],
                     "framework_version": b["framework_version"], "segments": b["segments"],
                     "ratings": b["ratings"], "verdict": b["verdict"]},
                    supersedes=b["supersedes"])
    if kind == "proposal":
        return {"title": b["title"], "text": b["text"], "participants": b["participants"],
                "rule": rule_text(b["rule"]), "deadline": str(b["deadline"])}
    if kind == "revision":
        return some({"proposal": b["proposal"], "text": b["text"], "note": b["note"]},
                    amendments=b["amendments"])
    if kind == "endorsement":
        return {"proposal": b["proposal"], "revision": b["revision"], "position": b["position"]}
    if kind == "position":
        return some({"title": b["title"], "text": b["text"]}, subject=b["subject"])
    if kind == "message":
        return {"thread": b["thread"], "text": b["text"]}
    if kind == "amendment":
        return {"proposal": b["proposal"], "revision": b["revision"], "text": b["text"],
                "note": b["note"]}
    if kind == "amendment_rejection":
        return {"proposal": b["proposal"], "amendment": b["amendment"], "reason": b["reason"]}
    if kind == "supplier_entry":
        return some({"name": b["name"], "country": b["country"]}, aliases=b["aliases"])
    if kind == "supplier_merge":
        return {"into": b["into"], "from": b["from"]}
    raise Bad(f"unknown kind {kind!r}")


def written_sealed(s):
    """A sealed body as the reference writes it back: `refs` only when it
    names something, every byte string in strict base64."""
    w = {"commitment": b64(s["commitment"]), "ciphertext": b64(s["ciphertext"]),
         "keys": [{"to": k["to"], "key": k["key"], "enc": b64(k["enc"]), "wrapped": b64(k["wrapped"])}
                  for k in s["keys"]]}
    if s["refs"]:
        w["refs"] = dict(s["refs"])
    return {"sealed": w}


class Statement:
    """A decoded payload (`docs/protocol.md`, "Statements")."""

    def __init__(self, payload):
        read = strict_json(payload)
        p = obj(read, "statement",
                ["kind", "author", "key", "seq", "issued_at", "distribution", "body"])
        kind = string(p["kind"], "kind")
        if kind not in KINDS:
            raise Bad(f"unknown kind {kind!r}")
        self.kind = kind
        self.author = code(p["author"], "author")
        self.key = kid(p["key"])
        self.seq = integer(p["seq"], "seq")
        self.issued_at = Time(string(p["issued_at"], "issued_at"))
        body = p["body"]
        if isinstance(body, dict) and "sealed" in body:
            self.sealed = body_sealed(kind, body)
            self.body = None
        else:
            self.sealed = None
            self.body = BODIES[kind](body)
        self.dist = distribution(p["distribution"])
        if self.sealed and self.dist["tlp"] not in RESTRICTED:
            raise Bad("only AMBER, AMBER+STRICT and RED bodies are sealed")
        # One form (section 1): exactly what writing these fields back gives.
        written = {"kind": kind, "author": self.author, "key": self.key, "seq": self.seq,
                   "issued_at": str(self.issued_at), "distribution": dist_json(self.dist),
                   "body": written_sealed(self.sealed) if self.sealed else written_body(kind, self.body)}
        if not same_json(read, written):
            raise Bad("not in the one JSON form of its fields (an unknown or null field, a default "
                      "left out or an empty list written, or another spelling of a value)")
        self.id = sha256(payload).hex()

    def refs(self):
        """The ids the body references (a sealed body's clear `refs`)."""
        if self.sealed is not None:
            return dict(self.sealed["refs"])
        b, k = self.body, self.kind
        if k == "revision" and b["amendments"]:
            return {"proposal": b["proposal"], "amendments": list(b["amendments"])}
        if k in ("revision", "endorsement", "amendment"):
            return {"proposal": b["proposal"]}
        if k == "amendment_rejection":
            return {"proposal": b["proposal"], "amendments": [b["amendment"]]}
        if k == "message":
            return {"thread": b["thread"]}
        if k == "position" and b["subject"]:
            return {"subject": b["subject"]}
        if k == "assessment" and b["supersedes"]:
            return {"supersedes": b["supersedes"]}
        return {}


# ------------------------------------------------------------------ DSSE

def pae(payload_type, payload):
    t = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(payload), payload)


def json_string(s):
    """A JSON string as the canonical envelope writes it: `"` and `\\`
    escaped, \\b \\f \\n \\r \\t, other controls below 0x20 as \\u00xx, all else
    as UTF-8 unescaped."""
    out = ['"']
    for c in s:
        if c == '"':
            out.append('\\"')
        elif c == "\\":
            out.append("\\\\")
        elif c in "\b\f\n\r\t":
            out.append({"\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}[c])
        elif ord(c) < 0x20:
            out.append(f"\\u{ord(c):04x}")
        else:
            out.append(c)
    out.append('"')
    return "".join(out)


def parse_envelope(text):
    """The envelope string of an entry: the one canonical DSSE JSON form."""
    env = strict_json(text.encode("utf-8"))
    if not isinstance(env, dict) or not isinstance(env.get("signatures"), list):
        raise Bad("the envelope is not in canonical form")
    sigs = env["signatures"]
    try:
        canonical = (
            '{"payloadType":' + json_string(env["payloadType"])
            + ',"payload":' + json_string(env["payload"])
            + ',"signatures":['
            + ",".join('{"keyid":' + json_string(s["keyid"]) + ',"sig":' + json_string(s["sig"]) + "}"
                       for s in sigs)
            + "]}"
        )
    except (KeyError, TypeError):
        raise Bad("the envelope is not in canonical form")
    if canonical != text:
        raise Bad("the envelope is not in canonical form")
    payload = b64_strict(env["payload"])
    decoded = [(s["keyid"], b64_strict(s["sig"])) for s in sigs]
    return env["payloadType"], payload, decoded


def check_dsse(payload_type, payload, sigs, st, public):
    if payload_type != PAYLOAD_TYPE:
        raise Refused("malformed", f"payloadType must be {PAYLOAD_TYPE}")
    if len(sigs) != 1:
        raise Refused("malformed", "a statement envelope carries exactly one signature")
    keyid, sig = sigs[0]
    if keyid and keyid != st.key:
        raise Refused("bad-signature", "the signature's keyid does not name the statement's key")
    if not ed25519_ok(public, pae(payload_type, payload), sig):
        raise Refused("bad-signature", "the signature does not verify against the statement's key")


# ------------------------------------------------------------------ Merkle (RFC 9162)

def leaf_hash(data):
    return sha256(b"\x00", data)


def node_hash(left, right):
    return sha256(b"\x01", left, right)


def root_of(leaves):
    """MTH over every leaf, folded as a compact range (perfect subtrees)."""
    if not leaves:
        return sha256()
    stack = []  # (height, hash), strictly decreasing heights
    for leaf in leaves:
        h, node = 0, leaf
        while stack and stack[-1][0] == h:
            node = node_hash(stack.pop()[1], node)
            h += 1
        stack.append((h, node))
    node = stack.pop()[1]
    while stack:
        node = node_hash(stack.pop()[1], node)
    return node


def verify_inclusion(leaf, index, size, proof, root):
    """RFC 9162 2.1.3.2."""
    if index >= size:
        raise Bad(f"leaf index {index} is not below tree size {size}")
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise Bad("the inclusion proof is too long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise Bad("the inclusion proof is too short")
    if r != root:
        raise Bad("the inclusion proof does not lead to the checkpoint's root")


# ------------------------------------------------------------------ signed notes, checkpoints

def valid_key_name(name):
    return bool(name) and "+" not in name and not any(c.isspace() for c in name)


def note_key_hash(name, alg, key):
    return sha256(name.encode("utf-8"), b"\n", bytes([alg]), key)[:4]


def parse_vkey(vkey, alg):
    parts = vkey.split("+", 2)
    if len(parts) != 3:
        raise Bad("malformed verifier key")
    name, hash_hex, key_b64 = parts
    if not valid_key_name(name) or not re.fullmatch(r"[0-9a-f]{8}", hash_hex):
        raise Bad("malformed verifier key")
    typed = b64_strict(key_b64)
    if len(typed) != 33 or typed[0] != alg:
        raise Bad("verifier key is not an Ed25519 key of the expected type")
    key = typed[1:]
    if note_key_hash(name, alg, key).hex() != hash_hex:
        raise Bad("verifier key hash does not match its name and key")
    return name, key


def parse_note(text):
    """A C2SP signed note: (signed text, [(name, key hash, signature)])."""
    if len(text.encode("utf-8")) > MAX_NOTE_SIZE:
        raise Bad("the note is too large")
    if any(c < " " and c != "\n" for c in text):
        raise Bad("the note holds a control character")
    at = text.rfind("\n\n")
    if at < 0:
        raise Bad("the note has no blank line before its signatures")
    body, sigs = text[:at + 1], text[at + 2:]
    if not sigs.endswith("\n") or sigs == "\n" or not sigs:
        raise Bad("the note's signature block is empty or does not end with a newline")
    lines = sigs[:-1].split("\n")
    if len(lines) > MAX_NOTE_SIGNATURES:
        raise Bad("the note has too many signatures")
    out = []
    for line in lines:
        if not line.startswith(EM_DASH + " "):
            raise Bad("a signature line does not start with an em dash")
        name, sep, sig = line[2:].partition(" ")
        if not sep or not valid_key_name(name):
            raise Bad("malformed signature line")
        raw = b64_strict(sig)
        if len(raw) < 5:
            raise Bad("signature too short")
        out.append((name, raw[:4], raw[4:]))
    return body, out


def parse_checkpoint_body(body):
    """origin, size, root; extension lines (older releases wrote
    `time <unix seconds>`) are accepted and ignored."""
    lines = body[:-1].split("\n")
    if len(lines) < 3:
        raise Bad("the checkpoint has fewer than three lines")
    origin, size, root = lines[0], lines[1], lines[2]
    if not origin:
        raise Bad("the checkpoint's origin is empty")
    if not re.fullmatch(r"0|[1-9][0-9]*", size) or int(size) > U64:
        raise Bad("the checkpoint's size is not a canonical decimal")
    root = b64_strict(root)
    if len(root) != 32:
        raise Bad("the checkpoint's root is not 32 bytes")
    if any(not ext for ext in lines[3:]):
        raise Bad("the checkpoint has an empty extension line")
    return origin, int(size), root, lines[3:]


# ------------------------------------------------------------------ audiences (TLP 2.0)

STRICTNESS = {t: i for i, t in enumerate(TLPS)}


def may_read(reader_code, reader_role, author, dist):
    if reader_code == author:
        return True
    if dist["tlp"] in ("CLEAR", "GREEN"):
        return True
    return reader_role != "observer" and reader_code in dist["to"]


def named_readers(author, dist):
    if dist["tlp"] not in RESTRICTED:
        return None
    return sorted(set(dist["to"]) | {author})


def no_wider(author, child, parent_author, parent):
    if STRICTNESS[child["tlp"]] < STRICTNESS[parent["tlp"]]:
        return False
    theirs = named_readers(parent_author, parent)
    if theirs is None:
        return True
    ours = named_readers(author, child)
    return ours is not None and all(c in theirs for c in ours)


def same_audience(author, child, parent_author, parent):
    return child["tlp"] == parent["tlp"] and named_readers(author, child) == named_readers(parent_author, parent)


def reaches_every_reader_of(author, dist, other_author, other):
    ours, theirs = named_readers(author, dist), named_readers(other_author, other)
    if ours is None:
        return True
    if theirs is None:
        return False
    return all(r in ours for r in theirs)


# ------------------------------------------------------------------ the fold

def role_allows(role, kind):
    if kind in ("admission", "supplier_entry", "supplier_merge"):
        return role == "secretariat"
    if kind in ("proposal", "revision", "endorsement", "amendment", "amendment_rejection"):
        return role != "observer"
    return True


def text_digest(text):
    return sha256(text.encode("utf-8")).hex()


class Fold:
    """The state a log's entries fold to (docs/protocol.md, "The fold")."""

    def __init__(self, frameworks):
        self.frameworks = frameworks  # id -> {"version", "criteria": [ids]}
        self.size = 0
        self.partial = False
        self.delegations = {}  # code -> {"role", "name", "admitted_at", "keys": [record]}
        self.keys = {}  # key id -> (code, record)
        self.seqs = {}  # key id -> highest seq
        self.audiences = {}  # statement id -> (author, dist)
        self.sealed_kinds = {}  # statement id -> kind
        self.superseded = {}  # old assessment -> superseding statement
        self.assessments = {}  # id -> {"author", "supplier_key"}
        self.proposals = {}  # id -> record
        self.proposal_order = []
        self.amendment_of = {}  # amendment id (open or sealed) -> its proposal's id
        self.decided = {}  # decided amendment id -> the revision or rejection that decided it
        # The supplier registry: key of a canonical name -> {"name", "country", "aliases",
        # "merges"}; and the key of every name it holds -> the key of its supplier's name.
        self.suppliers = {}
        self.supplier_names = {}
        self.merges = 0
        self.sealed_count = 0
        self.hidden = 0

    # -- roster
    def active_keys(self, code):
        d = self.delegations.get(code)
        return [k for k in d["keys"] if k["status"] == "active"] if d else []

    def encryption_key(self, code):
        active = self.active_keys(code)
        return active[-1]["enc"] if active else None

    def add_key(self, code, public, enc, at):
        rec = {"id": key_id(public), "public": public, "enc": enc, "added_at": at, "status": "active"}
        self.delegations[code]["keys"].append(rec)
        self.keys[rec["id"]] = (code, rec)

    def is_proposal(self, sid):
        return sid in self.proposals or self.sealed_kinds.get(sid) == "proposal"

    def is_assessment(self, sid):
        return sid in self.assessments or self.sealed_kinds.get(sid) == "assessment"

    # -- step 1: which key must have signed
    def signer_key(self, st):
        if st.key in self.keys:
            return self.keys[st.key][1]["public"]
        adm = st.body if st.kind == "admission" else None
        if self.size == 0:
            if adm and key_id(adm["public_key"]) == st.key:
                return adm["public_key"]
            raise Refused("not-bootstrapped", "the log is empty: its first entry must be the secretariat admitting itself")
        if adm and key_id(adm["public_key"]) == st.key and adm["delegation"] == st.author:
            raise Refused("already-bootstrapped", "the log is already founded")
        raise Refused("unknown-key", f"key {st.key} is not in the roster")

    # -- step 2: the roster rules and the kind's rules
    def check(self, st):
        if st.kind in ROSTER_KINDS and st.dist["tlp"] in RESTRICTED:
            raise Refused("malformed", "roster statements are CLEAR or GREEN")
        if st.kind in REGISTRY_KINDS and st.dist["tlp"] in RESTRICTED:
            raise Refused("malformed", "supplier registry statements are CLEAR or GREEN")
        if self.size == 0:
            a = st.body if st.kind == "admission" else None
            if not (a and a["role"] == "secretariat" and a["delegation"] == st.author
                    and key_id(a["public_key"]) == st.key):
                raise Refused("not-bootstrapped", "the first entry must be the secretariat admitting itself")
            return
        if st.key not in self.keys:
            raise Refused("unknown-key", f"key {st.key} is not in the roster")
        owner, rec = self.keys[st.key]
        if owner != st.author:
            raise Refused("wrong-author", f"key {st.key} belongs to {owner}, not to {st.author}")
        if rec["status"] == "rotated":
            raise Refused("rotated-key", f"key {st.key} was rotated out and signs nothing after its rotation")
        if rec["status"] == "revoked":
            raise Refused("revoked-key", f"key {st.key} was revoked and signs nothing after its revocation")
        last = self.seqs.get(st.key, 0)
        if st.seq <= last:
            raise Refused("stale-seq", f"seq {st.seq} is not greater than {last}, the last seq of this key")
        role = self.delegations[owner]["role"]
        if not role_allows(role, st.kind):
            raise Refused("role-not-allowed", f"the {role} role may not publish {st.kind}")
        self.check_audience(st, role)
        refs = st.refs()
        if "supersedes" in refs:
            self.check_supersedes(st, refs["supersedes"])
        self.check_decisions(st, role, refs)
        if st.sealed is not None:
            self.check_sealed(st, refs)
        else:
            getattr(self, "check_" + st.kind)(st, role)

    def check_audience(self, st, role):
        refs = st.refs()
        k = st.kind
        if k in ("revision", "endorsement", "amendment", "amendment_rejection") and "proposal" in refs:
            parent, exact, kind_ok = refs["proposal"], True, self.is_proposal(refs["proposal"])
            missing = f"proposal {parent}"
        elif k == "message" and "thread" in refs:
            parent, exact, kind_ok = refs["thread"], False, True
            missing = f"statement {parent} to attach the message to"
        elif k == "position" and "subject" in refs:
            s = refs["subject"]
            parent, exact, kind_ok = s, False, self.is_proposal(s) or self.is_assessment(s)
            missing = f"proposal or assessment {parent}"
        elif k == "assessment" and "supersedes" in refs:
            parent, exact, kind_ok = refs["supersedes"], False, self.is_assessment(refs["supersedes"])
            missing = f"assessment {parent} to supersede"
        else:
            if k == "proposal" and st.sealed is None:
                readers = named_readers(st.author, st.dist)
                if readers is not None:
                    for p in st.body["participants"]:
                        if p not in readers:
                            raise Refused("bad-audience", f"participant {p} may not read this proposal")
            return
        if parent not in self.audiences:
            return
        p_author, p_dist = self.audiences[parent]
        if not may_read(st.author, role, p_author, p_dist):
            raise Refused("no-such-statement", f"no {missing} in the log")
        if not kind_ok:
            return
        fits = (same_audience if exact else no_wider)(st.author, st.dist, p_author, p_dist)
        if not fits:
            raise Refused("bad-audience", f"a {k} reaches {'exactly its proposal' if exact else 'no one its parent does not'}")

    def check_decisions(self, st, role, refs):
        """A revision taking amendments, or a rejection, decides each one it
        names: judged from clear references and authors, sealed or not."""
        amendments, proposal = refs.get("amendments", []), refs.get("proposal")
        if not amendments or proposal is None:
            return
        if not self.is_proposal(proposal):
            return  # the kind's rules refuse it as missing (tolerated when partial)
        if self.audiences[proposal][0] != st.author:
            raise Refused("not-yours",
                          f"only {self.audiences[proposal][0]}, the proposer, may decide on amendments")
        for aid in amendments:
            if aid not in self.audiences:
                if self.partial:
                    continue
                raise Refused("no-such-statement", f"no amendment {aid} of this proposal in the log")
            a_author, a_dist = self.audiences[aid]
            if not may_read(st.author, role, a_author, a_dist) or self.amendment_of.get(aid) != proposal:
                raise Refused("no-such-statement", f"no amendment {aid} of this proposal in the log")
            if aid in self.decided:
                raise Refused("amendment-decided",
                              f"amendment {aid} was already decided by statement {self.decided[aid]}")

    def check_supersedes(self, st, old):
        if old not in self.audiences:
            return
        if self.audiences[old][0] != st.author:
            raise Refused("not-yours", f"assessment {old} is {self.audiences[old][0]}'s, not yours to supersede")
        if old in self.superseded:
            raise Refused("bad-assessment", f"assessment {old} is already superseded by {self.superseded[old]}")

    def sealed_readers(self, st):
        readers = {st.author}
        for c in st.dist["to"]:
            d = self.delegations.get(c)
            if d is None or may_read(c, d["role"], st.author, st.dist):
                readers.add(c)
        return readers

    def check_sealed(self, st, refs):
        wrapped = {w["to"] for w in st.sealed["keys"]}
        readers = self.sealed_readers(st)
        if wrapped != readers:
            raise Refused("bad-seal", f"the content key is wrapped for {sorted(wrapped)} but the readers are {sorted(readers)}")
        for w in st.sealed["keys"]:
            enc = self.encryption_key(w["to"])
            if enc is None:
                raise Refused("bad-seal", f"{w['to']} has no encryption key in the roster")
            if key_id(enc) != w["key"]:
                raise Refused("bad-seal", f"the key wrapped for {w['to']} is not to its encryption key in the roster")

        def judged(sid):
            return not self.partial or sid in self.audiences
        k = st.kind
        if k in ("revision", "endorsement", "amendment", "amendment_rejection"):
            p = refs.get("proposal")
            if p and judged(p) and not self.is_proposal(p):
                raise Refused("no-such-statement", f"no proposal {p} in the log")
        elif k == "message":
            t = refs.get("thread")
            if t and judged(t) and t not in self.audiences:
                raise Refused("no-such-statement", f"no statement {t} to attach the message to in the log")
        elif k == "position":
            s = refs.get("subject")
            if s and judged(s) and not self.is_proposal(s) and not self.is_assessment(s):
                raise Refused("no-such-statement", f"no proposal or assessment {s} in the log")
        elif k == "assessment":
            old = refs.get("supersedes")
            if old and judged(old) and not self.is_assessment(old):
                raise Refused("no-such-statement", f"no assessment {old} to supersede in the log")

    def key_unused(self, public):
        if key_id(public) in self.keys:
            raise Refused("key-in-use", f"key {key_id(public)} is already in the roster")

    def check_admission(self, st, role):
        a = st.body
        if a["delegation"] in self.delegations and self.active_keys(a["delegation"]):
            raise Refused("already-admitted", f"delegation {a['delegation']} is already admitted")
        self.key_unused(a["public_key"])

    def check_key_rotation(self, st, role):
        self.key_unused(st.body["new_key"])

    def check_key_revocation(self, st, role):
        target = st.body["key"]
        if target not in self.keys:
            raise Refused("no-such-key", f"no key {target} in the roster")
        owner, rec = self.keys[target]
        if owner != st.author and role != "secretariat":
            raise Refused("role-not-allowed", f"the {role} role may not revoke another delegation's key")
        if rec["status"] == "revoked":
            raise Refused("already-revoked", f"key {target} is already revoked")

    def check_assessment(self, st, role):
        a = st.body
        fw = self.frameworks.get(a["framework"])
        if fw is None:
            raise Refused("bad-assessment", f"framework {a['framework']} is not in the bundle")
        if fw["version"] != a["framework_version"]:
            raise Refused("bad-assessment", f"unknown framework {a['framework']} version {a['framework_version']}")
        seen = set()
        for r in a["ratings"]:
            if r["criterion"] not in fw["criteria"]:
                raise Refused("bad-assessment", f"criterion {r['criterion']!r} is not in framework {a['framework']}")
            if r["criterion"] in seen:
                raise Refused("bad-assessment", f"criterion {r['criterion']!r} is rated twice")
            seen.add(r["criterion"])
        missing = [c for c in fw["criteria"] if c not in seen]
        if missing:
            raise Refused("bad-assessment", f"criteria not rated: {', '.join(missing)}")
        old = a["supersedes"]
        if old:
            rec = self.assessments.get(old)
            if rec is None and not self.partial:
                raise Refused("no-such-statement", f"no assessment {old} to supersede in the log")
            if rec is not None and rec["supplier_key"] != supplier_key(a["supplier"]["name"]):
                raise Refused("bad-assessment", f"assessment {old} is of another supplier")

    def check_proposal(self, st, role):
        p = st.body
        if p["deadline"].ns <= st.issued_at.ns:
            raise Refused("bad-deadline", "the deadline must be after the proposal is issued")
        for c in p["participants"]:
            d = self.delegations.get(c)
            if d is None:
                raise Refused("bad-participants", f"{c} is not admitted")
            if d["role"] == "observer":
                raise Refused("bad-participants", f"{c} is an observer; observers take no positions")

    def open_proposal(self, pid, st):
        rec = self.proposals.get(pid)
        if rec is None:
            if self.partial:
                return None
            raise Refused("no-such-statement", f"no proposal {pid} in the log")
        if rec["status"]["state"] != "open":
            raise Refused("proposal-closed", f"the proposal is closed ({rec['status']['state']} at entry {rec['status']['index']})")
        if st.issued_at.ns >= rec["deadline"].ns:
            raise Refused("deadline-passed", f"the proposal's deadline {rec['deadline']} has passed")
        return rec

    def check_revision(self, st, role):
        rec = self.open_proposal(st.body["proposal"], st)
        if rec is None:
            return
        if rec["proposer"] != st.author:
            raise Refused("not-yours", f"only {rec['proposer']}, the proposer, may revise this proposal")
        self.check_new_text(rec, st.body["text"])

    @staticmethod
    def check_new_text(rec, text):
        digest = text_digest(text)
        for r in rec["revisions"]:
            if r["digest"] == digest:
                raise Refused("unchanged-text", f"the text repeats revision {r['number']}'s text")

    def check_amendment(self, st, role):
        a = st.body
        rec = self.open_proposal(a["proposal"], st)
        if rec is None:
            return
        if st.author not in rec["participants"]:
            raise Refused("not-a-participant", f"{st.author} is not a participant of this proposal")
        self.check_current(rec, a["revision"])
        self.check_new_text(rec, a["text"])

    def check_amendment_rejection(self, st, role):
        j = st.body
        rec = self.open_proposal(j["proposal"], st)
        if rec is None:
            return
        if rec["proposer"] != st.author:
            raise Refused("not-yours", f"only {rec['proposer']}, the proposer, may decide on amendments")

    @staticmethod
    def check_current(rec, digest):
        current = rec["revisions"][-1]["digest"]
        if digest != current:
            if any(r["digest"] == digest for r in rec["revisions"]):
                raise Refused("stale-revision", f"revision {digest} is not the current text ({current})")
            raise Refused("no-such-statement", f"no revision {digest} of this proposal in the log")

    def check_endorsement(self, st, role):
        e = st.body
        rec = self.open_proposal(e["proposal"], st)
        if rec is None:
            return
        if st.author not in rec["participants"]:
            raise Refused("not-a-participant", f"{st.author} is not a participant of this proposal")
        self.check_current(rec, e["revision"])

    def check_position(self, st, role):
        s = st.body["subject"]
        if s and not self.partial and s not in self.proposals and s not in self.assessments:
            raise Refused("no-such-statement", f"no proposal or assessment {s} in the log")

    def check_message(self, st, role):
        t = st.body["thread"]
        if not self.partial and t not in self.audiences:
            raise Refused("no-such-statement", f"no statement {t} to attach the message to in the log")

    def registered(self, name):
        """The registered supplier `name` (any of its names) belongs to, or None."""
        owner = self.supplier_names.get(supplier_key(name))
        return self.suppliers[owner] if owner is not None else None

    def check_supplier_entry(self, st, role):
        e = st.body
        for name in [e["name"]] + e["aliases"]:
            owner = self.registered(name)
            if owner is not None:
                raise Refused("supplier-exists",
                              f"{name!r} already names the registered supplier {owner['name']!r}")

    def check_supplier_merge(self, st, role):
        for name in (st.body["into"], st.body["from"]):
            if supplier_key(name) not in self.suppliers:
                raise Refused("bad-supplier", f"{name!r} is not a registered supplier's canonical name")

    # -- step 3: apply, as entry `self.size`
    def apply(self, st):
        self.check(st)
        at = self.size
        self.close_due(st, at)
        self.seqs[st.key] = st.seq
        self.audiences[st.id] = (st.author, st.dist)
        refs = st.refs()
        if st.sealed is not None:
            self.sealed_kinds[st.id] = st.kind
            self.sealed_count += 1
        if "supersedes" in refs:
            self.superseded[refs["supersedes"]] = st.id
        # Amendments and decisions are facts of the clear references, sealed or not.
        if st.kind == "amendment" and "proposal" in refs:
            self.amendment_of[st.id] = refs["proposal"]
        for aid in refs.get("amendments", []):
            self.decided[aid] = st.id
        if st.sealed is None:
            getattr(self, "apply_" + st.kind)(st, at)
        self.size += 1

    def skip_hidden(self):
        self.size += 1
        self.hidden += 1
        self.partial = True

    def close_due(self, st, at):
        for pid in self.proposal_order:
            rec = self.proposals[pid]
            if rec["status"]["state"] != "open" or rec["deadline"].ns > st.issued_at.ns:
                continue
            if not reaches_every_reader_of(st.author, st.dist, rec["proposer"], rec["dist"]):
                continue
            if rec["rule"][0] == "silence" and tally(rec)["object"] == 0:
                rec["status"] = {"state": "adopted", "index": at, "at": rec["deadline"],
                                 "revision": rec["revisions"][-1]["digest"]}
            else:
                rec["status"] = {"state": "expired", "index": at}

    def apply_admission(self, st, at):
        a = st.body
        d = self.delegations.setdefault(a["delegation"], {"keys": []})
        d.update(name=a["name"], role=a["role"], admitted_at=at)
        self.add_key(a["delegation"], a["public_key"], a["encryption_key"], at)

    def apply_key_rotation(self, st, at):
        self.seqs.pop(st.key, None)
        self.keys[st.key][1]["status"] = "rotated"
        self.add_key(st.author, st.body["new_key"], st.body["new_encryption_key"], at)

    def apply_key_revocation(self, st, at):
        target = st.body["key"]
        self.seqs.pop(target, None)
        self.keys[target][1]["status"] = "revoked"

    def apply_assessment(self, st, at):
        self.assessments[st.id] = {"author": st.author,
                                   "supplier_key": supplier_key(st.body["supplier"]["name"])}

    def apply_proposal(self, st, at):
        p = st.body
        self.proposals[st.id] = {
            "id": st.id, "index": at, "proposer": st.author, "dist": st.dist, "title": p["title"],
            "participants": p["participants"], "rule": p["rule"], "deadline": p["deadline"],
            "revisions": [{"number": 0, "digest": text_digest(p["text"]), "text": p["text"]}],
            "positions": [], "status": {"state": "open"},
            "amendments": {},  # id -> {"author", "revision", "status"}, in log order
        }
        self.proposal_order.append(st.id)

    def apply_revision(self, st, at):
        rec = self.proposals.get(st.body["proposal"])
        if rec is not None:
            number = len(rec["revisions"])
            for aid in st.body["amendments"]:
                if aid in rec["amendments"]:
                    rec["amendments"][aid]["status"] = {"state": "accepted", "revision": number, "by": st.id}
            rec["revisions"].append({"number": number,
                                     "digest": text_digest(st.body["text"]), "text": st.body["text"]})

    def apply_amendment(self, st, at):
        a = st.body
        rec = self.proposals.get(a["proposal"])
        if rec is not None:
            rec["amendments"][st.id] = {"author": st.author, "revision": a["revision"],
                                        "status": {"state": "pending"}}

    def apply_amendment_rejection(self, st, at):
        j = st.body
        rec = self.proposals.get(j["proposal"])
        if rec is not None and j["amendment"] in rec["amendments"]:
            rec["amendments"][j["amendment"]]["status"] = {"state": "rejected", "by": st.id}

    def apply_endorsement(self, st, at):
        e = st.body
        rec = self.proposals.get(e["proposal"])
        if rec is None:
            return
        rec["positions"].append({"delegation": st.author, "revision": e["revision"],
                                 "position": e["position"], "key": st.key, "id": st.id, "index": at})
        if rule_met(rec):
            rec["status"] = {"state": "adopted", "index": at, "at": st.issued_at,
                             "revision": rec["revisions"][-1]["digest"]}

    def apply_position(self, st, at):
        pass

    def apply_supplier_entry(self, st, at):
        e = st.body
        key = supplier_key(e["name"])
        for name in [e["name"]] + e["aliases"]:
            self.supplier_names[supplier_key(name)] = key
        self.suppliers[key] = {"name": e["name"], "country": e["country"],
                               "aliases": list(e["aliases"]), "entry": st.id, "merges": []}

    def apply_supplier_merge(self, st, at):
        into, from_ = supplier_key(st.body["into"]), supplier_key(st.body["from"])
        gone = self.suppliers.pop(from_)
        kept = self.suppliers[into]
        for name in [gone["name"]] + gone["aliases"]:
            self.supplier_names[supplier_key(name)] = into
            kept["aliases"].append(name)
        kept["merges"].append(st.id)
        self.merges += 1

    def apply_message(self, st, at):
        pass


# Unicode White_Space (what a key trims; the controls among them cannot occur
# in a short text).
WHITE_SPACE = ("\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
               "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")


def supplier_key(name):
    """A supplier name's key: trimmed of white space, lowercased (section 3.5)."""
    return name.strip(WHITE_SPACE).lower()


def positions_on(rec, digest):
    latest = {}
    for p in rec["positions"]:
        if p["revision"] == digest:
            latest[p["delegation"]] = p
    return latest


def tally(rec):
    current = positions_on(rec, rec["revisions"][-1]["digest"])
    t = {"endorse": 0, "object": 0, "abstain": 0, "pending": 0}
    for d in rec["participants"]:
        p = current.get(d)
        if p is None:
            t["pending"] += 1
        elif p["position"]["stance"] in ("endorse", "endorse_with_reservation"):
            t["endorse"] += 1
        elif p["position"]["stance"] == "object":
            t["object"] += 1
        else:
            t["abstain"] += 1
    return t


def rule_met(rec):
    t, n, r = tally(rec), len(rec["participants"]), rec["rule"]
    if r[0] == "unanimous":
        return t["pending"] == 0 and t["object"] == 0 and t["endorse"] >= 1
    if r[0] == "threshold":
        return t["endorse"] >= r[1]
    if r[0] == "fraction":
        return t["endorse"] * r[2] >= r[1] * n
    return False


def declaration(rec):
    """An adopted proposal as `entente declaration list --json` shows it."""
    status = rec["status"]
    adopted = next(r for r in rec["revisions"] if r["digest"] == status["revision"])
    positions = positions_on(rec, status["revision"])
    signatories, objections, abstentions = [], {}, []
    for d in rec["participants"]:
        p = positions.get(d)
        if p is None:
            continue
        stance = p["position"]["stance"]
        if stance in ("endorse", "endorse_with_reservation"):
            s = {"delegation": d, "key_id": p["key"], "statement": p["id"], "index": p["index"]}
            if stance == "endorse_with_reservation":
                s["reservation"] = p["position"]["reservation"]
            signatories.append(s)
        elif stance == "object":
            objections[d] = p["position"]["reason"]
        else:
            abstentions.append(d)
    return {
        "id": rec["id"], "proposal_index": rec["index"], "title": rec["title"],
        "proposer": rec["proposer"], "distribution": dist_json(rec["dist"]),
        "revision": adopted["digest"], "revision_number": adopted["number"], "text": adopted["text"],
        "rule": rule_text(rec["rule"]), "adopted_index": status["index"], "adopted_at": str(status["at"]),
        "participants": rec["participants"], "signatories": signatories,
        "objections": objections, "abstentions": abstentions,
    }


# ------------------------------------------------------------------ the archive

def read_frameworks(header_frameworks, reference_dir):
    frameworks = {}
    for src in array(header_frameworks, "frameworks"):
        src = obj(src, "framework source", ["file", "toml"])
        name = string(src["file"], "file")
        try:
            fw = tomllib.loads(string(src["toml"], "toml"))
        except tomllib.TOMLDecodeError as e:
            raise Bad(f"framework {name}: {e}")
        fw = obj(fw, f"framework {name}", ["id", "version", "title", "source", "criteria"])
        crits = [obj(c, "criterion", ["id", "question", "guidance"]) for c in array(fw["criteria"], "criteria")]
        if reference_dir is not None:
            ours = None
            for f in sorted(os.listdir(reference_dir)):
                if f.endswith(".toml"):
                    with open(os.path.join(reference_dir, f), "rb") as fh:
                        candidate = tomllib.load(fh)
                    if candidate.get("id") == fw["id"]:
                        ours = candidate
            if ours != fw:
                raise Bad(f"framework {fw['id']} ({name}) differs from the one this verifier judges with")
        frameworks[string(fw["id"], "framework id")] = {
            "version": integer(fw["version"], "framework version", U32),
            "criteria": [string(c["id"], "criterion id") for c in crits],
        }
    return frameworks


def verify(path, pinned, reference_dir):
    with open(path, "rb") as f:
        data = f.read()
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    if not lines:
        raise Bad("the bundle is empty")

    # 1. Header and checkpoint.
    h = obj(strict_json(lines[0]), "header", ["format", "origin", "log_key", "checkpoint", "size",
                                               "since", "exported_by", "exported_at", "frameworks"])
    if h["format"] != FORMAT:
        raise Bad(f"unknown bundle format {h['format']!r} (expected {FORMAT})")
    integer(h["since"], "since")
    integer(h["exported_at"], "exported_at")
    code(h["exported_by"], "exported_by")
    name, log_key = parse_vkey(string(h["log_key"], "log_key"), ALG_ED25519)
    if pinned is not None and (name, log_key) != parse_vkey(pinned, ALG_ED25519):
        raise Bad(f"the bundle's log key {h['log_key']} is not the pinned log key {pinned}")
    if name != h["origin"]:
        raise Bad("the log key is not named after the origin")
    body, sigs = parse_note(string(h["checkpoint"], "checkpoint"))
    mine = [s for s in sigs if s[0] == name and s[1] == note_key_hash(name, ALG_ED25519, log_key)]
    if not mine:
        raise Bad("the checkpoint has no signature by the log key")
    for _, _, sig in mine:
        if not ed25519_ok(log_key, body.encode("utf-8"), sig):
            raise Bad("the checkpoint's log signature does not verify")
    origin, size, root, _extensions = parse_checkpoint_body(body)
    if origin != name:
        raise Bad(f"the checkpoint's origin is {origin!r}, not the log key's name")
    if size != integer(h["size"], "size"):
        raise Bad(f"the header says {h['size']} entries but the checkpoint has size {size}")

    # 2. Frameworks.
    frameworks = read_frameworks(h["frameworks"], reference_dir)

    # 3-6. Entries, in index order: hash, proof, envelope, signature, fold.
    fold = Fold(frameworks)
    leaves = []
    entries = lines[1:]
    for position, line in enumerate(entries):
        if position >= size:
            raise Bad(f"the bundle has more than {size} entry lines, the checkpoint's size")
        try:
            e = obj(strict_json(line), "entry line", ["index", "leaf_hash", "inclusion_proof"], ["envelope"])
            index = integer(e["index"], "index")
            if index != position:
                raise Bad(f"missing or out of order: the bundle has entry {index} in its place")
            leaf = b64_lenient(string(e["leaf_hash"], "leaf_hash"))
            proof = [b64_lenient(string(p, "proof hash")) for p in array(e["inclusion_proof"], "inclusion_proof")]
            if len(leaf) != 32 or any(len(p) != 32 for p in proof):
                raise Bad("a hash is 32 bytes of base64")
            st = None
            if "envelope" in e:
                text = string(e["envelope"], "envelope")
                if leaf_hash(text.encode("utf-8")) != leaf:
                    raise Bad("the envelope does not hash to its leaf hash (changed bytes)")
                payload_type, payload, dsse_sigs = parse_envelope(text)
                try:
                    st = Statement(payload)
                except Refused:
                    raise
                except Bad as err:
                    raise Bad(f"the statement: {err}")
            verify_inclusion(leaf, position, size, proof, root)
            leaves.append(leaf)
            if st is None:
                fold.skip_hidden()
                continue
            public = fold.signer_key(st)
            check_dsse(payload_type, payload, dsse_sigs, st, public)
            fold.apply(st)
        except Bad as err:
            raise Bad(f"entry {position}: {err}")
    if len(entries) < size:
        raise Bad(f"entry {len(entries)}: missing: the bundle ends after {len(entries)} of {size} entries")
    if root_of(leaves) != root:
        raise Bad("the leaves do not hash to the checkpoint's root")

    # 7. Cosignatures against the final roster.
    cosigners = {}
    for wname, khash, sig in sigs:
        if not wname.startswith(WITNESS_PREFIX):
            continue
        wcode = wname[len(WITNESS_PREFIX):]
        if not re.fullmatch(r"[A-Z][A-Z0-9]{1,7}", wcode) or wcode not in fold.delegations:
            continue
        for k in fold.active_keys(wcode):
            if note_key_hash(wname, ALG_COSIGNATURE_V1, k["public"]) != khash:
                continue
            if len(sig) != 72:
                raise Bad(f"the cosignature by {wcode} is not timestamp and signature")
            ts = int.from_bytes(sig[:8], "big")
            if ts >= 2**63:
                raise Bad(f"the cosignature by {wcode} has a timestamp of 2^63 or more")
            message = f"cosignature/v1\ntime {ts}\n".encode() + body.encode("utf-8")
            if not ed25519_ok(k["public"], message, sig[8:]):
                raise Bad(f"the checkpoint's cosignature by {wcode} does not verify")
            cosigners[wcode] = max(ts, cosigners.get(wcode, 0))
            break
        else:
            raise Bad(f"the checkpoint's cosignature by {wcode} is not by a key of {wcode} that may sign now")

    decls = [declaration(fold.proposals[pid]) for pid in fold.proposal_order
             if fold.proposals[pid]["status"]["state"] == "adopted"]
    amendments = {"pending": 0, "accepted": 0, "rejected": 0}
    for rec in fold.proposals.values():
        for a in rec["amendments"].values():
            amendments[a["status"]["state"]] += 1
    registry = {
        "suppliers": len(fold.suppliers),
        "names": len(fold.supplier_names),
        "merges": fold.merges,
    }
    return decls, {
        "amendments": amendments,
        "registry": registry,
        "size": size,
        "root": b64(root),
        "hidden": fold.hidden,
        "sealed_not_opened": fold.sealed_count,
        "partial": fold.partial,
        "cosigners": cosigners,
        "log_key_pinned": pinned is not None,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("archive")
    ap.add_argument("--log-key", help="the log's verifier key, pinned out of band")
    ap.add_argument("--frameworks", help="folder of the framework TOML files to compare with")
    args = ap.parse_args()
    try:
        decls, info = verify(args.archive, args.log_key, args.frameworks)
    except Bad as err:
        print(f"ARCHIVE DOES NOT VERIFY \u2014 {err}", file=sys.stderr)
        return 3
    except OSError as err:
        print(f"verify_archive: {err}", file=sys.stderr)
        return 2
    json.dump(decls, sys.stdout, indent=2, ensure_ascii=False, sort_keys=True)
    sys.stdout.write("\n")
    print(
        f"verified {info['size']} entries ({info['hidden']} hidden), root {info['root']}; "
        f"{info['sealed_not_opened']} sealed entries folded by their clear parts, not opened; "
        f"{'partial view' if info['partial'] else 'every entry visible'}; "
        f"amendments in clear: {info['amendments']['accepted']} taken into a revision, "
        f"{info['amendments']['rejected']} rejected, {info['amendments']['pending']} pending; "
        f"supplier registry: {info['registry']['suppliers']} suppliers, "
        f"{info['registry']['names']} names, {info['registry']['merges']} merges; "
        f"cosigned by {', '.join(sorted(info['cosigners'])) or 'no witness'}; "
        f"log key {'pinned' if info['log_key_pinned'] else 'NOT pinned: the bundle carries its own'}; "
        f"{len(decls)} declarations",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
