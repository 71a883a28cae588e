"""``python -m detector.cli``: the ``legtwitch`` command line."""

import sys

from detector.cli import main

sys.exit(main())
