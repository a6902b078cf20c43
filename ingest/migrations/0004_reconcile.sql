-- The reconciler: policy, billing periods, versioned period reads, review flags,
-- consumer submissions, operator corrections, run state. Both backends.
-- Energy is integer Wh everywhere.

-- Reading rules of the company (DOMAIN.md defaults). One row: one company per store.
CREATE TABLE reconcile_policy (
    one                  boolean     PRIMARY KEY DEFAULT true CHECK (one),
    cutoff_day           smallint    NOT NULL DEFAULT 1 CHECK (cutoff_day BETWEEN 1 AND 28),
    cutoff_time          time        NOT NULL DEFAULT '00:00',
    -- consumer window: from this many days before the cut-off date ...
    window_before_days   smallint    NOT NULL DEFAULT 2 CHECK (window_before_days BETWEEN 0 AND 14),
    -- ... through the end of this day of the cut-off month (3, some companies 4)
    window_until_day     smallint    NOT NULL DEFAULT 3 CHECK (window_until_day BETWEEN 1 AND 28),
    precedence           text[]      NOT NULL DEFAULT '{auto,consumer,controller,estimate}'
        CHECK (precedence <@ '{auto,consumer,controller,estimate}'::text[]
               AND cardinality(precedence) BETWEEN 1 AND 4),
    divergence_wh        bigint      NOT NULL DEFAULT 10000 CHECK (divergence_wh >= 0),
    divergence_pct       smallint    NOT NULL DEFAULT 10 CHECK (divergence_pct BETWEEN 0 AND 1000),
    load_factor_pct      smallint    NOT NULL DEFAULT 100 CHECK (load_factor_pct BETWEEN 1 AND 1000),
    estimation_periods   smallint    NOT NULL DEFAULT 3 CHECK (estimation_periods BETWEEN 1 AND 24),
    estimation_last_year boolean     NOT NULL DEFAULT true,
    interpolation_span   interval    NOT NULL DEFAULT '48 hours',
    auto_carry_max       interval    NOT NULL DEFAULT '24 hours',
    controller_max_days  smallint    NOT NULL DEFAULT 31 CHECK (controller_max_days BETWEEN 1 AND 92),
    clock_drift          interval    NOT NULL DEFAULT '15 minutes',
    split_max_interval   interval    NOT NULL DEFAULT '1 hour',
    updated_at           timestamptz NOT NULL DEFAULT now(),
    updated_by           text        NOT NULL DEFAULT 'migration',
    CHECK (window_until_day >= cutoff_day)
);
INSERT INTO reconcile_policy DEFAULT VALUES;

-- Billing periods: calendar months named by their first day; cut-off instants
-- fixed when the period is opened.
CREATE TABLE billing_periods (
    period         date        PRIMARY KEY CHECK (extract(day FROM period) = 1),
    starts_at      timestamptz NOT NULL,
    ends_at        timestamptz NOT NULL CHECK (ends_at > starts_at),
    window_ends_at timestamptz NOT NULL CHECK (window_ends_at >= ends_at),
    status         text        NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    opened_at      timestamptz NOT NULL DEFAULT now(),
    closed_at      timestamptz,
    closed_by      text,
    CHECK ((status = 'closed') = (closed_at IS NOT NULL AND closed_by IS NOT NULL))
);

-- Versioned period results per point and register (zone). A new version only
-- when the result changes; the old one is kept with superseded_at set.
-- No foreign keys: the reconciler is the only writer and loads hundreds of
-- thousands of rows per close with COPY (like readings, checked before writing).
CREATE TABLE period_reads (
    point_id         bigint      NOT NULL,
    period           date        NOT NULL,
    register         smallint    NOT NULL,
    version          integer     NOT NULL CHECK (version >= 1),
    zone             text        NOT NULL,
    -- false: the total register of a single-register meter on a multi-zone
    -- plan, shared out into the zone rows (kept for the chain, not billed)
    billed           boolean     NOT NULL DEFAULT true,
    opening_at       timestamptz,
    opening_wh       bigint      CHECK (opening_wh >= 0),
    opening_meter_id integer,
    opening_source   text,
    closing_at       timestamptz,
    closing_wh       bigint      CHECK (closing_wh >= 0),
    closing_meter_id integer,
    consumption_wh   bigint,
    source           text        NOT NULL CHECK (source IN
        ('auto', 'consumer', 'controller', 'estimate', 'correction', 'removal', 'none')),
    reason           text        NOT NULL,
    status           text        NOT NULL CHECK (status IN ('actual', 'estimated', 'disputed', 'corrected')),
    detail           jsonb       NOT NULL DEFAULT '{}',
    -- A hash of the result's content: a re-run compares it instead of every field.
    digest           text        NOT NULL,
    run_id           bigint,
    created_at       timestamptz NOT NULL DEFAULT now(),
    superseded_at    timestamptz,
    PRIMARY KEY (point_id, period, register, version)
);
CREATE UNIQUE INDEX period_reads_current
    ON period_reads (point_id, register, period) WHERE superseded_at IS NULL;

