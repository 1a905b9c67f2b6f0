"""`make demo`: the whole product, end to end, against the bundled LinkedIn sandbox — as a user would run it.

LinkedIn has no test environment, so a newcomer could otherwise only see the connector work with a real ad
account. This starts the sandbox as its own process (seeded with an ad account, a CDP token ID and campaigns,
but no conversion rules), runs the real CLI — `python main.py check`, then `python main.py write` on the
bundled sample data — and prints what the connector said and what "LinkedIn" received. Then it writes the
same records again, as every re-sync, reset or Full Refresh sync does, and shows side by side that the
second run sent nothing LinkedIn already had (the sent-events ledger, kept in the demo's SQLite store).
A dry run writes once. Every process it starts is stopped again, also on failure, Ctrl-C or SIGTERM.

Needs a source checkout (it runs `main.py`): `make demo`, or `python -m devtools.demo`. A little over 400
lines: the steps a newcomer watches (sandbox, check, write, what LinkedIn received) stay readable top to
bottom in one file; the rejected-rows display lives in `rejected_rows.py`.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import re
import selectors
import signal
import subprocess
import sys
import tempfile
import urllib.request
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from destination_linkedin_capi.mapping.reasons import REJECTION_REASONS
from devtools.rejected_rows import describe as describe_rejected
from devtools.sample_data import ACCOUNT as ACCOUNT_ID
from devtools.sample_data import STREAMS, bad_records, catalog, generate_lines

ROOT = Path(__file__).resolve().parent.parent
TOKEN_ID = "590708082141560832"
#: Only the local sandbox knows this key; the demo still treats it as a secret and never prints it.
SERVICE_KEY = "demo-service-key-5f1c0d"
EVENTS = ("LEAD", "PURCHASE", "SIGN_UP")
DEFAULT_RECORDS = 20_000
START_TIMEOUT = 30.0
CLI_TIMEOUT = 120.0
STOP_TIMEOUT = 10.0
ADMIN_TIMEOUT = 30.0

SEED: dict[str, Any] = {
    "accounts": [{"account_id": ACCOUNT_ID, "name": "Acme GmbH"}],
    "cdp_token_ids": [
        {"token_id": TOKEN_ID, "accounts": {str(ACCOUNT_ID): "ACCOUNT_MANAGER"}, "service_key": SERVICE_KEY}
    ],
    "campaigns": [
        {"account_id": ACCOUNT_ID, "campaign_id": 701, "name": "Spring launch", "status": "ACTIVE"},
        {"account_id": ACCOUNT_ID, "campaign_id": 702, "name": "Retargeting", "status": "ACTIVE"},
        {"account_id": ACCOUNT_ID, "campaign_id": 703, "name": "Last year's promo", "status": "PAUSED"},
    ],
    # The website's Insight Tag already counts purchases; the connector keeps its own rules separate (dedup by eventId).
    "rules": [
        {
            "account_id": ACCOUNT_ID,
            "rule_id": 9001,
            "name": "Website purchases (Insight Tag)",
            "type": "PURCHASE",
            "conversion_method": "INSIGHT_TAG_JAVASCRIPT_EVENT",
        }
    ],
}

_SUMMARY = re.compile(r"Sync summary: ([\d,]+) records read, ([\d,]+) (?:would be )?sent, .*?([\d,]+) rejected")
_ALREADY_SENT = re.compile(r"([\d,]+) [a-z ]*?already sent")
_STREAM_REASONS = re.compile(r"^\s+stream \S+: .*rejected [\d,]+ \((?P<reasons>.*)\)$")
_EXAMPLE = re.compile(r"^\s+(?P<reason>[a-z_]+): e\.g\. (?P<example>.*)$")
_PREVIEW = "Dry run, would send (personal data masked): "
_REJECTED_FOLDER = re.compile(r"^\s+rejected records: [\d,]+ written to (?P<folder>\S+) \(")


class DemoFailed(Exception):
    """A step did not do what the demo shows; the message says which."""


def _say(text: str = "") -> None:
    print(text, flush=True)


def _number(text: str) -> int:
    return int(text.replace(",", ""))


@contextlib.contextmanager
def _signals_deferred() -> Iterator[None]:
    """Ctrl-C or SIGTERM arriving inside the block takes effect when it ends. Used around starting a child and
    registering its stop, and around stopping it, so a signal can never leave a child that nobody will stop
    (`subprocess.Popen` does not kill a child it has forked when it is interrupted before returning)."""
    received: list[int] = []
    signals = (signal.SIGINT, signal.SIGTERM)
    previous = {signum: signal.signal(signum, lambda signum, frame: received.append(signum)) for signum in signals}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if received:
            signal.raise_signal(received[0])


def _stop(process: subprocess.Popen) -> None:
    """terminate, wait, kill if it does not go: nothing the demo started outlives it."""
    with _signals_deferred():
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _start(stack: contextlib.ExitStack, command: list[str], **options: Any) -> subprocess.Popen:
    """Start a child whose stop is registered on `stack` before any signal can interrupt."""
    with _signals_deferred():
        process = subprocess.Popen(command, **options)
        stack.enter_context(process)  # closes its pipes, after `_stop` has ended it
        stack.callback(_stop, process)
    return process


@dataclass(frozen=True)
class SandboxProcess:
    """The running sandbox, read through its admin API (docs/sandbox.md)."""

    pid: int
    url: str

    def admin(self, path: str) -> Any:
        with urllib.request.urlopen(f"{self.url}/_sandbox/{path}", timeout=ADMIN_TIMEOUT) as answer:
            return json.loads(answer.read())


@contextlib.contextmanager
def running_sandbox(seed_path: Path, log_path: Path) -> Iterator[SandboxProcess]:
    """`python -m linkedin_capi_sandbox` in its own process, stopped when the block ends."""
    with contextlib.ExitStack() as stack:
        log = stack.enter_context(open(log_path, "w+b"))
        command = [sys.executable, "-m", "linkedin_capi_sandbox", "--port", "0", "--seed", str(seed_path)]
        process = _start(stack, command, stdout=subprocess.PIPE, stderr=log, text=True)
        assert process.stdout is not None
        with selectors.DefaultSelector() as selector:  # the one line it prints once it listens
            selector.register(process.stdout, selectors.EVENT_READ)
            line = process.stdout.readline() if selector.select(START_TIMEOUT) else ""
        if not line.startswith("SANDBOX_URL="):
            log.seek(0)
            problem = log.read().decode("utf-8", "replace").strip()[-2000:] or "no output"
            raise DemoFailed(f"The sandbox did not start: {problem}")
        yield SandboxProcess(process.pid, line.strip().removeprefix("SANDBOX_URL="))


@dataclass
class CliRun:
    """One `python main.py ...` run: its exit code and the Airbyte messages it printed."""

    code: int
    messages: list[dict[str, Any]]
    stderr: str

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [message for message in self.messages if message.get("type") == kind]

    @property
    def logs(self) -> list[str]:
        return [message["log"]["message"] for message in self.of_type("LOG")]

    def failure(self) -> str:
        errors = [trace["trace"]["error"]["message"] for trace in self.of_type("TRACE") if "error" in trace["trace"]]
        return "; ".join(errors) or self.stderr.strip()[-2000:] or f"exit code {self.code}"


def run_connector(args: list[str], stdin: Path | None = None) -> CliRun:
    """The real CLI, `python main.py ARGS`, in a subprocess that is stopped on timeout, Ctrl-C and SIGTERM."""
    with contextlib.ExitStack() as stack:
        source = stack.enter_context(open(stdin, "rb")) if stdin else subprocess.DEVNULL
        command = [sys.executable, str(ROOT / "main.py"), *args]
        process = _start(
            stack, command, stdin=source, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT
        )
        try:
            stdout, stderr = process.communicate(timeout=CLI_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise DemoFailed(f"`python main.py {args[0]}` did not finish within {CLI_TIMEOUT:.0f} s.") from None
    messages = []
    for line in stdout.splitlines():
        with contextlib.suppress(json.JSONDecodeError):
            messages.append(json.loads(line))
    return CliRun(process.returncode, messages, stderr)


def rejected_dir() -> Path:
    """Where the demo's rejected rows are written; outside the demo's own temporary folder, so they can be read after."""
    return Path(tempfile.gettempdir()) / "linkedin-capi-demo-rejected"


def demo_config(url: str, *, dry_run: bool, store_path: Path) -> dict[str, Any]:
    """What a user would fill in the Airbyte form: token-ID mode, so the connector creates the rules itself, and an
    SQLite file as the request budget's store, which also keeps the sent-events ledger from one sync to the next."""
    return {
        "account_id": str(ACCOUNT_ID),
        "credentials": {
            "auth_type": "token_id",
            "token_id": TOKEN_ID,
            "token_service_url": f"{url}/cdp/v1/token",
            "token_service_key": SERVICE_KEY,
        },
        "conversion_events": list(EVENTS),
        "stream_events": "leads=LEAD,purchases=PURCHASE,signups=SIGN_UP",
        "campaign_association": "all_active",
        "dry_run": dry_run,
        "send_once": True,
        "request_budget": {"store": "sqlite", "path": str(store_path)},
        "object_storage_config": {"storage_type": "Local", "local_path": str(rejected_dir())},
        "api_base_url": url,
        "oauth_base_url": url,
    }


