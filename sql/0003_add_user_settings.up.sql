-- First-class columns for settings that used to live in users.settings (jsonb).
ALTER TABLE users
    ADD COLUMN timezone           text    NOT NULL DEFAULT 'UTC',
    ADD COLUMN locale             text    NOT NULL DEFAULT 'en',
    ADD COLUMN two_factor_enabled boolean NOT NULL DEFAULT false,
    ADD COLUMN two_factor_secret  text;

-- Data migration: copy the values over. The jsonb keys are kept, so the down migration
-- loses nothing; a later "contract" migration can remove them once the app stops reading them.
UPDATE users
   SET timezone           = coalesce(settings ->> 'timezone', timezone),
       locale             = coalesce(settings ->> 'locale', locale),
       two_factor_enabled = coalesce((settings ->> 'two_factor_enabled')::boolean,
                                     two_factor_enabled)
 WHERE settings ?| array['timezone', 'locale', 'two_factor_enabled'];
