#!/usr/bin/env python3
"""An independent verifier of chronicle's proofs and checkpoints, written from the RFCs.

It shares no code with chronicle: RFC 9162 (Certificate Transparency 2.0), sections 2.1.3.2
(inclusion) and 2.1.4.2 (consistency), for the tree of RFC 6962 section 2.1; the C2SP
signed-note and tlog-checkpoint formats; Ed25519 from the reference code of RFC 8032
section 6 (below); and chronicle's event hash as docs/event-log.md describes it.

    tlog_verify.py inclusion PROOF.json CHECKPOINT VERIFIER_KEY
    tlog_verify.py consistency PROOF.json CHECKPOINT VERIFIER_KEY

Exit 0 when valid, 1 when not (the reason on stderr).
"""

import base64
import hashlib
import json
import sys

# --- Ed25519: the reference implementation of RFC 8032, section 6 -------------------------
# Copyright (c) 2017 IETF Trust and the persons identified as authors of the code (Simon
# Josefsson, Ilari Liusvaara). Redistribution under the Simplified BSD License, as RFC 8032
# section 6 allows (Section 4.c of the IETF Trust's Legal Provisions). Only verification is
# kept.

def sha512(s):
    return hashlib.sha512(s).digest()

p = 2**255 - 19
def modp_inv(x):
    return pow(x, p - 2, p)
d = -121665 * modp_inv(121666) % p
q = 2**252 + 27742317777372353535851937790883648493

def sha512_modq(s):
    return int.from_bytes(sha512(s), "little") % q

def point_add(P, Q):
    A, B = (P[1] - P[0]) * (Q[1] - Q[0]) % p, (P[1] + P[0]) * (Q[1] + Q[0]) % p
    C, D = 2 * P[3] * Q[3] * d % p, 2 * P[2] * Q[2] % p
    E, F, G, H = B - A, D - C, D + C, B + A
    return (E * F, G * H, F * G, E * H)

def point_mul(s, P):
    Q = (0, 1, 1, 0)
    while s > 0:
        if s & 1:
            Q = point_add(Q, P)
        P = point_add(P, P)
        s >>= 1
    return Q

def point_equal(P, Q):
    if (P[0] * Q[2] - Q[0] * P[2]) % p != 0:
        return False
    if (P[1] * Q[2] - Q[1] * P[2]) % p != 0:
        return False
    return True

