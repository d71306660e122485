"""The package version: the one source of ``symae.__version__`` and of the code version
recorded in every data set, model and result (``pyproject.toml`` reads it from here)."""

__version__ = "0.1.0"
