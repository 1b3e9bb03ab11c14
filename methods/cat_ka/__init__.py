"""The ``cat_ka`` method: its declaration (``spec``, torch-free) and its class (``method``)."""
