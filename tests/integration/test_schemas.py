"""GRDMSynthesizer on every schema shape and column kind SDV metadata can describe, and on bad input.

Three small fits carry most tests: the 12-table "zoo" (structure), one table with every column
kind (encoding) and the demo database with two single-table constraints. Bad-input tests use a
2-step fit of a two-table database, so they cost little.
"""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from sdv.cag import FixedCombinations, Inequality
from sdv.errors import InvalidDataError, SamplingError, SynthesizerInputError
from sdv.metadata import Metadata
from sdv.metadata.errors import InvalidMetadataError

from grdm_sdv import GRDMSynthesizer
from grdm_sdv.datasets import ZOO_BIG_ID, ZOO_UUID_REGEX, make_demo_database, make_relational_zoo
from grdm_sdv.data.schema import RelationalSchema
from tests.conftest import TINY, assert_integrity, children_per_parent

def _fit(metadata, tables, **params) -> GRDMSynthesizer:
    synth = GRDMSynthesizer(metadata, seed=0, **{**TINY, **params})
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        synth.fit(tables)
    return synth


def _rel(metadata, child, fk) -> dict:
    return next(r for r in metadata.to_dict()['relationships']
                if r['child_table_name'] == child and r['child_foreign_key'] == fk)


# --- structure: the 12-table zoo -------------------------------------------------------------
@pytest.fixture(scope='module')
def zoo():
    tables, metadata = make_relational_zoo(size=1.0, seed=0)
    synth = _fit(metadata, tables)
    return tables, metadata, synth, synth.sample(scale=1.0), synth.sample(scale=2.0)


def test_many_tables_deep_chain_several_roots(zoo):
    tables, metadata, _, syn1, syn2 = zoo
    schema = RelationalSchema.from_metadata_dict(metadata.to_dict())
    assert len(schema.tables) >= 12 and schema.depth() >= 5
    assert metadata._get_max_schema_depth() == schema.depth() == 6
    assert {'country', 'driver', 'constructor', 'airport', 'setting'} <= set(schema.roots())
    for synthetic in (syn1, syn2):
        assert set(synthetic) == set(tables)
        for name, real in tables.items():
            assert list(synthetic[name].columns) == list(real.columns), name
            for col in real.columns:
                assert synthetic[name][col].dtype == real[col].dtype, (name, col)
        assert_integrity(synthetic, metadata)
    for root in schema.roots():
        assert len(syn2[root]) == 2 * len(tables[root]), root
    # The deepest table is still there at the right size: sizes follow the sampled parents.
    assert 0.5 * len(tables['lap_note']) < len(syn1['lap_note']) < 1.5 * len(tables['lap_note'])


def test_isolated_table_without_primary_key(zoo):
    tables, _, _, syn1, syn2 = zoo
    assert len(syn1['setting']) == len(tables['setting'])
    assert len(syn2['setting']) == 2 * len(tables['setting'])
    assert set(syn1['setting']['key']) <= set(tables['setting']['key'])


def test_key_only_table(zoo):
    tables, metadata, synth, syn1, _ = zoo
    entry = syn1['entry']
    assert list(entry.columns) == ['entry_id', 'race_id', 'driver_id']
    assert entry['entry_id'].is_unique and len(entry) > 0.5 * len(tables['entry'])
    assert synth.get_loss_values().shape[0] == TINY['steps']
    with pytest.raises(SynthesizerInputError, match="'entry' has no attributes"):
        synth.get_loss_values('entry')


def test_child_with_three_parents_keeps_every_parent_degree(zoo):
    tables, metadata, _, _, syn2 = zoo
    for fk in ('race_id', 'driver_id', 'constructor_id'):
        rel = _rel(metadata, 'result', fk)
        real, syn = children_per_parent(tables, rel), children_per_parent(syn2, rel)
        assert abs(real.mean() - syn.mean()) < 0.15 * real.mean() + 0.2, fk
        assert abs((real == 0).mean() - (syn == 0).mean()) < 0.1, fk


