-- TimescaleDB: nothing to do. readings_monthly is a continuous aggregate
-- already; plain PostgreSQL materializes its months in this version.
SELECT 1;
