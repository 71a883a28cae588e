"""``python -m detector.cli``: the ``legtwitch`` command line."""

import sys

from . import main

sys.exit(main())
