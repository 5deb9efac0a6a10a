"""Database triggers that make the audit table append-only (security notes §9).

SQLite: BEFORE UPDATE/DELETE triggers that abort. PostgreSQL: a statement trigger that raises
on UPDATE, DELETE and TRUNCATE. Someone with raw database access can still drop a trigger;
that is what the hash chain and the signed checkpoints kept outside the database are for.
"""

from __future__ import annotations

from typing import Any

_INSTALL = {
    "sqlite": [
        """CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit_auditevent
           BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END""",
        """CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit_auditevent
           BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END""",
    ],
    "postgresql": [
        """CREATE OR REPLACE FUNCTION audit_refuse_change() RETURNS trigger AS $$
           BEGIN RAISE EXCEPTION 'audit events are append-only'; END; $$ LANGUAGE plpgsql""",
        "DROP TRIGGER IF EXISTS audit_no_change ON audit_auditevent",
        """CREATE TRIGGER audit_no_change BEFORE UPDATE OR DELETE OR TRUNCATE
           ON audit_auditevent FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change()""",
    ],
}
_REMOVE = {
    "sqlite": ["DROP TRIGGER IF EXISTS audit_no_update", "DROP TRIGGER IF EXISTS audit_no_delete"],
    "postgresql": [
        "DROP TRIGGER IF EXISTS audit_no_change ON audit_auditevent",
        "DROP FUNCTION IF EXISTS audit_refuse_change()",
    ],
}


def install(connection: Any) -> None:
    _execute(connection, _INSTALL)


def remove(connection: Any) -> None:
    _execute(connection, _REMOVE)


def _execute(connection: Any, statements: dict[str, list[str]]) -> None:
    with connection.cursor() as cursor:
        for statement in statements.get(connection.vendor, []):
            cursor.execute(statement)
