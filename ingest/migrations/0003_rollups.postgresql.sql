-- Plain PostgreSQL: rollups that behave like TimescaleDB's real-time continuous
-- aggregates, so every query gives the same result on both backends.
--   * readings_daily_mat holds materialized daily buckets below a watermark;
--   * the view readings_daily = materialized buckets below the watermark
--     UNION ALL buckets at/after it computed live from readings;
--   * the writer records one time range per batch in rollup_invalidations
--     (one row per transaction, nothing per reading), and ingest.rollups.refresh
--     recomputes the invalidated buckets below the watermark and moves the
--     watermark forward — as TimescaleDB's refresh policy does.
-- Buckets are Kyiv local days/months (23, 24 or 25 hours on DST days).
CREATE TABLE readings_daily_mat (
    meter_id integer     NOT NULL,
    register smallint    NOT NULL,
    source   smallint    NOT NULL,
    bucket   timestamptz NOT NULL,
    first_at timestamptz NOT NULL,
    first_wh bigint      NOT NULL,
    last_at  timestamptz NOT NULL,
    last_wh  bigint      NOT NULL,
    min_wh   bigint      NOT NULL,
    max_wh   bigint      NOT NULL,
    n        bigint      NOT NULL,
    PRIMARY KEY (meter_id, register, source, bucket)
);
CREATE INDEX readings_daily_mat_bucket ON readings_daily_mat (bucket);

-- Refreshes and the live part of the views scan readings by time: a BRIN
-- index costs almost nothing to keep, as readings arrive roughly in time order.
CREATE INDEX readings_read_at_brin ON readings USING brin (read_at);

CREATE TABLE rollup_state (
    one       boolean PRIMARY KEY DEFAULT true CHECK (one),
    watermark timestamptz NOT NULL
);
-- Nothing is materialized yet: everything since the epoch is computed live.
INSERT INTO rollup_state (watermark) VALUES ('1970-01-01 00:00+00');

-- The daily aggregate of raw readings; the refresher uses the same definition.
CREATE VIEW readings_daily_live AS
SELECT meter_id, register, source,
       date_trunc('day', read_at, 'Europe/Kyiv')       AS bucket,
       min(read_at)                                    AS first_at,
       (array_agg(value_wh ORDER BY read_at))[1]       AS first_wh,
       max(read_at)                                    AS last_at,
       (array_agg(value_wh ORDER BY read_at DESC))[1]  AS last_wh,
       min(value_wh)                                   AS min_wh,
       max(value_wh)                                   AS max_wh,
       count(*)                                        AS n
FROM readings
GROUP BY meter_id, register, source, date_trunc('day', read_at, 'Europe/Kyiv');

CREATE VIEW readings_daily AS
SELECT m.* FROM readings_daily_mat m
WHERE m.bucket < (SELECT watermark FROM rollup_state)
UNION ALL
SELECT meter_id, register, source,
       date_trunc('day', read_at, 'Europe/Kyiv'),
       min(read_at),
       (array_agg(value_wh ORDER BY read_at))[1],
       max(read_at),
       (array_agg(value_wh ORDER BY read_at DESC))[1],
       min(value_wh), max(value_wh), count(*)
FROM readings
WHERE read_at >= (SELECT watermark FROM rollup_state)
GROUP BY meter_id, register, source, date_trunc('day', read_at, 'Europe/Kyiv');

CREATE VIEW readings_monthly AS
SELECT meter_id, register, source,
       date_trunc('month', bucket, 'Europe/Kyiv')        AS bucket,
       min(first_at)                                     AS first_at,
       (array_agg(first_wh ORDER BY first_at))[1]        AS first_wh,
       max(last_at)                                      AS last_at,
       (array_agg(last_wh ORDER BY last_at DESC))[1]     AS last_wh,
       min(min_wh)                                       AS min_wh,
       max(max_wh)                                       AS max_wh,
       sum(n)::bigint                                    AS n
FROM readings_daily
GROUP BY meter_id, register, source, date_trunc('month', bucket, 'Europe/Kyiv');
