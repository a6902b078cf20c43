-- Domain tables: who is billed, where, on which meter, under which tariff.

CREATE TABLE accounts (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    number      text        NOT NULL UNIQUE CHECK (number ~ '^[0-9A-Za-z-]{1,32}$'),
    holder_name text        NOT NULL,
    address     text        NOT NULL,
    phone       text,
    email       text,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- EIC: 16 characters of 0-9 A-Z -, check character validated by the application
-- (python-stdnum); the shape check here stops anything else at the door.
CREATE TABLE metering_points (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    eic                text          NOT NULL UNIQUE CHECK (eic ~ '^[0-9A-Z]{2}[ZXYWTV][0-9A-Z-]{12}[0-9A-Z]$'),
    address            text          NOT NULL,
    region             text          NOT NULL DEFAULT '',
    permitted_power_kw numeric(8, 2) NOT NULL CHECK (permitted_power_kw > 0),
    input_breaker      boolean       NOT NULL DEFAULT false,
    tariff_plan        text          NOT NULL CHECK (tariff_plan IN ('single', 'two_zone', 'three_zone')),
    created_at         timestamptz   NOT NULL DEFAULT now()
);

CREATE TABLE meters (
    id         integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    serial     text        NOT NULL UNIQUE CHECK (length(serial) BETWEEN 1 AND 64),
    model      text        NOT NULL,
    digits     smallint    NOT NULL CHECK (digits BETWEEN 4 AND 9),
    zones      smallint    NOT NULL CHECK (zones BETWEEN 1 AND 4),
    scales     smallint    NOT NULL DEFAULT 1 CHECK (scales BETWEEN 1 AND 8),
    -- Registers the meter has (drivers.domain.Register numbers); readings of
    -- any other register are rejected to dead letters.
    registers  smallint[]  NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE meter_installations (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    meter_id      integer     NOT NULL REFERENCES meters (id),
    point_id      bigint      NOT NULL REFERENCES metering_points (id),
    install_place text        NOT NULL DEFAULT '',
    installed_at  timestamptz NOT NULL,
    removed_at    timestamptz,
    CHECK (removed_at IS NULL OR removed_at > installed_at)
);
CREATE INDEX meter_installations_point ON meter_installations (point_id, installed_at);
CREATE INDEX meter_installations_meter ON meter_installations (meter_id, installed_at);
-- A meter is installed at one point at a time, and a point has one meter at a time.
CREATE UNIQUE INDEX meter_installations_one_open_per_meter
    ON meter_installations (meter_id) WHERE removed_at IS NULL;
CREATE UNIQUE INDEX meter_installations_one_open_per_point
    ON meter_installations (point_id) WHERE removed_at IS NULL;

-- Register values recorded when a meter is installed and when it is removed.
CREATE TABLE installation_values (
    installation_id bigint   NOT NULL REFERENCES meter_installations (id) ON DELETE CASCADE,
    register        smallint NOT NULL,
    at_install_wh   bigint   NOT NULL CHECK (at_install_wh >= 0),
    at_removal_wh   bigint   CHECK (at_removal_wh >= 0),
    PRIMARY KEY (installation_id, register)
);

CREATE TABLE account_points (
    account_id bigint NOT NULL REFERENCES accounts (id),
    point_id   bigint NOT NULL REFERENCES metering_points (id),
    PRIMARY KEY (account_id, point_id)
);
CREATE INDEX account_points_point ON account_points (point_id);

-- Versioned tariff-zone calendars: one row per zone window of a plan, in force
-- from effective_from (a Kyiv local date) until the next version of the plan.
CREATE TABLE tariff_calendars (
    plan           text     NOT NULL CHECK (plan IN ('single', 'two_zone', 'three_zone')),
    effective_from date     NOT NULL,
    zone           text     NOT NULL,
    register       smallint NOT NULL,
    start_local    time     NOT NULL,
    end_local      time     NOT NULL, -- 00:00 means the end of the day
    coefficient    numeric(4, 2) NOT NULL,
    PRIMARY KEY (plan, effective_from, start_local)
);

INSERT INTO tariff_calendars (plan, effective_from, zone, register, start_local, end_local, coefficient) VALUES
    ('single',     '2000-01-01', 'total',     0, '00:00', '00:00', 1.0),
    ('two_zone',   '2000-01-01', 'night',     2, '00:00', '07:00', 0.5),
    ('two_zone',   '2000-01-01', 'day',       1, '07:00', '23:00', 1.0),
    ('two_zone',   '2000-01-01', 'night',     2, '23:00', '00:00', 0.5),
    ('three_zone', '2000-01-01', 'night',     3, '00:00', '07:00', 0.4),
    ('three_zone', '2000-01-01', 'half_peak', 2, '07:00', '08:00', 1.0),
    ('three_zone', '2000-01-01', 'peak',      1, '08:00', '11:00', 1.5),
    ('three_zone', '2000-01-01', 'half_peak', 2, '11:00', '20:00', 1.0),
    ('three_zone', '2000-01-01', 'peak',      1, '20:00', '22:00', 1.5),
    ('three_zone', '2000-01-01', 'half_peak', 2, '22:00', '23:00', 1.0),
    ('three_zone', '2000-01-01', 'night',     3, '23:00', '00:00', 0.4);

-- Input that could not become a reading, with the reason and the raw bytes.
CREATE TABLE dead_letters (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind        text        NOT NULL,
    origin      text        NOT NULL,
    reason      text        NOT NULL,
    payload     bytea       NOT NULL,
    received_at timestamptz NOT NULL,
    stored_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX dead_letters_stored_at ON dead_letters (stored_at);

CREATE TABLE audit_log (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at        timestamptz NOT NULL DEFAULT now(),
    actor     text        NOT NULL,
    action    text        NOT NULL,
    entity    text        NOT NULL,
    entity_id text        NOT NULL,
    details   jsonb       NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_entity ON audit_log (entity, entity_id, at);
