-- Posts belong to users and go away with them.
CREATE TYPE post_status AS ENUM ('draft', 'published', 'archived');

CREATE TABLE posts (
    id           uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id      uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title        text        NOT NULL,
    slug         text        NOT NULL UNIQUE,
    content      text,
    excerpt      text,
    status       post_status NOT NULL DEFAULT 'draft',
    tags         text[]      NOT NULL DEFAULT '{}',
    view_count   integer     NOT NULL DEFAULT 0,
    published_at timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    deleted_at   timestamptz
);

CREATE INDEX posts_user_id_idx ON posts (user_id);
CREATE INDEX posts_tags_idx ON posts USING gin (tags);
-- Full-text search over title and content; queries must use the same expression.
CREATE INDEX posts_search_idx ON posts
    USING gin (to_tsvector('english', coalesce(title, '') || ' ' || coalesce(content, '')));

CREATE TRIGGER update_posts_updated_at
    BEFORE UPDATE ON posts
    FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();
