"""Children summaries: per-parent means of the children's numbers, standardised over parents."""

import numpy as np

from grdm_sdv.data.schema import RelationalSchema
from grdm_sdv.data.summaries import fit_summaries, summary_columns


def test_summaries_are_standardised_means_and_zero_without_children():
    schema = RelationalSchema.from_metadata_dict({
        'tables': {'race': {'primary_key': 'id'}, 'result': {'primary_key': 'id'}},
        'relationships': [{'parent_table_name': 'race', 'parent_primary_key': 'id',
                           'child_table_name': 'result', 'child_foreign_key': 'race_id'}],
    })
    fk = schema.foreign_keys[0].name
    rng = np.random.default_rng(0)
    per = rng.integers(0, 6, 50)  # some races without results
    link = np.repeat(np.arange(50), per)
    laps = rng.normal(size=50)[link] + 0.3 * rng.normal(size=len(link))
    x_num = {'race': rng.normal(size=(50, 1)), 'result': np.stack([laps, -laps], 1)}
    layout = fit_summaries(schema, x_num, {fk: link})
    assert layout.width('race') == 2 and layout.width('result') == 0
    got = summary_columns(layout, 'race', x_num, {fk: link}, 50)
    has = per > 0
    mean = np.bincount(link, laps, minlength=50)[has] / per[has]
    np.testing.assert_allclose(got[has, 0], (mean - mean.mean()) / mean.std(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(got[has, 1], -got[has, 0], rtol=1e-5, atol=1e-5)
    assert (got[~has] == 0).all()  # the middle: a parent without children says nothing
    # A sampled graph's parents get the summaries of their own children, on the real scale.
    other = summary_columns(layout, 'race', x_num, {fk: link[::-1].copy()}, 50)
    assert other.shape == (50, 2) and not np.allclose(other, got)
