"""Exporting a compiled network: plain PyTorch (model.py + model.safetensors) and ONNX."""

from .onnx_export import export_onnx, onnx_available
from .plain_pytorch import (ExportError, ExportResult, example_inputs, export_plain_pytorch, materialize,
                            render_model_py, state_dict_for_saving, tensors_for_file)

__all__ = ["ExportError", "ExportResult", "example_inputs", "export_onnx", "export_plain_pytorch", "materialize",
           "onnx_available", "render_model_py", "state_dict_for_saving", "tensors_for_file"]
