"""Record paths of `field_mappings`: `user.email`, `user_data.address[0].first_name` (docs/mapping.md §2).

A path is dot-separated keys, each optionally followed by list indices in brackets; `parse_path` turns it into
the steps `mapping.fields.dig` follows, and `path_text` back into the text users wrote, for messages.
"""

from __future__ import annotations

import re

Step = str | int
_SEGMENT = re.compile(r"([^.\[\]]+)((?:\[[0-9]{1,6}\])*)")
_INDEX = re.compile(r"\[([0-9]+)\]")


def is_nested(text: str) -> bool:
    """True when the text is meant as a path of several steps (it has a dot or a bracket)."""
    return "." in text or "[" in text or "]" in text


def parse_path(text: str) -> tuple[Step, ...] | None:
    """The steps of a path (keys as text, list indices as ints); None when it is not a well-formed path."""
    steps: list[Step] = []
    for segment in text.split("."):
        match = _SEGMENT.fullmatch(segment)
        if match is None:
            return None
        steps.append(match.group(1))
        steps.extend(int(index) for index in _INDEX.findall(match.group(2)))
    return tuple(steps)


def path_text(steps: tuple[Step, ...]) -> str:
    """`("user_data", "address", 0, "first_name")` → `user_data.address[0].first_name`."""
    text = ""
    for step in steps:
        if isinstance(step, int):
            text += f"[{step}]"
        else:
            text += f".{step}" if text else step
    return text