@dataclass
class Outcome:
    """The connector's own account of the sync, read from its summary lines."""

    read: int
    sent: int
    rejected: int
    already_sent: int = 0  # left out: LinkedIn accepted the same conversion before
    reasons: Counter[str] = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)
    rejected_folder: str | None = None

    @classmethod
    def from_logs(cls, logs: Sequence[str]) -> Outcome:
        match = next((m for m in map(_SUMMARY.search, logs) if m), None)
        if match is None:
            raise DemoFailed("The connector printed no sync summary.")
        outcome = cls(*(_number(group) for group in match.groups()))
        if already := _ALREADY_SENT.search(match.string):
            outcome.already_sent = _number(already.group(1))
        for line in logs:
            if stream := _STREAM_REASONS.match(line):
                for part in stream["reasons"].split(", "):
                    reason, _, count = part.rpartition(" ")
                    outcome.reasons[reason] += _number(count)
            elif folder := _REJECTED_FOLDER.match(line):
                outcome.rejected_folder = folder["folder"]
            elif example := _EXAMPLE.match(line):
                outcome.examples[example["reason"]] = example["example"]
        return outcome


def _config_lines(config: dict[str, Any]) -> list[str]:
    """The config one setting a line, as a user would enter it in Airbyte, with the secret masked."""
    credentials = {**config["credentials"], "token_service_key": "**********"}
    return [f"{key}: {json.dumps(credentials if key == 'credentials' else value)}" for key, value in config.items()]