modp_sqrt_m1 = pow(2, (p - 1) // 4, p)
def recover_x(y, sign):
    if y >= p:
        return None
    x2 = (y * y - 1) * modp_inv(d * y * y + 1)
    if x2 == 0:
        if sign:
            return None
        return 0
    x = pow(x2, (p + 3) // 8, p)
    if (x * x - x2) % p != 0:
        x = x * modp_sqrt_m1 % p
    if (x * x - x2) % p != 0:
        return None
    if (x & 1) != sign:
        x = p - x
    return x

g_y = 4 * modp_inv(5) % p
g_x = recover_x(g_y, 0)
G = (g_x, g_y, 1, g_x * g_y % p)

def point_decompress(s):
    if len(s) != 32:
        raise Exception("Invalid input length for decompression")
    y = int.from_bytes(s, "little")
    sign = y >> 255
    y &= (1 << 255) - 1
    x = recover_x(y, sign)
    if x is None:
        return None
    return (x, y, 1, x * y % p)

def point_compress(P):
    zinv = modp_inv(P[2])
    x = P[0] * zinv % p
    y = P[1] * zinv % p
    return int.to_bytes(y | ((x & 1) << 255), 32, "little")

def verify(public, msg, signature):
    if len(public) != 32:
        raise Exception("Bad public key length")
    if len(signature) != 64:
        return False
    A = point_decompress(public)
    if not A:
        return False
    Rs = signature[:32]
    R = point_decompress(Rs)
    if not R:
        return False
    s = int.from_bytes(signature[32:], "little")
    if s >= q:
        return False
    h = sha512_modq(Rs + public + msg)
    sB = point_mul(s, G)
    hA = point_mul(h, A)
    return point_equal(sB, point_add(R, hA))

# --- End of the RFC 8032 code ------------------------------------------------------------


class Invalid(Exception):
    pass


def leaf_hash(data):
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def verify_inclusion(leaf_index, tree_size, leaf, path, root):
    """RFC 9162, 2.1.3.2."""
    if leaf_index >= tree_size:
        raise Invalid("leaf index beyond the tree")
    fn, sn, r = leaf_index, tree_size - 1, leaf
    for p_ in path:
        if sn == 0:
            raise Invalid("audit path too long")
        if fn & 1 or fn == sn:
            r = node_hash(p_, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p_)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise Invalid("audit path too short")
    if r != root:
        raise Invalid("audit path does not lead to the root")


def verify_consistency(first, second, first_hash, second_hash, path):
    """RFC 9162, 2.1.4.2."""
    if first > second:
        raise Invalid("old size larger than new size")
    if first == second:
        if path or first_hash != second_hash:
            raise Invalid("same sizes need an empty proof and equal roots")
        return
    if first == 0:
        if path:
            raise Invalid("a proof from the empty tree is empty")
        return
    if not path:
        raise Invalid("empty proof")
    if first & (first - 1) == 0:
        path = [first_hash] + path
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise Invalid("proof too long")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise Invalid("proof too short")
    if fr != first_hash:
        raise Invalid("proof does not lead to the old root")
    if sr != second_hash:
        raise Invalid("proof does not lead to the new root")


def open_checkpoint(note, vkey):
    """C2SP signed-note: TEXT \\n SIGNATURES; key NAME+KEYID+BASE64(0x01 || pubkey)."""
    name, key_id_hex, key_b64 = vkey.strip().split("+", 2)
    key = base64.b64decode(key_b64, validate=True)
    if key[0] != 1 or len(key) != 33:
        raise Invalid("not an Ed25519 verifier key")
    key_id = hashlib.sha256(name.encode() + b"\n" + key).digest()[:4]
    if key_id.hex() != key_id_hex:
        raise Invalid("verifier key id does not match")
    text, sep, sigs = note.rpartition("\n\n")
    if not sep or not sigs.endswith("\n"):
        raise Invalid("not a signed note")
    text += "\n"
    ok = False
    for line in sigs[:-1].split("\n"):
        if not line.startswith("\u2014 "):
            raise Invalid("bad signature line")
        sig_name, sig_b64 = line[2:].split(" ")
        sig = base64.b64decode(sig_b64, validate=True)
        if sig_name == name and sig[:4] == key_id:
            if not verify(key[1:], text.encode(), sig[4:]):
                raise Invalid("bad signature")
            ok = True
    if not ok:
        raise Invalid("no signature by the key")
    lines = text.split("\n")
    origin, size, root = lines[0], int(lines[1]), base64.b64decode(lines[2], validate=True)
    if str(size) != lines[1] or len(root) != 32:
        raise Invalid("bad checkpoint body")
    return origin, size, root


def length_prefixed(h, fields):
    for f in fields:
        h.update(len(f).to_bytes(8, "big") + f)


def event_hash(prev, event, payload_text):
    """chronicle's chain hash (docs/event-log.md), in its two formats: SHA-256(prev ||
    fields), each field an 8-byte big-endian length and its bytes. Format 1 covers the
    payload's text; format 2 a salted commitment to it and the batch record's hash."""
    common = [
        str(event["seq"]).encode(),
        event["id"].encode(),
        event["incident"].encode(),
        str(event["version"]).encode(),
        event["kind"].encode(),
        str(event["schema_version"]).encode(),
        event["recorded_at"].encode(),
        event["recorded_by"].encode(),
    ]
    h = hashlib.sha256(prev)
    if event.get("format", 1) == 1:
        if "redacted_by" in event:
            raise Invalid("a redacted format-1 event's hash cannot be recomputed")
        length_prefixed(h, [b"chronicle-event-v1"] + common + [payload_text.encode()])
        return h.digest()
    if event["format"] != 2:
        raise Invalid("unknown log format")
    commitment = hexes([event["payload_commitment"]])[0]
    if "redacted_by" not in event:
        c = hashlib.sha256()
        length_prefixed(c, [b"chronicle-payload-v2", hexes([event["payload_salt"]])[0],
                            payload_text.encode()])
        if c.digest() != commitment:
            raise Invalid("the payload does not match its commitment")
    batch = event["batch"]
    b = hashlib.sha256()
    length_prefixed(b, [b"chronicle-batch-v2", batch["id"].encode(), batch["command"].encode(),
                        batch["chronicle_version"].encode(),
                        (batch["input_sha256"] or "").encode(),
                        (batch["correlation"] or "").encode()])
    length_prefixed(h, [b"chronicle-event-v2"] + common + [commitment, b.digest()])
    return h.digest()


def raw_payload(proof_text):
    """The payload's JSON text as it appears in the proof (the hash covers that text)."""
    start = proof_text.index('"payload": ') + len('"payload": ')
    decoder = json.JSONDecoder()
    _, end = decoder.raw_decode(proof_text, start)
    return proof_text[start:end]


def hexes(xs):
    out = []
    for x in xs:
        if len(x) != 64 or x != x.lower():
            raise Invalid("not a lowercase hex hash")
        out.append(bytes.fromhex(x))
    return out


def main(argv):
    mode, proof_path, note_path, key_path = argv[1:5]
    proof_text = open(proof_path, encoding="utf-8").read()
    note = open(note_path, encoding="utf-8").read()
    vkey = open(key_path, encoding="utf-8").read()
    try:
        origin, size, root = open_checkpoint(note, vkey)
        proof = json.loads(proof_text)
        if mode == "inclusion":
            event = proof["event"]
            prev = hexes([proof["prev_hash"]])[0]
            computed = event_hash(prev, event, raw_payload(proof_text))
            if computed.hex() != event["hash"]:
                raise Invalid("the event's hash does not recompute")
            if proof["leaf_index"] != event["seq"] - 1:
                raise Invalid("leaf index is not seq - 1")
            if proof["tree_size"] != size or base64.b64decode(proof["root"], validate=True) != root:
                raise Invalid("the proof's tree is not the checkpoint's")
            verify_inclusion(proof["leaf_index"], size, leaf_hash(computed),
                             hexes(proof["audit_path"]), root)
        elif mode == "consistency":
            if proof["new_size"] != size:
                raise Invalid("new size is not the checkpoint's")
            new_root = base64.b64decode(proof["new_root"], validate=True)
            if new_root != root:
                raise Invalid("new root is not the checkpoint's")
            old_root = base64.b64decode(proof["old_root"], validate=True)
            verify_consistency(proof["old_size"], proof["new_size"], old_root, new_root,
                               hexes(proof["proof"]))
        else:
            raise Invalid("unknown mode " + mode)
    except (Invalid, ValueError, KeyError, TypeError, IndexError) as e:
        print("invalid: %s" % e, file=sys.stderr)
        return 1
    print("valid: %s %d" % (origin, size))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
