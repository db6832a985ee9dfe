-- Leases: a named job (the scheduler's feed polls, digests and outbox recovery)
-- that one process at a time may run. The holder renews it every tick; once
-- expires_at has passed, any process may take it over.

CREATE TABLE leases (
    name text PRIMARY KEY,
    holder text NOT NULL,  -- host:pid:random of the process holding it
    expires_at timestamptz NOT NULL
);
