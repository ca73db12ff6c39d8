-- sqlmig:no-transaction
-- Reverses 0004_create_indexes.up.sql without blocking writes.
DROP INDEX CONCURRENTLY IF EXISTS posts_user_created_idx;
DROP INDEX CONCURRENTLY IF EXISTS posts_published_at_idx;
DROP INDEX CONCURRENTLY IF EXISTS users_active_email_idx;
