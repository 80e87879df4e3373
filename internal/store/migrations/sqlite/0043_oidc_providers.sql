-- OpenID Connect providers for single sign-on (issue 24; sqlite).
-- Keep in step with ../postgres/0043_oidc_providers.sql.
-- client_secret is sealed with secret.key (store/sealed.go); domains is a
-- JSON array of lower-case e-mail domains, role_map a JSON object from
-- claim value to role; the booleans are 0/1. A session remembers the
-- provider it was signed in with (0: password) and whether that provider
-- vouched for the second factor.
CREATE TABLE oidc_providers (
    id            INTEGER PRIMARY KEY,
    name          TEXT    NOT NULL UNIQUE,
    issuer        TEXT    NOT NULL,
    client_id     TEXT    NOT NULL,
    client_secret TEXT    NOT NULL,
    domains       TEXT    NOT NULL,
    auto_create   INTEGER NOT NULL,
    default_role  TEXT    NOT NULL,
    roles_claim   TEXT    NOT NULL,
    role_map      TEXT    NOT NULL,
    enforces_mfa  INTEGER NOT NULL,
    created_at    BIGINT  NOT NULL
);

ALTER TABLE sessions ADD COLUMN oidc_provider BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN provider_mfa INTEGER NOT NULL DEFAULT 0;
