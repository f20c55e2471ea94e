"""``python -m eoscatalog`` runs the ``eos`` command line."""

from .cli import main

if __name__ == "__main__":
    main()
