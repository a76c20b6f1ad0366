"""The parameter panels docked in the main window: parameter tree, heatmap,
initializer picker, shared-parameter links, device selector and run panel."""
