"""``python -m bench.faults [T1 ... T8 | all] [--full] ...``: see ``bench.faults.cli``."""

import sys

from bench.faults.cli import main

sys.exit(main())
