"""Recipes, executors and trainer-side readers that compose the curate stages."""
