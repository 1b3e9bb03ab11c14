"""The ``srpkd`` method: its declaration (``spec``, torch-free) and its class (``method``)."""