def test_two_foreign_keys_to_the_same_parent_and_a_hub_with_thousands_of_children(zoo):
    tables, metadata, _, syn1, _ = zoo
    origin, dest = _rel(metadata, 'flight', 'origin'), _rel(metadata, 'flight', 'destination')
    real_hub = children_per_parent(tables, origin).max()
    assert real_hub >= 1000
    # At scale 1 every real airport's degree vector is used once: the hub keeps its flights.
    assert children_per_parent(syn1, origin).max() == real_hub
    real_d, syn_d = children_per_parent(tables, dest), children_per_parent(syn1, dest)
    assert abs(np.sort(real_d) - np.sort(syn_d)).max() <= 0.2 * real_d.max() + 2
    codes = set(syn1['airport']['code'])
    assert syn1['flight']['origin'].isin(codes).all() and syn1['flight']['destination'].isin(codes).all()


def test_nullable_foreign_key_keeps_its_null_rate(zoo):
    tables, _, _, syn1, syn2 = zoo
    real_rate = tables['race']['sponsor_id'].isna().mean()
    for synthetic in (syn1, syn2):
        sponsor = synthetic['race']['sponsor_id']
        assert abs(sponsor.isna().mean() - real_rate) < 0.05
        assert sponsor.dropna().isin(synthetic['constructor']['constructor_id']).all()


def test_only_foreign_key_nullable():
    # The child's one FK (its primary FK) is null in 30% of rows: those rows scale with the
    # parent table.
    tables, metadata = _small_database()
    child = tables['child']
    child['pid'] = child['pid'].astype(float).where(np.random.default_rng(1).random(len(child)) > 0.3)
    real_rate = child['pid'].isna().mean()

    synthetic = _fit(metadata, tables).sample(scale=2.0)

    assert abs(synthetic['child']['pid'].isna().mean() - real_rate) < 0.05
    assert 1.6 * len(child) < len(synthetic['child']) < 2.4 * len(child)
    assert synthetic['child']['pid'].dropna().isin(synthetic['parent']['pid']).all()


def test_child_without_primary_key(zoo):
    tables, _, _, syn1, _ = zoo
    notes = syn1['lap_note']
    assert list(notes.columns) == list(tables['lap_note'].columns)
    assert notes['pit_id'].isin(syn1['pit_stop']['pit_id']).all()
    assert set(notes['note']) <= set(tables['lap_note']['note'])


def test_string_uuid_and_large_integer_keys(zoo):
    tables, _, _, syn1, _ = zoo
    assert syn1['airport']['code'].str.fullmatch('[A-Z]{3}').all()
    assert syn1['driver']['driver_id'].str.fullmatch(ZOO_UUID_REGEX).all()
    assert syn1['driver']['driver_id'].is_unique
    # Real keys near the int64 limit are read and linked exactly (a float would round
    # them); SDV regenerates integer keys without a regex as random ints.
    assert tables['constructor']['constructor_id'].min() == ZOO_BIG_ID
    assert syn1['constructor']['constructor_id'].dtype == np.int64
    assert syn1['race']['sponsor_id'].dtype == 'Int64'
    assert syn1['result']['constructor_id'].isin(syn1['constructor']['constructor_id']).all()


def test_parents_with_zero_children(zoo):
    tables, metadata, _, _, syn2 = zoo
    for child, fk in [('circuit', 'country_id'), ('result', 'race_id'), ('pit_stop', 'result_id')]:
        rel = _rel(metadata, child, fk)
        real, syn = children_per_parent(tables, rel), children_per_parent(syn2, rel)
        assert (real == 0).mean() > 0.05, child
        assert abs((real == 0).mean() - (syn == 0).mean()) < 0.1, child


