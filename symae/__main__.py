"""``python -m symae``: the ``symae`` command line."""

from symae.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
