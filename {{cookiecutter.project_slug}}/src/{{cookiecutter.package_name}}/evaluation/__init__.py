"""Evaluation: question sets, the scoring rule, runs of retrieval{% if cookiecutter.llm != "none" %} and answer quality{% endif %} saved to compare
against, experiments across settings,{% if cookiecutter.embeddings == "local" %} fine-tuning the embedding model as an experiment
(``finetune/``),{% endif %} and cases proposed from feedback. It may import ``answering`` and
everything below it; nothing below imports it."""