def _step_check(config_path: Path) -> None:
    _say("\n2. `python main.py check`: can the connector reach the ad account, and where will events go?")
    run = run_connector(["check", "--config", str(config_path)])
    statuses = [message["connectionStatus"] for message in run.of_type("CONNECTION_STATUS")]
    if run.code != 0 or len(statuses) != 1:
        raise DemoFailed(f"check did not answer: {run.failure()}")
    for message in run.of_type("LOG"):
        if message["log"]["level"] in ("WARN", "WARNING", "ERROR"):
            _say(f"   {message['log']['level']}: {message['log']['message']}")
    _say(f"   {statuses[0]['status']}: {statuses[0].get('message', '')}")
    if statuses[0]["status"] != "SUCCEEDED":
        raise DemoFailed("check failed, so the demo stops before writing.")


def _step_write(config_path: Path, workdir: Path, records: int) -> tuple[Outcome, list[dict[str, Any]]]:
    input_path = workdir / "records.jsonl"
    catalog_path = workdir / "catalog.json"
    catalog_path.write_text(json.dumps(catalog()))
    with open(input_path, "wb") as handle:
        for line in generate_lines(records):
            handle.write(line + b"\n")
    streams = ", ".join(f"{name} → {event}" for name, (event, _) in STREAMS.items())
    bad = len(bad_records(dt.datetime.now(dt.timezone.utc)))
    _say(
        f"\n3. `python main.py write`: {records:,} sample records from 3 streams ({streams}); mixed identifiers "
        f"(email, LinkedIn click ID, name + company), and {bad} deliberately bad rows."
    )
    return _write(config_path, workdir, "an example of each rejection is in the table below")


