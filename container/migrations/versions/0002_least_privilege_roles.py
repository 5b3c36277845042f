"""Least-privilege database roles: the site reads, the projector writes, neither changes the schema.

``gatepass_web`` may read every read-model table; ``gatepass_projector`` may also insert, update
and delete rows. Neither may create, alter or drop anything: only the migrating (master) user
does. On RDS both roles sign in with IAM database authentication (``rds_iam``), so they have no
password anywhere; where ``rds_iam`` does not exist (a local PostgreSQL) the roles are created
all the same, so the grants are exercised by the tests. Default privileges cover tables that
later migrations add.

Roles belong to the whole PostgreSQL cluster: the downgrade revokes what this database granted
and leaves the roles, which other databases of the cluster may use.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WEB = "gatepass_web"
PROJECTOR = "gatepass_projector"


def upgrade() -> None:
    op.execute(
        """
        DO $$
        BEGIN
          IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'gatepass_web') THEN
            CREATE ROLE gatepass_web LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT;
          END IF;
          IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'gatepass_projector') THEN
            CREATE ROLE gatepass_projector LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT;
          END IF;
          IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rds_iam') THEN
            GRANT rds_iam TO gatepass_web, gatepass_projector;
          END IF;
          EXECUTE format(
            'GRANT CONNECT ON DATABASE %I TO gatepass_web, gatepass_projector', current_database()
          );
        END
        $$
        """
    )
    op.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
    op.execute(f"GRANT USAGE ON SCHEMA public TO {WEB}, {PROJECTOR}")
    op.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {WEB}")
    op.execute(
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {PROJECTOR}"
    )
    op.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {PROJECTOR}")
    op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO {WEB}")
    op.execute(
        "ALTER DEFAULT PRIVILEGES IN SCHEMA public "
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {PROJECTOR}"
    )
    op.execute(
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {PROJECTOR}"
    )


def downgrade() -> None:
    for role in (WEB, PROJECTOR):
        op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON TABLES FROM {role}")
        op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON SEQUENCES FROM {role}")
        op.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {role}")
        op.execute(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {role}")
        op.execute(f"REVOKE USAGE ON SCHEMA public FROM {role}")
        op.execute(
            f"DO $$ BEGIN EXECUTE format('REVOKE CONNECT ON DATABASE %I FROM {role}', "
            "current_database()); END $$"
        )
