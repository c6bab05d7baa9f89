"""A lightweight diffusion gesture model: speech audio + words + speaker -> TED poses, few-step DDIM.

A ~2.5 M-parameter transformer-lite denoises 34-frame windows (the Trimodal model's windows, run by
:mod:`gesture_core.generation.windows`), conditioned on the raw audio, the words, the speaker and
the 4 seed poses, with classifier-free guidance. Few sampling steps (4-10) keep it real-time.

Modules (only the first four import torch):

- :mod:`.model` -- ``GestureDenoiser``, the PyTorch module, with ``training_loss(batch)``.
- :mod:`.checkpoint` -- save/load a checkpoint directory (safetensors + JSON).
- :mod:`.generator` -- ``DiffusionGenerator``, the PyTorch backend of ``GestureGenerator``.
- :mod:`.export` -- write ``encoder.onnx`` + ``model.onnx``; CLI
  ``python -m gesture_core.models.diffusion.export CKPT_DIR``.
- :mod:`.runtime` -- ``OnnxDiffusionGenerator``, the onnxruntime backend (no torch).
- :mod:`.config`, :mod:`.schedule`, :mod:`.sampler`, :mod:`.inference` -- config and metadata
  files, the noise schedule, the numpy DDIM sampler, the logic both backends share.

This package file imports nothing, so ``import gesture_core.models.diffusion.runtime`` works
without torch installed.
"""
