"""`python -m bpshell`: the same as the `bpshell` command."""

import sys

from bpshell.cli import main

sys.exit(main())
