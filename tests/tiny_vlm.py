"""Tests import the tiny model builder from here (it lives in the package: the demo uses it too)."""

from curate.coldstart.tiny_model import build_tiny_qwen2vl

__all__ = ["build_tiny_qwen2vl"]
