"""Readers that turn each supported source format into `Record`s."""
