"""Regenerate migrations/versions/0001 from the models (pre-release only: no deployed databases yet).

Run: .venv/bin/python scripts/regen_initial_migration.py"""

import tempfile
from pathlib import Path

from alembic import command

from pingan.models.db import MIGRATIONS, _alembic_config

for old in (MIGRATIONS / "versions").glob("0001_*.py"):
    old.unlink()
with tempfile.TemporaryDirectory() as tmp:
    cfg = _alembic_config(f"sqlite:///{Path(tmp) / 'gen.db'}")
    command.revision(cfg, message="initial schema", autogenerate=True, rev_id="0001")
