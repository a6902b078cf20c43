-- Both rollups' watermarks in one row: readings_daily_mat holds every whole
-- Kyiv day below day_watermark (rollup_watermark()), readings_monthly_mat
-- every whole month below month_watermark (0008). The portal reads them with
-- each metering point and splits its consumption query there
-- (ingest.portal.consumption). A view, not functions: PostgreSQL runs a SQL
-- function with a FROM clause through its function executor on every call
-- (~30 µs each, measured), while a view is planned into the query.
CREATE VIEW rollup_watermarks AS
SELECT watermark AS day_watermark,
       date_trunc('month', watermark, 'Europe/Kyiv') AS month_watermark
FROM rollup_state;
