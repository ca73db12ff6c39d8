"""sqlmig: a pure-SQL schema migrator for PostgreSQL."""

__version__ = "0.1.0"
