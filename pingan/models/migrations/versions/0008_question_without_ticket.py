"""ticket_events.ticket_id nullable: a question asked before there is a ticket

Revision ID: 0008
Revises: 0007
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('ticket_events', schema=None) as batch_op:
        batch_op.alter_column('ticket_id', existing_type=sa.INTEGER(), nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM ticket_events WHERE ticket_id IS NULL")
    with op.batch_alter_table('ticket_events', schema=None) as batch_op:
        batch_op.alter_column('ticket_id', existing_type=sa.INTEGER(), nullable=False)
