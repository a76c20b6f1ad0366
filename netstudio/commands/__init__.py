"""The engine's subcommands, one module each; ``netstudio.cli`` parses and dispatches."""
