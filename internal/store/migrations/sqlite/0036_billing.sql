-- Billing: contracts, time entries and finalized billing runs (issue 22;
-- sqlite). Keep in step with ../postgres/0036_billing.sql.
-- contracts are core.Contract: dates are 'YYYY-MM-DD' text, which orders
-- like the dates; end_date NULL is open ended. A client's contracts never
-- overlap: the store checks it in the transaction that writes one (an
-- index cannot express it). Prices are integer cents; the booleans are 0/1.
-- billing_runs are finalized core.BillingRun rows with their bills as JSON.
-- They are never updated but for corrected_by (the run that corrects it)
-- and never deleted; a run is corrected at most once.
-- time_entries are core.TimeEntry; billed_run_id is the live run that
-- billed the entry (NULL: not billed), which freezes it. An entry outlives
-- the outage or support request it was worked on.
CREATE TABLE contracts (
    id                INTEGER PRIMARY KEY,
    client_id         BIGINT  NOT NULL REFERENCES clients (id),
    plan              TEXT    NOT NULL,
    price_cents       BIGINT  NOT NULL,
    activation_cents  BIGINT  NOT NULL,
    hourly_rate_cents BIGINT  NOT NULL,
    gross             INTEGER NOT NULL,
    vat_basis_points  INTEGER NOT NULL,
    period            TEXT    NOT NULL,
    start_date        TEXT    NOT NULL,
    end_date          TEXT,
    network_billable  INTEGER NOT NULL DEFAULT 0,
    reactivate_months INTEGER NOT NULL,
    updated_at        BIGINT  NOT NULL,
    updated_by        TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX contracts_client ON contracts (client_id, start_date);

CREATE TABLE billing_runs (
    id           INTEGER PRIMARY KEY,
    from_date    TEXT    NOT NULL,
    to_date      TEXT    NOT NULL,
    bills        TEXT    NOT NULL,
    net_cents    BIGINT  NOT NULL,
    vat_cents    BIGINT  NOT NULL,
    gross_cents  BIGINT  NOT NULL,
    corrects     BIGINT  REFERENCES billing_runs (id),
    corrected_by BIGINT  REFERENCES billing_runs (id),
    created_at   BIGINT  NOT NULL,
    created_by   TEXT    NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX billing_runs_corrects ON billing_runs (corrects) WHERE corrects IS NOT NULL;
CREATE INDEX billing_runs_period ON billing_runs (from_date, to_date);

CREATE TABLE time_entries (
    id            INTEGER PRIMARY KEY,
    client_id     BIGINT  NOT NULL REFERENCES clients (id),
    outage_id     BIGINT  REFERENCES outages (id) ON DELETE SET NULL,
    support_id    BIGINT  REFERENCES support_requests (id) ON DELETE SET NULL,
    user_name     TEXT    NOT NULL DEFAULT '',
    started_at    BIGINT  NOT NULL,
    minutes       INTEGER NOT NULL DEFAULT 0,
    running       INTEGER NOT NULL DEFAULT 0,
    note          TEXT    NOT NULL DEFAULT '',
    billable      INTEGER NOT NULL DEFAULT 1,
    billed_run_id BIGINT  REFERENCES billing_runs (id),
    created_at    BIGINT  NOT NULL
);
CREATE INDEX time_entries_client ON time_entries (client_id, started_at);
CREATE INDEX time_entries_started ON time_entries (started_at);
CREATE INDEX time_entries_outage ON time_entries (outage_id);
CREATE INDEX time_entries_support ON time_entries (support_id);
CREATE INDEX time_entries_billed ON time_entries (billed_run_id);
