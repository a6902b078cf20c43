-- metergate: no-transaction
-- TimescaleDB: readings becomes a hypertable with one-day chunks.
-- Why one day: a region of 400,000 meters × 3 registers × 96 reads a day is
-- about 115 M rows (~10 GB with the key index) a day; one-day chunks keep the
-- chunk being written, with its index, inside the memory of a modest server,
-- and let compression start on whole days. Smaller fleets lose nothing by it.
SELECT create_hypertable('readings', by_range('read_at', INTERVAL '1 day'));

-- Columnstore (compression): one segment per meter, rows ordered by register,
-- source and time inside it, so a meter's history decompresses alone.
-- Chunks older than 7 days are compressed; late rows still insert (ON CONFLICT
-- on the primary key works on compressed chunks).
ALTER TABLE readings SET (
    timescaledb.enable_columnstore,
    timescaledb.segmentby = 'meter_id',
    timescaledb.orderby = 'register, source, read_at'
);
CALL add_columnstore_policy('readings', after => INTERVAL '7 days');

-- Continuous aggregates with real-time aggregation (materialized_only = false),
-- so a query sees rows not yet materialized: results equal the plain-PostgreSQL
-- rollup tables at every moment. Buckets are Kyiv local days/months.
CREATE MATERIALIZED VIEW readings_daily
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT meter_id, register, source,
       time_bucket(INTERVAL '1 day', read_at, 'Europe/Kyiv') AS bucket,
       min(read_at)                AS first_at,
       first(value_wh, read_at)    AS first_wh,
       max(read_at)                AS last_at,
       last(value_wh, read_at)     AS last_wh,
       min(value_wh)               AS min_wh,
       max(value_wh)               AS max_wh,
       count(*)                    AS n
FROM readings
GROUP BY meter_id, register, source, time_bucket(INTERVAL '1 day', read_at, 'Europe/Kyiv')
WITH NO DATA;

CREATE MATERIALIZED VIEW readings_monthly
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT meter_id, register, source,
       time_bucket(INTERVAL '1 month', read_at, 'Europe/Kyiv') AS bucket,
       min(read_at)                AS first_at,
       first(value_wh, read_at)    AS first_wh,
       max(read_at)                AS last_at,
       last(value_wh, read_at)     AS last_wh,
       min(value_wh)               AS min_wh,
       max(value_wh)               AS max_wh,
       count(*)                    AS n
FROM readings
GROUP BY meter_id, register, source, time_bucket(INTERVAL '1 month', read_at, 'Europe/Kyiv')
WITH NO DATA;

-- Refresh policies: start_offset NULL covers late data of any age (only
-- invalidated buckets are recomputed); the last hour stays real-time.
SELECT add_continuous_aggregate_policy('readings_daily',
    start_offset => NULL, end_offset => INTERVAL '1 hour',
    schedule_interval => INTERVAL '15 minutes');
SELECT add_continuous_aggregate_policy('readings_monthly',
    start_offset => NULL, end_offset => INTERVAL '1 hour',
    schedule_interval => INTERVAL '1 hour');
