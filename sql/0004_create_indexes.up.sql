-- sqlmig:no-transaction
-- CONCURRENTLY builds each index without blocking writes, which cannot happen inside a
-- transaction: sqlmig runs this file statement by statement. IF NOT EXISTS makes a re-run
-- after a failure safe.
CREATE INDEX CONCURRENTLY IF NOT EXISTS users_active_email_idx
    ON users (email) WHERE deleted_at IS NULL;

CREATE INDEX CONCURRENTLY IF NOT EXISTS posts_published_at_idx
    ON posts (published_at DESC) WHERE status = 'published' AND deleted_at IS NULL;

CREATE INDEX CONCURRENTLY IF NOT EXISTS posts_user_created_idx
    ON posts (user_id, created_at DESC) WHERE deleted_at IS NULL;
