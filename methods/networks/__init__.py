"""Networks: the generators, discriminators and classifiers the methods train, their specs as plain data
(``spec``, ``geometry``: torch-free) and the spec -> module factory (``build``). Importing this package imports nothing."""
