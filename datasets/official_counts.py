"""The official split sizes of the real datasets, as plain data (no torch): the dataset modules validate
prepared folders against them and the papers' suites turn epochs into steps with them."""

#: CycleGAN's unpaired sets (junyanz/pytorch-CycleGAN-and-pix2pix ``datasets/download_cyclegan_dataset.sh``).
CYCLEGAN = {
    "horse2zebra": {"trainA": 1067, "trainB": 1334, "testA": 120, "testB": 140},
    "summer2winter_yosemite": {"trainA": 1231, "trainB": 962, "testA": 309, "testB": 238},
}
#: pix2pix's paired sets (and GAN Compression's edges2shoes-r, whose counts are not published).
PIX2PIX = {"edges2shoes": {"train": 49825, "val": 200}, "maps": {"train": 1096, "val": 1098}, "edges2shoes-r": {}}
#: Cityscapes fine annotations (Cordts et al., CVPR 2016).
CITYSCAPES = {"train": 2975, "val": 500}
