"""tortoise-orm config for writing migrations (`make migrations NAME=…`); never used at run time."""

from __future__ import annotations

import tempfile

from bot.settings import Settings
from bot.storage.database import tortoise_config

TORTOISE_ORM = tortoise_config(Settings(data_dir=tempfile.mkdtemp(prefix="apprentice-mig-")))
