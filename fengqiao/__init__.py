"""Fengqiao legal assistant: command line, settings and process supervision."""
