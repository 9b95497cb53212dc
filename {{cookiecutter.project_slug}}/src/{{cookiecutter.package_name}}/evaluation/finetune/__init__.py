"""Fine-tuning the embedding model on what people asked, as an experiment: pairs from the feedback
(``pairs``), a short training run (``training``), an index version built with the tuned model beside
the live one, both scored on questions kept out of training, and a promotion only when the tuned one
wins by a margin (``experiment``)."""
