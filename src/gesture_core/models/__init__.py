"""Learned gesture models (Trimodal, ...): PyTorch modules, checkpoints and torch-free runtimes."""
