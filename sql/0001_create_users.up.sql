-- Users, ported from the Node template's first migration.
-- pgcrypto provides crypt()/gen_salt() for password hashes. Nothing in the schema needs it
-- (gen_random_uuid() is built in since PostgreSQL 13), and some builds ship without it
-- (the embedded development server has no OpenSSL), so it is installed where available.
-- An extension belongs to the whole database: when a fleet migrates several schemas of one
-- database at once, another may create it at the same moment (unique_violation: it exists).
DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS pgcrypto;
EXCEPTION
    WHEN feature_not_supported OR undefined_file THEN
        RAISE NOTICE 'pgcrypto is not available on this server; skipping it';
    WHEN unique_violation THEN
        NULL;  -- created by a concurrent migration of another schema
END
$$;

CREATE TYPE user_role AS ENUM ('admin', 'moderator', 'user');

CREATE TABLE users (
    id                uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    email             text        NOT NULL UNIQUE,
    password_hash     text        NOT NULL,
    first_name        text,
    last_name         text,
    role              user_role   NOT NULL DEFAULT 'user',
    is_active         boolean     NOT NULL DEFAULT true,
    email_verified_at timestamptz,
    last_login_at     timestamptz,
    settings          jsonb       NOT NULL DEFAULT '{}'::jsonb,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    deleted_at        timestamptz
);

COMMENT ON TABLE users IS 'Application accounts; soft-deleted rows have deleted_at set.';

-- Keeps updated_at honest whatever the application forgets.
CREATE OR REPLACE FUNCTION update_updated_at_column() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;

CREATE TRIGGER update_users_updated_at
    BEFORE UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();
