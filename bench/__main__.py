"""``python -m bench [--only NAME ...] [--n 5000] [--out bench/results]`` (see bench/__init__.py).

`make bench` runs this through ``scripts.infra bench``, which starts the MongoDB emulator and
exports MONGODB_URL, AMQP_URL and a BUS_PREFIX unique to the run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from bench import BenchConfig, load
from shared.logging import configure_logging
from shared.service import new_event_loop


def main(argv: list[str] | None = None) -> int:
    registry = load()
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--only", action="append", choices=sorted(registry),
                        help="run only this benchmark (repeatable); default: all")
    parser.add_argument("--n", type=int, default=5000, help="measured events per run (>= 1)")
    parser.add_argument("--warmup", type=int, default=200, help="warm-up events per run")
    parser.add_argument("--concurrency", type=int, default=100,
                        help="commands/publishes in flight, the same on both sides")
    parser.add_argument("--out", type=Path, default=Path("bench/results"),
                        help="directory of the <name>.json results")
    parser.add_argument("--profile", action="store_true",
                        help="add diagnostics: MongoDB per-command timings, cProfile top list")
    args = parser.parse_args(argv)
    if args.n < 1:
        parser.error("--n must be at least 1")
    configure_logging("bench", "WARNING", "json")
    config = BenchConfig.from_env(n=args.n, warmup=args.warmup, concurrency=args.concurrency,
                                  profile=args.profile, out=args.out)
    config.out.mkdir(parents=True, exist_ok=True)
    failed = False
    for name in args.only or list(registry):
        print(f"== benchmark {name}: n={config.n} concurrency={config.concurrency} "
              f"warmup={config.warmup}", file=sys.stderr, flush=True)
        try:
            # on the services' own event loop, for both sides of every comparison
            with asyncio.Runner(loop_factory=new_event_loop) as runner:
                result = runner.run(registry[name](config))
        except Exception as e:  # report and go on with the next benchmark
            print(f"benchmark {name} failed: {type(e).__name__}: {e}", file=sys.stderr)
            failed = True
            continue
        text = json.dumps(result, indent=2)
        (config.out / f"{name}.json").write_text(text + "\n")
        print(text, flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
