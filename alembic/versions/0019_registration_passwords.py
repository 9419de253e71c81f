"""Each activation link carries the password of the registration it was mailed for.

An account not yet activated took the password of its most recent registration, so whoever registered a
victim's pending address after the victim had the victim's next click activate the attacker's password. Now
the registration's password hash travels with its token, and activating a link sets that password alone.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 03:30:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("account_tokens", sa.Column("password_hash", sa.String(255), nullable=True))


def downgrade() -> None:
    op.drop_column("account_tokens", "password_hash")
