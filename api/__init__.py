"""FastAPI gateway: resident API and pages, health and search."""
