-- The one narrow table of register reads. Raw rows are never updated:
-- corrections are new rows with source = correction.
--   register: 0 import total, 1..4 import T1..T4, 10 export total, 11..14 export T1..T4
--   source:   1 auto, 2 consumer, 3 controller, 4 estimate, 5 correction
--   quality:  Green Button QualityOfReading codes (0 valid, 7 manually edited,
--             8 estimated, 10 questionable, 11 derived, 14 raw, 17 validated)
-- No foreign key to meters: the writer checks meters before it writes, and a
-- per-row FK check would cost a lookup on the hottest path.
CREATE TABLE readings (
    meter_id    integer     NOT NULL,
    register    smallint    NOT NULL,
    read_at     timestamptz NOT NULL,
    source      smallint    NOT NULL CHECK (source BETWEEN 1 AND 5),
    value_wh    bigint      NOT NULL CHECK (value_wh >= 0),
    quality     smallint    NOT NULL DEFAULT 0,
    received_at timestamptz NOT NULL DEFAULT now(),
    origin      text        NOT NULL DEFAULT '',
    -- The idempotency key: a replayed message never doubles a row. Its index
    -- also serves every per-meter query.
    CONSTRAINT readings_key PRIMARY KEY (meter_id, register, read_at, source)
);

-- Time ranges written since the rollups were last refreshed: one row per
-- write batch (plain PostgreSQL only; TimescaleDB keeps its own log).
CREATE TABLE rollup_invalidations (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    lo timestamptz NOT NULL,
    hi timestamptz NOT NULL
);
