"""The mapping alone: CPU µs a record of `RecordMapper.for_stream`'s function on warm, parsed records.

The records are `generate_lines` sample records, parsed once; each run maps all of them with the
results dropped, under the input loop's collector settings (`gc.freeze()`, thresholds 100000, 50, 100),
timed with `time.process_time`. With `--against REV` the package as it is at that git revision is
loaded beside this one (a copy under another name) and the two are run alternately, `--repeat`
times each, so both meet the same load; the payloads of both are compared first (they must be equal).
"""

from __future__ import annotations

import argparse
import gc
import importlib
import io
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import orjson

from bench import common
from devtools.sample_data import generate_lines

PACKAGE = "destination_linkedin_capi"
BEFORE = "_bench_before_" + PACKAGE

MapFunction = Callable[[Any], Any]


def records(count: int) -> list[tuple[str, dict[str, Any]]]:
    """(stream, data) of `count` sample records, parsed."""
    out = []
    for line in generate_lines(count, bad=False):
        message = orjson.loads(line)
        if message["type"] == "RECORD":
            out.append((message["record"]["stream"], message["record"]["data"]))
    return out


def package_at(revision: str, directory: Path) -> str:
    """The package as it is at `revision`, copied under `directory` with its imports renamed; its name."""
    archive = subprocess.run(
        ["git", "archive", "--format=tar", revision, PACKAGE], cwd=common.ROOT, check=True, capture_output=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(directory, filter="data")
    source = directory / PACKAGE
    for path in source.rglob("*.py"):
        path.write_text(path.read_text(encoding="utf-8").replace(PACKAGE, BEFORE), encoding="utf-8")
    source.rename(directory / BEFORE)
    sys.path.insert(0, str(directory))
    return BEFORE


def mapper_functions(package: str, directory: Path) -> dict[str, MapFunction]:
    """Each sample stream's mapping function, from `package` (this one or a copy)."""
    config_module: ModuleType = importlib.import_module(f"{package}.config.connector")
    catalog_module: ModuleType = importlib.import_module(f"{package}.airbyte.catalog")
    mapping_module: ModuleType = importlib.import_module(f"{package}.mapping.mapper")
    config = config_module.ConnectorConfig.parse(common.connector_config(None))
    _, catalog_path = common.write_files(directory, common.connector_config(None))
    streams = catalog_module.read_catalog(str(catalog_path))
    rule_ids = {key: common.RULES_BY_EVENT[key] for key in config.events}
    mapper = mapping_module.RecordMapper(config, rule_ids, streams)
    return {stream: mapper.for_stream(None, stream) for _, stream in streams}


def payloads(functions: dict[str, MapFunction], data: list[tuple[str, dict[str, Any]]]) -> list[bytes]:
    out = []
    for stream, record in data:
        result = functions[stream](record)
        out.append(orjson.dumps(result[:2] if result.__class__ is tuple else (result.event, result.payload)))
    return out


def run_once(functions: dict[str, MapFunction], by_stream: list[tuple[str, list[dict[str, Any]]]]) -> float:
    """CPU seconds to map every record once, results dropped."""
    started = time.process_time()
    for stream, items in by_stream:
        map_record = functions[stream]
        for data in items:
            map_record(data)
    return time.process_time() - started


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.mapping", description=__doc__)
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--against", metavar="REV", help="also run the package at this git revision, alternately")
    args = parser.parse_args(argv)
    data = records(args.records)
    # grouped by stream as the input loop sees them (one function per stream), in the input's order inside each
    grouped: dict[str, list[dict[str, Any]]] = {}
    for stream, record in data:
        grouped.setdefault(stream, []).append(record)
    by_stream = list(grouped.items())
    with tempfile.TemporaryDirectory() as scratch:
        variants = {"this tree": mapper_functions(PACKAGE, Path(scratch))}
        if args.against:
            before = package_at(args.against, Path(scratch))
            variants = {args.against: mapper_functions(before, Path(scratch)), **variants}
            first, second = (payloads(functions, data) for functions in variants.values())
            if first != second:
                raise SystemExit("the two revisions map the sample records differently")
        times: dict[str, list[float]] = {name: [] for name in variants}
        gc.collect()
        gc.freeze()
        thresholds = gc.get_threshold()
        gc.set_threshold(100_000, 50, 100)
        try:
            for _ in range(args.repeat):
                for name, functions in variants.items():
                    times[name].append(run_once(functions, by_stream) / len(data) * 1e6)
        finally:
            gc.set_threshold(*thresholds)
            gc.unfreeze()
    result = {
        "records": len(data),
        "repeat": args.repeat,
        "cpu_us_per_record": {
            name: {"median": round(statistics.median(runs), 3), "runs": [round(run, 3) for run in runs]}
            for name, runs in times.items()
        },
    }
    if args.against:  # each round's ratio: both sides of it met the same load
        before, after = times.values()
        ratios = [b / a for a, b in zip(before, after, strict=True)]
        result["ratio_to_against"] = {
            "median": round(statistics.median(ratios), 3),
            "runs": [round(r, 3) for r in ratios],
        }
        print(
            f"this tree / {args.against}: {result['ratio_to_against']['median']:.3f} (median of the rounds' ratios)",
            file=sys.stderr,
        )
    for name, figures in result["cpu_us_per_record"].items():
        print(f"{name:>12}: {figures['median']:.3f} µs/record (runs {figures['runs']})", file=sys.stderr)
    print(f"results → {common.save_result('mapping', result)}", file=sys.stderr)
    return result


if __name__ == "__main__":
    main()
