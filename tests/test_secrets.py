"""secrets.hide: one function between every password and the terminal, whatever shape the URL
or conninfo string is in. The end-to-end table (every command, text and JSON) is in
test_security.py."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from sqlmig.core import secrets

RESERVED = ":/?#[]@!$&'()*+,;=%"


@pytest.fixture(autouse=True)
def nothing_remembered(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts from a process that has seen no secret."""
    monkeypatch.setattr(secrets, "_known", set())
    monkeypatch.delenv("PGPASSWORD", raising=False)


# (URL or conninfo string, its password as libpq reads it)
AWKWARD = [
    ("postgresql://app:s3cret@db.example.com:5432/app", "s3cret"),
    ("postgres://app:s3cret@[::1]:5432/app", "s3cret"),
    ("postgresql://:s3cret@db/app", "s3cret"),
    ("postgresql://u:Ab#PW?x@host/db", "Ab#PW?x"),
    (f"postgresql://u:Qv8{quote(RESERVED, safe='')}Zr5@host/db", f"Qv8{RESERVED}Zr5"),
    (f"postgresql://u:Qv8{RESERVED}Zr5@host/db", f"Qv8{RESERVED}Zr5"),
    *((f"postgresql://u:Qv8{c}Zr5@host:1/db", f"Qv8{c}Zr5") for c in RESERVED),
    ("postgresql://u:Qv8 Zr5@127.0.0.1:1/db", "Qv8 Zr5"),
    ("postgresql://u:p%40ss%3Aw0rd@db/app", "p@ss:w0rd"),
    ("postgresql://app:s3cret@[::1/app", "s3cret"),
    ("postgresql://app@db/app?password=s3cret&sslmode=require", "s3cret"),
    ("postgresql://app@db/app?options=-c%20statement_timeout%3D0&password=Qv8%26Zr5", "Qv8&Zr5"),
    ("postgresql://u:Qv8Zr5@/db?host=/tmp/pg&options=-c%20search_path%3Dapp", "Qv8Zr5"),
    ("host=db user=app password=s3cret dbname=app", "s3cret"),
    ("host=db password = s3cret", "s3cret"),
    ("host=h password='a b' dbname=x", "a b"),
    ("host=db password='it\\'s here' dbname=app", "it's here"),
    ("host=db password=ab&cd dbname=app", "ab&cd"),
    ("host=db options='-c statement_timeout=0' password='Qv8 Zr5' dbname=app", "Qv8 Zr5"),
]


@pytest.mark.parametrize(("url", "password"), AWKWARD, ids=[u for u, _ in AWKWARD])
def test_a_remembered_password_is_hidden_however_a_message_quotes_it(
    url: str, password: str
) -> None:
    secrets.remember(url)
    for text in (
        url,
        f"connection failed: password {password!r} rejected for {url}",
        f'unexpected spaces found in "{password}", use percent-encoded spaces',
        f"dsn={quote(password, safe='')} raw={password}",
    ):
        hidden = secrets.hide(text)
        assert password not in hidden
        assert quote(password, safe="") not in hidden


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://app:s3cret@db.example.com:5432/app",
         "postgresql://app:***@db.example.com:5432/app"),
        ("postgresql://u:Ab#PW?x@host/db", "postgresql://u:***@host/db"),
        ("postgresql://app:p@ss@db/app", "postgresql://app:***@db/app"),
        ("postgresql://app:s3cret@[::1/app", "postgresql://app:***@[::1/app"),
        ("postgresql://app@db/app?password=s3cret&sslmode=require",
         "postgresql://app@db/app?password=***&sslmode=require"),
        ("host=db user=app password=s3cret dbname=app", "host=db user=app password=*** dbname=app"),
        ("host=db password='s3 cret' dbname=app", "host=db password=*** dbname=app"),
        ("postgresql://u:pw1@host/db?application_name=me@corp",
         "postgresql://u:***@host/db?application_name=me@corp"),
    ],
)
def test_a_url_shows_everything_but_its_password(url: str, shown: str) -> None:
    secrets.remember(url)
    assert secrets.hide(url) == shown


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://app:s3cret@db.example.com:5432/app",
        "postgresql://u:Ab#PW?x@host/db",
        "host=db user=app password=s3cret dbname=app",
        "postgresql://app@db/app?password=s3cret",
    ],
)
def test_a_password_in_a_url_is_hidden_even_when_never_remembered(url: str) -> None:
    assert "s3cret" not in secrets.hide(f"error: cannot use {url} (retrying)")
    assert "Ab#PW?x" not in secrets.hide(f"error: cannot use {url} (retrying)")


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://app@db:5432/app",
        "host=db user=app dbname=app",
        "postgresql:///app",
        "postgresql://host:5432/db?user=a@b",
        "postgresql://postgres:@/postgres?host=/tmp/pg",
    ],
)
def test_a_url_without_a_password_is_left_as_it_is(url: str) -> None:
    secrets.remember(url)
    assert secrets.hide(url) == url


def test_pieces_libpq_makes_of_a_password_with_an_unencoded_at_are_hidden() -> None:
    """libpq ends the password at the first `@`: the rest becomes the host it names."""
    secrets.remember("postgresql://u:Qv8x@Zr5y@127.0.0.1:1/db")
    hidden = secrets.hide("failed to resolve host 'Zr5y@127.0.0.1': Name or service not known")
    assert "Zr5y" not in hidden
    assert hidden.endswith("'***@127.0.0.1': Name or service not known")


def test_pgpassword_is_hidden_wherever_it_appears(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGPASSWORD", "Env-Secret-42")
    assert secrets.hide('role "app" said Env-Secret-42 twice: Env-Secret-42') == \
        'role "app" said *** twice: ***'


def test_a_longer_word_holding_the_password_is_left_alone() -> None:
    """A development database with the password `postgres`: the user postgres is hidden (it
    is the password), the postgresql:// scheme is not."""
    secrets.remember("postgresql://postgres:postgres@localhost/app")
    assert secrets.hide("postgresql://admin@db and the postgres user") == \
        "postgresql://admin@db and the *** user"


def test_a_statement_setting_a_password_column_is_not_rewritten() -> None:
    text = "UPDATE users SET password = 'x' WHERE id = 1"
    assert secrets.hide(text) == text


@pytest.mark.parametrize(
    ("url", "hint"),
    [
        ("postgresql://u:Qv8@Zr5@h/db", "the password holds an unencoded '@'; write it as %40"),
        ("postgresql://u:Qv8/Zr5@h/db", "the password holds an unencoded '/'; write it as %2F"),
        ("postgresql://u:Qv8 Zr5@h/db", "the password holds an unencoded ' '; write it as %20"),
        ("postgresql://u:Qv8%40Zr5@h/db", None),
        ("postgresql://u:Ab#PW?x@host/db", None),
    ],
)
def test_a_password_libpq_cannot_read_gets_a_hint(url: str, hint: str | None) -> None:
    assert secrets.unencoded(url) == hint
