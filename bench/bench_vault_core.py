"""Vault crypto core: field encryption rates against raw AES-GCM, in one run.

Encrypts and decrypts N field values (default 1,000,000; realistic 11-40 byte UTF-8:
mobile numbers, Chinese names, addresses) spread over many subjects' keys, three
fields per parcel record, in batches as the bulk-collection path would:

* raw      - `AESGCM.encrypt/decrypt` on the same UTF-8 bytes with the same keys
             objects and the same nonce strategy (one urandom call per 4096 nonces),
             no associated data, no framing: the floor to compare against;
* cipher   - `cipher.encrypt_many/decrypt_many` (str in/out, length-prefixed AD,
             versioned format);
* vault    - `Vault.encrypt_many/decrypt_many` from subject key records (warm cache).

Target: cipher >= 0.3x raw. Usage: python bench/bench_vault_core.py [--fields N]
"""

from __future__ import annotations

import argparse
import os
import random
import time
from collections.abc import Callable

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from parcelguard.vault.cipher import DataKey, decrypt_many, encrypt_many
from parcelguard.vault.facade import Vault
from parcelguard.vault.keys import SubjectKeyRecord
from parcelguard.vault.kms import InMemoryKms

NONCE_CHUNK = 4096  # the same chunking as cipher._NONCE_CHUNK
FIELDS = ("recipient_name", "recipient_phone", "recipient_address")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国"
PLACES = ["北京市朝阳区", "上海市浦东新区", "广州市天河区", "深圳市南山区", "成都市武侯区"]
ROADS = ["建国路", "世纪大道", "天河北路", "科技园南路", "人民南路四段"]


def _value(rnd: random.Random, field: str) -> str:
    if field == "recipient_phone":  # 11 bytes
        return f"1{rnd.choice('3456789')}{rnd.randrange(10**9):09d}"
    if field == "recipient_name":  # 4 CJK characters and a station code: 12-20 bytes
        name = rnd.choice(SURNAMES) + "".join(rnd.choices(GIVEN, k=3))
        return name + f"#{rnd.randrange(10 ** rnd.randint(0, 6))}"
    address = f"{rnd.choice(PLACES)}{rnd.choice(ROADS)}{rnd.randint(1, 999)}号"  # 25-40 bytes
    return address.encode()[:40].decode(errors="ignore")


def _rate(n: int, fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fields", type=int, default=1_000_000)
    parser.add_argument("--subjects", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=2, help="best of this many")
    args = parser.parse_args()
    n, batch = args.fields, args.batch

    rnd = random.Random(20240601)
    kms = InMemoryKms()
    vault = Vault(kms, max_cached_subjects=args.subjects)
    keyset = vault.new_keyset("ent-bench")
    records = [vault.new_subject_key(keyset, f"subj-{i:07d}") for i in range(args.subjects)]
    deks = [vault.data_key(keyset, r) for r in records]
    raw_keys = [AESGCM(os.urandom(32)) for _ in range(args.subjects)]

    subject_of = [(i // 3) % args.subjects for i in range(n)]
    record_ids = [f"parcel-{i // 3:09d}" for i in range(n)]
    fields = [FIELDS[i % 3] for i in range(n)]
    values = [_value(rnd, f) for f in fields]
    sizes = [len(v.encode()) for v in values]
    plain_bytes = [v.encode() for v in values]
    print(
        f"{n:,} fields over {args.subjects:,} subject keys, batches of {batch:,}; "
        f"values {min(sizes)}-{max(sizes)} bytes, mean {sum(sizes) / n:.1f}"
    )

    places = list(zip(subject_of, record_ids, fields, strict=True))
    items = [(deks[s], r, f, v) for (s, r, f), v in zip(places, values, strict=True)]
    vitems = [(records[s], r, f, v) for (s, r, f), v in zip(places, values, strict=True)]
    batches = [(lo, min(lo + batch, n)) for lo in range(0, n, batch)]
    raw_ct: list[bytes] = []
    raw_nonces: list[bytes] = []
    ours: list[bytes] = []
    # Decrypt inputs are built untimed, after each encrypt, as rows read from a table.
    ditems: list[tuple[DataKey, str, str, bytes]] = []
    vditems: list[tuple[SubjectKeyRecord, str, str, bytes]] = []

    def raw_encrypt() -> None:
        raw_ct.clear()
        raw_nonces.clear()
        for lo, hi in batches:
            for clo in range(lo, hi, NONCE_CHUNK):
                chi = min(clo + NONCE_CHUNK, hi)
                nonces = os.urandom(12 * (chi - clo))
                off = 0
                for i in range(clo, chi):
                    nonce = nonces[off : off + 12]
                    off += 12
                    raw_nonces.append(nonce)
                    raw_ct.append(raw_keys[subject_of[i]].encrypt(nonce, plain_bytes[i], None))

    def raw_decrypt() -> None:
        for lo, hi in batches:
            for i in range(lo, hi):
                raw_keys[subject_of[i]].decrypt(raw_nonces[i], raw_ct[i], None)

    def cipher_encrypt() -> None:
        ours.clear()
        for lo, hi in batches:
            ours.extend(encrypt_many(items[lo:hi], enterprise_id="ent-bench"))

    def cipher_decrypt() -> None:
        for lo, hi in batches:
            decrypt_many(ditems[lo:hi], enterprise_id="ent-bench")

    def vault_encrypt() -> None:
        for lo, hi in batches:
            vault.encrypt_many(keyset, vitems[lo:hi])

    def vault_decrypt() -> None:
        for lo, hi in batches:
            vault.decrypt_many(keyset, vditems[lo:hi])

    best: dict[str, float] = {}

    def measure(name: str, fn: Callable[[], object]) -> None:
        best[name] = max(best.get(name, 0.0), _rate(n, fn))

    for _ in range(args.rounds):  # interleaved so drift hits both sides alike
        measure("raw encrypt", raw_encrypt)
        measure("cipher encrypt", cipher_encrypt)
        measure("vault encrypt", vault_encrypt)
        ditems[:] = [(d, r, f, c) for (d, r, f, _), c in zip(items, ours, strict=True)]
        vditems[:] = [(k, r, f, c) for (k, r, f, _), c in zip(vitems, ours, strict=True)]
        measure("raw decrypt", raw_decrypt)
        measure("cipher decrypt", cipher_decrypt)
        measure("vault decrypt", vault_decrypt)

    check = decrypt_many(ditems[:batch], enterprise_id="ent-bench")
    assert check == values[:batch], "round trip failed"
    print(f"{'path':<16}{'fields/s':>14}{'x raw':>9}")
    for op in ("encrypt", "decrypt"):
        raw = best[f"raw {op}"]
        for side in ("raw", "cipher", "vault"):
            rate = best[f"{side} {op}"]
            print(f"{side + ' ' + op:<16}{rate:>14,.0f}{rate / raw:>9.2f}")
    overhead = sum(len(c) for c in ours) / n - sum(len(c) for c in raw_ct) / n
    print(f"ciphertext overhead vs raw: {overhead:.0f} bytes per field (format, version, nonce)")


if __name__ == "__main__":
    main()
