"""`python -m infobip_iac` runs the CLI."""

import sys

from infobip_iac.cli.main import main

sys.exit(main())
