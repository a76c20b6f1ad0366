"""The document side of the app: the controller, undo commands, and how views hear the engine."""
