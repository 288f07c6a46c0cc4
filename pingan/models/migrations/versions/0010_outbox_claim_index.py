"""outbox: pending rows by chat and lease, so "has this chat a row no lane holds" is a seek

Revision ID: 0010
Revises: 0009
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

PENDING_ROWS = sa.text("status = 'pending'")


def upgrade() -> None:
    op.create_index('ix_outbox_claim', 'outbox', ['chat_id', 'claimed_by', 'claimed_until'], unique=False,
                    sqlite_where=PENDING_ROWS, postgresql_where=PENDING_ROWS)


def downgrade() -> None:
    op.drop_index('ix_outbox_claim', table_name='outbox')
