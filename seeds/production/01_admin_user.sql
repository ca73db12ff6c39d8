-- sqlmig:param admin_password=SEED_ADMIN_PASSWORD
-- The first administrator. The password comes from the environment variable
-- SEED_ADMIN_PASSWORD (never from the repository): sqlmig passes it with set_config as a bind
-- parameter, and current_setting() reads it here, so it is never spliced into SQL text.
-- Needs pgcrypto for crypt()/gen_salt(); ON CONFLICT keeps an existing admin untouched.
INSERT INTO users (email, password_hash, first_name, last_name, role, email_verified_at)
VALUES (
    'admin@example.com',
    crypt(current_setting('sqlmig.admin_password'), gen_salt('bf', 10)),
    'Admin',
    'User',
    'admin',
    now()
)
ON CONFLICT (email) DO NOTHING;
