"""``parcelguard node ...``: set up, run and inspect a federation node.

Set-up by hand (docs/deployment.md): a CA (`node ca init`), the supervision node
(`node init --role supervision --ca`), every other node (`node init ... --ca
--supervision-key ... --supervision-url ...`), its card added to the directory on
the supervision node (`node directory add`), the directory fetched (`node
directory fetch`), then `node serve` on each. Every command names its node by
``--home``; the environment's PARCELGUARD_HOME is not used here.
"""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

import typer
from cryptography.hazmat.primitives import serialization
from rich.console import Console
from rich.table import Table

from parcelguard.core.errors import DomainError
from parcelguard.core.runtime import Runtime
from parcelguard.node import pki
from parcelguard.node import service as node_service
from parcelguard.node.directory import Directory, NodeEntry
from parcelguard.node.envelope import ROLES
from parcelguard.node.home import CONFIG, Node, NodeConfig, NodePaths, node_settings, write_json

out = Console()
err = Console(stderr=True, soft_wrap=True)

node_app = typer.Typer(help="Federation nodes: each party its own process, database and "
                       "keys (docs/deployment.md).", no_args_is_help=True)
ca_app = typer.Typer(help="The federation's private CA (made once, at set-up).",
                     no_args_is_help=True)
dir_app = typer.Typer(help="The signed directory of organisations and their nodes.",
                      no_args_is_help=True)
node_app.add_typer(ca_app, name="ca")
node_app.add_typer(dir_app, name="directory")

Home = Annotated[Path, typer.Option("--home", help="The node's home directory.")]
_ORG_KIND = {"enterprise": "enterprise", "supervision": "supervisor", "police": "police",
             "auditor": "auditor", "cac": "cac"}


def _fail(message: str) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}")
    return typer.Exit(2)


def _runtime(home: Path) -> Runtime:
    from parcelguard.core.plugin import register_handlers

    return Runtime(settings=node_settings(home), on_open=register_handlers)


def _issue(node_home: Path, ca_dir: Path, hosts: list[str]) -> None:
    paths = NodePaths(node_home)
    cfg = json.loads(paths.config.read_text())
    key = pki.load_signing_key(paths.signing_key)
    tls_key = serialization.load_pem_private_key(paths.tls_key.read_bytes(), password=None)
    host = urlsplit(cfg["url"]).hostname or "127.0.0.1"
    ca = pki.CaFiles(ca_dir)
    cert = pki.issue_cert(ca, org=cfg["org"], node_key_id=pki.key_id(key.public_key()),
                          tls_public=tls_key.public_key(),  # type: ignore[arg-type]
                          hosts=sorted({host, *hosts}))
    pki.write_private(paths.tls_cert, cert.public_bytes(serialization.Encoding.PEM))
    pki.write_private(paths.ca_cert, ca.cert.read_bytes())
    node = Node(node_home)
    node.write_card()
    if node.config.role == "supervision":
        _publish(node, node.card())


def _publish(node: Node, entry: NodeEntry | None, *, remove: str | None = None) -> Directory:
    """Add (or replace) ``entry`` in the supervision node's directory, or remove an
    org; re-sign with the next serial."""
    held = node.directory()
    nodes = {n.org: n for n in (held.nodes if held else ())}
    if entry is not None:
        nodes[entry.org] = entry
    if remove is not None:
        nodes.pop(remove, None)
    d = Directory(issuer=node.config.org, serial=(held.serial if held else 0) + 1,
                  issued_at=datetime.now(UTC).isoformat(timespec="seconds"),
                  nodes=tuple(nodes.values())).sign(node.signing_key)
    write_json(node.paths.directory, d.to_json())
    return d


@ca_app.command("init")
def ca_init(out_dir: Annotated[Path, typer.Option("--out", help="Where the CA lives.")]) -> None:
    """Create the federation CA (ca.key, ca.crt). Keep ca.key offline after set-up."""
    try:
        ca = pki.init_ca(out_dir)
    except FileExistsError as exc:
        raise _fail(str(exc)) from None
    out.print(f"CA certificate {ca.cert}")


@ca_app.command("issue")
def ca_issue(
    home: Home,
    ca_dir: Annotated[Path, typer.Option("--ca", help="The CA directory.")],
    host: Annotated[list[str] | None, typer.Option(
        help="Another name or IP the node is reached at (repeatable).")] = None,
) -> None:
    """Issue (or renew) the TLS certificate of the node at --home, bound to its org
    and node key; rewrites its node card (and, on supervision, its directory entry)."""
    if not NodePaths(home).config.is_file():
        raise _fail(f"{home} is not a node home")
    _issue(home, ca_dir, host or [])
    out.print(f"certificate {NodePaths(home).tls_cert}; card {NodePaths(home).card}")


