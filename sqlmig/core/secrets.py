"""Passwords never reach the terminal: `hide(text)` replaces every secret this process has
seen (each database URL or conninfo string `remember`ed where settings are resolved or a
connection is made, and PGPASSWORD) and anything shaped like one, on every output path.

Pure string work, tolerant of malformed URLs; never connects, never prints.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Mapping
from urllib.parse import quote, unquote

MASK = "***"
# Shorter pieces are hidden only where a URL or conninfo string shows them as a password:
# hiding every "ab" in every message would make the output unreadable.
MIN_LENGTH = 3

_known: set[str] = set()

# A URL's query starts at the first `?name=`; a password may hold `?` or `#`, rarely `?name=`.
_QUERY = re.compile(r"\?[A-Za-z_][A-Za-z0-9_]*=")
# Characters at which libpq's URI parser ends a password too early, so that pieces of it end
# up in a host name, a port or a database name, and from there in libpq's own messages.
_SPLITS = re.compile(r"[@/\s]+")
# Anything shaped like a secret, whether remembered or not: `scheme://user:PASSWORD@host`
# (the password runs to the `@` before the host, never into a `?name=` query), `password=...`
# in a URL's query or a conninfo string (quoted, with \' escapes, or up to a space or `&`),
# and 'password': '...' in a printed dict.
_URL_PASSWORD = re.compile(
    r"(?P<head>\b[A-Za-z][A-Za-z0-9+.-]*://[^\s:/?#@]*:)"
    r"(?P<secret>(?:(?!\?[A-Za-z_][A-Za-z0-9_]*=)\S)*?)"
    r"(?=@[^\s@/?#]*(?:[/?#\s'\",)]|$))"
)
# Reading a conninfo string allows spaces around `=` (and a value runs to the next space, `&`
# included; in a URL's query it ends at `&`); hiding in any text does not, so that a
# statement's `SET password = ...` in a message stays as written.
_SETTING = re.compile(r"(?P<head>\bpassword\s*=\s*)(?P<secret>'(?:[^'\\]|\\.)*'?|\S+)", re.I)
_SETTING_IN_TEXT = re.compile(
    r"(?P<head>(?:^|(?<=[\s?&]))password=)(?P<secret>'(?:[^'\\]|\\.)*'?|[^\s&'\",)]+)", re.I
)
_DICT_ENTRY = re.compile(r"(?P<head>['\"]password['\"]\s*:\s*)(?P<secret>'[^']*'|\"[^\"]*\")")


def url_password(url: str) -> str | None:
    """The password of `scheme://user:password@host/...` as written (not decoded), even when
    it holds unencoded reserved characters: the user part ends at the first `:`, the password
    at the last `@` before the host, path and query. None when there is none."""
    scheme, sep, rest = url.partition("://")
    if not sep or not scheme:
        return None
    query = _QUERY.search(rest)
    head = rest[: query.start()] if query else rest
    userinfo, at, _ = head.rpartition("@")
    if not at:
        return None
    _, colon, password = userinfo.partition(":")
    return password if colon else None


def passwords(url: str) -> list[str]:
    """Every password a URL or key=value conninfo string may carry, as written and as libpq
    reads it; empty for none. Never raises: a malformed string still gives up its secrets."""
    found = []
    if (password := url_password(url)) is not None:
        found.append(password)
    for match in _SETTING.finditer(url):
        value = match["secret"]
        if value.startswith("'"):
            value = re.sub(r"\\(.)", r"\1", value[1:].removesuffix("'"))
        elif "://" in url:
            value = re.split(r"[&#]", value)[0]
        found.append(value)
    # libpq's own reading: the user information ends at the first `@`, unless a `/` comes first
    _, sep, rest = url.partition("://")
    end = re.search(r"[@/]", rest)
    if sep and end and end[0] == "@" and ":" in rest[: end.start()]:
        found.append(rest[: end.start()].split(":", 1)[1])
    return [p for p in dict.fromkeys(found) if p]


@functools.lru_cache(maxsize=64)
def _forms(secret: str) -> frozenset[str]:
    """The secret as written, percent-decoded and percent-encoded, and the pieces libpq makes
    of a password with an unencoded `@`, `/` or space."""
    decoded = unquote(secret)
    forms = {secret, decoded, quote(decoded, safe=""), quote(decoded, safe="@:!$&'()*+,;=")}
    for form in list(forms):
        forms.update(_SPLITS.split(form))
    return frozenset(form for form in forms if len(form) >= MIN_LENGTH)


def remember(url: str | None) -> None:
    """Note the passwords of a URL or conninfo string so that `hide` removes them from any
    text, however that text quotes them."""
    if url:
        remember_secret(*passwords(url))


def remember_secret(*secrets: str) -> None:
    for secret in secrets:
        if secret:
            _known.update(_forms(secret))


def _bounded(secret: str) -> str:
    """A pattern for `secret` that does not match inside a longer word ("postgres" the
    password hides the user postgres, not the scheme postgresql)."""
    pattern = re.escape(secret)
    if secret[0].isalnum():
        pattern = r"(?<![A-Za-z0-9])" + pattern
    if secret[-1].isalnum():
        pattern += r"(?![A-Za-z0-9])"
    return pattern


def hide(text: str) -> str:
    """`text` with every password replaced by ***: the ones remembered, PGPASSWORD, and any
    in a URL or `password=` setting the text itself contains."""
    if not text:
        return text
    known = _known | _forms(os.environ.get("PGPASSWORD", ""))
    for secret in sorted(known, key=len, reverse=True):  # longest first: no half-hidden rest
        if secret in text and secret != MASK:
            text = re.sub(_bounded(secret), MASK, text)
    if "://" in text:
        text = _URL_PASSWORD.sub(lambda m: m["head"] + MASK if m["secret"] else m[0], text)
    if "=" in text:
        text = _SETTING_IN_TEXT.sub(lambda m: m["head"] + MASK, text)
    if "assword" in text:
        text = _DICT_ENTRY.sub(lambda m: m["head"] + repr(MASK), text)
    return text


# A string after PASSWORD (CREATE/ALTER ROLE, a user mapping's OPTIONS), cut short or not;
# `password=...` in a conninfo string is hide's, on every output path.
_PASSWORD_LITERAL = re.compile(r"(\bpassword\s+)E?'(?:[^']|'')*'?", re.IGNORECASE)


def without_passwords(query: str) -> str:
    """Another session's query as sqlmig shows it: a password literal in it masked."""
    return _PASSWORD_LITERAL.sub(r"\1'" + MASK + "'", query)


def unencoded(url: str) -> str | None:
    """The reserved character a URL's password holds unencoded where libpq cannot read it
    (`@`, `/` or a space), with its encoding, for a hint; None if there is none."""
    password = url_password(url)
    for character, encoded in (("@", "%40"), ("/", "%2F"), (" ", "%20")):
        if password and character in password:
            return f"the password holds an unencoded '{character}'; write it as {encoded}"
    return None


def named_target(user: str, host: str, port: str, dbname: str) -> str:
    """`user@host:port/dbname` (a socket folder as `socket /path`) for messages, without a
    password, however libpq split a malformed URL."""
    host = f"socket {host}" if host.startswith("/") else host
    return hide(f"{user}@{host}:{port}/{dbname}".lstrip("@"))


def named_params(params: Mapping[str, object]) -> str:
    """named_target of parsed connection parameters (libpq's defaults where one is absent)."""
    return named_target(str(params.get("user", "")), str(params.get("host") or "localhost"),
                        str(params.get("port") or "5432"), str(params.get("dbname", "")))
