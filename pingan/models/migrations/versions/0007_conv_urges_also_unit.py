"""tickets: urges (催办次数) and also_unit_id (the community a re-routed ticket came from)

Revision ID: 0007
Revises: 0006
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('urges', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('also_unit_id', sa.String(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_column('also_unit_id')
        batch_op.drop_column('urges')