@node_app.command("init")
def init(
    home: Home,
    role: Annotated[str, typer.Option(
        help="enterprise, supervision, police, auditor or cac (the cyberspace administration)")],
    org: Annotated[str, typer.Option(help="The organisation this node is.")],
    url: Annotated[str, typer.Option(help="https://host:port other nodes reach it at.")],
    db: Annotated[str, typer.Option(
        "--db", help="Database URL (default: SQLite in the home).")] = "",
    name: Annotated[str, typer.Option(help="Display name of the organisation.")] = "",
    supervision_key: Annotated[str, typer.Option(
        help="The supervision node's public key (base64, its card's node_key).")] = "",
    supervision_url: Annotated[str, typer.Option(
        help="The supervision node's URL (where the directory is fetched).")] = "",
    ca_dir: Annotated[Path | None, typer.Option(
        "--ca", help="Issue the TLS certificate now from this CA directory.")] = None,
) -> None:
    """Create a node: its home, its own store (without PI tables on supervision and
    auditor nodes), its node signing key (Ed25519) and TLS key, and, with --ca, its
    certificate. Prints the node card the supervision operator adds to the directory."""
    from parcelguard.identity import service as identity
    from parcelguard.identity.models import Organization
    from parcelguard.ledger.cosign import Cosigner
    from parcelguard.ledger.signing import ensure_signing_key
    from parcelguard.node.federation import witness_name
    from parcelguard.node.store import init_node_store
    from parcelguard.vault.provider import vault_service

    if role not in ROLES:
        raise _fail(f"--role must be one of {', '.join(ROLES)}")
    if urlsplit(url).scheme != "https":
        raise _fail("--url must be https://host:port (nodes speak mutual TLS only)")
    if role != "supervision":
        if not supervision_key or not supervision_url:
            raise _fail("a node other than supervision needs --supervision-key and "
                        "--supervision-url (the directory is verified with that key)")
        try:
            pki.public_from_b64(supervision_key)
        except ValueError:
            raise _fail("--supervision-key is not a base64 Ed25519 public key") from None
    paths = NodePaths(home)
    if paths.config.exists():
        raise _fail(f"{home} is already a node home ({CONFIG} exists)")
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    cfg = NodeConfig(role=role, org=org, url=url.rstrip("/"), database_url=db,
                     supervision_key=supervision_key, supervision_url=supervision_url)
    pki.new_signing_key(paths.signing_key)
    pki.new_tls_key(paths.tls_key)
    if cfg.witnesses:
        pki.write_private(paths.witness_key, Cosigner.generate(
            witness_name(org)).key_string().encode("ascii"))
    settings = node_settings(home, cfg)
    init_node_store(settings, holds_pi=cfg.holds_pi)
    rt = Runtime(settings=settings)
    try:
        with rt.db.unit_of_work() as uow:
            if uow.session.get(Organization, org) is None:
                identity.create_organization(uow.session, org_id=org, kind=_ORG_KIND[role],
                                             name=name or org, clock=rt.clock)
            if role == "enterprise":
                # the log's checkpoint key now, so its public half goes in the directory
                # before the first checkpoint is ever asked for
                cfg = replace(cfg, log_key=ensure_signing_key(
                    uow.session, org, kms=vault_service(settings).vault.kms,
                    clock=rt.clock).verifier_key)
            uow.commit()
    except DomainError as exc:
        raise _fail(exc.message) from None
    finally:
        rt.close()
    # the configuration last: a set-up that failed above (say, the database away) can
    # simply be run again
    write_json(paths.config, asdict(cfg))
    if ca_dir is not None:
        _issue(home, ca_dir, [])
    node = Node(home)
    out.print(f"{role} node [bold]{org}[/bold] at {home}; node key {node.key_id}")
    print(json.dumps({"org": org, "role": role, "node_key": pki.public_b64(
        node.signing_key.public_key()), "key_id": node.key_id}))


@dir_app.command("add")
def directory_add(
    home: Home,
    card: Annotated[Path, typer.Option(help="A node's node-card.json.")],
) -> None:
    """(Supervision) add or update a node in the directory, re-signed."""
    node = Node(home)
    if node.config.role != "supervision":
        raise _fail("only the supervision node publishes the directory")
    try:
        entry = NodeEntry(**json.loads(card.read_text()))
    except (OSError, TypeError, ValueError) as exc:
        raise _fail(f"not a node card: {exc}") from None
    if entry.role not in ROLES:
        raise _fail(f"unknown role {entry.role!r}")
    d = _publish(node, entry)
    out.print(f"directory serial {d.serial}: {len(d.nodes)} nodes")


