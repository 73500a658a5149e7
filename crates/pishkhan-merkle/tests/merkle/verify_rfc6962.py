#!/usr/bin/env python3
"""Independent RFC 6962 / RFC 9162 verifier, standard library only.

Written from the RFC text, sharing no code with the Rust crate, so that the
Rust test suite can check that an outside implementation accepts the proofs
the crate emits (and rejects tampered ones).

Input (stdin): {"cases": [case, ...]} where each case is one of
  {"kind": "inclusion", "leaf": hex leaf DATA (not hash), "index": int,
   "tree_size": int, "proof": [hex], "root": hex}
  {"kind": "consistency", "old_size": int, "new_size": int,
   "old_root": hex, "new_root": hex, "proof": [hex]}
  {"kind": "root", "leaves": [hex leaf DATA]}
  {"kind": "checkpoint", "body": str}
Output (stdout): a JSON list with one result per case, in order:
  inclusion / consistency -> true (accepted) or false (rejected)
  root                    -> hex MTH of the leaves
  checkpoint              -> {"origin", "size", "root"} or null if malformed
"""

import base64
import binascii
import hashlib
import json
import re
import sys


def sha256(data):
    return hashlib.sha256(data).digest()


def leaf_hash(data):
    return sha256(b"\x00" + data)


def node_hash(left, right):
    return sha256(b"\x01" + left + right)


def mth(leaves):
    """RFC 6962 section 2.1 Merkle Tree Hash over raw leaf data."""
    n = len(leaves)
    if n == 0:
        return sha256(b"")
    if n == 1:
        return leaf_hash(leaves[0])
    k = 1
    while k * 2 < n:
        k *= 2
    return node_hash(mth(leaves[:k]), mth(leaves[k:]))


def verify_inclusion(leaf, index, tree_size, proof, root):
    """RFC 9162 section 2.1.3.2."""
    if index >= tree_size:
        return False
    fn, sn = index, tree_size - 1
    r = leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(first, second, first_hash, second_hash, path):
    """RFC 9162 section 2.1.4.2, plus the two trivial cases it leaves out."""
    if first > second:
        return False
    if first == second:
        return len(path) == 0 and first_hash == second_hash
    if first == 0:
        return len(path) == 0 and first_hash == sha256(b"")
    if len(path) == 0:
        return False
    path = list(path)
    if first & (first - 1) == 0:  # exact power of two
        path.insert(0, first_hash)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first_hash and sr == second_hash and sn == 0


def parse_checkpoint(body):
    """C2SP tlog-checkpoint body without extension lines."""
    if not body.endswith("\n"):
        return None
    lines = body[:-1].split("\n")
    if len(lines) != 3 or not lines[0]:
        return None
    origin, size, root = lines
    if not re.fullmatch(r"0|[1-9][0-9]*", size):
        return None
    try:
        raw = base64.b64decode(root, validate=True)
    except binascii.Error:
        return None
    if len(raw) != 32 or base64.b64encode(raw).decode() != root:
        return None
    return {"origin": origin, "size": int(size), "root": raw.hex()}


def run(case):
    kind = case["kind"]
    unhex = bytes.fromhex
    if kind == "inclusion":
        return verify_inclusion(
            leaf_hash(unhex(case["leaf"])),
            case["index"],
            case["tree_size"],
            [unhex(p) for p in case["proof"]],
            unhex(case["root"]),
        )
    if kind == "consistency":
        return verify_consistency(
            case["old_size"],
            case["new_size"],
            unhex(case["old_root"]),
            unhex(case["new_root"]),
            [unhex(p) for p in case["proof"]],
        )
    if kind == "root":
        return mth([unhex(x) for x in case["leaves"]]).hex()
    if kind == "checkpoint":
        return parse_checkpoint(case["body"])
    raise ValueError("unknown case kind: %r" % kind)


def main():
    cases = json.load(sys.stdin)["cases"]
    json.dump([run(c) for c in cases], sys.stdout)


if __name__ == "__main__":
    main()
