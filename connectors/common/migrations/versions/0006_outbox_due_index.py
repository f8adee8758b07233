"""Outbox: an index of the entries due per tenant and status, in the order a delivery claims them.

Without it every claim of a batch sorted all of a tenant's pending actions again (a run with 100,000
due actions claims ten batches).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_outbox_due", "outbox", ["tenant", "status", "not_before", "key"])


def downgrade() -> None:
    op.drop_index("ix_outbox_due", table_name="outbox")
