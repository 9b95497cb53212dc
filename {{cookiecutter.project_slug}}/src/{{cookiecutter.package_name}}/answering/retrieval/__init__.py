"""Retrieval: candidates from the vector store and the keyword index, then the ranking rules that order
them, the reranker, and the documents' standing from ratings."""
