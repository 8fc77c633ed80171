"""peoplemart quality."""
