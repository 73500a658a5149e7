#!/usr/bin/env python3
"""Verify a Pishkhan compact JWS against a JWKS with a standard JOSE library.

Usage: verify_jws.py JWKS_FILE TOKEN_FILE

Uses jwcrypto if importable, else joserfc (PISHKHAN_JOSE_LIB=jwcrypto or
=joserfc forces one). Only alg EdDSA is allowed and the key is chosen by
the token's kid from the JWKS.

Exit status: 0 and the payload bytes on stdout if the token verifies;
1 if it is refused; 3 if no JOSE library is installed (run
`pip install jwcrypto`; CI installs it); 2 on bad usage.
"""

import importlib.util
import os
import sys

LIBRARIES = ("jwcrypto", "joserfc")


def verify_with_jwcrypto(jwks_text, token):
    from jwcrypto import jwk, jws

    keyset = jwk.JWKSet.from_json(jwks_text)
    obj = jws.JWS()
    obj.allowed_algs = ["EdDSA"]
    obj.deserialize(token)
    obj.verify(keyset, alg="EdDSA")
    return obj.payload


def verify_with_joserfc(jwks_text, token):
    import json

    from joserfc import jws
    from joserfc.jwk import KeySet

    keyset = KeySet.import_key_set(json.loads(jwks_text))
    obj = jws.deserialize_compact(token, keyset, algorithms=["EdDSA"])
    return obj.payload


def choose_library():
    forced = os.environ.get("PISHKHAN_JOSE_LIB")
    candidates = (forced,) if forced else LIBRARIES
    for name in candidates:
        if name in LIBRARIES and importlib.util.find_spec(name) is not None:
            return name
    return None


def main(argv):
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    library = choose_library()
    if library is None:
        print(
            "no JOSE library found (tried %s): run `pip install jwcrypto`"
            % ", ".join(LIBRARIES),
            file=sys.stderr,
        )
        return 3
    with open(argv[1], encoding="utf-8") as f:
        jwks_text = f.read()
    with open(argv[2], encoding="utf-8") as f:
        token = f.read().strip()
    verify = verify_with_jwcrypto if library == "jwcrypto" else verify_with_joserfc
    try:
        payload = verify(jwks_text, token)
    except Exception as error:  # any refusal by the library
        print("%s refused the token: %s: %s" % (library, type(error).__name__, error), file=sys.stderr)
        return 1
    print("verified with %s" % library, file=sys.stderr)
    sys.stdout.buffer.write(payload)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
