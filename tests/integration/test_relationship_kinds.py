"""Relationship kinds SDV's HMA takes (issue 14, section 2): a primary key that is also a
foreign key (1-to-1 and 1-to-0/1), on several tables, with a child of its own; integer keys
whose ``regex_format`` makes numbers beyond int64."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest
from sdv.metadata import Metadata

from grdm_sdv import GRDMSynthesizer
from tests.conftest import TINY, assert_integrity


def _rel(parent, pk, child, fk):
    return {'parent_table_name': parent, 'parent_primary_key': pk,
            'child_table_name': child, 'child_foreign_key': fk}


@pytest.fixture(scope='module')
def one_to_one():
    """users <- survey_response (PK = FK, 60% of users) <- answer; users <- profile (PK = FK,
    every user)."""
    rng = np.random.default_rng(0)
    n = 150
    users = pd.DataFrame({'user_id': np.arange(10, 10 + n), 'age': rng.integers(18, 80, n),
                          'country': rng.choice(['FR', 'US', 'JP'], n)})
    has = rng.random(n) < 0.6
    survey = pd.DataFrame({'user_id': users.user_id[has].to_numpy(),
                           'score': users.age[has].to_numpy() / 10 + rng.normal(size=has.sum())})
    profile = pd.DataFrame({'user_id': users.user_id.to_numpy(), 'theme': rng.choice(['dark', 'light'], n)})
    answer = pd.DataFrame({'answer_id': np.arange(3 * len(survey)),
                           'user_id': np.repeat(survey.user_id.to_numpy(), 3),
                           'value': rng.integers(1, 6, 3 * len(survey))})
    tables = {'users': users, 'survey_response': survey, 'profile': profile, 'answer': answer}
    metadata = Metadata.load_from_dict({'tables': {
        'users': {'primary_key': 'user_id', 'columns': {
            'user_id': {'sdtype': 'id'}, 'age': {'sdtype': 'numerical'},
            'country': {'sdtype': 'categorical'}}},
        'survey_response': {'primary_key': 'user_id', 'columns': {
            'user_id': {'sdtype': 'id'}, 'score': {'sdtype': 'numerical'}}},
        'profile': {'primary_key': 'user_id', 'columns': {
            'user_id': {'sdtype': 'id'}, 'theme': {'sdtype': 'categorical'}}},
        'answer': {'primary_key': 'answer_id', 'columns': {
            'answer_id': {'sdtype': 'id'}, 'user_id': {'sdtype': 'id'}, 'value': {'sdtype': 'numerical'}}},
    }, 'relationships': [_rel('users', 'user_id', 'survey_response', 'user_id'),
                         _rel('users', 'user_id', 'profile', 'user_id'),
                         _rel('survey_response', 'user_id', 'answer', 'user_id')]})
    synth = GRDMSynthesizer(metadata, seed=0, **TINY)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        synth.fit(tables)
    return synth, tables, metadata


def test_primary_key_that_is_a_foreign_key(one_to_one):
    synth, real, metadata = one_to_one
    out = synth.sample(scale=2.0)
    synth.validate(out)  # SDV's own checks: unique keys, known references, dtypes
    assert_integrity(out, metadata)
    for child in ('survey_response', 'profile'):
        keys = out[child]['user_id']
        assert keys.is_unique and keys.isin(out['users']['user_id']).all()
        # each real user's count (0 or 1) is used exactly twice at scale 2: the share is kept
        assert len(out[child]) == 2 * len(real[child])
    assert out['answer']['user_id'].isin(out['survey_response']['user_id']).all()
    assert len(out['answer']) == 2 * len(real['answer'])


def test_primary_key_that_is_a_foreign_key_in_a_database(one_to_one, tmp_path):
    from grdm_sdv.database import check_integrity, read_database, sample_to_database

    synth, _, _ = one_to_one
    url = f'sqlite:///{tmp_path / "one_to_one.db"}'
    rows = sample_to_database(synth, url)
    assert check_integrity(url) == []
    back, metadata, _ = read_database(url)
    rels = {(r['child_table_name'], r['child_foreign_key']) for r in metadata.to_dict()['relationships']}
    assert ('survey_response', 'user_id') in rels and ('profile', 'user_id') in rels
    assert {t: len(df) for t, df in back.items()} == rows


# --- integer keys beyond int64 ---------------------------------------------------------------
BIG = '[1-9]{21}'  # 21 digits: every value is beyond the int64 maximum (19 digits)


@pytest.fixture(scope='module')
def big_ids():
    """account <- card <- payment (nullable FK, stored as float64); account <- profile
    (PK = FK). Every key is an int64 column whose regex makes 21-digit numbers; card also
    has a non-key id with that regex."""
    rng = np.random.default_rng(1)
    n = 60
    account = pd.DataFrame({'id': np.arange(1, n + 1), 'segment': rng.choice(['a', 'b'], n),
                            'balance': rng.normal(100, 20, n)})
    owner = rng.choice(account['id'].to_numpy(), 2 * n)
    card = pd.DataFrame({'card_id': np.arange(1, 2 * n + 1), 'account_id': owner,
                         'ref': np.arange(500, 500 + 2 * n), 'limit': rng.integers(1, 9, 2 * n)})
    paid = rng.choice(card['card_id'].to_numpy(), 4 * n).astype(float)
    paid[rng.random(4 * n) < 0.2] = np.nan
    payment = pd.DataFrame({'payment_id': np.arange(1, 4 * n + 1), 'card_id': paid,
                            'amount': rng.gamma(2.0, 10.0, 4 * n)})
    profile = pd.DataFrame({'id': account['id'][::2].to_numpy(), 'theme': rng.choice(['x', 'y'], n // 2)})
    big = {'sdtype': 'id', 'regex_format': BIG}
    metadata = Metadata.load_from_dict({'tables': {
        'account': {'primary_key': 'id', 'columns': {
            'id': big, 'segment': {'sdtype': 'categorical'}, 'balance': {'sdtype': 'numerical'}}},
        'card': {'primary_key': 'card_id', 'columns': {
            'card_id': big, 'account_id': big, 'ref': big, 'limit': {'sdtype': 'numerical'}}},
        'payment': {'primary_key': 'payment_id', 'columns': {
            'payment_id': big, 'card_id': big, 'amount': {'sdtype': 'numerical'}}},
        'profile': {'primary_key': 'id', 'columns': {'id': big, 'theme': {'sdtype': 'categorical'}}},
    }, 'relationships': [_rel('account', 'id', 'card', 'account_id'),
                         _rel('card', 'card_id', 'payment', 'card_id'),
                         _rel('account', 'id', 'profile', 'id')]})
    tables = {'account': account, 'card': card, 'payment': payment, 'profile': profile}
    synth = GRDMSynthesizer(metadata, seed=0, **TINY)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        synth.fit(tables)
    return synth, tables, metadata


def _sample(synth, scale):
    with warnings.catch_warnings():  # SDV's (and HMA's) "overflowed when casting back to int64"
        warnings.simplefilter('ignore', UserWarning)
        return synth.sample(scale=scale)


@pytest.mark.parametrize('scale', [1.0, 2.0])
def test_integer_keys_beyond_int64(big_ids, scale):
    synth, real, metadata = big_ids
    out = _sample(synth, scale)
    synth.validate(out)
    metadata.validate_data(out)
    assert_integrity(out, metadata)
    for table, column in [('account', 'id'), ('card', 'card_id'), ('card', 'account_id'),
                          ('card', 'ref'), ('payment', 'payment_id'), ('payment', 'card_id'),
                          ('profile', 'id')]:
        keys = out[table][column]
        # As HMA: the digit strings RDT generated, in an object column (no int64 holds them).
        assert keys.dtype == object, (table, column)
        present = keys.dropna()
        assert all(isinstance(v, str) and re.fullmatch(BIG, v) for v in present), (table, column)
    for table, pk in [('account', 'id'), ('card', 'card_id'), ('payment', 'payment_id')]:
        assert out[table][pk].is_unique and len(out[table]) == round(scale * len(real[table]))
    # The nullable FK (float64 in the data) keeps its parent's strings, never a rounded float.
    fk = out['payment']['card_id']
    assert 0.1 < fk.isna().mean() < 0.3 and fk.dropna().isin(out['card']['card_id']).all()
    # PK = FK: the profile's key is its account's key, each account at most once.
    assert out['profile']['id'].is_unique and out['profile']['id'].isin(out['account']['id']).all()
    assert len(out['profile']) == round(scale * len(real['profile']))


def test_integer_keys_beyond_int64_streamed(big_ids, tmp_path):
    from grdm_sdv.database import check_integrity, read_database, sample_to_database

    synth, _, metadata = big_ids
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', UserWarning)
        paths = synth.sample(scale=1.0, output_folder_path=str(tmp_path / 'csv'), return_data=False)
        url = f'sqlite:///{tmp_path / "big_ids.db"}'
        rows = sample_to_database(synth, url)
    csv = {t: pd.read_csv(p, dtype=str) for t, p in paths.items()}
    assert_integrity(csv, metadata)
    assert all(csv['account']['id'].str.fullmatch(BIG))
    # A database without a stored schema gets TEXT keys: the same strings, checked by SQLite.
    assert check_integrity(url) == []
    back, _, _ = read_database(url)
    assert {t: len(df) for t, df in back.items()} == rows
    assert back['account']['id'].str.fullmatch(BIG).all()
    assert back['payment']['card_id'].dropna().isin(back['card']['card_id']).all()


def test_integer_keys_beyond_int64_refused_by_a_64_bit_column(big_ids, tmp_path):
    from sdv.errors import SynthesizerInputError

    from grdm_sdv.database import read_database, write_database

    synth, real, metadata = big_ids
    source = f'sqlite:///{tmp_path / "source.db"}'
    write_database(real, source, metadata)  # int64 keys: BIGINT columns
    _, _, schema = read_database(source)
    target = tmp_path / 'target.db'
    with pytest.raises(SynthesizerInputError, match=r"(?s)'account' column\(s\) \['id'\].*64-bit"):
        write_database(_sample(synth, 1.0), f'sqlite:///{target}', metadata, schema)
    assert not target.exists()
