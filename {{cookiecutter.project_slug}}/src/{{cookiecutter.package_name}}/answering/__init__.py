"""Answering: from a question to an answer with its sources. Retrieval finds and ranks passages
(``retrieval``), a verified answer is reused when one matches, and the language model writes the answer
(``engine``, ``prompts``{% if cookiecutter.llm != "none" %}, ``deadlines``{% endif %}). It may import ``feedback`` (ratings weigh the ranking) and
everything below it; never evaluation or a front end."""
