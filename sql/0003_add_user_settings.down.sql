-- Reverses 0003_add_user_settings.up.sql; users.settings still holds the original values.
ALTER TABLE users
    DROP COLUMN two_factor_secret,
    DROP COLUMN two_factor_enabled,
    DROP COLUMN locale,
    DROP COLUMN timezone;
