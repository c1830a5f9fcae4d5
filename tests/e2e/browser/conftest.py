"""Browser tests: the real app under uvicorn on 127.0.0.1, driven by Playwright with
Debian's chromium (installed by .ci/run when missing), on a fresh SQLite home with
the portals' demo logins and cases.

Every request the page makes is checked by a route handler: anything not addressed
to this machine is aborted and recorded, and each test ends by asserting there was
none (the portals fetch nothing from outside). Content-Security-Policy violations
reported on the console fail the test too. Screenshots go to tmp/artefacts/screenshots/;
Chinese is drawn with the project's vendored font (a fontconfig file of the fixture's).
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import uvicorn

from parcelguard.app import create_app
from parcelguard.core.runtime import Runtime
from parcelguard.core.settings import Settings
from parcelguard.ops.store import init_store
from parcelguard.vault.provider import vault_service
from parcelguard.waybill.fonts import fontconfig_file
from parcelguard.waybill.provider import telephony
from parcelguard.web import demo
from parcelguard.web.demo_cases import Cases, seed_cases

# Test artefacts: <repo>/tmp/artefacts/screenshots (git-ignored), or under
# $PARCELGUARD_ARTEFACTS where CI collects them.
SCREENSHOTS = Path(os.environ.get("PARCELGUARD_ARTEFACTS") or
                   Path(__file__).resolve().parents[3] / "tmp" / "artefacts") / "screenshots"
LOCAL_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1"}


@dataclass
class World:
    base_url: str
    rt: Runtime
    prov: demo.Provisioned
    cases: Cases
    states: dict[str, Any] = field(default_factory=dict)  # username -> storage state

    def login(self, username: str) -> demo.Login:
        return next(x for x in self.prov.logins if x.username == username)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    home = tmp_path_factory.mktemp("web-home")
    settings = Settings(home=home, database_url=f"sqlite:///{home / 'parcelguard.db'}")
    rt = Runtime(settings=settings)
    init_store(rt.settings)
    vault = vault_service(settings)
    with rt.db.unit_of_work() as uow:
        prov = demo.provision(uow.session, vault, telephony(settings), clock=rt.clock)
        cases = seed_cases(uow.session, vault, settings, rt.clock, prov)
        uow.commit()
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(rt), host="127.0.0.1", port=port,
                                           log_level="warning", ws="none", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the web server did not start")
        time.sleep(0.05)
    yield World(f"http://127.0.0.1:{port}", rt, prov, cases)
    server.should_exit = True
    thread.join(timeout=10)
    rt.close()


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    # Skipped, with the reason, where the browser is missing (a developer machine
    # without it); CI installs Debian's chromium and playwright comes with the dev extra.
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright not installed")
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    # The project's vendored CJK font (waybill/font_data) through a fontconfig file of
    # its own: a machine without CJK fonts draws Chinese pages as boxes otherwise.
    fonts = fontconfig_file(tmp_path_factory.mktemp("fontconfig"))
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--no-first-run"], env={**os.environ, "FONTCONFIG_FILE": str(fonts)})
        yield b
        b.close()


class Guard:
    """Records requests off this machine (aborted) and CSP violations."""

    def __init__(self) -> None:
        self.offsite: list[str] = []
        self.csp: list[str] = []

    def route(self, route: Any) -> None:
        host = urlsplit(route.request.url).hostname or ""
        scheme = urlsplit(route.request.url).scheme
        if scheme in ("data", "blob", "about") or host in LOCAL_HOSTS:
            route.continue_()
            return
        self.offsite.append(f"{scheme}://{host}")
        route.abort()

    def console(self, msg: Any) -> None:
        if "Content Security Policy" in msg.text or "Content-Security-Policy" in msg.text:
            self.csp.append(msg.text[:200])


def new_page(browser: Any, world: World, *, username: str | None = None,
             phone: bool = False, locale: str = "en-US") -> tuple[Any, Any, Guard]:
    guard = Guard()
    opts: dict[str, Any] = {"base_url": world.base_url, "locale": locale}
    if phone:
        opts |= {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2,
                 "is_mobile": True, "has_touch": True}
    if username is not None and username in world.states:
        opts["storage_state"] = world.states[username]
    context = browser.new_context(**opts)
    context.route("**/*", guard.route)
    page = context.new_page()
    page.on("console", guard.console)
    if username is not None and username not in world.states:
        log_in(page, world, username)
        world.states[username] = context.storage_state()
    return context, page, guard


def log_in(page: Any, world: World, username: str) -> None:
    """Password plus the current TOTP code. A code is accepted once per 30-second
    step, so each account logs in once per run and the session is reused."""
    login = world.login(username)
    page.goto("/login?lang=en")
    page.get_by_label("Username").fill(login.username)
    page.get_by_label("Password").fill(login.password)
    page.get_by_label("One-time code (TOTP)").fill(demo.current_code(login, world.rt.clock.now()))
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"**/{login.portal}")


@pytest.fixture
def open_page(browser: Any, world: World) -> Iterator[Any]:  # browser first: skip early
    """``open_page(username=None, phone=False, locale="en-US") -> page``; at the end,
    no request may have left the machine and no CSP violation may have happened."""
    opened: list[tuple[Any, Guard]] = []

    def factory(**kw: Any) -> Any:
        context, page, guard = new_page(browser, world, **kw)
        opened.append((context, guard))
        return page

    yield factory
    for context, guard in opened:
        context.close()
        assert guard.offsite == [], f"requests left the machine: {guard.offsite}"
        assert guard.csp == [], f"CSP violations: {guard.csp}"


def shot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
