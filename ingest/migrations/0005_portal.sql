-- The portal: logins, sessions, e-mail tokens, throttling, and the records the
-- consumer cabinet shows (services, contracts, warnings, appeals, contact-change
-- requests, news, photos of submitted readings). One file for both backends.
-- Secrets are never stored raw: sessions and e-mail tokens keep the SHA-256 of
-- the token, passwords an argon2id PHC string.

CREATE TABLE users (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email               text        NOT NULL CHECK (length(email) BETWEEN 3 AND 254 AND email LIKE '%_@_%'),
    password_hash       text        CHECK (password_hash LIKE '$argon2id$%'), -- NULL until set (P3)
    role                text        NOT NULL DEFAULT 'consumer'
                                    CHECK (role IN ('consumer', 'operator', 'analyst', 'admin')),
    terms_accepted_at   timestamptz,
    data_consent_at     timestamptz,
    confirmed_at        timestamptz,
    password_changed_at timestamptz,
    disabled_at         timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    -- A consumer registered with both consents (P2); staff are created by an admin.
    CHECK (role <> 'consumer' OR (terms_accepted_at IS NOT NULL AND data_consent_at IS NOT NULL))
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

-- Personal accounts activated by a login (P4, P19); at most one is the default.
CREATE TABLE user_accounts (
    user_id    bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    account_id bigint      NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    active     boolean     NOT NULL DEFAULT false,
    linked_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, account_id)
);
CREATE INDEX user_accounts_account ON user_accounts (account_id);
CREATE UNIQUE INDEX user_accounts_one_active ON user_accounts (user_id) WHERE active;

-- Opaque server-side sessions: the client holds the token, the store its hash.
CREATE TABLE sessions (
    id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_hash bytea       NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    user_id    bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind       text        NOT NULL CHECK (kind IN ('cookie', 'bearer')),
    -- Cookie sessions only: echoed in X-CSRF-Token on state-changing requests.
    -- Not a credential by itself (useless without the session cookie).
    csrf_token text        CHECK ((kind = 'cookie') = (csrf_token IS NOT NULL)),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

-- Links sent by e-mail: single use (used_at), expiring, stored as a hash.
CREATE TABLE email_tokens (
    id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_hash bytea       NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    user_id    bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose    text        NOT NULL CHECK (purpose IN ('confirm', 'reset', 'email_change')),
    new_email  text        CHECK ((purpose = 'email_change') = (new_email IS NOT NULL)),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX email_tokens_user ON email_tokens (user_id, purpose);

-- Attempts per throttle key ("login:addr:…", "activate:user:…"), a sliding
-- window log; keys carry no raw e-mail address (hashed by the application).
CREATE TABLE throttle_events (
    id  bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key text        NOT NULL,
    at  timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX throttle_events_key ON throttle_events (key, at);

-- P1: paid commercial-metering services; money in integer kopiykas.
CREATE TABLE services (
    id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name         text        NOT NULL CHECK (length(name) BETWEEN 1 AND 300),
    description  text        NOT NULL DEFAULT '' CHECK (length(description) <= 5000),
    price_kop    bigint      NOT NULL CHECK (price_kop >= 0),
    unit         text        NOT NULL CHECK (length(unit) BETWEEN 1 AND 50),
    vat_included boolean     NOT NULL DEFAULT true,
    position     integer     NOT NULL DEFAULT 0,
    active       boolean     NOT NULL DEFAULT true,
    updated_at   timestamptz NOT NULL DEFAULT now()
);

-- P11: contracts of an account, with the signed text and annexes as files.
CREATE TABLE contracts (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id  bigint      NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    number      text        NOT NULL CHECK (length(number) BETWEEN 1 AND 64),
    title       text        NOT NULL CHECK (length(title) BETWEEN 1 AND 300),
    kind        text        NOT NULL CHECK (kind IN ('distribution', 'supply', 'connection', 'services', 'other')),
    signed_on   date        NOT NULL,
    valid_until date,
    status      text        NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'terminated')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (account_id, number),
    CHECK (valid_until IS NULL OR valid_until >= signed_on)
);

CREATE TABLE contract_documents (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    contract_id bigint      NOT NULL REFERENCES contracts (id) ON DELETE CASCADE,
    kind        text        NOT NULL CHECK (kind IN ('contract', 'annex')),
    title       text        NOT NULL CHECK (length(title) BETWEEN 1 AND 300),
    filename    text        NOT NULL CHECK (length(filename) BETWEEN 1 AND 255),
    media_type  text        NOT NULL,
    size_bytes  integer     NOT NULL CHECK (size_bytes BETWEEN 1 AND 33554432),
    sha256      text        NOT NULL,
    content     bytea       NOT NULL,
    uploaded_at timestamptz NOT NULL DEFAULT now(),
    CHECK (octet_length(content) = size_bytes)
);
CREATE INDEX contract_documents_contract ON contract_documents (contract_id);

-- P15: warnings of disconnection per metering point.
CREATE TABLE disconnection_warnings (
    id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id bigint      NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    point_id   bigint      NOT NULL REFERENCES metering_points (id) ON DELETE CASCADE,
    reason     text        NOT NULL CHECK (reason IN ('debt', 'planned_works', 'other')),
    message    text        NOT NULL CHECK (length(message) BETWEEN 1 AND 5000),
    debt_kop   bigint      CHECK (debt_kop >= 0),
    issued_on  date        NOT NULL,
    planned_on date        NOT NULL,
    status     text        NOT NULL DEFAULT 'issued' CHECK (status IN ('issued', 'cancelled', 'executed')),
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK (planned_on > issued_on)
);
CREATE INDEX disconnection_warnings_point ON disconnection_warnings (point_id, issued_on);
CREATE INDEX disconnection_warnings_account ON disconnection_warnings (account_id, issued_on);

-- P16: appeals, the conversation under each, and attachments.
CREATE TABLE appeals (
    id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id bigint      NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    user_id    bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    category   text        NOT NULL CHECK (category IN ('connection', 'financial', 'contract', 'other')),
    address    text        NOT NULL CHECK (length(address) BETWEEN 1 AND 500),
    status     text        NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'answered', 'closed')),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX appeals_account ON appeals (account_id, created_at);
CREATE INDEX appeals_status ON appeals (status, created_at);

CREATE TABLE appeal_messages (
    id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    appeal_id  bigint      NOT NULL REFERENCES appeals (id) ON DELETE CASCADE,
    author_id  bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    from_staff boolean     NOT NULL,
    body       text        NOT NULL CHECK (length(body) BETWEEN 1 AND 10000),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX appeal_messages_appeal ON appeal_messages (appeal_id, created_at);

CREATE TABLE appeal_attachments (
    id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    appeal_id  bigint      NOT NULL REFERENCES appeals (id) ON DELETE CASCADE,
    filename   text        NOT NULL CHECK (length(filename) BETWEEN 1 AND 255),
    media_type text        NOT NULL,
    size_bytes integer     NOT NULL CHECK (size_bytes BETWEEN 1 AND 33554432),
    sha256     text        NOT NULL,
    content    bytea       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK (octet_length(content) = size_bytes)
);
CREATE INDEX appeal_attachments_appeal ON appeal_attachments (appeal_id);

-- P18: new contact data from a consumer, applied to `accounts` by an operator.
CREATE TABLE contact_change_requests (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id  bigint      NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    user_id     bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    holder_name text        CHECK (length(holder_name) BETWEEN 1 AND 200),
    phone       text        CHECK (length(phone) BETWEEN 5 AND 32),
    email       text        CHECK (length(email) BETWEEN 3 AND 254),
    comment     text        NOT NULL DEFAULT '' CHECK (length(comment) <= 2000),
    status      text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'applied', 'rejected')),
    reviewed_by bigint      REFERENCES users (id) ON DELETE SET NULL,
    reviewed_at timestamptz,
    review_note text        NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (holder_name IS NOT NULL OR phone IS NOT NULL OR email IS NOT NULL),
    CHECK ((status = 'pending') = (reviewed_at IS NULL))
);
CREATE INDEX contact_change_requests_account ON contact_change_requests (account_id, created_at);
CREATE INDEX contact_change_requests_status ON contact_change_requests (status, created_at);

