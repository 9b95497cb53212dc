"""What people ask: their questions grouped into topics, and the topics the documentation does not
cover well (its gaps)."""
