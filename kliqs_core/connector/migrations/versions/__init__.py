"""Migration revisions of the connector database."""
