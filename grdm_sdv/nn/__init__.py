"""The network: per-row blocks (``layers``), the message-passing layer (``hetero``) and the
denoiser that stacks them (``denoiser``). Knows nothing of SDV, the schedule or sampling loops."""
