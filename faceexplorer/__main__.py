"""``python -m faceexplorer`` runs the command line."""

import sys

from faceexplorer.cli import main

sys.exit(main())
