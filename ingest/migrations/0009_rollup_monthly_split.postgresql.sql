-- Plain PostgreSQL: nothing to do; 0008 split its monthly rollup already.
SELECT 1;
