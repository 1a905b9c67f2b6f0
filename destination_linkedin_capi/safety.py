"""What may go on the wire: URLs that every parser reads alike, header-safe secrets, and secrets registered with
the CDK's secret filter in every form an error text could print them in.

A URL two parsers read differently (`http://evil.example\\@127.0.0.1`: urllib.parse sees 127.0.0.1, the HTTP
client connects to evil.example) would pass a check made with one and send the token to the other's host, so a
URL is judged by both and refused when they disagree, or when it holds anything a plain URL does not need.
"""

from __future__ import annotations

import ipaddress
import json
import re
from urllib.parse import urlsplit

from urllib3.util import parse_url

from destination_linkedin_capi.errors import ConfigError


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


#: A DNS name (letters, digits, '-' and '.') or a bracketed IPv6 address: the only hosts a URL may name.
_HOST = re.compile(
    r"[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*\.?|\[[0-9A-Fa-f:.]+\]"
)


def _url_problem(text: str, allow_query: bool) -> str | None:
    """Why `text` is not a plain http(s) URL that urllib.parse and urllib3's `parse_url` (the parser requests
    connects with) read the same way, or None."""
    if not text.isascii():
        return "holds non-ASCII characters (write an international domain name in its xn-- form)"
    if any(ch.isspace() or not ch.isprintable() for ch in text):
        return "holds whitespace or control characters"
    if "\\" in text:
        return "holds a backslash"
    try:
        ours = urlsplit(text)
        theirs = parse_url(text)
        port = ours.port
    except ValueError:  # urllib3's LocationParseError is a ValueError too
        return "is not a valid URL"
    if ours.scheme not in ("http", "https") or not ours.hostname:
        return "is not an http(s) URL"
    if "@" in ours.netloc or theirs.auth is not None:
        return "holds a user name or password (user:password@host); put credentials in their own fields"
    if not _HOST.fullmatch(ours.netloc.rpartition(":")[0] if port is not None else ours.netloc):
        return "does not have a valid host name"
    if ours.fragment or "#" in text or (not allow_query and (ours.query or "?" in text)):
        return "holds a " + ("fragment (#...)" if allow_query else "query or fragment (? or #)")
    if (theirs.scheme, (theirs.host or "").strip("[]").lower(), theirs.port) != (ours.scheme, ours.hostname, port):
        return "is read differently by different URL parsers"
    return None


def check_url(value: str, field: str, *, allow_query: bool = False) -> str:
    """HTTPS anywhere; plain HTTP only to this machine, so a token never travels in clear. The sentence of a
    refusal names the field and the problem, never the URL (it may hold a password)."""
    text = value.strip()
    problem = _url_problem(text, allow_query)
    if problem:
        raise ConfigError(f"{field} {problem}; expected a plain URL such as https://host/path.")
    if urlsplit(text).scheme == "http" and not _is_loopback(urlsplit(text).hostname or ""):
        raise ConfigError(
            f"{field} uses plain http:// to a remote host; use https:// so the access token is never sent unencrypted."
        )
    return text.rstrip("/")


#: What a secret may hold: visible ASCII. Secrets travel in HTTP headers (and form bodies); a pasted line break
#: would split a header, and the error the HTTP client raises for it quotes the value, escaped.
_HEADER_SAFE = re.compile(r"[\x21-\x7e]+")


def is_header_safe(value: str) -> bool:
    """True when `value` can be sent as (part of) an HTTP header value as it is: visible ASCII only."""
    return bool(_HEADER_SAFE.fullmatch(value))


#: Pieces of a secret (split at whitespace and control characters) at least this long are masked on their own.
_MIN_PIECE = 8


def register_secret(value: str) -> None:
    """Register a secret with the CDK's secret filter in every form it could be printed in: as given, stripped,
    JSON-, repr- and ascii-escaped, and each long enough piece between whitespace or control characters (an
    error text may quote a header with its line break escaped, or cut at it)."""
    # Imported here, not at the top: the config and the LinkedIn client import this module, and neither may load the
    # Airbyte CDK (1 s of start-up) for the sandbox, the benchmarks or a library user; a secret only exists in a
    # process that runs the connector, which has loaded the CDK already.
    from airbyte_cdk.utils.airbyte_secrets_utils import add_to_secrets

    forms = {value, value.strip(), json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1]}
    forms.update((repr(value)[1:-1], ascii(value)[1:-1]))
    forms.update(re.split(r"[\s\x00-\x1f\x7f-\x9f]+", value))
    for form in sorted(forms, key=len, reverse=True):  # the longest first, so no piece spoils a longer form
        if form and (form == value or len(form) >= _MIN_PIECE):
            add_to_secrets(form)
