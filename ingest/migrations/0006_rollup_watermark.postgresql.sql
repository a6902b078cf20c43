-- The daily rollup's watermark, published as a constant.
--
-- Until now the readings_daily view compared its halves with a subquery on
-- rollup_state. The planner cannot see a subquery's value, so it estimated the
-- live half as a third of all readings and scanned every raw row (1.6 s for a
-- fleet query at 27 M rows, even with nothing live). TimescaleDB folds its
-- continuous aggregates' watermark into a constant before planning; here the
-- same is done by rewriting the view with the watermark as a literal whenever
-- rollup_state's watermark changes (about once a day), from a trigger, so the
-- table stays the one place that holds it.
--
-- rollup_watermark() is the same value for code that splits a query itself
-- (the analytics queries): materialized rows below it, raw readings at or above.

CREATE FUNCTION rollup_watermark() RETURNS timestamptz
LANGUAGE sql STABLE
AS $$ SELECT watermark FROM rollup_state $$;

-- The literal is written in ISO style whatever the session's DateStyle.
CREATE FUNCTION rollup_publish(watermark timestamptz) RETURNS void
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
END
$fn$;

CREATE FUNCTION rollup_state_published() RETURNS trigger
LANGUAGE plpgsql
AS $fn$
BEGIN
    PERFORM rollup_publish(NEW.watermark);
    RETURN NULL;
END
$fn$;

CREATE TRIGGER rollup_state_publish
AFTER UPDATE OF watermark ON rollup_state
FOR EACH ROW WHEN (OLD.watermark IS DISTINCT FROM NEW.watermark)
EXECUTE FUNCTION rollup_state_published();

SELECT rollup_publish(watermark) FROM rollup_state;
