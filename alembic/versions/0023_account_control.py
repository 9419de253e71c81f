"""Operators control accounts: a deactivated account is told apart from one never activated, and what
operators do to accounts is kept in an audit log.

`users.deactivated_at` is set by an operator's deactivation and cleared when they lift it; until then no
registration, mail link or reset brings the account back (an account that was never activated stays one its
owner may activate). `account_audit` keeps who did what to whom, and outlives both accounts. A login session
keeps what logged in (User-Agent, address), so operators can tell an account's sessions apart.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-06 14:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("users", sa.Column("deactivated_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("auth_sessions", sa.Column("user_agent", sa.String(200), nullable=True))
    op.add_column("auth_sessions", sa.Column("address", sa.String(64), nullable=True))
    op.create_table(
        "account_audit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(320), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("email", sa.String(254), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_audit")),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_account_audit_actor_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_account_audit_user_id_users"), ondelete="SET NULL"
        ),
    )
    op.create_index(op.f("ix_account_audit_at"), "account_audit", ["at"], unique=False)
    op.create_index(op.f("ix_account_audit_user_id"), "account_audit", ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_table("account_audit")
    op.drop_column("auth_sessions", "address")
    op.drop_column("auth_sessions", "user_agent")
    op.drop_column("users", "deactivated_at")
