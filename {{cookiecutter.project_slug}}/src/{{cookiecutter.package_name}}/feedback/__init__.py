"""Feedback: every question, answer, source and rating (``store``, ``schema``), the bar an answer must
pass before others see it (``sharing``){% if cookiecutter.llm != "none" %}, the well-rated answers reused as verified answers
(``verified``){% endif %}, and the usage report (``usage``). It may import ``ingestion``, ``index``, ``security``,
``answers`` and settings; never answering, evaluation or a front end."""
