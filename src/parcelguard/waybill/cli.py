"""``parcelguard waybill ...``: masking, labels, virtual numbers, partners, shares.

What is pure lives here: ``mask``, and the partner's side of sharing (``partners
keygen``, ``open-share``), which touch no stored PI. The commands that read a
stored parcel or decide a share (``render``, ``bind``, ``bindings``, ``share``,
``partners add|list|contract``) go through the access gate and come from
``access/waybills/cli.py``; access/plugin.py adds them (``build_app``).

PI never goes on the command line unless the operator puts it there: ``mask``
reads the value from standard input when it is omitted, which keeps it out of shell
history. Bad input prints a clear error, exits 2 and changes nothing.
"""

from __future__ import annotations

import base64
import json
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated

import typer
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from rich.console import Console

from parcelguard.core.errors import DomainError
from parcelguard.waybill.masking import MASKERS, mask
from parcelguard.waybill.partner_payload import generate_keypair, open_shared

Commands = Mapping[str, Callable[..., None]]

out = Console()
err = Console(stderr=True, soft_wrap=True)


def fail(message: str, code: int = 2) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}", markup=True, highlight=False)
    return typer.Exit(code)


def write_private(path: Path, data: bytes) -> None:
    """A new file only its owner can read (payloads and keys are secrets)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


# -- masking ---------------------------------------------------------------------------


def mask_cmd(
    field: Annotated[str, typer.Option(help="name, phone, address or id_number.")],
    value: Annotated[str | None, typer.Argument(
        help="The value; omit (or '-') to read it from standard input.")] = None,
) -> None:
    """Print the masked value, nothing else."""
    if field not in MASKERS:
        raise fail(f"unknown field {field[:40]!r}: expected one of {', '.join(MASKERS)}")
    text = sys.stdin.read() if value in (None, "-") else value
    assert text is not None
    print(mask(field, text.strip()))


# -- the partner's side of sharing ----------------------------------------------------


def partners_keygen(
    key_out: Annotated[Path, typer.Option("--out", help="Private key file to create (0600).")],
) -> None:
    """Make a partner's X25519 key pair (run by the partner); prints the public key."""
    private, public = generate_keypair()
    try:
        write_private(key_out, private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))
    except FileExistsError:
        raise fail(f"{key_out} exists; not overwriting a key") from None
    print(base64.b64encode(public).decode())


def open_share_cmd(
    payload: Annotated[Path, typer.Argument(help="The payload file.")],
    key: Annotated[Path, typer.Option(help="The partner's private key (PEM).")],
    fields_out: Annotated[Path, typer.Option("--out", help="JSON file to create (0600).")],
) -> None:
    """Partner side: open a payload with the partner's private key."""
    try:
        private = serialization.load_pem_private_key(key.read_bytes(), password=None)
        data = payload.read_bytes()
    except (OSError, ValueError) as exc:
        raise fail(f"cannot read the key or payload: {type(exc).__name__}") from None
    if not isinstance(private, X25519PrivateKey):
        raise fail("the key is not an X25519 private key")
    try:
        opened = open_shared(data, private)
        write_private(fields_out, json.dumps({**opened.header, "fields": opened.fields},
                                             ensure_ascii=False).encode())
    except DomainError as exc:
        raise fail(exc.message) from None
    except FileExistsError:
        raise fail(f"{fields_out} exists; not overwriting") from None
    out.print(f"opened share {opened.header['share_id']} for waybill "
              f"{opened.header['waybill_no']}: {fields_out}", highlight=False)


def build_app(*, extra_commands: Commands | None = None,
              extra_partner_commands: Commands | None = None) -> typer.Typer:
    """The ``waybill`` sub-app: the commands above plus those access/plugin.py passes in
    (``extra_commands`` at the top level, ``extra_partner_commands`` under
    ``partners``)."""
    app = typer.Typer(help="Privacy waybills (GB/T 41833-2022): masking, labels, virtual "
                      "numbers, partner sharing.", no_args_is_help=True)
    partners = typer.Typer(help="Partner carriers and outlets, their keys and processing "
                           "contracts.", no_args_is_help=True)
    app.add_typer(partners, name="partners")
    top: dict[str, Callable[..., None]] = {"mask": mask_cmd, **(extra_commands or {}),
                                           "open-share": open_share_cmd}
    for name, command in top.items():
        app.command(name)(command)
    for name, command in {"keygen": partners_keygen, **(extra_partner_commands or {})}.items():
        partners.command(name)(command)
    return app
