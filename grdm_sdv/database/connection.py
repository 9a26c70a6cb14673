"""Engines and connections: SQLite opened read-only or with transactional DDL, driver errors
turned into messages that say the fix, URLs shown with their password hidden."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import sqlalchemy as sa
from sdv.errors import SynthesizerInputError


def _engine(url: str, read_only: bool) -> sa.engine.Engine:
    """An engine for ``url``; SQLite read-only through its ``mode=ro`` URI when asked."""
    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError as err:
        raise SynthesizerInputError(
            f"'{url}' is not a SQLAlchemy URL: write it as dialect+driver://user:password@host/"
            'database, e.g. sqlite:///shop.db or postgresql+psycopg://user@localhost/shop.'
        ) from err
    path = _sqlite_path(url)
    if parsed.get_backend_name() == 'sqlite':
        if path is None:
            raise SynthesizerInputError(
                f"'{url}' names an in-memory SQLite database, which is gone when the command "
                'ends: name a file, e.g. sqlite:///synthetic.db.')
        if read_only and not path.exists():
            raise SynthesizerInputError(f"No SQLite database at '{path}' ({url}): check the path.")
        if read_only:
            parsed = sa.engine.make_url(f'sqlite:///file:{quote(str(path.resolve()))}?mode=ro&uri=true')
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
    try:
        engine = sa.create_engine(parsed)
    except sa.exc.NoSuchModuleError as err:
        raise SynthesizerInputError(
            f"SQLAlchemy has no dialect '{parsed.drivername}' ({_masked(url)}): check the "
            'spelling, or install the package that provides it.') from err
    except ImportError as err:
        raise SynthesizerInputError(
            f"The database driver for '{parsed.drivername}' is not installed ({err.name or err}): "
            'install it (e.g. pip install psycopg[binary] for postgresql+psycopg://), or name '
            'an installed driver in the URL.') from err
    if engine.dialect.name == 'sqlite':
        _sqlite_transactions(engine)
    return engine


@contextmanager
def _reading(url: str) -> Iterator[sa.engine.Connection]:
    """A connection to ``url``, read-only where the URL allows it (SQLite: ``mode=ro``); the
    engine is disposed of on leaving."""
    engine = _engine(url, read_only=True)
    try:
        with _connect(engine, url) as conn:
            yield conn
    finally:
        engine.dispose()


def _sqlite_transactions(engine) -> None:
    """Let SQLAlchemy, not pysqlite, begin transactions, so DDL rolls back too (the recipe in
    SQLAlchemy's SQLite dialect docs), and enforce foreign keys."""
    @sa.event.listens_for(engine, 'connect')
    def _connect_hook(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        dbapi_connection.execute('PRAGMA foreign_keys=ON')

    @sa.event.listens_for(engine, 'begin')
    def _begin_hook(conn):
        conn.exec_driver_sql('BEGIN')


def _connect(engine, url: str):
    try:
        return engine.connect()
    except sa.exc.DBAPIError as err:
        raise SynthesizerInputError(
            f'Could not connect to {_masked(url)}: {_reason(err)}. Check that the server is '
            'running and that the URL (host, port, database, user, password) is right.') from err


def _reason(err: sa.exc.DBAPIError) -> str:
    """The driver's own message, first line."""
    return (str(getattr(err, 'orig', None) or err).strip().splitlines() or [''])[0]


def _sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (``None``: not SQLite, or in memory)."""
    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError:
        return None
    if parsed.get_backend_name() != 'sqlite' or parsed.database in (None, '', ':memory:'):
        return None
    return Path(parsed.database).expanduser().resolve()


def _masked(url: str) -> str:
    """The URL with its password hidden (SQLite paths made absolute, so two spellings match)."""
    path = _sqlite_path(url)
    if path is not None:
        return f'sqlite:///{path}'
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return str(url)
