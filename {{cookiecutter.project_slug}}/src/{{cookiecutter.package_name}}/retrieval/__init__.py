"""Retrieval: candidates from the vector store, then the ranking rules that order them."""
