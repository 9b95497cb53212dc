"""The index: the embedding model that turns text into vectors (``embeddings``), the contract every
vector store keeps (``store_base``) and the chosen store (``store``){% if cookiecutter.vector_store == "chroma" %} with its server and keyword index{% endif %},
and the passages read around each chunk (``passages``). It may import settings and ``security`` only."""
