"""Small widgets shared by every part of the app."""
