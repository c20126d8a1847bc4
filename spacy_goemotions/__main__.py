"""``python -m spacy_goemotions`` runs the command line."""

import sys

from .cli import main

sys.exit(main())
