"""Retrieval evaluation: question sets, the scoring rule, and saved runs to compare against."""