-- P20: company news; a NULL published_at is a draft.
CREATE TABLE news (
    id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    title        text        NOT NULL CHECK (length(title) BETWEEN 1 AND 300),
    body         text        NOT NULL CHECK (length(body) BETWEEN 1 AND 20000),
    published_at timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX news_published ON news (published_at DESC) WHERE published_at IS NOT NULL;

-- P5/P6: which portal user made which consumer submission (the reconciler's
-- consumer_submissions, 0004), for the ownership check; photos hang off it.
CREATE TABLE portal_submissions (
    submission_id bigint      PRIMARY KEY REFERENCES consumer_submissions (id) ON DELETE CASCADE,
    account_id    bigint      NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    point_id      bigint      NOT NULL REFERENCES metering_points (id) ON DELETE CASCADE,
    user_id       bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    submitted_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX portal_submissions_account ON portal_submissions (account_id, submitted_at);

CREATE TABLE submission_photos (
    id            bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    submission_id bigint      NOT NULL REFERENCES portal_submissions (submission_id) ON DELETE CASCADE,
    media_type    text        NOT NULL CHECK (media_type IN ('image/jpeg', 'image/png')),
    width         integer     NOT NULL CHECK (width > 0),
    height        integer     NOT NULL CHECK (height > 0),
    size_bytes    integer     NOT NULL CHECK (size_bytes BETWEEN 1 AND 33554432),
    sha256        text        NOT NULL,
    content       bytea       NOT NULL,
    uploaded_at   timestamptz NOT NULL DEFAULT now(),
    CHECK (octet_length(content) = size_bytes)
);
CREATE INDEX submission_photos_submission ON submission_photos (submission_id);
