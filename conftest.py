"""Run every notebook at its ``quick`` size under pytest (nbval), unless told otherwise.

The notebooks' kernels inherit this process's environment, and ``LTH_QUICK=1`` makes each
notebook's parameters cell pick the seconds-long ``quick`` size. Set ``LTH_QUICK=0`` to
validate the notebooks at the size their parameters cell names.
"""

import os

os.environ.setdefault("LTH_QUICK", "1")
