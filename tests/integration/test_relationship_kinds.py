"""Relationship kinds SDV's HMA takes (issue 14, section 2): a primary key that is also a
foreign key (1-to-1 and 1-to-0/1), on several tables, with a child of its own."""

from __future__ import annotations

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
