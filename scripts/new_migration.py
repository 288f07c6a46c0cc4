"""Write the next Alembic migration from the difference between the models and the migrations so far.

Run: .venv/bin/python scripts/new_migration.py "what changed"
Read the generated file before committing it: autogenerate misses renames and data moves."""

import sys
import tempfile
from pathlib import Path

from alembic import command

from pingan.models.db import MIGRATIONS, _alembic_config, upgrade_sync

if len(sys.argv) != 2:
    sys.exit(__doc__)
number = f"{len(list((MIGRATIONS / 'versions').glob('[0-9][0-9][0-9][0-9]_*.py'))) + 1:04d}"
with tempfile.TemporaryDirectory() as tmp:
    url = f"sqlite:///{Path(tmp) / 'gen.db'}"
    upgrade_sync(url)
    command.revision(_alembic_config(url), message=sys.argv[1], autogenerate=True, rev_id=number)