def test_integer_keys_up_to_the_int64_limit():
    n = 200
    parent = pd.DataFrame({'pid': 9 * 10**18 + np.arange(n), 'x': np.arange(n) % 7})
    child = pd.DataFrame({'pid': np.repeat(parent['pid'].to_numpy(), 3), 'y': np.arange(3 * n) % 5})

    def metadata(regex):
        return Metadata.load_from_dict({
            'tables': {
                'parent': {'primary_key': 'pid', 'columns': {
                    'pid': {'sdtype': 'id', 'regex_format': regex}, 'x': {'sdtype': 'numerical'}}},
                'child': {'columns': {'pid': {'sdtype': 'id'}, 'y': {'sdtype': 'categorical'}}}},
            'relationships': [{'parent_table_name': 'parent', 'parent_primary_key': 'pid',
                               'child_table_name': 'child', 'child_foreign_key': 'pid'}]})

    synthetic = _fit(metadata('9[0-9]{18}'), {'parent': parent, 'child': child}).sample(scale=1.0)
    assert synthetic['parent']['pid'].dtype == np.int64
    assert synthetic['parent']['pid'].min() >= 9 * 10**18 and synthetic['parent']['pid'].is_unique
    assert synthetic['child']['pid'].isin(synthetic['parent']['pid']).all()
    # Regexes beyond int64 (digit strings, as HMA): tests/integration/test_relationship_kinds.py


@pytest.mark.parametrize('relationships, tables', [
    ([('employee', 'employee', 'manager_id')], ['employee']),  # employee -> manager
    ([('a', 'b', 'a_id'), ('b', 'a', 'b_id')], ['a', 'b']),  # a two-table cycle
])
def test_cycles_are_refused_with_the_reason(relationships, tables):
    columns = {'id': {'sdtype': 'id'}, 'manager_id': {'sdtype': 'id'}, 'a_id': {'sdtype': 'id'},
               'b_id': {'sdtype': 'id'}}
    meta = {'tables': {t: {'primary_key': 'id', 'columns': columns} for t in tables},
            'relationships': [{'parent_table_name': p, 'parent_primary_key': 'id',
                               'child_table_name': c, 'child_foreign_key': fk}
                              for p, c, fk in relationships]}
    with pytest.raises(InvalidMetadataError, match=r'circular dependency between tables'):
        GRDMSynthesizer(Metadata.load_from_dict(meta))


def test_composite_primary_key_is_refused():
    meta = {'tables': {'a': {'primary_key': ['k1', 'k2'], 'columns': {
        'k1': {'sdtype': 'id'}, 'k2': {'sdtype': 'id'}, 'x': {'sdtype': 'numerical'}}}}}
    with pytest.raises(SynthesizerInputError, match="composite keys.*\\['a'\\]"):
        GRDMSynthesizer(Metadata.load_from_dict(meta))


