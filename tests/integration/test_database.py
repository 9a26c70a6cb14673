"""Databases in and out (grdm_sdv.database): SQLite always, PostgreSQL through pgserver.

A small shop database declared in SQL (several tables, a table with three parents, a
nullable foreign key, a table without a primary key, dates, datetimes, text, numeric and
boolean columns, a UNIQUE column) is read, fitted (tiny), sampled at scale 2 into a fresh
database, and checked by the database itself.
"""

from __future__ import annotations

import datetime
import hashlib
import warnings

import numpy as np
import pytest
import sqlalchemy as sa
from sdv.errors import SynthesizerInputError

from grdm_sdv import GRDMSynthesizer
from grdm_sdv.database import check_integrity, read_database, sample_to_database, write_database
from grdm_sdv.database.read import _unique_columns
from tests.conftest import TINY, assert_integrity

SHOP_DDL = """
CREATE TABLE region (region_id INTEGER PRIMARY KEY, name VARCHAR(40) NOT NULL,
                     wealth NUMERIC(10, 2));
CREATE TABLE coupon (coupon_id INTEGER PRIMARY KEY, pct INTEGER NOT NULL);
CREATE TABLE customer (customer_id INTEGER PRIMARY KEY,
                       region_id INTEGER NOT NULL REFERENCES region (region_id),
                       email VARCHAR(80) UNIQUE, segment VARCHAR(20) NOT NULL,
                       signup DATE NOT NULL, is_member BOOLEAN, income REAL, nickname TEXT);
CREATE TABLE product (product_id VARCHAR(8) PRIMARY KEY, category TEXT NOT NULL,
                      price NUMERIC(10, 2) NOT NULL);
CREATE TABLE "order" (order_id INTEGER PRIMARY KEY,
                      customer_id INTEGER NOT NULL REFERENCES customer (customer_id),
                      coupon_id INTEGER REFERENCES coupon (coupon_id),
                      placed_at {datetime} NOT NULL, paid BOOLEAN NOT NULL);
CREATE TABLE order_item (item_id INTEGER PRIMARY KEY,
                         order_id INTEGER NOT NULL REFERENCES "order" (order_id),
                         product_id VARCHAR(8) NOT NULL REFERENCES product (product_id),
                         region_id INTEGER REFERENCES region (region_id),
                         quantity INTEGER NOT NULL, discount REAL);
CREATE TABLE note (order_id INTEGER NOT NULL REFERENCES "order" (order_id), body TEXT);
"""


def shop_rows(seed: int = 0) -> dict[str, list[dict]]:
    """Rows of the shop database (parents first)."""
    rng = np.random.default_rng(seed)
    regions = [{'region_id': i + 1, 'name': f'region {i}', 'wealth': round(float(rng.normal(50, 10)), 2)}
               for i in range(5)]
    coupons = [{'coupon_id': 100 + i, 'pct': int(rng.choice([5, 10, 20]))} for i in range(6)]
    customers = [{
        'customer_id': 1000 + i, 'region_id': int(rng.integers(1, 6)),
        'email': f'user{i}@example.com', 'segment': str(rng.choice(['basic', 'premium'])),
        'signup': datetime.date(2020, 1, 1) + datetime.timedelta(days=int(rng.integers(0, 900))),
        'is_member': [True, False, None][int(rng.integers(0, 3))],
        'income': None if rng.random() < 0.2 else float(rng.gamma(2, 20000)),
        'nickname': f'nick {i}',  # free text: every value distinct
    } for i in range(60)]
    products = [{'product_id': f'P{i:03d}', 'category': str(rng.choice(['toys', 'food', 'books'])),
                 'price': round(float(rng.uniform(1, 90)), 2)} for i in range(15)]
    orders, items, notes = [], [], []
    for c in customers:
        for _ in range(int(rng.integers(0, 5))):
            oid = len(orders) + 1
            orders.append({
                'order_id': oid, 'customer_id': c['customer_id'],
                'coupon_id': None if rng.random() < 0.6 else int(rng.integers(100, 106)),
                'placed_at': datetime.datetime(2023, 1, 1, 8) + datetime.timedelta(
                    minutes=int(rng.integers(0, 500_000))),
                'paid': bool(rng.random() < 0.8)})
            for _ in range(int(rng.integers(1, 4))):
                items.append({'item_id': len(items) + 1, 'order_id': oid,
                              'product_id': f'P{int(rng.integers(0, 15)):03d}',
                              'region_id': None if rng.random() < 0.3 else c['region_id'],
                              'quantity': int(rng.integers(1, 6)),
                              'discount': None if rng.random() < 0.5 else float(rng.uniform(0, 0.3))})
            if rng.random() < 0.3:
                notes.append({'order_id': oid, 'body': str(rng.choice(['fragile', 'gift', 'late']))})
    return {'region': regions, 'coupon': coupons, 'customer': customers, 'product': products,
            'order': orders, 'order_item': items, 'note': notes}


