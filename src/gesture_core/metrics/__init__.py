"""Evaluation metrics: FGD (:mod:`.fgd`, needs torch), motion metrics (:mod:`.motion`) and the
reset/push/compute :class:`~.evaluator.Evaluator`."""