# --- column kinds ----------------------------------------------------------------------------
def _kinds_database(n: int = 2000, seed: int = 0):
    rng = np.random.default_rng(seed)

    def holes(values, rate=0.1):
        s = pd.Series(values).astype(object)
        s[rng.random(n) < rate] = None
        return s

    stamps = pd.Timestamp('2020-01-01') + pd.to_timedelta(rng.integers(0, 10**7, n), 's')
    table = pd.DataFrame({
        'account_id': [f'AC-{i:05d}' for i in range(n)],
        'email': [f'real.person{i}@realcorp.com' for i in range(n)],
        'full_name': [f'Realname{i} Realsurname' for i in range(n)],
        'blob': [f'secret{i}' for i in range(n)],
        'external_ref': holes([f'X{i % 400}' for i in range(n)]),
        'legacy_num': rng.permutation(n) + 10**10,  # an id, unique per row, not a key
        'const': 'only',
        'big_cat': holes([f'c{v}' for v in rng.integers(0, 2500, n)]),
        'rating': rng.choice([1, 2, 5, 100], n),  # categorical integer codes
        'flag': holes(rng.random(n) < 0.3),
        'plain_flag': rng.random(n) < 0.5,
        'ts': holes(stamps.strftime('%Y-%m-%d %H:%M:%S')),
        'day': (pd.Timestamp('2020-01-01')
                + pd.to_timedelta(rng.integers(0, 300, n), 'D')).strftime('%d/%m/%Y'),
        'when': pd.Series(stamps).where(rng.random(n) > 0.1),  # datetime64 with NaT
        'count': pd.array(np.where(rng.random(n) < 0.1, None, rng.integers(-5, 40, n)), dtype='Int64'),
        'plain_int': rng.integers(0, 100, n),
        'huge_int': rng.integers(3 * 10**9, 5 * 10**9, n),  # beyond int32
        'near_max': rng.integers(2**62, np.iinfo(np.int64).max, n, dtype=np.int64),
        'amount': np.where(rng.random(n) < 0.1, np.nan, np.round(rng.lognormal(3, 1, n), 2)),
        'all_null': np.nan,
        'color': holes(rng.choice(['red', 'green', 'blue'], n)),
    })
    num, cat = {'sdtype': 'numerical'}, {'sdtype': 'categorical'}
    columns = {
        'account_id': {'sdtype': 'id', 'regex_format': 'AC-[0-9]{5}'},
        'email': {'sdtype': 'email', 'pii': True},
        'full_name': {'sdtype': 'name', 'pii': True},
        'blob': {'sdtype': 'unknown'},
        'external_ref': {'sdtype': 'id'}, 'legacy_num': {'sdtype': 'id'},
        'const': cat, 'big_cat': cat, 'rating': cat, 'color': cat,
        'flag': {'sdtype': 'boolean'}, 'plain_flag': {'sdtype': 'boolean'},
        'ts': {'sdtype': 'datetime', 'datetime_format': '%Y-%m-%d %H:%M:%S'},
        'day': {'sdtype': 'datetime', 'datetime_format': '%d/%m/%Y'},
        'when': {'sdtype': 'datetime'},
        'count': num, 'plain_int': num, 'huge_int': num, 'near_max': num, 'amount': num,
        'all_null': num,
    }
    columns = {c: columns[c] for c in table.columns}  # output follows the metadata's order
    meta = {'tables': {'account': {'primary_key': 'account_id', 'columns': columns}}}
    return {'account': table}, Metadata.load_from_dict(meta)


@pytest.fixture(scope='module')
def kinds():
    tables, metadata = _kinds_database()
    synth = _fit(metadata, tables)
    return tables['account'], synth.sample(scale=1.0)['account']


def test_column_kinds_keep_dtypes(kinds):
    real, syn = kinds
    assert list(syn.columns) == list(real.columns)
    for col in real.columns:
        assert syn[col].dtype == real[col].dtype, (col, syn[col].dtype, real[col].dtype)


def test_integers_keep_integer_values_and_range(kinds):
    real, syn = kinds
    for col in ('count', 'plain_int', 'huge_int', 'near_max'):
        assert syn[col].min() >= real[col].min() and syn[col].max() <= real[col].max(), col
    assert syn['huge_int'].max() > np.iinfo(np.int32).max
    assert syn['near_max'].min() >= 2**62


def test_categories_one_value_thousands_of_values_and_integer_codes(kinds):
    real, syn = kinds
    assert (syn['const'] == 'only').all()
    assert real['big_cat'].nunique() > 1000
    assert set(syn['big_cat'].dropna()) <= set(real['big_cat'].dropna())
    assert syn['big_cat'].nunique() > 500
    assert set(syn['rating']) <= {1, 2, 5, 100}
    assert set(syn['color'].dropna()) <= {'red', 'green', 'blue'}
    # Non-key id columns are values of the data, drawn by frequency.
    assert set(syn['external_ref'].dropna()) <= set(real['external_ref'].dropna())
    assert syn['legacy_num'].isin(real['legacy_num']).all()