def create_shop(url: str, datetime_type: str = 'DATETIME') -> None:
    engine = sa.create_engine(url)
    meta = sa.MetaData()
    with engine.begin() as conn:
        for statement in SHOP_DDL.format(datetime=datetime_type).split(';'):
            if statement.strip():
                conn.exec_driver_sql(statement)
        meta.reflect(conn)
        for table, rows in shop_rows().items():
            conn.execute(meta.tables[table].insert(), rows)
    engine.dispose()


def described(url: str) -> dict:
    """Every table's columns (name, SQL type, nullable), primary key, foreign keys, uniques."""
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        inspector = sa.inspect(conn)
        out = {t: {
            'columns': [(c['name'], str(c['type']), c['nullable']) for c in inspector.get_columns(t)],
            'pk': inspector.get_pk_constraint(t)['constrained_columns'],
            'fks': sorted((tuple(f['constrained_columns']), f['referred_table'],
                           tuple(f['referred_columns'])) for f in inspector.get_foreign_keys(t)),
            'unique': sorted(_unique_columns(inspector, t)),
        } for t in inspector.get_table_names()}
    engine.dispose()
    return out


def digest(path) -> str:
    return hashlib.sha256(open(path, 'rb').read()).hexdigest()


@pytest.fixture(scope='module')
def shop(tmp_path_factory):
    path = tmp_path_factory.mktemp('shop') / 'shop.db'
    create_shop(f'sqlite:///{path}')
    return path


@pytest.fixture(scope='module')
def shop_fitted(shop):
    before = digest(shop)
    data, metadata, schema = read_database(f'sqlite:///{shop}')
    synth = GRDMSynthesizer(metadata, seed=0, **TINY)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        synth.fit(data)
    synth.database_schema = schema
    assert digest(shop) == before, 'reading changed the source database'
    return synth, data, metadata


# --- reading -------------------------------------------------------------------------------
def test_read_builds_metadata_from_the_schema(shop):
    data, metadata, schema = read_database(f'sqlite:///{shop}')
    meta = metadata.to_dict()
    assert sorted(data) == ['coupon', 'customer', 'note', 'order', 'order_item', 'product', 'region']
    cols = meta['tables']['customer']['columns']
    assert meta['tables']['customer']['primary_key'] == 'customer_id'
    assert cols['customer_id']['sdtype'] == 'id'
    assert cols['email']['sdtype'] == 'id' and meta['tables']['customer']['alternate_keys'] == ['email']
    assert cols['segment']['sdtype'] == 'categorical'
    assert cols['signup']['sdtype'] == 'datetime'
    assert cols['is_member']['sdtype'] == 'boolean'
    assert cols['income']['sdtype'] == 'numerical'
    assert cols['nickname'] == {'sdtype': 'unknown', 'pii': True}
    assert 'primary_key' not in meta['tables']['note']  # a table without a key stays one
    rels = {(r['child_table_name'], r['child_foreign_key'], r['parent_table_name'])
            for r in meta['relationships']}
    assert rels == {('customer', 'region_id', 'region'), ('order', 'customer_id', 'customer'),
                    ('order', 'coupon_id', 'coupon'), ('order_item', 'order_id', 'order'),
                    ('order_item', 'product_id', 'product'), ('order_item', 'region_id', 'region'),
                    ('note', 'order_id', 'order')}
    assert str(data['customer']['signup'].dtype) == 'datetime64[ns]'
    assert str(data['order']['coupon_id'].dtype) == 'Int64'
    assert data['region']['wealth'].dtype == float
    # as declared: SQLite lets a primary key other than INTEGER hold NULL
    assert schema.to_dict()['product']['columns'][0] == {
        'name': 'product_id', 'type': 'VARCHAR(8)', 'nullable': True, 'unique': False}
    # a chosen subset, with its parents
    sub, sub_meta, _ = read_database(f'sqlite:///{shop}', tables=['region', 'customer'])
    assert sorted(sub) == ['customer', 'region'] and len(sub_meta.relationships) == 1


