"""Run under torchrun: fit the demo database data-parallel and print a weight checksum."""

import sys
import warnings

import torch

from grdm_sdv import GRDMSynthesizer
from grdm_sdv.datasets import make_demo_database

warnings.filterwarnings('ignore')
tables, metadata = make_demo_database(n_customers=60, seed=1)
synth = GRDMSynthesizer(metadata, steps=int(sys.argv[1]), batch_size=64, hidden_dim=16, n_hops=1,
                        sampling_steps=5, device='cpu', verbose=False, seed=0)
synth.fit(tables)
rank = torch.distributed.get_rank()
checksum = sum(float(p.double().sum()) for p in synth._model.parameters())
out = synth.sample(scale=1.0)
print(f'RANK {rank} CHECKSUM {checksum:.10f} ROWS {sum(len(t) for t in out.values())}', flush=True)
