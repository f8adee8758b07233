"""What collectors record beside promises, plans and calls (their notes), and each tenant's bank accounts for
payment by transfer (shown in the worklist and the report).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notes",
        sa.Column("tenant", sa.String(length=120), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("record_id", sa.String(length=200), nullable=False),
        sa.Column("customer_id", sa.String(length=120), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("tenant", "kind", "record_id"),
    )
    op.create_table(
        "bank_accounts",
        sa.Column("tenant", sa.String(length=120), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("holder", sa.String(length=200), nullable=False),
        sa.Column("bank_name", sa.String(length=200), nullable=False),
        sa.Column("iban", sa.String(length=34), nullable=True),
        sa.Column("account_number", sa.String(length=64), nullable=True),
        sa.Column("bic", sa.String(length=11), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("tenant", "currency"),
    )


def downgrade() -> None:
    op.drop_table("bank_accounts")
    op.drop_table("notes")
