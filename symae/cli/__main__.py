"""``python -m symae.cli`` (the form ``torchrun -m symae.cli`` needs): the same as ``symae``."""

from symae.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
