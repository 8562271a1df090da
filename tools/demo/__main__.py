"""``python -m tools.demo``: see :mod:`tools.demo`."""

import sys

from tools.demo.run import main

sys.exit(main())
