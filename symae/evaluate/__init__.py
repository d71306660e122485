"""Metrics against a true STF and the SCARDEC benchmark (no torch)."""
