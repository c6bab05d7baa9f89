"""Training of the learned gesture models (Trimodal GAN, diffusion); needs torch.

- :mod:`.config` -- ``TrainConfig``, the validated run configuration with ``key=value`` overrides.
- :mod:`.trainer` -- the training loop (single process or torchrun/DDP), checkpoints, resume, and
  the ``gesture-train`` command.
- :mod:`.backends` -- per backend: model, optimizers, one training step, saving.
- :mod:`.losses`, :mod:`.discriminator` -- the Trimodal paper's losses and discriminator.
- :mod:`.state` -- optimizer/RNG/discriminator state as safetensors + JSON, checkpoint folders.
"""
