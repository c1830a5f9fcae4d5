from __future__ import annotations

import os
import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from parcelguard.vault.errors import (
    DecryptionError,
    KeyFileCorruptError,
    KeyFileError,
    KeyFileMissingError,
    KeyFilePermissionError,
)
from parcelguard.vault.kms import InMemoryKms, LocalFileKms


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_key_file_is_created_on_first_use_with_0600_in_a_0700_directory(tmp_path: Path) -> None:
    path = tmp_path / "home" / "keys" / "master.key"
    kms = LocalFileKms(path, create=True)
    assert _mode(path) == 0o600
    assert _mode(path.parent) == 0o700
    assert path.stat().st_size == 32
    assert [p.name for p in path.parent.iterdir()] == ["master.key"]  # no temp file left
    assert kms.unwrap(kms.wrap(b"k" * 32, b"ctx"), b"ctx") == b"k" * 32


def test_a_second_instance_on_the_same_file_reads_the_same_key(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    first = LocalFileKms(path, create=True)
    wrapped = first.wrap(b"enterprise key material.........", b"parcelguard/kek/a")
    second = LocalFileKms(path)
    assert second.key_id == first.key_id
    assert second.unwrap(wrapped, b"parcelguard/kek/a") == b"enterprise key material........."


def test_instances_starting_together_agree_on_one_key(tmp_path: Path) -> None:
    path = tmp_path / "home" / "master.key"
    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = set(pool.map(lambda _: LocalFileKms(path, create=True).key_id, range(16)))
    assert len(ids) == 1
    assert [p.name for p in path.parent.iterdir()] == ["master.key"]


def test_another_key_file_cannot_unwrap(tmp_path: Path) -> None:
    wrapped = LocalFileKms(tmp_path / "a.key", create=True).wrap(b"x" * 32, b"ctx")
    other = LocalFileKms(tmp_path / "b.key", create=True)
    with pytest.raises(DecryptionError):
        other.unwrap(wrapped, b"ctx")


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_refuses_to_start_when_others_can_read_the_key(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "master.key"
    LocalFileKms(path, create=True)
    path.chmod(mode)
    with pytest.raises(KeyFilePermissionError) as err:
        LocalFileKms(path)
    message = str(err.value)
    assert str(path) in message
    assert f"chmod 600 {path}" in message


def test_a_stricter_mode_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    key_id = LocalFileKms(path, create=True).key_id
    path.chmod(0o400)
    assert LocalFileKms(path).key_id == key_id


@pytest.mark.parametrize("size", [0, 31, 33, 64])
def test_refuses_a_key_file_of_the_wrong_size(tmp_path: Path, size: int) -> None:
    path = tmp_path / "master.key"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, b"\x01" * size)
    os.close(fd)
    with pytest.raises(KeyFileCorruptError, match="expected 32"):
        LocalFileKms(path)
    assert path.read_bytes() == b"\x01" * size  # never "repaired" by overwriting


def test_refuses_a_directory_or_fifo_in_place_of_the_key(tmp_path: Path) -> None:
    directory = tmp_path / "master.key"
    directory.mkdir(mode=0o700)
    with pytest.raises(KeyFilePermissionError, match="not a regular file"):
        LocalFileKms(directory, create=True)
    fifo = tmp_path / "fifo.key"
    os.mkfifo(fifo, 0o600)
    with pytest.raises(KeyFilePermissionError, match="not a regular file"):
        LocalFileKms(fifo, create=True)  # must fail fast, not block waiting for a writer


def test_a_missing_key_is_never_regenerated_unless_asked(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "master.key"
    with pytest.raises(KeyFileMissingError, match="parcelguard init") as err:
        LocalFileKms(path)
    assert "restore" in str(err.value)
    assert not path.exists()
    assert not path.parent.exists()


def test_key_file_errors_share_one_base(tmp_path: Path) -> None:
    assert issubclass(KeyFilePermissionError, KeyFileError)
    assert issubclass(KeyFileCorruptError, KeyFileError)


def test_wrapping_is_bound_to_its_context() -> None:
    kms = InMemoryKms()
    wrapped = kms.wrap(b"k" * 32, b"parcelguard/kek/enterprise-a")
    with pytest.raises(DecryptionError) as err:
        kms.unwrap(wrapped, b"parcelguard/kek/enterprise-b")
    assert "k" * 8 not in str(err.value)


def test_wrapping_is_randomised_and_tamper_evident() -> None:
    kms = InMemoryKms()
    a, b = kms.wrap(b"k" * 32, b"c"), kms.wrap(b"k" * 32, b"c")
    assert a != b
    tampered = bytearray(a)
    tampered[-1] ^= 1
    with pytest.raises(DecryptionError):
        kms.unwrap(bytes(tampered), b"c")


def test_repr_and_key_id_hold_no_key_material(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    kms = LocalFileKms(path, create=True)
    key = path.read_bytes()
    text = repr(kms) + kms.key_id
    assert key.hex() not in text
    assert key.hex()[:16] not in text
    assert repr(key) not in text
    assert str(path) in repr(kms)
