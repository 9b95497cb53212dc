"""Guards every stage relies on: redaction of secrets and e-mail addresses (``redaction``), files only
their owner may read (``private_files``), and the screen for text that tries to instruct the language
model (``injection``). It imports nothing else of this project."""
