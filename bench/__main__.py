"""Run every benchmark module (`bench/bench_*.py`, each with `main() -> int`), in name order.

`python -m bench NAME ...` runs only the named modules (with or without the `bench_` prefix).
"""

from __future__ import annotations

import importlib
import os
import sys
import traceback
from pathlib import Path


def modules(selected: list[str]) -> list[str]:
    found = sorted(p.stem for p in Path(__file__).parent.glob("bench_*.py"))
    if not selected:
        return found
    wanted = {name if name.startswith("bench_") else f"bench_{name}" for name in selected}
    return [name for name in found if name in wanted]


def main(argv: list[str]) -> int:
    failed: list[str] = []
    for name in modules(argv):
        print(f"== {name}", flush=True)
        # Each benchmark starts from the same environment: some arrange their sandbox through
        # test helpers that point REQUESTS_CA_BUNDLE at its CA, deleted with the sandbox, and
        # the next benchmark's pip (staging) then refused every TLS connection.
        saved = dict(os.environ)
        try:
            code = int(importlib.import_module(f"bench.{name}").main())
        except Exception:  # one broken benchmark must not hide the others' figures
            traceback.print_exc()
            code = 1
        finally:
            os.environ.clear()
            os.environ.update(saved)
        if code != 0:
            failed.append(name)
    if failed:
        print(f"benchmarks that failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
