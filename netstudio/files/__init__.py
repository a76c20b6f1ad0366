"""Reading and writing files: crash-safe writes, tensor files, checkpoints, weight import."""