@dir_app.command("remove")
def directory_remove(home: Home, org: Annotated[str, typer.Option()]) -> None:
    """(Supervision) remove an organisation's node from the directory, re-signed."""
    node = Node(home)
    if node.config.role != "supervision":
        raise _fail("only the supervision node publishes the directory")
    d = _publish(node, None, remove=org)
    out.print(f"directory serial {d.serial}: {len(d.nodes)} nodes")


@dir_app.command("fetch")
def directory_fetch(home: Home) -> None:
    """Fetch the directory from the supervision node and keep it if its signature
    verifies with the supervision key given at init and it is not older."""
    from parcelguard.node.directory import DirectoryError
    from parcelguard.node.transport import DeliveryError, fetch_directory

    try:
        serial = fetch_directory(Node(home))
    except (DeliveryError, DirectoryError) as exc:
        raise _fail(str(exc)) from None
    out.print(f"directory serial {serial} verified and stored")


@dir_app.command("show")
def directory_show(home: Home) -> None:
    """The directory this node holds."""
    d = Node(home).directory()
    if d is None:
        raise _fail("no directory yet (`node directory fetch`)")
    table = Table("org", "role", "url", "key id", "TLS fingerprint")
    for n in sorted(d.nodes, key=lambda n: n.org):
        table.add_row(n.org, n.role, n.url, n.key_id, n.tls_fingerprint[:16] + "...")
    out.print(table)
    err.print(f"serial {d.serial}, issued {d.issued_at} by {d.issuer}")


@node_app.command("serve")
def serve(
    home: Home,
    host: Annotated[str | None, typer.Option(help="Bind address (default: the URL's host).")]
    = None,
    port: Annotated[int | None, typer.Option(help="Port (default: the URL's port).")] = None,
) -> None:
    """Run the node: HTTPS with client-certificate verification, the role's routes
    (node/app.py), the outbox loop that carries its envelopes, (but on
    supervision) a directory refresh (node.json ``directory_refresh_seconds``, 30 s),
    on supervision a mirror of every enterprise's log (``mirror_seconds``, 60 s) and
    on an enterprise its checkpoint signed and cosigned by the witnesses in the
    directory (``checkpoint_seconds``, 60 s)."""
    import uvicorn

    from parcelguard.node import federation
    from parcelguard.node.app import create_node_app
    from parcelguard.node.serving import serve_config
    from parcelguard.node.transport import DirectoryRefresh

    node = Node(home)
    u = urlsplit(node.config.url)
    rt = _runtime(home)
    background: list[DirectoryRefresh | federation.Periodic] = \
        [DirectoryRefresh(node)] if node.config.role != "supervision" else []
    try:
        app = create_node_app(rt, node)
        background += federation.loops(node, rt)
        for job in background:
            job.start()
        uvicorn.Server(serve_config(app, node, host=host or u.hostname or "127.0.0.1",
                                    port=port or u.port or 443)).run()
    finally:
        for job in background:
            job.stop()
        rt.close()


@node_app.command("mirror")
def mirror(
    home: Home,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON line per log.")] = False,
) -> None:
    """(Supervision) one mirror pass by hand over every enterprise in the directory:
    entries fetched and verified against each log's signed checkpoint. A rewritten,
    forked or rolled-back log is refused and kept as a ledger_tamper finding."""
    from parcelguard.node import federation

    node = Node(home)
    if node.config.role != "supervision":
        raise _fail("only the supervision node mirrors the enterprises' logs")
    rt = _runtime(home)
    try:
        results = federation.mirror_pass(node, rt)
    finally:
        rt.close()
    for r in results:
        if as_json:
            print(json.dumps(r.as_dict()))
        else:
            out.print(f"{r.enterprise_id}: {r.status}, {r.entries} entries mirrored and "
                      f"verified this pass, {r.size} in all"
                      + (f" (finding {r.finding_id})" if r.finding_id else "")
                      + (f": {r.reason}" if r.reason else ""))
    if not results:
        err.print("no enterprise log in the directory")


@node_app.command("send")
def send(
    home: Home,
    to: Annotated[str, typer.Option(help="Recipient organisation.")],
    kind: Annotated[str, typer.Option(help="Message kind (node/envelope.py KINDS).")],
    body: Annotated[str, typer.Option(help="The body, a JSON object (ids and counts).")],
) -> None:
    """Queue a signed message to another node; delivered now if it is up, else
    retried with back-off (`node outbox` shows it waiting)."""
    node = Node(home)
    try:
        doc = json.loads(body)
    except ValueError:
        raise _fail("--body is not JSON") from None
    if not isinstance(doc, dict):
        raise _fail("--body must be a JSON object")
    rt = _runtime(home)
    try:
        with rt.db.unit_of_work() as uow:
            mid = node_service.send(uow.session, me=node_service.Me(
                org=node.config.org, role=node.config.role, key_id=node.key_id),
                directory=node.directory(), to_org=to, kind=kind, body=doc)
            uow.commit()
    except DomainError as exc:
        raise _fail(exc.message) from None
    finally:
        rt.close()
    print(mid)


