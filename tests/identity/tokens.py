#!/usr/bin/env python3
"""Tokens for the identity tests (CONTRACT §19), made by PyJWT and `cryptography`, not by
Checkout Guard's own code, so that the server is tested against an outside implementation.

  tokens.py keys DIR      writes DIR/{rsa,ec,ed,other}.pem (private keys) and DIR/jwks.json
                          (the public keys of rsa, ec and ed, with kids rsa-1, ec-1, ed-1)
  tokens.py mint DIR      reads a JSON list of requests on stdin, prints a JSON list of tokens
  tokens.py mint-lines DIR  the same, one token per line (for the load generator)

A request: {"key": K, "alg": A, "kid": KID or null, "claims": {...}, "header": {...}}
where K is one of
  rsa | ec | ed | other   a private key from DIR ("other" is an RSA key not in the set)
  hs:SECRET               HS256 with SECRET
  none                    an unsigned token (alg "none")
  rsa-public-as-hmac      HS256 keyed with the RSA public key's PEM (key confusion; PyJWT
                          refuses to make this, so the HMAC is computed with Python's hmac)
"""

import base64
import hashlib
import hmac
import json
import os
import sys

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

PEM = serialization.Encoding.PEM
PKCS8 = serialization.PrivateFormat.PKCS8
NONE = serialization.NoEncryption()


def keys(directory):
    os.makedirs(directory, exist_ok=True)
    made = {
        "rsa": rsa.generate_private_key(public_exponent=65537, key_size=2048),
        "ec": ec.generate_private_key(ec.SECP256R1()),
        "ed": ed25519.Ed25519PrivateKey.generate(),
        "other": rsa.generate_private_key(public_exponent=65537, key_size=2048),
    }
    for name, key in made.items():
        with open(os.path.join(directory, name + ".pem"), "wb") as f:
            f.write(key.private_bytes(PEM, PKCS8, NONE))
    public = []
    for name, kid, alg, algorithm in [
        ("rsa", "rsa-1", "RS256", RSAAlgorithm),
        ("ec", "ec-1", "ES256", ECAlgorithm),
        ("ed", "ed-1", "EdDSA", OKPAlgorithm),
    ]:
        jwk = json.loads(algorithm.to_jwk(made[name].public_key()))
        jwk.update({"kid": kid, "use": "sig", "alg": alg})
        public.append(jwk)
    with open(os.path.join(directory, "jwks.json"), "w") as f:
        json.dump({"keys": public}, f)


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


LOADED = {}


def private(directory, name):
    """A private key of DIR, loaded once (loading an RSA key checks it, which is slow)."""
    path = os.path.join(directory, name + ".pem")
    if path not in LOADED:
        with open(path, "rb") as f:
            LOADED[path] = serialization.load_pem_private_key(f.read(), password=None)
    return LOADED[path]


def mint(directory, request):
    key, alg, claims = request["key"], request.get("alg"), request["claims"]
    header = dict(request.get("header") or {})
    if request.get("kid") is not None:
        header["kid"] = request["kid"]
    if key == "none":
        return jwt.encode(claims, None, algorithm="none", headers=header)
    if key == "rsa-public-as-hmac":
        public = private(directory, "rsa").public_key().public_bytes(
            PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        head = {"alg": "HS256", "typ": "JWT", **header}
        signing_input = (
            b64(json.dumps(head).encode()) + "." + b64(json.dumps(claims).encode())
        )
        mac = hmac.new(public, signing_input.encode(), hashlib.sha256).digest()
        return signing_input + "." + b64(mac)
    if key.startswith("hs:"):
        return jwt.encode(claims, key[3:], algorithm="HS256", headers=header)
    return jwt.encode(claims, private(directory, key), algorithm=alg, headers=header)


def main():
    command, directory = sys.argv[1], sys.argv[2]
    if command == "keys":
        keys(directory)
    elif command == "mint":
        requests = json.load(sys.stdin)
        json.dump([mint(directory, r) for r in requests], sys.stdout)
    elif command == "mint-lines":
        for r in json.load(sys.stdin):
            print(mint(directory, r))
    else:
        sys.exit("usage: tokens.py keys|mint|mint-lines DIR")


if __name__ == "__main__":
    main()
