-- The monthly rollup split in two, as the daily one was (0006) and as plain
-- PostgreSQL keeps it (0008).
--
-- A month is materialized only once it is complete, so the real-time part of
-- the monthly continuous aggregate aggregated the running month's raw reads
-- (compressed after 7 days) on every query: 2.3 ms and 1.9 ms of planning for
-- one meter's months in the portal, while plain PostgreSQL groups the month's
-- daily rows. Now:
--   * readings_monthly_mat is the continuous aggregate, materialized rows only
--     (refreshed by its policy and by ingest.rollups.refresh, as before);
--   * readings_monthly is a view: materialized months below the aggregate's
--     watermark, and from there on the months grouped from readings_daily
--     (its materialized days, then today's raw reads), with the watermark
--     written as TimescaleDB writes it in its own real-time aggregates.
-- A month's first and last values are those of its first and last day, so the
-- rows are the ones the real-time aggregate gave.
ALTER MATERIALIZED VIEW readings_monthly RENAME TO readings_monthly_mat;
ALTER MATERIALIZED VIEW readings_monthly_mat SET (timescaledb.materialized_only = true);
-- One chunk per 365 days instead of an aggregate's default (ten raw chunks:
-- 10 days, so one chunk per month): a year of months then plans and scans one
-- or two chunks instead of twelve (0.64 ms planning and 0.48 ms executing for
-- one meter's year). Chunks made before this migration keep their size.
SELECT set_chunk_time_interval('readings_monthly_mat', INTERVAL '365 days');

DO $do$
DECLARE
    id integer;
    mark text;
BEGIN
    SELECT mat_hypertable_id INTO STRICT id
    FROM _timescaledb_catalog.continuous_agg
    WHERE user_view_schema = current_schema() AND user_view_name = 'readings_monthly_mat';
    mark := format(
        'COALESCE(_timescaledb_functions.to_timestamp(_timescaledb_functions.cagg_watermark(%s)),'
        ' ''-infinity''::timestamptz)', id);
    EXECUTE format($view$
CREATE VIEW readings_monthly AS
SELECT m.meter_id, m.register, m.source, m.bucket, m.first_at, m.first_wh,
       m.last_at, m.last_wh, m.min_wh, m.max_wh, m.n
FROM readings_monthly_mat m
WHERE m.bucket < %1$s
UNION ALL
SELECT meter_id, register, source,
       time_bucket(INTERVAL '1 month', bucket, 'Europe/Kyiv'),
       min(first_at),
       first(first_wh, first_at),
       max(last_at),
       last(last_wh, last_at),
       min(min_wh), max(max_wh), sum(n)::bigint
FROM readings_daily
WHERE bucket >= %1$s
GROUP BY meter_id, register, source, time_bucket(INTERVAL '1 month', bucket, 'Europe/Kyiv')
$view$, mark);
END
$do$;
