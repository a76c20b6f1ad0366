"""Editors beside the canvas: properties, parameter editors, the code editor, the palette and the problems list."""
