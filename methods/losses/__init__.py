"""Pure loss functions shared by the distillation methods (no modules, no training state).

* :mod:`kd_gan_bench.methods.losses.relational`: RKD distance and angle terms (Park et al., CVPR 2019,
  arXiv 1904.05068) and the row / column / patch slicing of images used by CRD (arXiv 2212.11091).
* :mod:`kd_gan_bench.methods.losses.relation_matrix`: SRPKD's position-by-position semantic relation matrix
  (arXiv 2104.15082).
* :mod:`kd_gan_bench.methods.losses.contrastive`: ReKo's region attention and patch-wise InfoNCE (arXiv 2205.12451).
* :mod:`kd_gan_bench.methods.losses.kernel_alignment`: CAT's kernel alignment between sample-by-sample Gram matrices
  (arXiv 2103.03467), in a float32-safe form.
"""
