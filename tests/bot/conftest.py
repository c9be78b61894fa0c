"""The bot's pure-Python rules (bot/components/lexicon.py) are importable here as `components.lexicon`."""

from __future__ import annotations

import sys

from core.settings import PROJECT_ROOT

BOT_DIR = PROJECT_ROOT / "bot"
if str(BOT_DIR) not in sys.path:
    sys.path.insert(0, str(BOT_DIR))
