"""peoplemart orchestration."""
