"""incoming messages, submissions, child records, answers

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 17:36:15.358477
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "incoming_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("dedup_key", sa.String(length=300), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("message_id", sa.String(length=300), nullable=True),
        sa.Column("raw_path", sa.Text(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("from_addr", sa.String(length=300), nullable=True),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("collected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dedup_key"),
    )
    with op.batch_alter_table("incoming_messages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_incoming_messages_sha256"), ["sha256"], unique=False)
        batch_op.create_index(batch_op.f("ix_incoming_messages_status"), ["status"], unique=False)

    op.create_table(
        "submissions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incoming_id", sa.Integer(), nullable=False),
        sa.Column("attachment_name", sa.Text(), nullable=True),
        sa.Column("attachment_path", sa.Text(), nullable=True),
        sa.Column("attachment_sha256", sa.String(length=64), nullable=True),
        sa.Column("directive_code", sa.String(length=100), nullable=True),
        sa.Column("requirement_code", sa.String(length=100), nullable=True),
        sa.Column("period", sa.String(length=16), nullable=True),
        sa.Column("unit_code", sa.String(length=64), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("problems", sa.JSON(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["incoming_id"],
            ["incoming_messages.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_submission_slot", ["directive_code", "requirement_code", "period", "unit_code", "status"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_submissions_incoming_id"), ["incoming_id"], unique=False)

    op.create_table(
        "child_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("source_row", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("sex", sa.String(length=16), nullable=True),
        sa.Column("ethnicity", sa.String(length=100), nullable=True),
        sa.Column("village", sa.String(length=300), nullable=True),
        sa.Column("carer", sa.String(length=300), nullable=True),
        sa.Column("groups", sa.JSON(), nullable=False),
        sa.Column("difficult", sa.Boolean(), nullable=True),
        sa.Column("support", sa.Text(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("child_records", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_child_records_submission_id"), ["submission_id"], unique=False)

    with op.batch_alter_table("outgoing_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("incoming_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_outgoing_messages_incoming_id"), ["incoming_id"], unique=False)
        batch_op.create_foreign_key("fk_outgoing_incoming", "incoming_messages", ["incoming_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("outgoing_messages", schema=None) as batch_op:
        batch_op.drop_constraint("fk_outgoing_incoming", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_outgoing_messages_incoming_id"))
        batch_op.drop_column("incoming_id")

    with op.batch_alter_table("child_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_child_records_submission_id"))

    op.drop_table("child_records")
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_submissions_incoming_id"))
        batch_op.drop_index("ix_submission_slot")

    op.drop_table("submissions")
    with op.batch_alter_table("incoming_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incoming_messages_status"))
        batch_op.drop_index(batch_op.f("ix_incoming_messages_sha256"))

    op.drop_table("incoming_messages")
