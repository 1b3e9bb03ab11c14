"""cGAN-KD (Ding et al., arXiv 2104.03164): the fake-set phase and the methods that train on it.

Its declaration (``spec``, torch-free), the registered methods ``cgan_kd`` and ``cgan_kd+vanilla_kd``
(``method``) and the fake-set artifact (``artifact``: ``pipeline.build_fake_set`` makes one processed fake set
per task, and per teacher when the teacher filters; ``pipeline.fake_set_network`` says which). Importing this
package imports nothing.
"""
