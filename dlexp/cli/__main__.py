"""`python -m dlexp.cli`: the same as the `dlexp` command."""

import sys

from dlexp.cli.main import main

sys.exit(main())
