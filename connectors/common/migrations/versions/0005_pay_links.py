"""Pay links: where a customer pays an item online, as the platform gave it (shown in the worklist).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pay_links",
        sa.Column("tenant", sa.String(length=120), nullable=False),
        sa.Column("item_id", sa.String(length=200), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("fetched_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("tenant", "item_id"),
    )


def downgrade() -> None:
    op.drop_table("pay_links")
