"""Screenshots of each portal's landing page for docs/web.md (docs/img/portal-*.png).

Runs ``parcelguard serve --demo`` (reusing or building the demo world under the home),
logs each role in with the logins it writes to ``<home>/demo-logins.txt`` (password +
the current TOTP code), and photographs each portal with Debian's chromium through
Playwright: the consumer and the courier on a phone (390 px wide), staff portals at a
reduced desktop size (1100 px). Chinese is drawn with the project's vendored font
(``waybill/font_data``) through a fontconfig file of its own. Each PNG is reduced to a
palette of 128 colours so the docs stay small (under 120 KB each).

    PYTHONPATH=src python bench/portal_screenshots.py [--home .parcelguard] \\
        [--out docs/img] [--lang zh-CN]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx2
import pyotp
from PIL import Image

from parcelguard.waybill.fonts import fontconfig_file

ROOT = Path(__file__).resolve().parents[1]
# portal -> (username or None, path, phone-sized, height of the shot in CSS px)
PORTALS: dict[str, tuple[str | None, str, bool, int]] = {
    "consumer": (None, "/consumer", True, 844),
    "courier": ("courier.demo", "/courier", True, 844),
    "enterprise": ("security.demo", "/enterprise", False, 1500),
    "supervisor": ("supervisor.demo", "/supervisor", False, 1300),
    "police": ("police.demo", "/police", False, 1000),
    "auditor": ("auditor.demo", "/auditor", False, 1300),
    "cac": ("cac.demo", "/cac", False, 700),
}
LIMIT = 120_000  # bytes a screenshot may take in the docs


def logins(home: Path) -> dict[str, tuple[str, str]]:
    """username -> (password, TOTP secret), from the file ``serve --demo`` writes."""
    text = (home / "demo-logins.txt").read_text(encoding="utf-8")
    out = {}
    for block in text.split("\n\n")[1:]:
        fields = dict(re.findall(r"^\s+(username|password|TOTP secret):\s+(\S+)$", block, re.M))
        if "username" in fields:
            out[fields["username"]] = (fields["password"], fields["TOTP secret"])
    return out


def serve(home: Path, port: int, out: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PARCELGUARD_HOME": str(home), "COLUMNS": "200"}
    proc = subprocess.Popen([sys.executable, "-m", "parcelguard", "serve", "--demo",
                             "--port", str(port), "--out", str(out)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 1800  # building the demo world takes minutes
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx2.get(f"http://127.0.0.1:{port}/login", timeout=5).status_code == 200:
                return proc
        except httpx2.TransportError:
            pass
        time.sleep(1)
    proc.kill()
    raise SystemExit("parcelguard serve --demo did not start")


def compress(path: Path) -> int:
    """A 128-colour palette PNG: text and flat charts lose nothing visible."""
    with Image.open(path) as img:
        small = img.convert("RGB").quantize(colors=128, method=Image.Quantize.MEDIANCUT)
        small.save(path, optimize=True)
    return path.stat().st_size


def log_in(page: Any, username: str, secret: tuple[str, str]) -> None:
    page.goto("/login?lang=en")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(secret[0])
    page.get_by_label("One-time code (TOTP)").fill(pyotp.TOTP(secret[1]).at(datetime.now(UTC)))
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--home", type=Path, default=Path(os.environ.get("PARCELGUARD_HOME",
                                                                     ".parcelguard")))
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    ap.add_argument("--lang", default="zh-CN", choices=("zh-CN", "en"))
    ap.add_argument("--port", type=int, default=8765)
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    if chromium is None:
        raise SystemExit("needs Debian's chromium (apt-get install chromium)")
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        proc = serve(args.home.resolve(), args.port, Path(tmp) / "demo-out")
        try:
            accounts = logins(args.home)
            fonts = fontconfig_file(Path(tmp) / "fontconfig")
            with sync_playwright() as p:
                browser = p.chromium.launch(
                    executable_path=chromium, args=["--no-sandbox", "--disable-gpu"],
                    env={**os.environ, "FONTCONFIG_FILE": str(fonts)})
                for name, (user, path, phone, height) in PORTALS.items():
                    width = 390 if phone else 1100
                    context = browser.new_context(
                        base_url=f"http://127.0.0.1:{args.port}", locale=args.lang,
                        viewport={"width": width, "height": height}, device_scale_factor=1,
                        is_mobile=phone, has_touch=phone)
                    page = context.new_page()
                    if user is not None:
                        log_in(page, user, accounts[user])
                    page.goto(f"{path}?lang={args.lang}")
                    page.wait_for_load_state("networkidle")
                    for plot in page.locator(".plot").all():  # charts drawn
                        plot.locator("svg.main-svg").first.wait_for(timeout=15_000)
                    shot = args.out / f"portal-{name}.png"
                    page.screenshot(path=str(shot), full_page=False)
                    size = compress(shot)
                    print(f"{shot.relative_to(ROOT) if shot.is_relative_to(ROOT) else shot}: "
                          f"{width}x{height}, {size / 1000:.0f} KB")
                    if size > LIMIT:
                        print(f"  larger than {LIMIT // 1000} KB", file=sys.stderr)
                    context.close()
                browser.close()
        finally:
            proc.terminate()
            proc.wait(timeout=30)


if __name__ == "__main__":
    main()
