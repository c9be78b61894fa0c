"""Custom Rasa actions, served by rasa-sdk (`python -m actions.server --actions actions.actions`)."""
