"""Quality cost of fewer reverse steps: one fit, sampled with several ``sampling_steps``.

    python -m benchmarks.sampling_steps --steps 1500 --grid 10 25 50 100
"""

from __future__ import annotations

import argparse
import warnings

from grdm_sdv import GRDMSynthesizer, evaluation
from grdm_sdv.datasets import DEMO_DEPENDENCIES, make_demo_database
from grdm_sdv.evaluation import cross_table_dependence
from grdm_sdv.timing import timed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('--steps', type=int, default=1500)
    ap.add_argument('--grid', type=int, nargs='+', default=[10, 25, 50, 100])
    ap.add_argument('--seed', type=int, default=0)
    args = ap.parse_args()
    warnings.filterwarnings('ignore')
    tables, metadata = make_demo_database(600, seed=args.seed)
    synth = GRDMSynthesizer(metadata, steps=args.steps, seed=args.seed, verbose=False)
    synth.fit(tables)
    print('| sampling steps | sample s | column shapes | hop 0 | hop 1 | hop 2 | hop 1 strong | hop 2 strong | planted (mean real 0.73) |')
    print('|---|---|---|---|---|---|---|---|---|')
    for k in args.grid:
        synth.sampling_steps = k
        synth.reset_sampling()
        syn, secs = timed(synth.sample, scale=1.0)
        r = evaluation.evaluate(tables, syn, metadata, detection=False, privacy=False, seed=args.seed)
        planted = sum(cross_table_dependence(syn, metadata, a, d) for _, a, d in DEMO_DEPENDENCIES) / len(DEMO_DEPENDENCIES)
        print(f"| {k} | {secs:.1f} | {r['column_shapes']:.3f} | {r['hop_0']:.3f} | {r['hop_1']:.3f} | "
              f"{r['hop_2']:.3f} | {r['hop_1_strong']:.3f} | {r['hop_2_strong']:.3f} | {planted:.3f} |", flush=True)


if __name__ == '__main__':
    main()
