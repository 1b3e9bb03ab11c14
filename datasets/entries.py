"""The lazy entries of every built-in and real task: one ``TASKS.declare`` per task.

A listing or a grid expansion reads these and imports no loader (nor torch); ``TASKS.get(name)``
imports the task's module, whose ``register_task`` must say the same (family, pairing, defaults,
protocol, description...; ``tests/test_registries.py`` checks every entry). Adding a task means
its module with ``@register_task(...)`` and one ``_task(...)`` line here.
"""
from __future__ import annotations

from typing import Any

from datasets.registry import TASKS


def _task(name: str, module: str, family: str, paired: bool, defaults: dict, fid_protocol: str, description: str,
          quality_metric: str, reported_as: str | None = None, dataset: str | None = None,
          also_quality: tuple[str, ...] = ()) -> None:
    TASKS.declare(name, module, family=family, paired=paired, defaults=defaults, fid_protocol=fid_protocol,
                  description=description, quality_metric=quality_metric, reported_as=reported_as, dataset=dataset,
                  also_quality=also_quality)


_task('cifar10', 'datasets.real_labelled', 'classification', False,
      {'root': None, 'download': False, 'size': 32}, 'none',
      'Classification: CIFAR-10 (torchvision layout under a local data root).',
      'accuracy')
_task('cifar100', 'datasets.real_labelled', 'classification', False,
      {'root': None, 'download': False, 'size': 32}, 'none',
      'Classification: CIFAR-100 (torchvision layout under a local data root).',
      'accuracy')
_task('cityscapes', 'datasets.cityscapes', 'i2i', True,
      {'size': 256, 'data_root': None, 'max_train': None, 'max_test': None}, 'target_test',
      'Paired: Cityscapes label maps -> street photos, scored by DRN-D-105 mIoU (real data, needs `datasets '
      'prepare`).',
      'miou', reported_as='cityscapes', dataset='cityscapes')
_task('edges2shoes', 'datasets.pix2pix', 'i2i', True,
      {'size': 256, 'data_root': None, 'max_train': None, 'max_test': None}, 'target_test',
      "Paired: shoe edge maps -> photos (pix2pix's edges2shoes, AtoB; real data, needs `datasets prepare`).",
      'fid', reported_as='edges2shoes', dataset='edges2shoes')
_task('edges2shoes-r', 'datasets.pix2pix', 'i2i', True,
      {'size': 256, 'data_root': None, 'max_train': None, 'max_test': None}, 'target_test',
      "Paired: shoe edge maps -> photos, GAN Compression's split (pix2pix's edges2shoes-r, AtoB; real data, "
      'needs `datasets prepare`).',
      'fid', reported_as='edges2shoes-r', dataset='edges2shoes-r')
_task('horse2zebra', 'datasets.cyclegan', 'i2i', False,
      {'size': 256, 'data_root': None, 'max_train': None, 'max_test': None}, 'target_train_test',
      "Unpaired: horses -> zebras (CycleGAN's horse2zebra, AtoB; real data, needs `datasets prepare`).",
      'fid', reported_as='horse2zebra', dataset='horse2zebra')
_task('map2sat', 'datasets.pix2pix', 'i2i', True,
      {'size': 256, 'data_root': None, 'max_train': None, 'max_test': None}, 'target_test',
      "Paired: Google maps -> aerial photos (pix2pix's maps, BtoA; real data, needs `datasets prepare`).",
      'fid', reported_as='map2sat', dataset='maps')
_task('rc49', 'datasets.real_labelled', 'regression', False,
      {'root': None, 'size': 64, 'test_fraction': 0.2, 'split_seed': 0}, 'none',
      "Regression: RC-49 chair yaw angles in [0, 90) degrees, from CcGAN's h5, an npz export or a CSV folder.",
      'mae')
_task('sat2map', 'datasets.pix2pix', 'i2i', True,
      {'size': 256, 'data_root': None, 'max_train': None, 'max_test': None}, 'target_test',
      "Paired: aerial photos -> Google maps (pix2pix's maps, AtoB; real data, needs `datasets prepare`).",
      'fid', reported_as='sat2map', dataset='maps')
_task('summer2winter_yosemite', 'datasets.cyclegan', 'i2i', False,
      {'size': 256, 'data_root': None, 'max_train': None, 'max_test': None}, 'target_train_test',
      "Unpaired: Yosemite summer -> winter (CycleGAN's summer2winter_yosemite, AtoB; real data, needs "
      '`datasets prepare`).',
      'fid', reported_as='summer2winter', dataset='summer2winter_yosemite')
_task('synthetic_edges2shapes', 'datasets.synthetic', 'i2i', True,
      {'size': 64, 'n_train': 400, 'n_test': 64, 'seed': 0, 'colours': 'random'}, 'target_test',
      'Paired: outline maps -> filled, shaded shapes (built-in, edges2shoes-like).',
      'shape_miou', also_quality=('colour_miou', 'fid'))
_task('synthetic_plain2striped', 'datasets.synthetic', 'i2i', False,
      {'size': 64, 'n_train': 400, 'n_test': 64, 'seed': 0}, 'target_train_test',
      'Unpaired: plain blobs <-> striped blobs on grass, unaligned sets (built-in, horse2zebra-like).',
      'fid')
_task('synthetic_rotation', 'datasets.synthetic_labelled', 'regression', False,
      {'size': 32, 'n_train': 2000, 'n_test': 500, 'seed': 0}, 'none',
      'Regression: an arrow rotated by 0-90 degrees, the angle is the label (built-in, RC-49-like).',
      'mae')
_task('synthetic_shapes10', 'datasets.synthetic_labelled', 'classification', False,
      {'size': 32, 'n_train': 2000, 'n_test': 500, 'seed': 0}, 'none',
      'Classification: ten shape classes at random pose, colour and light (built-in, CIFAR-10-like).',
      'accuracy')
_task('tiny_imagenet', 'datasets.real_labelled', 'classification', False,
      {'root': None, 'download': False, 'size': 64}, 'none',
      'Classification: Tiny-ImageNet, 200 classes at 64x64 (the labelled val split is the test split).',
      'accuracy')
_task('utkface', 'datasets.real_labelled', 'regression', False,
      {'root': None, 'size': 64, 'min_age': 1, 'max_age': 60, 'test_fraction': 0.2, 'split_seed': 0}, 'none',
      'Regression: UTKFace ages (years) from the aligned-and-cropped faces, seeded train/test split.',
      'mae')
_task('winter2summer_yosemite', 'datasets.cyclegan', 'i2i', False,
      {'size': 256, 'data_root': None, 'max_train': None, 'max_test': None}, 'target_train_test',
      "Unpaired: Yosemite winter -> summer (CycleGAN's summer2winter_yosemite, BtoA; real data, needs "
      '`datasets prepare`).',
      'fid', reported_as='winter2summer', dataset='summer2winter_yosemite')
_task('zebra2horse', 'datasets.cyclegan', 'i2i', False,
      {'size': 256, 'data_root': None, 'max_train': None, 'max_test': None}, 'target_train_test',
      "Unpaired: zebras -> horses (CycleGAN's horse2zebra, BtoA; real data, needs `datasets prepare`).",
      'fid', reported_as='zebra2horse', dataset='horse2zebra')
