"""Gesture models: the weight-free procedural generator and the learned ones (Trimodal, diffusion)
with their PyTorch modules, checkpoints and torch-free runtimes.

What the learned models share lives in :mod:`.common` (torch-free: config base, checkpoint files,
the windowed generator base, onnxruntime sessions) and :mod:`.common_torch` (safetensors weights,
the checked ONNX export).
"""
