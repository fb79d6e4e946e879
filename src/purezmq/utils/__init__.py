"""Helpers: z85, jsonapi (each imported on its own; nothing is imported here)."""
