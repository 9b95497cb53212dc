"""Ingestion: reads documents from their sources (``sources``, ``formats``), decides what a run adds,
changes or removes (``planning``), then chunks, embeds and writes them to the index (``pipeline``,
``chunking``). It may import ``index``, ``security``, ``answers`` and settings; never answering,
feedback, evaluation or a front end."""
