"""reports: the compiled report of a directive per period, numbered once

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("directive_code", sa.String(length=100), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("number_id", sa.Integer(), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("paths", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("compiled_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["directive_code"], ["directives.code"]),
        sa.ForeignKeyConstraint(["number_id"], ["issued_numbers.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("number_id"),
        sa.UniqueConstraint("directive_code", "period", name="uq_report_period"),
    )


def downgrade() -> None:
    op.drop_table("reports")
