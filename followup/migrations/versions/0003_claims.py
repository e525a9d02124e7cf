"""claims on work (two runs at once), one issue per directive

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("incoming_messages", "outgoing_messages"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("claimed_by", sa.String(length=64), nullable=True))
            batch_op.add_column(sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("outgoing_messages", schema=None) as batch_op:
        batch_op.create_index("ix_outgoing_messages_status", ["status"], unique=False)
    with op.batch_alter_table("dispatches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dispatches_directive_code"))
        batch_op.create_index("uq_dispatches_directive_code", ["directive_code"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("dispatches", schema=None) as batch_op:
        batch_op.drop_index("uq_dispatches_directive_code")
        batch_op.create_index(batch_op.f("ix_dispatches_directive_code"), ["directive_code"], unique=False)
    with op.batch_alter_table("outgoing_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_outgoing_messages_status")
    for table in ("outgoing_messages", "incoming_messages"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("claimed_until")
            batch_op.drop_column("claimed_by")
