"""What fair use costs a query that goes to a worker: one admit and one settle in the ledger.

`python benchmarks/fair_use.py [--rounds N] [--clients N]`: the ledger on a file (as `kg serve` shares it
between its HTTP processes) beside the ledger in memory (one process), in one run.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from kg.query.fair_use import Ledger


def per_query_us(ledger: Ledger, rounds: int, clients: int) -> float:
    started = time.perf_counter()
    for n in range(rounds):
        ledger.settle(ledger.admit(f"client-{n % clients}"), 0.0001)
    return (time.perf_counter() - started) / rounds * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        on_file = per_query_us(Ledger(Path(folder), 30.0, 2), args.rounds, args.clients)
    in_memory = per_query_us(Ledger(None, 30.0, 2), args.rounds, args.clients)
    print(f"admit + settle, {args.rounds} rounds over {args.clients} clients: file {on_file:.1f} µs, "
          f"memory {in_memory:.1f} µs ({on_file / in_memory:.1f}×)")


if __name__ == "__main__":
    main()
