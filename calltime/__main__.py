"""`python -m calltime ...` is the `calltime` command."""

import sys

from calltime.cli import main

sys.exit(main())
