"""``python -m hygiene.cli``."""

from hygiene.cli import main

if __name__ == "__main__":  # pragma: no cover
    main()
