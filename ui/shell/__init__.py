"""The application shell: start-up, the main window, files, autosave, trust, prompts and errors."""
