-- Plain PostgreSQL: months materialized too, as TimescaleDB's monthly
-- continuous aggregate is.
--
-- Until now readings_monthly grouped the daily rollup on every query: a year of
-- one meter's months read ~1,100 daily rows (0.6–1.5 ms, the costliest
-- statement of the portal's yearly summary). Now:
--   * readings_monthly_mat holds each whole Kyiv month below the watermark's
--     month, aggregated from readings_daily_mat (ingest.rollups.refresh
--     recomputes a month whenever one of its days is, and when the watermark
--     leaves it);
--   * the view readings_monthly = those months UNION ALL the months from the
--     watermark's month on, grouped from readings_daily as before (at most a
--     month of daily rows per meter and register);
-- with the month's start written into the view as a literal by
-- rollup_publish, like the daily watermark. Same rows as before, by definition.
CREATE TABLE readings_monthly_mat (LIKE readings_daily_mat INCLUDING ALL);

-- Make the materialized rows of the given months (Kyiv month starts) again
-- from the daily rollup; ingest.rollups.refresh calls it.
CREATE FUNCTION rollup_remake_months(starts timestamptz[]) RETURNS void
LANGUAGE sql
AS $fn$
DELETE FROM readings_monthly_mat WHERE bucket = ANY(starts);
INSERT INTO readings_monthly_mat
SELECT meter_id, register, source,
       date_trunc('month', bucket, 'Europe/Kyiv'),
       min(first_at),
       (array_agg(first_wh ORDER BY first_at))[1],
       max(last_at),
       (array_agg(last_wh ORDER BY last_at DESC))[1],
       min(min_wh), max(max_wh), sum(n)::bigint
FROM readings_daily_mat
WHERE bucket >= (SELECT min(s) FROM unnest(starts) AS s)
  AND bucket < (SELECT (max(s) AT TIME ZONE 'Europe/Kyiv' + INTERVAL '1 month')
                       AT TIME ZONE 'Europe/Kyiv' FROM unnest(starts) AS s)
  AND date_trunc('month', bucket, 'Europe/Kyiv') = ANY(starts)
GROUP BY meter_id, register, source, date_trunc('month', bucket, 'Europe/Kyiv');
$fn$;

SELECT rollup_remake_months(ARRAY(
    SELECT DISTINCT date_trunc('month', bucket, 'Europe/Kyiv') FROM readings_daily_mat
    WHERE bucket < (SELECT date_trunc('month', watermark, 'Europe/Kyiv') FROM rollup_state)));

CREATE OR REPLACE FUNCTION rollup_publish(watermark timestamptz) RETURNS void
LANGUAGE plpgsql
SET datestyle = 'ISO, YMD'
AS $fn$
BEGIN
    EXECUTE format($view$
CREATE OR REPLACE VIEW readings_daily AS
SELECT m.* FROM readings_daily_mat m
WHERE m.bucket < %1$L::timestamptz
UNION ALL
SELECT meter_id, register, source,
       date_trunc('day', read_at, 'Europe/Kyiv'),
       min(read_at),
       (array_agg(value_wh ORDER BY read_at))[1],
       max(read_at),
       (array_agg(value_wh ORDER BY read_at DESC))[1],
       min(value_wh), max(value_wh), count(*)
FROM readings
WHERE read_at >= %1$L::timestamptz
GROUP BY meter_id, register, source, date_trunc('day', read_at, 'Europe/Kyiv')
$view$, watermark);
    EXECUTE format($view$
CREATE OR REPLACE VIEW readings_monthly AS
SELECT m.* FROM readings_monthly_mat m
WHERE m.bucket < %1$L::timestamptz
UNION ALL
SELECT meter_id, register, source,
       date_trunc('month', bucket, 'Europe/Kyiv'),
       min(first_at),
       (array_agg(first_wh ORDER BY first_at))[1],
       max(last_at),
       (array_agg(last_wh ORDER BY last_at DESC))[1],
       min(min_wh), max(max_wh), sum(n)::bigint
FROM readings_daily
WHERE bucket >= %1$L::timestamptz
GROUP BY meter_id, register, source, date_trunc('month', bucket, 'Europe/Kyiv')
$view$, date_trunc('month', watermark, 'Europe/Kyiv'));
END
$fn$;

SELECT rollup_publish(watermark) FROM rollup_state;