def _write(config_path: Path, workdir: Path, note: str) -> tuple[Outcome, list[dict[str, Any]]]:
    """`python main.py write` on the records `_step_write` generated, with the connector's log shown."""
    input_path, catalog_path = workdir / "records.jsonl", workdir / "catalog.json"
    run = run_connector(["write", "--config", str(config_path), "--catalog", str(catalog_path)], stdin=input_path)
    if run.code != 0:
        raise DemoFailed(f"write failed: {run.failure()}")
    previews = [json.loads(line.removeprefix(_PREVIEW)) for line in run.logs if line.startswith(_PREVIEW)]
    _say(f"   Connector log ({len(run.of_type('STATE'))} checkpoints confirmed; {note}):")
    # Each thing once: the summary's duration is the only one printed for a run, and the per-reason examples are
    # shown with each reason's meaning in the table after the first run rather than here as well.
    for line in run.logs:
        if not line.startswith(_PREVIEW) and not _EXAMPLE.match(line):
            _say(f"   | {line}")
    return Outcome.from_logs(run.logs), previews


def _explain(outcome: Outcome, *, dry_run: bool) -> None:
    verb = "would be sent" if dry_run else "sent to LinkedIn"
    already = f" + {outcome.already_sent:,} already sent (left out)" if outcome.already_sent else ""
    _say(
        f"\n   In short: {outcome.read:,} records read = {outcome.sent:,} {verb}{already} + {outcome.rejected:,} rejected."
    )
    _check_balance(outcome)
    if outcome.reasons:
        _say("   Rejected records, by reason (each was skipped; the rest of the sync went on):")
    for reason, count in outcome.reasons.most_common():
        meaning = REJECTION_REASONS.get(reason, "LinkedIn refused the event.")
        _say(f"     {reason:<18} {count:>5,}  {meaning}")
        if reason in outcome.examples:
            _say(f"     {'':<18} {'':>5}  e.g. {outcome.examples[reason]}")


def _check_balance(outcome: Outcome) -> None:
    if outcome.read != outcome.sent + outcome.already_sent + outcome.rejected:
        raise DemoFailed("The counts do not add up: some records were neither sent, already sent nor rejected.")


def _step_rejected_rows(outcome: Outcome) -> None:
    _say("   Where the rejected rows went (Rejected records storage: Local):")
    try:
        if outcome.rejected_folder is None:
            raise ValueError("The connector did not say where it wrote the rejected rows.")
        lines = describe_rejected(Path(outcome.rejected_folder), outcome.rejected)
    except ValueError as error:
        raise DemoFailed(str(error)) from None
    for line in lines:
        _say(f"     {line}")


