"""The ``dcd`` method: its declaration (``spec``, torch-free) and its class (``method``)."""
