"""``python -m cli ...`` runs the `mitoshape` command (the same guard as the console script)."""

from . import main

if __name__ == "__main__":
    main()