def _step_received(
    sandbox: SandboxProcess, outcome: Outcome, previews: list[dict[str, Any]], *, dry_run: bool, checked: int
) -> None:
    """`checked`: the requests `check` made (it verifies the credentials even in a dry run)."""
    _say("\n4. What LinkedIn (the sandbox) received:")
    stats = sandbox.admin("stats")
    events = sandbox.admin("events")["elements"]
    if dry_run:
        if stats["requests"] != checked or events:
            raise DemoFailed(f"A dry run contacted LinkedIn: {stats['requests'] - checked} requests.")
        _say(
            f"   Nothing: 0 requests. A dry run maps and validates every record and sends none (only `check` called, "
            f"{checked} requests, to verify the credentials)."
        )
        _say(
            f"   The first {len(previews)} events it would have sent (rule 0 stands for the rule a real sync creates):"
        )
        for payload in previews:
            _say(_indented(payload))
        return
    per_rule = Counter(event["_rule_id"] for event in events)
    links = Counter(rule for _, rule in sandbox.admin("campaign-conversions")["elements"])
    for rule in sandbox.admin(f"rules?account_id={ACCOUNT_ID}")["elements"]:
        rule_id = int(str(rule["id"]).rsplit(":", 1)[-1])
        method = rule.get("conversionMethod", "")
        note = f"linked to {links[rule_id]} campaigns" if method == "CONVERSIONS_API" else "Insight Tag rule, untouched"
        _say(f"   rule {rule_id:<10} {rule['name']!r:<34} {rule['type']:<9} {per_rule[rule_id]:>7,} events  ({note})")
    batches = stats["batch_sizes"]
    _say(
        f"   {len(events):,} events in {len(batches)} batch requests ({', '.join(f'{n:,}' for n in batches)}); "
        f"{stats['requests']} API calls in all, including token, account and rule calls."
    )
    if len(events) != outcome.sent:
        raise DemoFailed(f"The sandbox stored {len(events):,} events but the connector reported {outcome.sent:,} sent.")
    _say(f"   That is exactly the {outcome.sent:,} the connector reported as sent.")
    if not events:
        return
    sample = max(events[:1000], key=_showcase)
    _say("   One event as LinkedIn received it (the email is SHA-256 hashed; the eventId lets LinkedIn deduplicate):")
    _say(_indented({key: value for key, value in sample.items() if not key.startswith("_")}))


def _step_again(config_path: Path, workdir: Path) -> Outcome:
    """The same records written a second time, as every re-sync, reset or Full Refresh | Append sync does."""
    _say(
        "\n5. `python main.py write` again, on the same records: what a re-sync, a reset, a backfill or a "
        "Full Refresh | Append stream does at every sync. LinkedIn counts each conversion it receives again a second time."
    )
    outcome, _ = _write(config_path, workdir, "the same rows are rejected for the same reasons")
    _check_balance(outcome)
    return outcome


def _closing_table(sandbox: SandboxProcess, first: Outcome, second: Outcome, twice: tuple[int, int]) -> None:
    """Both runs side by side, and what LinkedIn (the sandbox) received twice during each."""
    events = len(sandbox.admin("events")["elements"])
    if events != first.sent + second.sent:
        raise DemoFailed(
            f"The sandbox holds {events:,} events but the connector reported {first.sent + second.sent:,} sent."
        )
    _say("\n6. Both runs side by side:")
    header = ("records read", "sent to LinkedIn", "already sent, left out", "rejected", "received twice by LinkedIn")
    _say(f"   {'':<26}" + "".join(f"{title:>{len(title) + 3}}" for title in header))
    for label, outcome, doubled in (("First run", first, twice[0]), ("Second run (same records)", second, twice[1])):
        counts = (outcome.read, outcome.sent, outcome.already_sent, outcome.rejected, doubled)
        _say(f"   {label:<26}" + "".join(f"{n:>{len(title) + 3},}" for title, n in zip(header, counts, strict=True)))
    _say(
        f"   The sandbox holds {events:,} events: {first.sent:,} from the first run and {second.sent:,} from the second."
    )
    if second.sent == 0 and twice[1] == 0:
        _say(
            f"   The second run sent nothing new: LinkedIn had already accepted {second.already_sent:,} of its records, "
            "so the connector left them out (send_once: it remembers what LinkedIn accepted in the request budget's "
            "store, here an SQLite file), and LinkedIn received no conversion twice. Each conversion counts once."
        )
    else:
        _say(
            f"   The second run sent {second.sent:,} events again, and LinkedIn received {twice[1]:,} conversions it "
            "already had: they would count twice."
        )