def test_booleans_and_datetimes_with_formats(kinds):
    real, syn = kinds
    assert set(syn['flag'].dropna()) <= {True, False} and syn['plain_flag'].dtype == bool
    for col, fmt in (('ts', '%Y-%m-%d %H:%M:%S'), ('day', '%d/%m/%Y')):
        parsed = pd.to_datetime(syn[col].dropna(), format=fmt)  # raises on a wrong format
        low, high = pd.to_datetime(real[col].dropna(), format=fmt).agg(['min', 'max'])
        assert parsed.min() >= low and parsed.max() <= high, col
    assert syn['when'].dropna().between(real['when'].min(), real['when'].max()).all()


def test_pii_and_unknown_columns_get_fake_values(kinds):
    real, syn = kinds
    for col in ('email', 'full_name', 'blob'):
        assert not syn[col].isin(real[col]).any(), col
    assert syn['email'].str.fullmatch(r'[^@\s]+@[^@\s]+\.[a-z]+').all()
    assert syn['blob'].str.startswith('sdv-pii-').all()


def test_missing_values_in_every_kind_of_column(kinds):
    real, syn = kinds
    with_nulls = [c for c in real.columns if real[c].isna().any() and c != 'all_null']
    assert {'external_ref', 'big_cat', 'flag', 'ts', 'when', 'count', 'amount', 'color'} <= set(with_nulls)
    for col in with_nulls:
        assert syn[col].isna().any(), col
    assert syn['all_null'].isna().all()
    for col in real.columns:
        if not real[col].isna().any():
            assert syn[col].notna().all(), col


# --- constraints -----------------------------------------------------------------------------
def test_single_table_constraints_hold_in_samples():
    tables, metadata = make_demo_database(n_customers=80, seed=1)
    rng = np.random.default_rng(0)
    order = tables['order']
    order['ship_date'] = (pd.to_datetime(order['order_date'])
                          + pd.to_timedelta(rng.integers(0, 10, len(order)), 'D')).dt.strftime('%Y-%m-%d')
    metadata.add_column('ship_date', 'order', sdtype='datetime', datetime_format='%Y-%m-%d')
    customer = tables['customer']
    customer['tier'] = customer['segment'].map({'premium': 'gold', 'standard': 'basic', 'business': 'corp'})
    metadata.add_column('tier', 'customer', sdtype='categorical')
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # 'save the metadata' after add_column
        synth = GRDMSynthesizer(metadata, seed=0, **TINY)
        synth.add_constraints([
            FixedCombinations(['segment', 'tier'], table_name='customer'),
            Inequality('order_date', 'ship_date', table_name='order'),
        ])
        synth.fit(tables)

    synthetic = synth.sample(scale=1.0)

    assert_integrity(synthetic, metadata)
    real_pairs = set(customer[['segment', 'tier']].itertuples(index=False))
    assert set(synthetic['customer'][['segment', 'tier']].itertuples(index=False)) <= real_pairs
    ship = pd.to_datetime(synthetic['order']['ship_date'])
    assert (ship >= pd.to_datetime(synthetic['order']['order_date'])).all()
    synth.validate_constraints(synthetic)  # SDV's own check: raises if not met
    assert list(synthetic['order'].columns) == list(order.columns)


# --- bad input -------------------------------------------------------------------------------
def _small_database():
    rng = np.random.default_rng(0)
    parent = pd.DataFrame({'pid': np.arange(30), 'kind': rng.choice(['a', 'b'], 30)})
    child = pd.DataFrame({'cid': np.arange(90), 'pid': rng.integers(0, 30, 90),
                          'value': rng.normal(size=90)})
    meta = {'tables': {
        'parent': {'primary_key': 'pid', 'columns': {'pid': {'sdtype': 'id'},
                                                     'kind': {'sdtype': 'categorical'}}},
        'child': {'primary_key': 'cid', 'columns': {'cid': {'sdtype': 'id'}, 'pid': {'sdtype': 'id'},
                                                    'value': {'sdtype': 'numerical'}}}},
        'relationships': [{'parent_table_name': 'parent', 'parent_primary_key': 'pid',
                           'child_table_name': 'child', 'child_foreign_key': 'pid'}]}
    return {'parent': parent, 'child': child}, Metadata.load_from_dict(meta)


