import sys

from dlexp.cli.main import main

sys.exit(main())
