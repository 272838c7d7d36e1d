"""``python -m journeydsl`` is the ``journeydsl`` command."""

import sys

from journeydsl.cli import main

sys.exit(main())
