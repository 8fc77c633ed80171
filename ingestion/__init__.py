"""peoplemart ingestion."""
