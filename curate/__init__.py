"""videoqa-rl curation stages: filter, extract-frames, coldstart, export, publish."""

__version__ = "0.1.0"
