"""NetStudio's PySide6 front end (views and editing commands over the engine)."""
