"""``python -m lth_helpers ...``: see :mod:`lth_helpers.cli`."""
from .cli import main

raise SystemExit(main())
