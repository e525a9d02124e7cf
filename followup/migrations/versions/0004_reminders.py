"""reminders: what was sent about each unit, requirement, period and step

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reminders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("directive_code", sa.String(length=100), nullable=False),
        sa.Column("requirement_code", sa.String(length=100), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("unit_code", sa.String(length=64), nullable=False),
        sa.Column("step", sa.String(length=16), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("number_id", sa.Integer(), nullable=True),
        sa.Column("letter_path", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["directive_code"], ["directives.code"]),
        sa.ForeignKeyConstraint(["message_id"], ["outgoing_messages.id"]),
        sa.ForeignKeyConstraint(["number_id"], ["issued_numbers.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("directive_code", "requirement_code", "period", "unit_code", "step", name="uq_reminder"),
    )


def downgrade() -> None:
    op.drop_table("reminders")
