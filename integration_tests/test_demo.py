"""`make demo`'s module as a subprocess: the real check + write against the sandbox, counts that add up, reasons
shown, the same write again sending nothing new, no secret printed, and no process left behind — after success and
after Ctrl-C / SIGTERM mid-run.

Each run gets its own TMPDIR, and every process the demo starts names a file in it on its command line (the
sandbox's seed, the connector's config), so a leftover process is found by scanning /proc for that directory.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from destination_linkedin_capi.mapping.reasons import REJECTION_REASONS
from devtools.demo import SERVICE_KEY
from devtools.sample_data import ACCOUNT
from integration_tests.writing import ROOT

pytestmark = pytest.mark.timeout(120)
MINTED = re.compile(r"\b(?:cdp|oauth)-[A-Za-z0-9_-]{16,}")  # the sandbox's minted token format
IN_SHORT = re.compile(
    r"In short: ([\d,]+) records read = ([\d,]+) (sent to LinkedIn|would be sent) \+ ([\d,]+) rejected"
)
REASON_ROW = re.compile(r"^ {5}([a-z_]+) +([\d,]+)  (.+)$", re.M)
RULE_ROW = re.compile(r"^ {3}rule (\d+) +'Airbyte CAPI (\w+)' +\w+ +([\d,]+) events", re.M)
#: A row of the closing table: read, sent, already sent, rejected, received twice by LinkedIn.
BOTH_RUNS_ROW = re.compile(r"^ {3}(First|Second) run\D*?" + r" +([\d,]+)" * 5 + "$", re.M)
DURATION = re.compile(r"\b\d+(?:\.\d+)? ?(?:s|ms|seconds?)\b(?! \d)")
BAD_ROW_REASONS = {"too_old", "no_identifier", "invalid_currency", "missing_timestamp"}


def number(text: str) -> int:
    return int(text.replace(",", ""))


def demo_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "devtools.demo", *args]


def demo_env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "TMPDIR": str(tmp_path)}


def processes_naming(directory: Path) -> list[str]:
    """Command lines of live processes that mention `directory` (zombies have none)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if str(directory).encode() in cmdline:
            found.append(cmdline.replace(b"\0", b" ").decode("utf-8", "replace"))
    return found


def sandbox_pid(output: str) -> int:
    match = re.search(r"Sandbox: PID (\d+)", output)
    assert match, output
    return int(match.group(1))


def assert_gone(pid: int, tmp_path: Path) -> None:
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert processes_naming(tmp_path) == []


