"""Looking at tensors: heatmap views, frames and pictures, and summary statistics for parameter inspection."""
