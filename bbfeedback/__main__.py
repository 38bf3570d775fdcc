"""``python -m bbfeedback`` runs the command line."""

import sys

from bbfeedback.app.cli import main

sys.exit(main())
