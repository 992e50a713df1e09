"""orders' discount approval by the workflow: drop order_approvals

The "Discount approval" workflow decides every order now (sfa/orders/decisions.py,
sfa/workflows/order_approvals.py); the old approval steps go. Orders still waiting keep
what was decided of them: for each submitted order with a pending step, an audit entry
(entity order, action `approval_carried_over`) lists its levels already approved (who,
when, note). After the migration `sfa.workflows.builtin.adopt_waiting_orders` (run by
`sfa.migrate.upgrade`) starts a workflow run for each such order and records those
levels as approved, so a manager's approval is not asked for again.

`workflow_approvals.due_at`: when a level escalates, shown with the order as the old
steps' due time was.

Downgrade recreates the table empty (the decisions stay in the workflow's tables and the
audit log).

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-09
"""

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

_CARRY_OVER = """
INSERT INTO audit_log (actor, entity, entity_id, action, old, new)
SELECT 'system', 'order', o.id::text, 'approval_carried_over', NULL,
       jsonb_build_object('approved', COALESCE((
           SELECT jsonb_agg(jsonb_build_object(
                      'level', a.level, 'decided_by', a.decided_by,
                      'decided_at', a.decided_at, 'note', a.note) ORDER BY a.level, a.id)
           FROM order_approvals a
           WHERE a.order_id = o.id AND a.state = 'approved'), '[]'::jsonb))
FROM orders o
WHERE o.state = 'submitted'
  AND EXISTS (SELECT 1 FROM order_approvals p WHERE p.order_id = o.id AND p.state = 'pending')
"""


def upgrade() -> None:
    op.add_column(
        "workflow_approvals", sa.Column("due_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.execute(_CARRY_OVER)
    op.drop_index("ix_order_approvals_state_due_at", table_name="order_approvals")
    op.drop_index(op.f("ix_order_approvals_order_id"), table_name="order_approvals")
    op.drop_table("order_approvals")
    sa.Enum(name="approval_state").drop(op.get_bind(), checkfirst=True)


def downgrade() -> None:
    op.create_table(
        "order_approvals",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("order_id", sa.BigInteger(), nullable=False),
        sa.Column("level", sa.SmallInteger(), nullable=False),
        sa.Column("approver_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "state",
            sa.Enum("pending", "approved", "rejected", "escalated", name="approval_state"),
            nullable=False,
        ),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.BigInteger(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.String(length=1000), nullable=True),
        sa.ForeignKeyConstraint(
            ["approver_id"],
            ["users.id"],
            name=op.f("fk_order_approvals_approver_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["decided_by"],
            ["users.id"],
            name=op.f("fk_order_approvals_decided_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_order_approvals_order_id_orders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_approvals")),
    )
    op.create_index(
        op.f("ix_order_approvals_order_id"), "order_approvals", ["order_id"], unique=False
    )
    op.create_index(
        "ix_order_approvals_state_due_at", "order_approvals", ["state", "due_at"], unique=False
    )
    op.drop_column("workflow_approvals", "due_at")
