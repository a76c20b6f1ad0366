"""Looking at tensors: heatmap views and summary statistics for parameter inspection."""
