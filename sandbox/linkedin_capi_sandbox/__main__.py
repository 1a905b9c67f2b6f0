"""`python -m linkedin_capi_sandbox` is the `linkedin-capi-sandbox` command."""

import sys

from linkedin_capi_sandbox.cli import main

sys.exit(main())
