"""``curate coldstart``: sample reasoning from a model, keep what the rewards verify.

Modules: ``templates`` (prompt rendering), ``backends`` (hf, openai; one interface), ``scoring``
(rewards per sample, pass rates, exemplar selection), ``stage`` (the command: batches, resume, outputs).
"""
