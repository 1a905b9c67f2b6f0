"""`python -m bench` (`make bench`): every benchmark in turn, one at a time (they must not
compete for the two cores), then the generated block of docs/performance.md."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench import already_sent, docs, fleet, ledger_size, mapping, memory, profile, quota, sandbox_capacity, throughput


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--quick", action="store_true", help="tiny sizes, no profile: checks that the scripts run; measures nothing"
    )
    parser.add_argument("--docs", type=Path, default=docs.DOC, help="the performance page to update")
    args = parser.parse_args(argv)
    if args.quick:
        throughput.main(["--records", "1000", "--repeat", "1", "--no-cli"])
        quota.main(["--limit", "10", "--window", "0.5", "--windows", "2", "--batch", "5"])
        fleet.main(["--syncs", "2", "--stores", "redis", "--limit", "4", "--window", "0.5", "--requests", "6"])
        memory.main(["--sizes", "500,1000"])
        ledger_size.main(["--entries", "10000"])
        sandbox_capacity.main(["--batch", "50", "--batches", "2", "--singles", "10", "--repeat", "1"])
        mapping.main(["--records", "300", "--repeat", "1", "--against", "HEAD"])
        already_sent.main(["--records", "2000", "--repeat", "1"])
    else:
        throughput.main([])
        sandbox_capacity.main([])
        quota.main([])
        fleet.main([])
        memory.main([])
        already_sent.main([])
        ledger_size.main([])
        profile.main([])
        profile.main(["--dry-run"])
    print(f"docs → {docs.write(doc=args.docs)}", file=sys.stderr)


if __name__ == "__main__":
    main()
