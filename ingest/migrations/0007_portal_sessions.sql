-- Portal sessions get an idle timeout besides their absolute expiry: the last
-- time a session was used (written at most once a minute per session, see
-- ingest/portal/sessions.py). Existing sessions count as used now.

ALTER TABLE sessions ADD COLUMN last_used_at timestamptz NOT NULL DEFAULT now();
