"""Encoder baselines for CLUENER2020: character-level BERT / BiLSTM + CRF taggers, scored by the eval package.

Modules:

- ``tags``     BIO tags (strict IOB2) from entities and back, exactly; nested gold spans reported, not hidden
- ``data``     one token per character (BERT vocabulary or the train characters), the batch collator
- ``model``    ``CrfTagger``: BERT or character embedding, optional BiLSTM, linear, CRF (pytorch-crf)
- ``config``   ``yaml_configs/encoder/*.yaml`` + ``key=value`` overrides
- ``train``    ``python -m encoder_ner.train CONFIG``: Trainer, best epoch on val, predictions for the eval package
- ``predict``  ``python -m encoder_ner.predict saves/<RUN> --split test``: predictions from a saved run
"""

import os

# Before torch loads its OpenMP runtime: with PASSIVE, a thread that waits at a barrier sleeps instead of spinning.
# On a CPU shared with other processes (2 threads on 2 busy cores), spinning threads that lose their core made a
# BiLSTM-CRF step 10-20x slower in our measurements (0.25 s -> 3-5 s); uncontended, it makes no difference.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
