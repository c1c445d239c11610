"""PostgreSQL servers behind one interface, their installations and client tools, connections."""
