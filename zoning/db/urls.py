"""Database URLs: parsing, masking the password, connecting, and psycopg's errors as one line.

A URL is ``postgresql://USER[:PASSWORD]@HOST[:PORT]/DB`` (libpq's URI form, so ``?sslmode=…`` and the
other libpq parameters work), optionally with this package's own parameters ``table`` (a registry or
output table, ``schema.name`` allowed) and ``key`` (the column that orders a registry). The password
comes from the URL, ``~/.pgpass`` or ``PGPASSWORD`` (libpq reads them) and is never shown: every URL a
message, a provenance record or a log names is :func:`masked`, and errors name the host, port and
database only.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from zoning.errors import DataError, ParameterError

SCHEMES = ("postgresql://", "postgres://")
#: this package's parameters in a URL's query, not libpq's
OWN_PARAMETERS = ("table", "key")
CONNECT_TIMEOUT_S = 10


def is_database_url(text: object) -> bool:
    """True for a ``postgresql://`` (or ``postgres://``) URL."""
    return isinstance(text, str) and text.strip().lower().startswith(SCHEMES)


@dataclass(frozen=True)
class DatabaseURL:
    """A parsed database URL: what to connect to (:attr:`conninfo`, with the password) and what to say
    (:attr:`label`, :attr:`masked`, without it)."""

    url: str
    table: str | None
    key: str | None

    @classmethod
    def parse(cls, text: str) -> DatabaseURL:
        if not is_database_url(text):
            raise ParameterError(f"{mask(text)}: not a database URL (postgresql://USER@HOST:PORT/DB)")
        parts = urlsplit(text.strip())
        query = parse_qsl(parts.query, keep_blank_values=True)
        own = {k: v for k, v in query if k in OWN_PARAMETERS}
        rest = [(k, v) for k, v in query if k not in OWN_PARAMETERS]
        url = urlunsplit(parts._replace(query=urlencode(rest)))
        return cls(url=url, table=own.get("table") or None, key=own.get("key") or None)

    @property
    def conninfo(self) -> str:
        return self.url

    @property
    def host(self) -> str:
        parts = urlsplit(self.url)
        host = parts.hostname or dict(parse_qsl(parts.query)).get("host") or "localhost"
        return f"{host}:{parts.port or 5432}"

    @property
    def database(self) -> str:
        return unquote(urlsplit(self.url).path.lstrip("/")) or "(default)"

    @property
    def label(self) -> str:
        """``HOST:PORT/DB``, for messages."""
        return f"{self.host}/{self.database}"

    @property
    def masked(self) -> str:
        """The URL with the password replaced by ``***`` (and the table, when one is named)."""
        text = mask(self.url)
        return f"{text}{'&' if '?' in text else '?'}table={self.table}" if self.table else text


_PASSWORD = re.compile(r"(?i)(://[^:/@?#\s]*:)[^@/?#\s]*(@)")
_PASSWORD_PARAMETER = re.compile(r"(?i)(\bpassword=)[^&\s]*")


def mask(text: str) -> str:
    """``text`` with any password in a URL (``user:secret@``) or a ``password=`` parameter replaced by ``***``."""
    return _PASSWORD_PARAMETER.sub(r"\1***", _PASSWORD.sub(r"\1***\2", str(text)))


def connect(url: DatabaseURL, *, purpose: str = "zoning", autocommit: bool = False):
    """A psycopg connection; a failure is a one-line :class:`DataError` naming the host, not the password."""
    try:
        import psycopg
    except ImportError:
        raise DataError(f"reading or writing the database at {url.label} needs psycopg: "
                        "pip install 'zoning[postgis]'") from None

    try:
        return psycopg.connect(url.conninfo, autocommit=autocommit, connect_timeout=CONNECT_TIMEOUT_S,
                               application_name=purpose[:63])
    except psycopg.Error as exc:
        raise DataError(f"cannot connect to the database at {url.label}: {reason(exc)}") from None


def reason(exc: BaseException) -> str:
    """A psycopg error's message as one line, masked: the server's reason, without libpq's preamble."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = lines[0] if lines else type(exc).__name__
    # libpq: 'connection failed: connection to server at "127.0.0.1", port 1 failed: Connection refused'
    text = text.rsplit(" failed: ", 1)[-1] if " failed: " in text else text
    if len(lines) > 1 and lines[0].rstrip().endswith(":"):
        text = f"{text} {lines[1]}"
    return mask(text.removeprefix("FATAL:").strip()) or type(exc).__name__


@contextlib.contextmanager
def database_errors(url: DatabaseURL, doing: str, after: str = "") -> Iterator[None]:
    """Turn psycopg's errors while ``doing`` something into one-line :class:`DataError`\\ s naming the
    host: a lost connection as such; ``after`` is added to the message (what was or was not kept)."""
    import psycopg

    try:
        yield
    except psycopg.OperationalError as exc:
        lost = "terminat" in str(exc) or "closed" in str(exc) or "lost" in str(exc) or "consuming input" in str(exc)
        what = "lost the connection to" if lost else "database error at"
        raise DataError(f"{what} the database at {url.label} while {doing}: {reason(exc)}{after}") from None
    except psycopg.Error as exc:
        raise DataError(f"database {url.label}: {doing}: {reason(exc)}{after}") from None
