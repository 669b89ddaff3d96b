"""What the mobile app's sync reads, kept by PostgreSQL itself so that no way of writing is
missed (a service, the import's COPY and UPDATE ... FROM, a bulk update, a cascade):

- `sync_txid` on prospects and visits: the id of the transaction that last wrote the row
  (pg_current_xact_id()). A pull cursor is the snapshot's xmin: every transaction below it has
  ended, so a row committed late by a long transaction is never skipped.
- a tombstone when a prospect or visit leaves a user's set: deleted, or its owner (a visit's
  user) changed.

Row-level security on the tombstones as on every table of Client Data. Nothing on SQLite (the
embedded default): there the pull hands out everything each time."""

from django.db import migrations

from opsx.migration_ops import EnableTenantRLS, PostgresOnlySQL

TXID = "pg_current_xact_id()::text::bigint"

FORWARD = f"""
CREATE OR REPLACE FUNCTION opsx_sync_txid() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.sync_txid := {TXID};
    RETURN NEW;
END $$;

CREATE TRIGGER prospect_sync_txid BEFORE INSERT OR UPDATE ON prospects_prospect
    FOR EACH ROW EXECUTE FUNCTION opsx_sync_txid();
CREATE TRIGGER visit_sync_txid BEFORE INSERT OR UPDATE ON prospects_visit
    FOR EACH ROW EXECUTE FUNCTION opsx_sync_txid();

-- TG_ARGV[0]: the key naming whose set the row is in; TG_ARGV[1]: the tombstone's kind.
CREATE OR REPLACE FUNCTION opsx_sync_tombstone() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    old_user bigint := (to_jsonb(OLD) ->> TG_ARGV[0])::bigint;
    new_user bigint;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        new_user := (to_jsonb(NEW) ->> TG_ARGV[0])::bigint;
        IF old_user IS NULL OR old_user IS NOT DISTINCT FROM new_user THEN
            RETURN NEW;
        END IF;
    ELSIF old_user IS NULL THEN
        RETURN OLD;
    END IF;
    INSERT INTO prospects_synctombstone (client_id, user_id, kind, public_id, sync_txid, created_at)
    VALUES (OLD.client_id, old_user, TG_ARGV[1], OLD.public_id, {TXID}, now());
    RETURN NULL;
END $$;

CREATE TRIGGER prospect_sync_tombstone AFTER DELETE OR UPDATE OF owner_id ON prospects_prospect
    FOR EACH ROW EXECUTE FUNCTION opsx_sync_tombstone('owner_id', 'prospect');
CREATE TRIGGER visit_sync_tombstone AFTER DELETE OR UPDATE OF user_id ON prospects_visit
    FOR EACH ROW EXECUTE FUNCTION opsx_sync_tombstone('user_id', 'visit');
"""

BACKWARD = """
DROP TRIGGER IF EXISTS prospect_sync_tombstone ON prospects_prospect;
DROP TRIGGER IF EXISTS visit_sync_tombstone ON prospects_visit;
DROP TRIGGER IF EXISTS prospect_sync_txid ON prospects_prospect;
DROP TRIGGER IF EXISTS visit_sync_txid ON prospects_visit;
DROP FUNCTION IF EXISTS opsx_sync_tombstone();
DROP FUNCTION IF EXISTS opsx_sync_txid();
"""


class Migration(migrations.Migration):
    dependencies = [("prospects", "0013_sync")]

    operations = [
        PostgresOnlySQL(FORWARD, BACKWARD),
        EnableTenantRLS("prospects_synctombstone"),
    ]
