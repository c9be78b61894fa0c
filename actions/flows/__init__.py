"""The bot's custom actions, one module per conversation flow (as in Rasa's demo assistants).

- `answer`: a legal question answered from the knowledge base;
- `clarify`: at most two clarifying questions for a vague question, and the topic buttons;
- `intake`: the mediation request (at most three questions, then the mediators' queue);
- `handoff`: a person at once (the resident asked for one) and emergencies (guidance, then an urgent handoff);
- `fallback`: a message the bot did not understand;
- `common`: what several flows share (the handoff payload, pausing the bot, the facts of a request).

`actions.actions` imports them all: it is the package the action server loads.
"""