# --- the round trip ------------------------------------------------------------------------
def test_sqlite_round_trip_at_scale_2(shop, shop_fitted, tmp_path):
    synth, data, metadata = shop_fitted
    target = f'sqlite:///{tmp_path / "synthetic.db"}'
    rows = sample_to_database(synth, target, scale=2.0)
    assert check_integrity(target) == []  # PRAGMA foreign_key_check
    assert described(target) == described(f'sqlite:///{shop}')  # same DDL
    for table in ('region', 'coupon', 'product'):
        assert rows[table] == 2 * len(data[table])
    back, _, _ = read_database(target)
    assert {t: len(df) for t, df in back.items()} == rows
    assert_integrity(back, metadata)
    assert back['customer']['email'].is_unique
    assert not back['customer']['nickname'].isin(data['customer']['nickname']).any()  # never copied
    assert back['order']['coupon_id'].isna().any()  # the nullable FK keeps nulls
    assert back['customer']['signup'].dtype == data['customer']['signup'].dtype
    # foreign keys are enforced by the database itself
    engine = sa.create_engine(target)
    with engine.connect() as conn:
        conn.exec_driver_sql('PRAGMA foreign_keys=ON')
        with pytest.raises(sa.exc.IntegrityError):
            conn.exec_driver_sql('INSERT INTO note (order_id, body) VALUES (-5, \'x\')')
    engine.dispose()


def test_target_must_be_empty_unless_replaced(shop, shop_fitted, tmp_path):
    synth, _, _ = shop_fitted
    target = f'sqlite:///{tmp_path / "out.db"}'
    sample_to_database(synth, target)
    before = digest(tmp_path / 'out.db')
    with pytest.raises(SynthesizerInputError, match=r"not empty.*if_exists='replace'"):
        sample_to_database(synth, target)
    assert digest(tmp_path / 'out.db') == before
    rows = sample_to_database(synth, target, scale=0.5, if_exists='replace')
    assert check_integrity(target) == [] and rows['region'] == 2
    with pytest.raises(SynthesizerInputError, match='fitted on'):
        sample_to_database(synth, f'sqlite:///{shop}', if_exists='replace')


def test_failed_write_leaves_nothing(shop_fitted, tmp_path):
    synth, data, metadata = shop_fitted
    broken = {t: df.copy() for t, df in data.items()}
    broken['note'].loc[0, 'order_id'] = -1  # no such order: the database refuses it
    path = tmp_path / 'broken.db'
    with pytest.raises(SynthesizerInputError, match="Writing table 'note'.*FOREIGN KEY"):
        write_database(broken, f'sqlite:///{path}', metadata, synth.database_schema)
    assert not path.exists()


def test_model_without_stored_schema_writes_types_from_dtypes(demo, fitted, tmp_path):
    target = f'sqlite:///{tmp_path / "demo.db"}'
    rows = sample_to_database(fitted, target, scale=0.5)
    assert check_integrity(target) == []
    cols = {c: t for c, t, _ in described(target)['customer']['columns']}
    assert cols['signup_date'] == 'DATE' and cols['is_member'] == 'BOOLEAN'
    back, _, _ = read_database(target)
    assert {t: len(df) for t, df in back.items()} == rows


def test_saved_model_keeps_the_schema_and_the_cli_writes_a_database(shop, tmp_path, capsys):
    from grdm_sdv.cli import main

    model = tmp_path / 'shop.pkl'
    assert main(['fit', f'sqlite:///{shop}', '--model', str(model), '--steps', '5', '--quiet']) == 0
    loaded = GRDMSynthesizer.load(str(model))
    assert loaded.database_schema is not None and loaded.database_schema.dialect == 'sqlite'
    target = f'sqlite:///{tmp_path / "synthetic.db"}'
    assert main(['sample', str(model), '--scale', '2', '--output', target, '--quiet']) == 0
    out = capsys.readouterr().out
    assert 'foreign_key_check: no violation' in out
    assert described(target) == described(f'sqlite:///{shop}')
    # A non-empty target is refused in one line (no traceback), and nothing is written.
    assert main(['sample', str(model), '--output', target, '--quiet']) == 1
    err = capsys.readouterr().err
    assert 'grdm-sdv sample: error: SynthesizerInputError' in err and 'not empty' in err
    assert described(target) == described(f'sqlite:///{shop}')
    assert main(['sample', str(model), '--output', target, '--overwrite', '--quiet']) == 0


# --- bad input -----------------------------------------------------------------------------
def _sqlite(tmp_path, ddl: str) -> str:
    url = f'sqlite:///{tmp_path / "bad.db"}'
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        for statement in ddl.split(';'):
            if statement.strip():
                conn.exec_driver_sql(statement)
    engine.dispose()
    return url


