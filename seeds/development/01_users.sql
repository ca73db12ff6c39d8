-- Development users: one admin, two moderators, seven users. Every password is "password"
-- (a bcrypt hash computed once, so seeding needs no pgcrypto). Fixed ids let 02_posts.csv
-- refer to them. ON CONFLICT DO NOTHING makes re-running the seed a no-op.
INSERT INTO users (id, email, first_name, last_name, role, settings, password_hash,
                   email_verified_at)
SELECT id::uuid, email, first_name, last_name, role::user_role, settings::jsonb,
       '$2a$10$7CAamQ1VJGMfhrIQGuvbh.YhyNB27cxsxe8Wa4/M4jhvB1Eu9xAwm', now()
  FROM (VALUES
    ('00000000-0000-4000-8000-000000000001', 'admin@example.com', 'Ada', 'Lovelace', 'admin', '{"timezone": "UTC", "locale": "en"}'),
    ('00000000-0000-4000-8000-000000000002', 'moderator@example.com', 'Grace', 'Hopper', 'moderator', '{"timezone": "Europe/London", "locale": "en"}'),
    ('00000000-0000-4000-8000-000000000003', 'mod2@example.com', 'Katherine', 'Johnson', 'moderator', '{"timezone": "America/New_York", "locale": "en"}'),
    ('00000000-0000-4000-8000-000000000004', 'alan@example.com', 'Alan', 'Turing', 'user', '{"timezone": "Europe/Berlin", "locale": "en"}'),
    ('00000000-0000-4000-8000-000000000005', 'edsger@example.com', 'Edsger', 'Dijkstra', 'user', '{"timezone": "Asia/Tokyo", "locale": "en"}'),
    ('00000000-0000-4000-8000-000000000006', 'barbara@example.com', 'Barbara', 'Liskov', 'user', '{"timezone": "UTC", "locale": "en"}'),
    ('00000000-0000-4000-8000-000000000007', 'donald@example.com', 'Donald', 'Knuth', 'user', '{"timezone": "Europe/London", "locale": "en"}'),
    ('00000000-0000-4000-8000-000000000008', 'margaret@example.com', 'Margaret', 'Hamilton', 'user', '{"timezone": "America/New_York", "locale": "en"}'),
    ('00000000-0000-4000-8000-000000000009', 'linus@example.com', 'Linus', 'Torvalds', 'user', '{"timezone": "Europe/Berlin", "locale": "en"}'),
    ('00000000-0000-4000-8000-000000000010', 'zoë@example.com', 'Zoë', 'Ångström', 'user', '{"timezone": "Asia/Tokyo", "locale": "en"}')
  ) AS seed (id, email, first_name, last_name, role, settings)
ON CONFLICT (email) DO NOTHING;