def _dangling(d):
    d['child'].loc[0, 'pid'] = 999


def _duplicate_pk(d):
    d['child'].loc[1, 'cid'] = 0


def _empty(d):
    d['child'] = d['child'].iloc[:0]


def _extra_table(d):
    d['other'] = pd.DataFrame({'x': [1]})


def _missing_table(d):
    del d['parent']


def _extra_column(d):
    d['child']['surprise'] = 1


def _bad_number(d):
    d['child']['value'] = d['child']['value'].astype(object)
    d['child'].loc[3, 'value'] = 'abc'


def _fk_type(d):
    d['child']['pid'] = 'p' + d['child']['pid'].astype(str)


def _unhashable(d):
    d['parent']['kind'] = [['a']] * len(d['parent'])


@pytest.mark.parametrize('corrupt, pattern', [
    (_dangling, r"'child' column 'pid' has 1 value\(s\) with no matching 'pid' in table 'parent' "
                r"\(e.g. \[999\]\).*drop_unknown_references"),
    (_duplicate_pk, r"child.*Key column 'cid' contains repeating values: \[0\]"),
    (_empty, r"\['child'\] have no rows.*remove_table"),
    (_extra_table, r"\['other'\] that the metadata does not describe.*add_table"),
    (_missing_table, r"missing the tables \{'parent'\}"),
    (_extra_column, r"child.*columns \['surprise'\] are not present in the metadata"),
    (_bad_number, r"child.*numerical column 'value': \['abc'\]"),
    (_fk_type, r"'child' column 'pid' \(dtype object\) cannot match.*'parent'.'pid'.*astype\('Int64'\)"),
    (_unhashable, r"'parent' column 'kind' holds unhashable values \(list\).*astype\(str\)"),
])
def test_bad_data_is_named_and_leaves_the_synthesizer_unfitted(corrupt, pattern):
    tables, metadata = _small_database()
    synth = _fit(metadata, tables, steps=2)
    assert synth._fitted
    bad = {k: v.copy() for k, v in tables.items()}
    corrupt(bad)
    copies = {k: v.copy() for k, v in bad.items()}

    with pytest.raises(InvalidDataError, match='(?s)' + pattern):
        synth.fit(bad)

    assert not synth._fitted and not synth.get_info()['is_fit']
    with pytest.raises(SamplingError, match='fit'):
        synth.sample(scale=1.0)
    for name in bad:  # the caller's data is untouched
        pd.testing.assert_frame_equal(bad[name], copies[name])
    with pytest.raises(InvalidDataError, match='(?s)' + pattern):
        GRDMSynthesizer(metadata).validate(bad)


def test_failed_fit_processed_data_leaves_no_half_fitted_state():
    tables, metadata = _small_database()
    synth = _fit(metadata, tables, steps=2)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # RefitWarning: preprocessing a fitted synthesizer
        processed = synth.preprocess(tables)
    model, schema = synth._model, synth._schema
    with pytest.raises(SynthesizerInputError, match=r"no table\(s\) \['parent'\]"):
        synth.fit_processed_data({'child': processed['child']})
    assert not synth._fitted
    assert synth._model is model and synth._schema is schema  # nothing half-replaced
    synth.fit_processed_data(processed)
    assert synth._fitted and len(synth.sample(scale=1.0)['parent']) == 30


def test_not_a_dict_of_dataframes():
    tables, metadata = _small_database()
    with pytest.raises(SynthesizerInputError, match='dict of table name -> pandas.DataFrame'):
        GRDMSynthesizer(metadata).fit(tables['child'])


