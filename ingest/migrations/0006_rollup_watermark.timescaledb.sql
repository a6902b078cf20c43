-- The daily rollup split in two, as on plain PostgreSQL.
--
-- A real-time continuous aggregate always adds a live aggregate of the raw rows
-- above its watermark (today's), and a filter on the time-zoned bucket does not
-- reach the raw chunks: every fleet query through it aggregated all of today's
-- reads, even for a quarter that ended months ago (118 ms at 04:30 Kyiv, growing
-- through the day). Now:
--   * readings_daily_mat is the continuous aggregate, materialized rows only
--     (refreshed by its policy, as before);
--   * rollup_watermark() is its watermark (no earlier than 1970, as on plain
--     PostgreSQL: before the first refresh TimescaleDB's is -infinity);
--   * readings_daily is a view with the same contract as before: materialized
--     rows below the watermark, a live aggregate of raw readings at or above it.
--     The watermark is written the way TimescaleDB writes it in its own
--     real-time aggregates, so its planner folds it into a constant and
--     excludes chunks;
-- so code that splits a query itself (the analytics queries) reads the
-- materialized rows without touching raw chunks.
ALTER MATERIALIZED VIEW readings_daily RENAME TO readings_daily_mat;
ALTER MATERIALIZED VIEW readings_daily_mat SET (timescaledb.materialized_only = true);

DO $do$
DECLARE
    id integer;
    mark text;
BEGIN
    SELECT mat_hypertable_id INTO STRICT id
    FROM _timescaledb_catalog.continuous_agg
    WHERE user_view_schema = current_schema() AND user_view_name = 'readings_daily_mat';
    mark := format(
        'COALESCE(_timescaledb_functions.to_timestamp(_timescaledb_functions.cagg_watermark(%s)),'
        ' ''-infinity''::timestamptz)', id);
    EXECUTE format($fn$
CREATE FUNCTION rollup_watermark() RETURNS timestamptz
LANGUAGE sql STABLE
AS %L
$fn$, 'SELECT greatest(' || mark || ', TIMESTAMPTZ ''1970-01-01 00:00+00'')');
    EXECUTE format($view$
CREATE VIEW readings_daily AS
SELECT m.meter_id, m.register, m.source, m.bucket, m.first_at, m.first_wh,
       m.last_at, m.last_wh, m.min_wh, m.max_wh, m.n
FROM readings_daily_mat m
WHERE m.bucket < %1$s
UNION ALL
SELECT meter_id, register, source,
       time_bucket(INTERVAL '1 day', read_at, 'Europe/Kyiv'),
       min(read_at),
       first(value_wh, read_at),
       max(read_at),
       last(value_wh, read_at),
       min(value_wh), max(value_wh), count(*)
FROM readings
WHERE read_at >= %1$s
GROUP BY meter_id, register, source, time_bucket(INTERVAL '1 day', read_at, 'Europe/Kyiv')
$view$, mark);
END
$do$;
