"""Alembic environment: runs on the connection eduops hands over (see eduops.db.upgrade)."""

from alembic import context

import eduops.models  # noqa: F401  (registers every table on Base.metadata)
from eduops.db import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    from eduops.db import make_engine

    connection = make_engine(config.get_main_option("sqlalchemy.url") or "").connect()

context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
