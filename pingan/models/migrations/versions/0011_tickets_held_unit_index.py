"""tickets: held tickets by unit and creation, so the same-hazard check never reads closed ones

Revision ID: 0011
Revises: 0010
"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

# as pingan.models.ticket.HELD_ROWS when this was written
HELD_ROWS = sa.text("status IN ('acknowledged', 'dispatched', 'escalated', 'in_progress', 'on_scene', 'reopened', 'transferred')")


def upgrade() -> None:
    op.create_index('ix_tickets_held_unit_created', 'tickets', ['unit_id', 'created_at'], unique=False,
                    sqlite_where=HELD_ROWS, postgresql_where=HELD_ROWS)


def downgrade() -> None:
    op.drop_index('ix_tickets_held_unit_created', table_name='tickets')