-- Review flags. register NULL: the point as a whole. A flag the reconciler
-- raised is not raised twice while it is open or after an operator resolved it
-- (the unique index); one the reconciler itself resolved (the condition went
-- away) may be raised again if the condition returns.
CREATE TABLE review_flags (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    point_id    bigint      NOT NULL REFERENCES metering_points (id),
    period      date        NOT NULL,
    register    smallint,
    kind        text        NOT NULL,
    reason      text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    run_id      bigint,
    resolved_at timestamptz,
    resolved_by text,
    resolution  text,
    CHECK ((resolved_at IS NULL) = (resolved_by IS NULL))
);
CREATE UNIQUE INDEX review_flags_once
    ON review_flags (point_id, period, coalesce(register, -1), kind, md5(reason))
    WHERE resolved_by IS NULL OR resolved_by <> 'reconciler';
CREATE INDEX review_flags_point ON review_flags (point_id, period);
CREATE INDEX review_flags_open ON review_flags (created_at) WHERE resolved_at IS NULL;

-- Readings a consumer confirmed in the cabinet (the portal attaches photos to
-- the id). The readings themselves are in readings (source consumer, origin
-- 'submission:<id>').
CREATE TABLE consumer_submissions (
    id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    point_id     bigint      NOT NULL REFERENCES metering_points (id),
    meter_id     integer     NOT NULL REFERENCES meters (id),
    submitted_at timestamptz NOT NULL,
    submitted_by text        NOT NULL,
    registers    smallint[]  NOT NULL,
    values_wh    bigint[]    NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    CHECK (cardinality(registers) = cardinality(values_wh) AND cardinality(registers) > 0)
);
CREATE INDEX consumer_submissions_point ON consumer_submissions (point_id, submitted_at);

-- Operator corrections of a period's closing register value (the latest wins).
CREATE TABLE period_corrections (
    id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    point_id   bigint      NOT NULL REFERENCES metering_points (id),
    period     date        NOT NULL REFERENCES billing_periods (period),
    register   smallint    NOT NULL,
    closing_wh bigint      NOT NULL CHECK (closing_wh >= 0),
    author     text        NOT NULL CHECK (author <> ''),
    reason     text        NOT NULL CHECK (reason <> ''),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX period_corrections_key ON period_corrections (point_id, period, register, id);

-- Incremental runs: readings received after the watermark mark their points.
CREATE TABLE reconcile_state (
    one       boolean     PRIMARY KEY DEFAULT true CHECK (one),
    watermark timestamptz NOT NULL
);
INSERT INTO reconcile_state (watermark) VALUES ('1970-01-01 00:00+00');

-- Points to recompute at the next incremental run for reasons other than new
-- readings (an installation recorded late, a flag resolved).
CREATE TABLE reconcile_queue (
    point_id     bigint      NOT NULL,
    requested_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE reconcile_runs (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    mode        text        NOT NULL CHECK (mode IN ('full', 'incremental', 'point', 'close', 'correction')),
    started_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    periods     date[]      NOT NULL DEFAULT '{}',
    points      integer     NOT NULL DEFAULT 0,
    results     integer     NOT NULL DEFAULT 0,
    versions    integer     NOT NULL DEFAULT 0,
    flags       integer     NOT NULL DEFAULT 0
);

-- Readings other than automatic ones are rare (a few per point and month):
-- small partial indexes find them by meter or by time without touching the
-- automatic rows, and cost the writer's automatic batches only a predicate test.
CREATE INDEX readings_manual_by_meter ON readings (meter_id, register, source, read_at)
    WHERE source <> 1;
CREATE INDEX readings_manual_by_time ON readings (read_at) WHERE source <> 1;
-- Incremental runs look for rows received since the last run; rows arrive in
-- received_at order, so a BRIN index answers that for almost nothing.
CREATE INDEX readings_received_brin ON readings USING brin (received_at);
