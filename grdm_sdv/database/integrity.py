"""The database's own word on its foreign keys (:func:`check_integrity`)."""

from __future__ import annotations

import sqlalchemy as sa

from .connection import _reading


def check_integrity(url: str) -> list[str]:
    """The database's own word on its foreign keys: the problems found (empty: intact).

    SQLite: ``PRAGMA foreign_key_check``. Other databases: every foreign-key constraint
    must be enforced (PostgreSQL: validated, not ``NOT VALID``) and hold: no row whose
    non-null foreign key has no parent row.
    """
    problems = []
    with _reading(url) as conn:
        if conn.dialect.name == 'sqlite':
            for row in conn.exec_driver_sql('PRAGMA foreign_key_check'):
                problems.append(f'{row[0]} row {row[1]}: no row in {row[2]} for foreign key #{row[3]}')
            return problems
        if conn.dialect.name == 'postgresql':
            for (name,) in conn.execute(sa.text(
                    "SELECT conname FROM pg_constraint WHERE contype = 'f' AND NOT convalidated")):
                problems.append(f'foreign key {name} is not validated')
        inspector = sa.inspect(conn)
        for child in inspector.get_table_names():
            for fk in inspector.get_foreign_keys(child):
                problems += _orphans(conn, child, fk)
    return problems


def _orphans(conn, child: str, fk: dict) -> list[str]:
    c = sa.table(child, *[sa.column(n) for n in fk['constrained_columns']]).alias('c')
    p = sa.table(fk['referred_table'], *[sa.column(n) for n in fk['referred_columns']]).alias('p')
    on = sa.and_(*[c.c[a] == p.c[b] for a, b in zip(fk['constrained_columns'], fk['referred_columns'])])
    query = sa.select(sa.func.count()).select_from(c.outerjoin(p, on)).where(
        sa.and_(*[c.c[a].is_not(None) for a in fk['constrained_columns']]),
        p.c[fk['referred_columns'][0]].is_(None))
    n = conn.execute(query).scalar()
    return [f"{child}{fk['constrained_columns']}: {n} row(s) without a parent in "
            f"{fk['referred_table']}"] if n else []
