"""outbox: the by-chat and by-due indexes hold pending rows only

Revision ID: 0009
Revises: 0008
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

PENDING_ROWS = sa.text("status = 'pending'")


def upgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_chat')
        batch_op.drop_index('ix_outbox_due')
        batch_op.create_index('ix_outbox_chat', ['chat_id', 'status', 'id'], unique=False,
                              sqlite_where=PENDING_ROWS, postgresql_where=PENDING_ROWS)
        batch_op.create_index('ix_outbox_due', ['status', 'next_attempt_at'], unique=False,
                              sqlite_where=PENDING_ROWS, postgresql_where=PENDING_ROWS)


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_due')
        batch_op.drop_index('ix_outbox_chat')
        batch_op.create_index('ix_outbox_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index('ix_outbox_chat', ['chat_id', 'status', 'id'], unique=False)
