"""Database layer: models, engine, migrations entry point."""
