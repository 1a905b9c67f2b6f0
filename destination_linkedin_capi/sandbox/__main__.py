"""`python -m destination_linkedin_capi.sandbox` is the `linkedin-capi-sandbox` command."""

import sys

from destination_linkedin_capi.sandbox.cli import main

sys.exit(main())
