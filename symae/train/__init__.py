"""Training of the SymVAE (torch): batching, schedule, checkpoints, DDP, ``symae train``."""