def test_sample_before_fit_and_bad_sizes():
    tables, metadata = _small_database()
    with pytest.raises(SamplingError, match='fit'):
        GRDMSynthesizer(metadata).sample(scale=1.0)
    synth = _fit(metadata, tables, steps=2)
    for bad in (0, -0.5, float('nan'), float('inf')):
        with pytest.raises(SynthesizerInputError, match="'scale'"):
            synth.sample(scale=bad)
    with pytest.raises(SynthesizerInputError, match="'num_rows'"):
        synth.sample(num_rows=0, main_table_name='parent')


def test_failed_sample_writes_no_partial_files(tmp_path, monkeypatch):
    tables, metadata = _small_database()
    synth = _fit(metadata, tables, steps=2)
    out = tmp_path / 'out'
    real_to_csv = pd.DataFrame.to_csv
    calls = []

    def failing_to_csv(self, path, *args, **kwargs):
        calls.append(path)
        if len(calls) == 2:
            raise OSError('No space left on device')
        return real_to_csv(self, path, *args, **kwargs)

    monkeypatch.setattr(pd.DataFrame, 'to_csv', failing_to_csv)
    with pytest.raises(OSError, match='No space'):
        synth.sample(scale=1.0, output_folder_path=str(out))
    assert list(out.iterdir()) == []  # not one table, not a temporary file

    monkeypatch.undo()
    synth.sample(scale=1.0, output_folder_path=str(out))
    assert sorted(p.name for p in out.iterdir()) == ['child.csv', 'parent.csv']
    with pytest.raises(SynthesizerInputError, match=r'overwrite existing file.*child\.csv'):
        synth.sample(scale=1.0, output_folder_path=str(out))


def test_load_refuses_corrupt_foreign_and_wrong_version_files(tmp_path):
    from sdv.utils import load_synthesizer

    tables, metadata = _small_database()
    synth = _fit(metadata, tables, steps=2)
    good = tmp_path / 'good.pkl'
    synth.save(str(good))
    truncated = tmp_path / 'truncated.pkl'
    truncated.write_bytes(good.read_bytes()[:200])
    with pytest.raises(SynthesizerInputError, match='corrupt'):
        GRDMSynthesizer.load(str(truncated))

    foreign = tmp_path / 'foreign.pkl'
    foreign.write_bytes(pickle.dumps({'not': 'a synthesizer'}))
    with pytest.raises(SynthesizerInputError, match='holds a dict, not a GRDMSynthesizer'):
        GRDMSynthesizer.load(str(foreign))

    synth._grdm_version = '99.0.0'
    old = tmp_path / 'future.pkl'
    synth.save(str(old))
    for load in (GRDMSynthesizer.load, load_synthesizer):
        with pytest.raises(SynthesizerInputError, match=r'saved by grdm-sdv 99\.0\.0.*Refit'):
            load(str(old))
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        'foreign.pkl', 'future.pkl', 'good.pkl', 'truncated.pkl']  # no temporary files


def test_streamed_sample_matches_in_memory_sample(tmp_path):
    """output_folder_path writes table by table; return_data=False keeps nothing."""
    tables, metadata = _small_database()
    synth = _fit(metadata, tables, steps=2)
    synth.reset_sampling()
    in_memory = synth.sample(scale=1.5)
    synth.reset_sampling()
    paths = synth.sample(scale=1.5, output_folder_path=str(tmp_path / 'a'), return_data=False)
    assert set(paths) == set(in_memory) and all(p.exists() for p in paths.values())
    synth.reset_sampling()
    kept = synth.sample(scale=1.5, output_folder_path=str(tmp_path / 'b'))
    for t, df in in_memory.items():
        pd.testing.assert_frame_equal(kept[t], df)
        expected = tmp_path / f'expected_{t}.csv'
        df.to_csv(expected, index=False)
        for folder in ('a', 'b'):
            assert (tmp_path / folder / f'{t}.csv').read_text() == expected.read_text()
    # With return_data=False the synthesizer holds no sampled table afterwards either.
    assert getattr(synth, '_sink', None) is None
