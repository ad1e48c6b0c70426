"""`python -m training ...` is the `calltime` command."""

from training.cli import main

raise SystemExit(main())
