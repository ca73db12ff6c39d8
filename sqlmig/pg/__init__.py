"""Everything that talks to PostgreSQL: connection, history table, sending SQL, catalog,
pg_dump, the embedded server."""