def run_demo(tmp_path: Path, *args: str, runs: int) -> str:
    done = subprocess.run(
        demo_command(*args), capture_output=True, text=True, timeout=110, cwd=ROOT, env=demo_env(tmp_path)
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert SERVICE_KEY not in output
    assert not MINTED.search(output), "a minted access token was printed"
    assert_each_thing_once(output, runs)
    return output


def assert_each_thing_once(output: str, runs: int) -> None:
    """One duration per write (the connector's own, in its summary), each rejection reason explained once with one
    example."""
    durations = DURATION.findall(output)
    assert len(durations) == runs, durations
    assert len(re.findall(r"Sync summary: .*, in [\d,]+ batch(?:es)?, \d+\.\d s\.$", output, re.M)) == runs
    for reason in BAD_ROW_REASONS:
        assert len(re.findall(rf"^ {{5}}{reason} +\d", output, re.M)) == 1, reason
    examples = re.findall(r"e\.g\. (.+)$", output, re.M)
    assert len(examples) == len(BAD_ROW_REASONS) == len(set(examples)), examples


def test_the_demo_sends_20000_records_and_accounts_for_each(tmp_path):
    output = run_demo(tmp_path, runs=2)

    read, sent, verb, rejected = IN_SHORT.search(output).groups()
    assert verb == "sent to LinkedIn"
    assert number(read) == 20_000 == number(sent) + number(rejected)
    reasons = {reason: (number(count), meaning) for reason, count, meaning in REASON_ROW.findall(output)}
    assert set(reasons) == BAD_ROW_REASONS
    assert sum(count for count, _ in reasons.values()) == number(rejected)
    for reason, (_, meaning) in reasons.items():
        assert meaning == REJECTION_REASONS[reason]
    assert f"SUCCEEDED: Connected to ad account {ACCOUNT}" in output
    rules = {event: number(count) for _, event, count in RULE_ROW.findall(output)}
    assert set(rules) == {"LEAD", "PURCHASE", "SIGN_UP"}  # created by the connector in token-ID mode
    assert sum(rules.values()) == number(sent)
    assert f"That is exactly the {sent} the connector reported as sent." in output
    assert '"idType": "SHA256_EMAIL"' in output  # the sample event
    where = re.search(r"^ {5}([\d,]+) rows in (\d+) files under (\S+)/ \(it stays after the demo\):$", output, re.M)
    assert where and number(where.group(1)) == number(rejected), output
    folder = Path(where.group(3))
    assert folder.is_relative_to(tmp_path / "linkedin-capi-demo-rejected")  # in TMPDIR, outside the demo's own folder
    stored = [line for path in folder.rglob("*.jsonl") for line in path.read_text().splitlines()]
    assert len(stored) == number(rejected) and len(list(folder.rglob("*.jsonl"))) == int(where.group(2))
    assert_the_second_run_sent_nothing_new(output, number(sent), number(rejected))
    assert_gone(sandbox_pid(output), tmp_path)


def assert_the_second_run_sent_nothing_new(output: str, sent: int, rejected: int) -> None:
    """The same records written again: each left out as already sent (the ledger in the demo's SQLite store),
    the bad rows rejected again, and nothing received twice by the sandbox."""
    assert 'request_budget: {"store": "sqlite"' in output and "send_once: true" in output
    rows = {label: [number(n) for n in counts] for label, *counts in BOTH_RUNS_ROW.findall(output)}
    assert rows == {"First": [20_000, sent, 0, rejected, 0], "Second": [20_000, 0, sent, rejected, 0]}, output
    assert f"The sandbox holds {sent:,} events: {sent:,} from the first run and 0 from the second." in output
    assert "The second run sent nothing new" in output


def test_the_dry_run_shows_payloads_and_sends_nothing(tmp_path):
    output = run_demo(tmp_path, "--dry-run", "--records", "1000", runs=1)

    read, sent, verb, rejected = IN_SHORT.search(output).groups()
    assert verb == "would be sent"
    assert number(read) == 1000 == number(sent) + number(rejected)
    assert {reason for reason, _, _ in REASON_ROW.findall(output)} == BAD_ROW_REASONS
    assert "Dry run: the credentials were checked; a sync maps and previews events but sends none" in output
    assert "Nothing: 0 requests." in output
    assert output.count('"conversion": "urn:lla:llaPartnerConversion:0"') == 3
    assert "Both runs side by side" not in output  # a dry run writes once
    assert_gone(sandbox_pid(output), tmp_path)


@pytest.mark.parametrize(
    ("signum", "after", "code"),
    [(signal.SIGINT, "1. Sandbox: PID", 130), (signal.SIGTERM, "3. `python main.py write`", 143)],
    ids=["ctrl-c-after-sandbox-start", "sigterm-during-write"],
)
def test_an_interrupted_demo_leaves_no_process(tmp_path, signum, after, code):
    demo = subprocess.Popen(
        demo_command(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT, env=demo_env(tmp_path)
    )
    try:
        assert demo.stdout is not None
        seen = []
        for line in demo.stdout:
            seen.append(line)
            if line.startswith(after):
                break
        demo.send_signal(signum)
        rest = demo.stdout.read()
        assert demo.wait(timeout=60) == code, "".join(seen) + rest
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
    assert "Interrupted; every process the demo started has been stopped." in rest
    assert_gone(sandbox_pid("".join(seen)), tmp_path)