@pytest.mark.parametrize('ddl, match', [
    ('CREATE TABLE employee (id INTEGER PRIMARY KEY, manager_id INTEGER REFERENCES employee (id))',
     r"Table 'employee'.*references its own table.*leave the table out"),
    ('CREATE TABLE a (id INTEGER PRIMARY KEY, b_id INTEGER REFERENCES b (id));'
     'CREATE TABLE b (id INTEGER PRIMARY KEY, a_id INTEGER REFERENCES a (id))',
     r"tables \['a', 'b'\] form a cycle"),
    ('CREATE TABLE pair (x INTEGER, y INTEGER, PRIMARY KEY (x, y))',
     r"Table 'pair' has a composite primary key"),
    ('CREATE TABLE pair (x INTEGER, y INTEGER, PRIMARY KEY (x, y));'
     'CREATE TABLE child (id INTEGER PRIMARY KEY, x INTEGER, y INTEGER, '
     'FOREIGN KEY (x, y) REFERENCES pair (x, y))',
     r"Table 'child': foreign key \['x', 'y'\].*is composite"),
])
def test_schemas_sdv_cannot_describe_are_refused_by_name(tmp_path, ddl, match):
    url = _sqlite(tmp_path, ddl)
    with pytest.raises(SynthesizerInputError, match=match):
        read_database(url)


def test_a_parent_left_out_is_named(shop):
    with pytest.raises(SynthesizerInputError, match="Table 'order'.*read customer too"):
        read_database(f'sqlite:///{shop}', tables=['order', 'coupon'])
    with pytest.raises(SynthesizerInputError, match=r"no table\(s\) \['nope'\]"):
        read_database(f'sqlite:///{shop}', tables=['nope'])


def test_bad_urls_say_what_to_do(tmp_path):
    with pytest.raises(SynthesizerInputError, match='No SQLite database at'):
        read_database(f'sqlite:///{tmp_path / "missing.db"}')
    with pytest.raises(SynthesizerInputError, match='not a SQLAlchemy URL'):
        read_database('shop.db')
    with pytest.raises(SynthesizerInputError, match="no dialect 'nosuchdb'"):
        read_database('nosuchdb://host/db')
    with pytest.raises(SynthesizerInputError, match='driver .* is not installed'):
        read_database('mysql+mysqldb://user@127.0.0.1:1/shop')
    with pytest.raises(SynthesizerInputError, match='in-memory'):
        read_database('sqlite://')


@pytest.mark.skipif(not __import__('importlib').util.find_spec('psycopg'),
                    reason='psycopg is not installed (pip install -e .[test])')
def test_unreachable_server_is_named():
    with pytest.raises(SynthesizerInputError, match=r'Could not connect to postgresql\+psycopg://u:\*\*\*@127.0.0.1:1/shop'):
        read_database('postgresql+psycopg://u:secret@127.0.0.1:1/shop')


# --- PostgreSQL ----------------------------------------------------------------------------
@pytest.fixture(scope='module')
def postgres(tmp_path_factory):
    """A PostgreSQL server of our own (pgserver ships the binaries); its base URL."""
    pgserver = pytest.importorskip('pgserver', reason='pgserver is not installed (pip install -e .[test])')
    pytest.importorskip('psycopg', reason='psycopg is not installed (pip install -e .[test])')
    try:
        server = pgserver.get_server(str(tmp_path_factory.mktemp('pg')), cleanup_mode='stop')
    except Exception as err:  # noqa: BLE001 - any failure to start means: no server here
        pytest.skip(f'could not start an embedded PostgreSQL server: {err}')
    server.psql('CREATE DATABASE shop; CREATE DATABASE synthetic; CREATE DATABASE from_sqlite;')
    uri = server.get_uri().replace('postgresql://', 'postgresql+psycopg://')
    yield lambda db: uri.replace('/postgres?', f'/{db}?')
    server.cleanup()


def test_postgres_round_trip(postgres, shop_fitted):
    source, target = postgres('shop'), postgres('synthetic')
    create_shop(source, datetime_type='TIMESTAMP')
    data, metadata, schema = read_database(source)
    assert schema.dialect == 'postgresql'
    synth = GRDMSynthesizer(metadata, seed=0, **{**TINY, 'steps': 10})
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        synth.fit(data)
    synth.database_schema = schema
    rows = sample_to_database(synth, target, scale=2.0)
    assert check_integrity(target) == []
    assert described(target) == described(source)
    assert rows['region'] == 10
    with pytest.raises(SynthesizerInputError, match='not empty'):
        sample_to_database(synth, target)
    # a model fitted on SQLite writes into PostgreSQL with generic types
    sqlite_synth = shop_fitted[0]
    sample_to_database(sqlite_synth, postgres('from_sqlite'))
    assert check_integrity(postgres('from_sqlite')) == []
    cols = {c: t for c, t, _ in described(postgres('from_sqlite'))['order']['columns']}
    assert cols['placed_at'] == 'TIMESTAMP' and cols['paid'] == 'BOOLEAN'
