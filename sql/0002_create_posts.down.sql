-- Reverses 0002_create_posts.up.sql (the indexes and trigger go with the table).
DROP TABLE IF EXISTS posts;
DROP TYPE IF EXISTS post_status;
