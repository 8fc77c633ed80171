"""Synthetic Dutch organisation: deterministic HRIS, survey, finance and planning deliveries."""
