"""inbox dedupe key per chat, forgotten after a window

Revision ID: 0005
Revises: 0004
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

KEYED = sa.text("msg_id IS NOT NULL")


def upgrade() -> None:
    with op.batch_alter_table('inbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('chat_id', sa.String(), nullable=False, server_default=''))
        batch_op.alter_column('msg_id', existing_type=sa.String(), nullable=True)
        batch_op.drop_constraint('uq_inbox_key', type_='unique')
    chat = ("payload->'chat'->>'chat_id'" if op.get_bind().dialect.name == "postgresql"
            else "json_extract(payload, '$.chat.chat_id')")
    op.execute(f"UPDATE inbox SET chat_id = COALESCE({chat}, '')")
    with op.batch_alter_table('inbox', schema=None) as batch_op:
        batch_op.create_unique_constraint('uq_inbox_chat_key', ['platform', 'account', 'chat_id', 'msg_id'])
        batch_op.create_index('ix_inbox_keyed_age', ['received_at'], unique=False,
                              sqlite_where=KEYED, postgresql_where=KEYED)


def downgrade() -> None:
    with op.batch_alter_table('inbox', schema=None) as batch_op:
        batch_op.drop_index('ix_inbox_keyed_age')
        batch_op.drop_constraint('uq_inbox_chat_key', type_='unique')
    op.execute("UPDATE inbox SET msg_id = 'forgotten:' || id WHERE msg_id IS NULL")
    with op.batch_alter_table('inbox', schema=None) as batch_op:
        batch_op.alter_column('msg_id', existing_type=sa.String(), nullable=False)
        batch_op.create_unique_constraint('uq_inbox_key', ['platform', 'account', 'msg_id'])
        batch_op.drop_column('chat_id')
