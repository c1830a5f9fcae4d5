"""tlog-tiles paths and bundles, and cosignature/v1 lines, against the C2SP texts."""

from __future__ import annotations

import base64

import pytest

from parcelguard.ledger.checkpoint import MalformedError
from parcelguard.ledger.cosign import Cosigner, CosignerVerifier, parse_line
from parcelguard.ledger.tiles import tiles_for_size
from parcelguard.ledger.tlog import bundle, encode_index, parse_tile_path, tile_path, unbundle

BODY = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"


def test_tile_index_is_encoded_as_the_spec_shows() -> None:
    assert encode_index(1234067) == "x001/x234/067"  # tlog-tiles' own example
    assert encode_index(0) == "000"
    assert tile_path(2, 1000, 17) == "tile/2/x001/000.p/17"
    assert tile_path(None, 5) == "tile/entries/005"
    assert parse_tile_path("0/x001/x234/067") == (0, 1234067, None)
    assert parse_tile_path("entries/x001/234.p/17") == (None, 1234, 17)


@pytest.mark.parametrize("bad", ["00/000", "0/x000/001", "0/1234", "0/000.p/256", "0/000.p/0",
                                 "0/000.p/07", "64/000", "0/x001", "0/001/002", "entries",
                                 "-1/000", "0/abc"])
def test_non_canonical_tile_paths_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match=r"tile|width"):
        parse_tile_path(bad)


def test_a_tree_of_70000_has_the_tiles_the_spec_lists() -> None:
    tiles = list(tiles_for_size(70_000))
    by_level = {lvl: [(k.index, w) for k, w in tiles if k.level == lvl] for lvl in (0, 1, 2)}
    assert sum(w == 256 for _, w in by_level[0]) == 273
    assert by_level[0][-1] == (273, 112)
    assert by_level[1] == [(0, 256), (1, 17)]
    assert by_level[2] == [(0, 1)]


def test_bundles_are_uint16_length_prefixed() -> None:
    assert bundle([b"ab", b""]) == b"\x00\x02ab\x00\x00"
    assert unbundle(bundle([b"x" * 300, b"y"])) == [b"x" * 300, b"y"]
    with pytest.raises(ValueError, match="truncated"):
        unbundle(b"\x00\x05abc")
    with pytest.raises(ValueError, match="does not fit"):
        bundle([b"z" * 65_536])


def test_the_spec_example_cosignature_parses_to_its_timestamp() -> None:
    # tlog-cosignature's example line; its time line is "time 1679315147".
    line = ("\u2014 witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI"
            "5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==")
    parsed = parse_line(line)
    assert parsed is not None
    name, kid, ts, sig = parsed
    assert (name, kid, ts, len(sig)) == ("witness.example.com/w1", 0x8D66CF3F, 1679315147, 64)


def test_a_cosignature_binds_key_time_and_checkpoint() -> None:
    w = Cosigner.generate("witness.example/w1")
    v = CosignerVerifier.from_key(w.verifier().key_string())
    line = w.cosign(BODY, 1679315147)
    assert v.verify_line(BODY, line) == 1679315147
    assert v.verify_line(BODY.replace("20852163", "20852164"), line) is None
    blob = bytearray(base64.b64decode(line.split(" ")[2]))
    blob[11] ^= 1  # another timestamp
    forged = f"\u2014 witness.example/w1 {base64.b64encode(bytes(blob)).decode()}\n"
    assert v.verify_line(BODY, forged) is None
    # the same key under another name has another key ID: not this witness's line
    assert CosignerVerifier.from_key(Cosigner(
        "witness.example/w2", w.private_key).verifier().key_string()).verify_line(
        BODY, line) is None
    assert Cosigner.from_key(w.key_string()).verifier() == w.verifier()
    assert "PRIVATE" not in repr(w)
    with pytest.raises(MalformedError):
        CosignerVerifier.from_key(w.verifier().key_string().replace("+", "+0", 1))
