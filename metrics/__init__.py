"""peoplemart metrics."""
