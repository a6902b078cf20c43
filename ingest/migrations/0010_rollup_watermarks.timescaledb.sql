-- Both rollups' watermarks in one row: the watermarks of the daily and the
-- monthly continuous aggregate, no earlier than 1970 (before the first refresh
-- TimescaleDB's are -infinity), as rollup_watermark() gives the daily one
-- (0006). The portal reads them with each metering point and splits its
-- consumption query there (ingest.portal.consumption). A view, not
-- functions: PostgreSQL runs a SQL function through its function executor on
-- every call, while a view is planned into the query.
DO $do$
DECLARE
    day_id integer;
    month_id integer;
    mark text := 'greatest(COALESCE(_timescaledb_functions.to_timestamp('
                 '_timescaledb_functions.cagg_watermark(%s)), ''-infinity''::timestamptz),'
                 ' TIMESTAMPTZ ''1970-01-01 00:00+00'')';
BEGIN
    SELECT mat_hypertable_id INTO STRICT day_id
    FROM _timescaledb_catalog.continuous_agg
    WHERE user_view_schema = current_schema() AND user_view_name = 'readings_daily_mat';
    SELECT mat_hypertable_id INTO STRICT month_id
    FROM _timescaledb_catalog.continuous_agg
    WHERE user_view_schema = current_schema() AND user_view_name = 'readings_monthly_mat';
    EXECUTE format(
        'CREATE VIEW rollup_watermarks AS SELECT %s AS day_watermark, %s AS month_watermark',
        format(mark, day_id), format(mark, month_id));
END
$do$;
