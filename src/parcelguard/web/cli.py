"""``parcelguard serve``: the HTTP API and the portals (the web plugin's command)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from parcelguard.core.runtime import Runtime

app = typer.Typer()
console = Console()


@app.command()
def serve(
    ctx: typer.Context,
    host: str = "127.0.0.1",
    port: int = 8000,
    demo: Annotated[bool, typer.Option(
        "--demo", help="Serve the demo world (built first if missing) with one login per "
        "role printed, and write the supervision report.")] = False,
    out: Annotated[Path, typer.Option(help="Demo output directory (--demo).")]
    = Path("demo-out"),
) -> None:
    """Serve the HTTP API (OpenAPI at /openapi.json) and the web portals."""
    import uvicorn

    from parcelguard.app import create_app
    from parcelguard.web.serving import uvicorn_config

    rt: Runtime = ctx.obj
    if demo:
        from parcelguard.web.serve_demo import prepare

        rt = prepare(rt, out=out, console=console, host=host, port=port)
        ctx.call_on_close(rt.close)
    # trusted proxies, an access log without client addresses or tokens
    uvicorn.Server(uvicorn_config(create_app(rt), rt.settings, host=host, port=port)).run()
