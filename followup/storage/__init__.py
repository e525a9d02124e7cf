"""Storage: the database that remembers what was issued, sent and received."""
