"""click spool batches stored (exactly-once ingestion); the link change feed

Revision ID: 0004
Revises: 0003

``link_changes`` is filled by triggers, so no writer can forget it: every change of a
link's code, destination, expiry, password, title or deletion, and of a Bio Page, adds the
code (or handle) concerned. Each server worker reads the rows after the last one it saw and
drops those codes from its redirect cache. The triggers keep the newest 100,000 rows.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import server.db.types

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

KEEP = 100_000
_LINK_FIELDS = "code, destination_url, expires_at, password_hash, title, deleted_at"

_SQLITE = [
    f"""CREATE TRIGGER link_changes_on_link_update AFTER UPDATE OF {_LINK_FIELDS} ON links
    BEGIN
      INSERT INTO link_changes (code) VALUES (OLD.code);
      INSERT INTO link_changes (code) SELECT NEW.code WHERE NEW.code <> OLD.code;
    END""",
    """CREATE TRIGGER link_changes_on_link_delete AFTER DELETE ON links
    BEGIN INSERT INTO link_changes (code) VALUES (OLD.code); END""",
    """CREATE TRIGGER link_changes_on_bio_update AFTER UPDATE ON bio_pages
    BEGIN
      INSERT INTO link_changes (code) VALUES (OLD.handle);
      INSERT INTO link_changes (code) SELECT NEW.handle WHERE NEW.handle <> OLD.handle;
    END""",
    """CREATE TRIGGER link_changes_on_bio_delete AFTER DELETE ON bio_pages
    BEGIN INSERT INTO link_changes (code) VALUES (OLD.handle); END""",
    f"""CREATE TRIGGER link_changes_trim AFTER INSERT ON link_changes WHEN NEW.seq % 1000 = 0
    BEGIN DELETE FROM link_changes WHERE seq <= NEW.seq - {KEEP}; END""",
]

_POSTGRES = [
    f"""CREATE FUNCTION kliqs_note_link_change() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
      old_key text;
      new_key text;
      last_seq bigint;
    BEGIN
      IF TG_OP <> 'INSERT' THEN old_key := to_jsonb(OLD) ->> TG_ARGV[0]; END IF;
      IF TG_OP <> 'DELETE' THEN new_key := to_jsonb(NEW) ->> TG_ARGV[0]; END IF;
      IF old_key IS NOT NULL THEN
        INSERT INTO link_changes (code) VALUES (old_key) RETURNING link_changes.seq INTO last_seq;
      END IF;
      IF new_key IS NOT NULL AND new_key IS DISTINCT FROM old_key THEN
        INSERT INTO link_changes (code) VALUES (new_key) RETURNING link_changes.seq INTO last_seq;
      END IF;
      IF last_seq % 1000 = 0 THEN
        DELETE FROM link_changes WHERE link_changes.seq <= last_seq - {KEEP};
      END IF;
      RETURN NULL;
    END $$""",
    f"""CREATE TRIGGER link_changes_on_link AFTER DELETE OR UPDATE OF {_LINK_FIELDS}
    ON links FOR EACH ROW EXECUTE FUNCTION kliqs_note_link_change('code')""",
    """CREATE TRIGGER link_changes_on_bio AFTER DELETE OR UPDATE ON bio_pages
    FOR EACH ROW EXECUTE FUNCTION kliqs_note_link_change('handle')""",
]


def upgrade() -> None:
    op.create_table(
        "click_batches",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("stored_at", server.db.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "link_changes",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  autoincrement=True, nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    statements = _SQLITE if op.get_bind().dialect.name == "sqlite" else _POSTGRES
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in ("link_update", "link_delete", "bio_update", "bio_delete"):
            op.execute(f"DROP TRIGGER IF EXISTS link_changes_on_{name}")
        op.execute("DROP TRIGGER IF EXISTS link_changes_trim")
    else:
        op.execute("DROP TRIGGER IF EXISTS link_changes_on_link ON links")
        op.execute("DROP TRIGGER IF EXISTS link_changes_on_bio ON bio_pages")
        op.execute("DROP FUNCTION IF EXISTS kliqs_note_link_change()")
    op.drop_table("link_changes")
    op.drop_table("click_batches")
