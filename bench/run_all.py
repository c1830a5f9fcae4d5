"""Run every benchmark in this folder, one process each, and print their figures.

    make bench            # or: .venv/bin/python bench/run_all.py [name ...]

Each benchmark measures its figure as a ratio against a baseline run in the same
process (see the docstring of each script); results also land in bench/out/*.json.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent
# bench_api_concurrency needs the PostgreSQL server of the tests
ORDER = ["bench_ingest", "bench_vault_core", "bench_merkle_core", "bench_ledger",
         "bench_monitor", "bench_contract", "bench_rotation", "bench_monitor_growth",
         "bench_retention", "bench_api_concurrency"]


def main() -> int:
    wanted = sys.argv[1:] or ORDER
    failed = []
    for name in wanted:
        script = HERE / f"{name}.py"
        if not script.exists():
            print(f"no such benchmark: {name}", file=sys.stderr)
            return 2
        print(f"== {name}", flush=True)
        started = time.perf_counter()
        code = subprocess.call([sys.executable, str(script)])
        print(f"   ({time.perf_counter() - started:.0f} s, exit {code})", flush=True)
        if code:
            failed.append(name)
    if failed:
        print("failed: " + ", ".join(failed), file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
