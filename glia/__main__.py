"""``python -m glia`` is the ``glia`` command."""

import sys

from glia.cli import main

sys.exit(main())