@node_app.command("outbox")
def outbox_cmd(
    home: Home,
    show_all: Annotated[bool, typer.Option("--all", help="Delivered ones too.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines, then the counts.")]
    = False,
) -> None:
    """Envelopes waiting for delivery (recipient, kind, attempts, next try, last
    error) and the node's sent/received figures."""
    rt = _runtime(home)
    try:
        with rt.db.unit_of_work() as uow:
            rows = node_service.backlog(uow.session, include_done=show_all)
            counts = node_service.counts(uow.session)
    finally:
        rt.close()
    if as_json:
        for r in rows:
            print(json.dumps({**asdict(r), "next_attempt_at": r.next_attempt_at.isoformat()}))
        print(json.dumps(counts))
        return
    table = Table("message", "to", "kind", "status", "attempts", "next try", "last error")
    for r in rows:
        table.add_row(r.message_id, r.recipient_org, r.kind, r.status, str(r.attempts),
                      r.next_attempt_at.isoformat(timespec="seconds"), r.last_error or "")
    out.print(table)
    err.print(", ".join(f"{k.replace('_', ' ')} {v}" for k, v in counts.items()))


@node_app.command("inbox")
def inbox_cmd(
    home: Home,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines.")] = False,
) -> None:
    """Envelopes received (id, sender, kind, arrivals), oldest first."""
    from sqlalchemy import select

    from parcelguard.node.models import NodeInbox

    rt = _runtime(home)
    try:
        with rt.db.unit_of_work() as uow:
            rows = list(uow.session.scalars(select(NodeInbox).order_by(NodeInbox.received_at)))
    finally:
        rt.close()
    for r in rows:
        if as_json:
            print(json.dumps({"message_id": r.message_id, "sender_org": r.sender_org,
                              "kind": r.kind, "deliveries": r.deliveries,
                              "body": json.loads(r.envelope)["body"]}))
        else:
            out.print(f"{r.message_id} {r.sender_org} {r.kind} x{r.deliveries}")



@node_app.command("referrals")
def referrals_cmd(
    home: Home,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines.")] = False,
) -> None:
    """(Police) the referrals this node received with their evidence packages, and
    what the receipt verified: the package against the log key the directory lists,
    and against the checkpoint this node's own witness cosigned. The packages
    themselves are read where referrals are read (the police portal, the API)."""
    from sqlalchemy import select

    from parcelguard.channel.models import ChannelReferral, ChannelReferralLog

    node = Node(home)
    if node.config.role != "police":
        raise _fail("referrals with evidence are received by a police node")
    rt = _runtime(home)
    try:
        with rt.db.unit_of_work() as uow:
            s = uow.session
            rows = []
            for ref in s.scalars(select(ChannelReferral).where(
                    ChannelReferral.police_org_id == node.config.org)
                    .order_by(ChannelReferral.created_at, ChannelReferral.id)):
                got = s.scalars(select(ChannelReferralLog).where(
                    ChannelReferralLog.referral_id == ref.id,
                    ChannelReferralLog.action == "received")).first()
                check = dict(got.detail) if got is not None else {}
                events = ref.package.get("events") if isinstance(ref.package, dict) else None
                rows.append({
                    "referral": ref.id, "enterprise_id": ref.enterprise_id,
                    "source_type": ref.source_type, "source_id": ref.source_id,
                    "status": ref.status, "package_sha256": ref.package_sha256,
                    "events": len(events) if isinstance(events, list) else 0,
                    "tree_size": check.get("tree_size"),
                    "witnessed": check.get("witnessed"),
                    "witnessed_size": check.get("witnessed_size"),
                    "verified": bool(check.get("evidence_ok"))
                    and check.get("witnessed") == "consistent",
                    "problems": check.get("problems", [])})
    finally:
        rt.close()
    if as_json:
        for r in rows:
            print(json.dumps(r))
        return
    table = Table("referral", "enterprise", "source", "events", "checkpoint", "witnessed",
                  "verified")
    for r in rows:
        table.add_row(r["referral"], r["enterprise_id"], f"{r['source_type']} {r['source_id']}",
                      str(r["events"]), str(r["tree_size"]),
                      f"{r['witnessed']} (size {r['witnessed_size']})",
                      "yes" if r["verified"] else "NO: " + "; ".join(r["problems"][:3]))
    out.print(table)
    if not rows:
        err.print("no referral received yet")
