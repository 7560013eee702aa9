"""Reward functions for GRPO trainers (standard library only). Filled in by the rewards issue."""
