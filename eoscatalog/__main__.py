"""``python -m eoscatalog`` runs the ``eos`` command line."""

from eoscatalog.cli.main import main

if __name__ == "__main__":
    main()
