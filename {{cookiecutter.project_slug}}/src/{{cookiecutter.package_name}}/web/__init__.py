"""The web UI: the Gradio app (``app``), how an answer is laid out (``views``), who is asking and what
they may read (``visitors``), the UI's own accounts (``accounts``), and how often a client may ask or
rate (``limits``). Only ``app`` imports Gradio's server side; the CLI's ``hash-password`` needs none of it.
A front end: it may import every stage, and no stage imports it.
"""
