"""Pure: files, plans, configuration, SQL text. No socket, no terminal."""
