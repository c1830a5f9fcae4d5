"""Keys and certificates of a federation: the private CA made at set-up, each
node's Ed25519 signing key and its TLS certificate.

A node's TLS certificate is bound to its organisation and its signing key: the
subject's O and CN are the org id and the SAN holds ``URI:parcelguard:org:<org>``
and ``URI:parcelguard:node-key:<key id>``. A receiver checks both against the
signed directory, so a certificate of another node (even one the CA signed) is
refused for this sender.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from ipaddress import ip_address
from pathlib import Path
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import NameOID

ORG_URI: Final = "parcelguard:org:"
KEY_URI: Final = "parcelguard:node-key:"
# Node certificates are renewed by re-issuing (`node ca issue`); a year bounds the
# life of a stolen key without making set-up a yearly emergency.
CERT_DAYS: Final = 365
CA_DAYS: Final = 3650


def write_private(path: Path, data: bytes) -> None:
    """Write a key file readable by the service account only (0600, dir 0700)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def key_id(public: ed25519.Ed25519PublicKey) -> str:
    """The node key's id: the first 16 hex digits of SHA-256 over the raw key."""
    return hashlib.sha256(raw_public(public)).hexdigest()[:16]


def raw_public(public: ed25519.Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_b64(public: ed25519.Ed25519PublicKey) -> str:
    return base64.b64encode(raw_public(public)).decode()


def public_from_b64(text: str) -> ed25519.Ed25519PublicKey:
    return ed25519.Ed25519PublicKey.from_public_bytes(base64.b64decode(text, validate=True))


def fingerprint(cert_der: bytes) -> str:
    """SHA-256 of a certificate's DER, hex: what the directory pins."""
    return hashlib.sha256(cert_der).hexdigest()


def new_signing_key(path: Path) -> ed25519.Ed25519PrivateKey:
    key = ed25519.Ed25519PrivateKey.generate()
    write_private(path, key.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    return key


def load_signing_key(path: Path) -> ed25519.Ed25519PrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise ValueError(f"{path} is not an Ed25519 key")
    return key


def new_tls_key(path: Path) -> ec.EllipticCurvePrivateKey:
    # P-256: what every TLS stack speaks (Ed25519 certificates are not in OpenSSL's
    # default TLS 1.2 signature list everywhere).
    key = ec.generate_private_key(ec.SECP256R1())
    write_private(path, key.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    return key


def _load_ec(path: Path) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{path} is not an EC key")
    return key


@dataclass(frozen=True)
class CaFiles:
    directory: Path

    @property
    def key(self) -> Path:
        return self.directory / "ca.key"

    @property
    def cert(self) -> Path:
        return self.directory / "ca.crt"


def init_ca(out: Path, *, name: str = "parcelguard federation CA") -> CaFiles:
    """A new private CA (its key stays in ``out``: keep it offline after set-up)."""
    ca = CaFiles(out)
    if ca.key.exists():
        raise FileExistsError(f"a CA already exists in {out}")
    out.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = new_tls_key(ca.key)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=CA_DAYS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False,
                                         decipher_only=False), critical=True)
            .sign(key, hashes.SHA256()))
    ca.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return ca


def issue_cert(ca: CaFiles, *, org: str, node_key_id: str,
               tls_public: ec.EllipticCurvePublicKey, hosts: list[str]) -> x509.Certificate:
    """A node certificate for ``org`` and its node key, valid for ``hosts`` (names
    or IP addresses the node is reached at), for server and client use."""
    ca_key = _load_ec(ca.key)
    ca_cert = x509.load_pem_x509_certificate(ca.cert.read_bytes())
    names: list[x509.GeneralName] = [
        x509.UniformResourceIdentifier(ORG_URI + org),
        x509.UniformResourceIdentifier(KEY_URI + node_key_id)]
    for h in hosts:
        try:
            names.append(x509.IPAddress(ip_address(h)))
        except ValueError:
            names.append(x509.DNSName(h))
    now = datetime.now(UTC)
    subject = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
                         x509.NameAttribute(NameOID.COMMON_NAME, org)])
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(ca_cert.subject)
            .public_key(tls_public).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=CERT_DAYS))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH,
                                                  x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))


@dataclass(frozen=True)
class CertBinding:
    """What a node certificate says about its holder."""

    orgs: tuple[str, ...]
    key_ids: tuple[str, ...]
    fingerprint: str


def binding(cert_der: bytes) -> CertBinding:
    cert = x509.load_der_x509_certificate(cert_der)
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        uris = san.get_values_for_type(x509.UniformResourceIdentifier)
    except x509.ExtensionNotFound:
        uris = []
    return CertBinding(
        orgs=tuple(u[len(ORG_URI):] for u in uris if u.startswith(ORG_URI)),
        key_ids=tuple(u[len(KEY_URI):] for u in uris if u.startswith(KEY_URI)),
        fingerprint=fingerprint(cert_der))
