"""Key material in a backup: sealed under the operator's passphrase, never in the clear.

scrypt (N=2^15, r=8, p=1: ~0.1 s and 32 MiB per attempt, so guessing is slow) derives
an AES-256-GCM key from the passphrase; the sealed file is JSON with the parameters,
the salt, the nonce and the ciphertext of the key files. The associated data binds
the format, so the blob cannot be passed off as something else.
"""

from __future__ import annotations

import base64
import json
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from parcelguard.core.errors import InvalidInput, Refused

FORMAT = "parcelguard-sealed-keys/1"
MIN_PASSPHRASE = 12
_N, _R, _P = 2**15, 8, 1


def _kdf(passphrase: str, salt: bytes, n: int, r: int, p: int) -> AESGCM:
    key = Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase.encode("utf-8"))
    return AESGCM(key)


def seal(files: dict[str, bytes], passphrase: str) -> bytes:
    if len(passphrase) < MIN_PASSPHRASE:
        raise InvalidInput(f"the backup passphrase must have at least {MIN_PASSPHRASE} "
                           "characters")
    salt, nonce = os.urandom(16), os.urandom(12)
    payload = json.dumps({name: base64.b64encode(data).decode() for name, data
                          in sorted(files.items())}).encode()
    ct = _kdf(passphrase, salt, _N, _R, _P).encrypt(nonce, payload, FORMAT.encode())
    return json.dumps({"format": FORMAT, "kdf": "scrypt", "n": _N, "r": _R, "p": _P,
                       "salt": base64.b64encode(salt).decode(),
                       "nonce": base64.b64encode(nonce).decode(),
                       "ciphertext": base64.b64encode(ct).decode()}, indent=1).encode()


def unseal(blob: bytes, passphrase: str) -> dict[str, bytes]:
    try:
        doc = json.loads(blob)
        if doc.get("format") != FORMAT:
            raise ValueError(doc.get("format"))
        aead = _kdf(passphrase, base64.b64decode(doc["salt"]), int(doc["n"]), int(doc["r"]),
                    int(doc["p"]))
        payload = aead.decrypt(base64.b64decode(doc["nonce"]),
                               base64.b64decode(doc["ciphertext"]), FORMAT.encode())
    except InvalidTag:
        raise Refused("the passphrase does not open this backup's keys (keys.sealed); "
                      "supply the passphrase used for `parcelguard backup`") from None
    except (ValueError, KeyError, TypeError):
        raise Refused("keys.sealed is not a parcelguard sealed-keys file; use a backup "
                      "made by `parcelguard backup`") from None
    return {name: base64.b64decode(data) for name, data in json.loads(payload).items()}
