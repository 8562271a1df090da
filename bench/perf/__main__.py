"""``python -m bench.perf [--quick] [--out DIR] ...``: see ``bench.perf.run``."""

import sys

from bench.perf.run import main

sys.exit(main())