def _showcase(event: dict[str, Any]) -> int:
    """How much of the mapping an event shows: hashed email, name and company, a value."""
    emailed = any(user_id["idType"] == "SHA256_EMAIL" for user_id in event["user"]["userIds"])
    return emailed + ("userInfo" in event["user"]) + ("conversionValue" in event)


def _indented(payload: dict[str, Any]) -> str:
    return "\n".join(f"     {line}" for line in json.dumps(payload, indent=2, ensure_ascii=False).splitlines())


def run_demo(records: int, *, dry_run: bool) -> None:
    """The four steps; raises DemoFailed on the first one that does not hold."""
    mode = " (dry run)" if dry_run else ""
    _say(f"LinkedIn Conversions API destination — demo{mode} against the bundled LinkedIn sandbox")
    with tempfile.TemporaryDirectory(prefix="linkedin-capi-demo-") as tmp:
        workdir = Path(tmp)
        seed_path = workdir / "seed.json"
        seed_path.write_text(json.dumps(SEED))
        with running_sandbox(seed_path, workdir / "sandbox.log") as sandbox:
            _say(
                f"\n1. Sandbox: PID {sandbox.pid} at {sandbox.url} — a local stand-in for LinkedIn; nothing leaves this machine."
            )
            _say(
                f"   Seeded: ad account {ACCOUNT_ID} 'Acme GmbH', a CDP token ID for it, 2 active campaigns and an Insight "
                "Tag rule. No Conversions API rules yet: the connector creates them."
            )
            config = demo_config(sandbox.url, dry_run=dry_run, store_path=workdir / "budget.sqlite")
            config_path = workdir / "config.json"
            config_path.write_text(json.dumps(config))
            _say(
                "   Connector config (what you would enter in Airbyte; the token service key is a secret, never shown):"
            )
            for line in _config_lines(config):
                _say(f"     {line}")
            _step_check(config_path)
            checked = sandbox.admin("stats")["requests"]
            outcome, previews = _step_write(config_path, workdir, records)
            _explain(outcome, dry_run=dry_run)
            _step_rejected_rows(outcome)
            _step_received(sandbox, outcome, previews, dry_run=dry_run, checked=checked)
            if not dry_run:
                twice = sandbox.admin("stats")["duplicates_received"]
                again = _step_again(config_path, workdir)
                twice_again = sandbox.admin("stats")["duplicates_received"] - twice
                _closing_table(sandbox, outcome, again, (twice, twice_again))
        _say(f"\nSandbox stopped (PID {sandbox.pid}).")
    _say("Done. On real LinkedIn, conversions show in Campaign Manager within 72 h.")


class _Terminated(BaseException):
    """SIGTERM, raised like Ctrl-C's KeyboardInterrupt so every `finally` stops what it started."""


def _raise_terminated(signum: int, frame: object) -> None:
    raise _Terminated


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.demo", description="Run the connector against the local sandbox."
    )
    parser.add_argument("--records", type=int, default=DEFAULT_RECORDS, help="sample records to write (default 20000)")
    parser.add_argument("--dry-run", action="store_true", help="map and validate only; show the would-be payloads")
    args = parser.parse_args(argv)
    if args.records < 1:
        parser.error("--records must be at least 1")
    signal.signal(signal.SIGTERM, _raise_terminated)
    # A shell that starts a job in the background leaves SIGINT ignored, and Python then keeps it ignored;
    # the demo must still stop (and stop what it started) on Ctrl-C or `kill -INT`.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        run_demo(args.records, dry_run=args.dry_run)
    except DemoFailed as failure:
        _say(f"\nDemo failed: {failure}")
        return 1
    except (KeyboardInterrupt, _Terminated) as stop:
        _say("\nInterrupted; every process the demo started has been stopped.")
        return 128 + (signal.SIGINT if isinstance(stop, KeyboardInterrupt) else signal.SIGTERM)
    return 0


if __name__ == "__main__":
    sys.exit(main())
