"""Imported by the Rasa launcher (fengqiao.supervisor.RASA_LAUNCHER) before Rasa starts.

Rasa 3.6 checks every action server response with `jsonschema.validate`, which checks the schema itself
(a large anyOf of every event type) again on every call: a third of Rasa's CPU per message at saturation,
measured with `fengqiao bench profile`. The validator is built once here; every response is still validated
against the same schema, with the same error when it does not fit.
"""

from __future__ import annotations

from typing import Any


def install() -> None:
    import jsonschema
    from jsonschema.exceptions import best_match
    from rasa.core.actions.action import DOCS_BASE_URL, RemoteAction

    state: dict[str, Any] = {}

    def validate_action_result(self, result: dict[str, Any]) -> bool:
        validator = state.get("validator")
        if validator is None:
            schema = self.action_response_format_spec()
            cls = jsonschema.validators.validator_for(schema)
            cls.check_schema(schema)
            validator = state["validator"] = cls(schema)
        error = best_match(validator.iter_errors(result))
        if error is not None:
            error.message += (
                ". Failed to validate Action server response from API, make sure your response "
                f"from the Action endpoint is valid. For more information about the format visit "
                f"{DOCS_BASE_URL}/custom-actions"
            )
            raise error
        return True

    RemoteAction._validate_action_result = validate_action_result


install()
