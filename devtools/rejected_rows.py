"""What `make demo` shows of the rejected-records storage: the files the connector wrote to its local directory."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from pathlib import Path


def read_rows(root: Path) -> tuple[list[Path], Counter[str]]:
    """The part files under `root` and their rows counted by reason."""
    files = sorted(path for path in root.rglob("*.jsonl*") if path.is_file())
    reasons: Counter[str] = Counter()
    for path in files:
        data = path.read_bytes()
        for line in (gzip.decompress(data) if path.suffix == ".gz" else data).splitlines():
            reasons[json.loads(line)["reason"]] += 1
    return files, reasons


def describe(root: Path, expected: int) -> list[str]:
    """Lines for the demo: where the rows are and how they are laid out. Raises ValueError when the files do not
    hold exactly the `expected` rejected rows the connector reported."""
    files, reasons = read_rows(root)
    if sum(reasons.values()) != expected:
        raise ValueError(
            f"{sum(reasons.values()):,} rejected rows were stored but the connector reported {expected:,}."
        )
    lines = [f"{sum(reasons.values()):,} rows in {len(files)} files under {root}/ (it stays after the demo):"]
    lines += [f"  {path.relative_to(root)}" for path in files[:6]]
    if len(files) > 6:
        lines.append(f"  … and {len(files) - 6} more")
    lines.append(
        "Each line holds the original record with its stream, reason code, sentence and time: "
        + ", ".join(f"{reason} {count:,}" for reason, count in reasons.most_common())
        + "."
    )
    return lines
