"""Pydantic models for inputs and outputs, one module per domain; shared field types here."""
