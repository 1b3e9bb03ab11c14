"""The ``feature_kd`` method: its declaration (``spec``, torch-free) and its class (``method``)."""
