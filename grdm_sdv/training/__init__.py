"""Training: the ``Trainer`` (``trainer``) and where it runs (``runtime``: device, torchrun, precision)."""
