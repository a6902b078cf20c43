-- Changes that can make a remembered caller stale, announced on channel
-- metergate_callers (ingest.portal.changes). The portal API keeps the session
-- and points of a point-scoped read for a few seconds
-- (portal_api.security.callers); these triggers tell every API process what
-- to forget, in the transaction that makes the change, so the notice goes
-- out when it commits. Payload 'user:<id>': forget that user's callers; '*':
-- forget them all. PostgreSQL sends one notice per distinct payload per
-- transaction, however many rows change.

CREATE FUNCTION notify_user_callers() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- TG_ARGV[0]: the column that holds the user's id in this table.
    IF TG_OP <> 'INSERT' THEN
        PERFORM pg_notify('metergate_callers', 'user:' || (to_jsonb(OLD) ->> TG_ARGV[0]));
    END IF;
    IF TG_OP <> 'DELETE' THEN
        PERFORM pg_notify('metergate_callers', 'user:' || (to_jsonb(NEW) ->> TG_ARGV[0]));
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION notify_all_callers() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('metergate_callers', '*');
    RETURN NULL;
END $$;

-- A session ends (logout, password change, expiry) or changes, its last use
-- included: a remembered caller does not refresh last_used_at, and its entry
-- must not outlive a session that someone else's write made idle. (The
-- lookup refreshes it at most once a minute per session: the remembered
-- caller is then looked up once more.)
CREATE TRIGGER sessions_callers AFTER UPDATE OR DELETE ON sessions
    FOR EACH ROW EXECUTE FUNCTION notify_user_callers('user_id');

-- A user is disabled, deleted, or changes role or email.
CREATE TRIGGER users_callers
    AFTER DELETE OR UPDATE OF email, role, disabled_at ON users
    FOR EACH ROW EXECUTE FUNCTION notify_user_callers('id');

-- A user's accounts are linked, unlinked or switched.
CREATE TRIGGER user_accounts_callers
    AFTER INSERT OR UPDATE OR DELETE ON user_accounts
    FOR EACH ROW EXECUTE FUNCTION notify_user_callers('user_id');

-- What a remembered point holds: its account's number, the account's points,
-- the point, its meters and their stays, its tariff's zone names. (It also
-- holds the rollup watermarks it was read with: those only move forward, and
-- any earlier watermark gives the same figures, see ingest.portal.consumption.)
CREATE TRIGGER accounts_callers AFTER UPDATE OF number OR DELETE OR TRUNCATE ON accounts
    FOR EACH STATEMENT EXECUTE FUNCTION notify_all_callers();
CREATE TRIGGER account_points_callers
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON account_points
    FOR EACH STATEMENT EXECUTE FUNCTION notify_all_callers();
CREATE TRIGGER metering_points_callers
    AFTER UPDATE OR DELETE OR TRUNCATE ON metering_points
    FOR EACH STATEMENT EXECUTE FUNCTION notify_all_callers();
CREATE TRIGGER meter_installations_callers
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON meter_installations
    FOR EACH STATEMENT EXECUTE FUNCTION notify_all_callers();
CREATE TRIGGER meters_callers AFTER UPDATE OR DELETE OR TRUNCATE ON meters
    FOR EACH STATEMENT EXECUTE FUNCTION notify_all_callers();
CREATE TRIGGER tariff_calendars_callers
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON tariff_calendars
    FOR EACH STATEMENT EXECUTE FUNCTION notify_all_callers();

-- Emptying these tables ends every session and link at once.
CREATE TRIGGER sessions_truncated AFTER TRUNCATE ON sessions
    FOR EACH STATEMENT EXECUTE FUNCTION notify_all_callers();
CREATE TRIGGER users_truncated AFTER TRUNCATE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION notify_all_callers();
CREATE TRIGGER user_accounts_truncated AFTER TRUNCATE ON user_accounts
    FOR EACH STATEMENT EXECUTE FUNCTION notify_all_callers();
