"""Alembic migrations shipped inside the package (run by `csbridge db upgrade`)."""
