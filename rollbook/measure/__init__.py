"""What is read from a database: catalog snapshot, counts and digests, key ranges, plans."""
