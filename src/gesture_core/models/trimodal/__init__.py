"""The Trimodal gesture model (Yoon et al. 2020): speech audio + words + speaker style -> TED poses.

Modules (only the first four import torch):

- :mod:`.model` -- ``PoseGenerator``, the PyTorch module (official layer names and sizes).
- :mod:`.checkpoint` -- save/load a project-format checkpoint directory (safetensors + JSON).
- :mod:`.generator` -- ``TrimodalGenerator``, the PyTorch backend of ``GestureGenerator``.
- :mod:`.official` -- convert the authors' ``multimodal_context_checkpoint_best.bin`` (restricted
  unpickling) into the project format; CLI ``gesture-convert-trimodal IN.bin OUT_DIR``.
- :mod:`.export` -- write ``model.onnx``; CLI ``python -m gesture_core.models.trimodal.export CKPT_DIR``.
- :mod:`.runtime` -- ``OnnxTrimodalGenerator``, the onnxruntime backend (no torch).
- :mod:`.config`, :mod:`.inference` -- config and metadata files, the logic both backends share.

This package file imports nothing, so ``import gesture_core.models.trimodal.runtime`` works
without torch installed.
"""
