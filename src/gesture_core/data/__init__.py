"""Training data: the clip format (:mod:`.format`), converters (:mod:`.beat2`, :mod:`.ted_lmdb`) and
the windowed dataset (:mod:`.dataset`)."""
