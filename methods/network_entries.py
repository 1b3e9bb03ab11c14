"""The lazy registry entries of every network: one ``NETWORKS.declare`` per network, with its one-line
summary and its keyword arguments' defaults (what ``list`` shows and ``--set teacher.<arg>`` is checked
against), so that neither imports the network's module (nor torch). ``tests/test_registries.py`` checks every
entry against its factory's signature and docstring.
"""
from __future__ import annotations

from methods.registry import NETWORKS

NETWORKS.declare('cifar_densenet', 'methods.networks.classifiers',
                 summary='DenseNet-BC for 32x32 inputs (module docstring): dense blocks joined by halving transitions.',
                 args={'num_outputs': 100, 'blocks': (6, 12, 24, 16), 'growth': 32, 'reduction': 0.5})
NETWORKS.declare('densenet121', 'methods.networks.classifiers',
                 summary="DenseNet-121 (blocks 6-12-24-16, growth 32), CIFAR variant: cGAN-KD's CIFAR-100 "
                         "filtering network.",
                 args={'num_outputs': 100})
NETWORKS.declare('vgg11', 'methods.networks.classifiers',
                 summary="VGG-11 with BN (configuration A), CIFAR layout: cGAN-KD's UTKFace filtering network.",
                 args={'num_outputs': 100})
NETWORKS.declare('mobile_resnet_deepest_generator', 'methods.networks.omgd_networks',
                 summary="OMGD's deeper teacher for mobile ResNet students (``mobile_deepest_resnet``).",
                 args={'ngf': 16, 'n_blocks': 9, 'norm': 'instance', 'dropout': 0.0, 'input_nc': 3, 'output_nc': 3})
NETWORKS.declare('unet_deepest_generator', 'methods.networks.omgd_networks',
                 summary="OMGD's deeper teacher for U-Net students (``unet_deepest_256`` at num_downs=8).",
                 args={'ngf': 16, 'num_downs': 8, 'norm': 'batch', 'dropout': 0.0, 'input_nc': 3, 'output_nc': 3})
NETWORKS.declare('shared_patchgan_discriminator', 'methods.networks.omgd_networks',
                 summary='PatchGAN (n_layers 3, 70x70) with ``n_share`` shared leading blocks and one head per teacher.',
                 args={'input_nc': 6, 'ndf': 128, 'n_share': 3, 'n_heads': 2, 'norm': 'batch'})
NETWORKS.declare('cifar_resnet', 'methods.networks.classifiers',
                 summary='CIFAR ResNet of depth 6n+2: stem conv at widths[0], three stages of n basic blocks '
                         'at widths[1:].',
                 args={'num_outputs': 100, 'depth': 20, 'widths': (16, 16, 32, 64)})
NETWORKS.declare('cifar_vgg', 'methods.networks.classifiers',
                 summary='VGG with BN for 32x32: five blocks of 3x3 conv-BN-ReLU, max-pool after the first '
                         'four.',
                 args={'num_outputs': 100, 'convs_per_block': (1, 1, 1, 1, 1),
                       'widths': (64, 128, 256, 512, 512)})
NETWORKS.declare('mobile_resnet_generator', 'methods.networks.generators',
                 summary='ResNet generator with depthwise-separable residual blocks (GAN Compression / OMGD /'
                         ' CRD students).',
                 args={'ngf': 64, 'n_blocks': 9, 'norm': 'instance', 'dropout': 0.0, 'input_nc': 3,
                       'output_nc': 3})
NETWORKS.declare('mobilenetv2', 'methods.networks.classifiers',
                 summary="MobileNetV2, CIFAR variant (stride-2 stem); width 0.5 is the KD literature's "
                         '"MobileNetV2" student.',
                 args={'num_outputs': 100, 'width_mult': 0.5, 'expansion': 6})
NETWORKS.declare('patchgan_discriminator', 'methods.networks.discriminators',
                 summary='70x70 PatchGAN at n_layers=3 (Isola et al. 2017): a grid of real/fake logits.',
                 args={'input_nc': 3, 'ndf': 64, 'n_layers': 3, 'norm': 'instance'})
NETWORKS.declare('resnet110', 'methods.networks.classifiers',
                 summary='CIFAR ResNet-110 (1.7M parameters at 10 classes).',
                 args={'num_outputs': 100})
NETWORKS.declare('resnet20', 'methods.networks.classifiers',
                 summary='CIFAR ResNet-20 (0.27M parameters at 10 classes).',
                 args={'num_outputs': 100})
NETWORKS.declare('resnet32x4', 'methods.networks.classifiers',
                 summary="RepDistiller's ResNet-32x4 teacher: depth 32 at four times the width.",
                 args={'num_outputs': 100})
NETWORKS.declare('resnet56', 'methods.networks.classifiers',
                 summary='CIFAR ResNet-56 (0.85M parameters at 10 classes).',
                 args={'num_outputs': 100})
NETWORKS.declare('resnet8x4', 'methods.networks.classifiers',
                 summary="RepDistiller's ResNet-8x4: depth 8 at four times the width.",
                 args={'num_outputs': 100})
NETWORKS.declare('resnet_generator', 'methods.networks.generators',
                 summary='CycleGAN ResNet generator (``resnet_9blocks`` at n_blocks=9): 11.38M params, 56.8G '
                         'MACs at ngf 64, 256x256.',
                 args={'ngf': 64, 'n_blocks': 9, 'norm': 'instance', 'dropout': 0.0, 'input_nc': 3,
                       'output_nc': 3})
NETWORKS.declare('unet_generator', 'methods.networks.generators',
                 summary='pix2pix U-Net (``unet_256`` at num_downs=8): 54.41M params at ngf 64.',
                 args={'ngf': 64, 'num_downs': 8, 'norm': 'batch', 'dropout': 0.5, 'input_nc': 3,
                       'output_nc': 3})
NETWORKS.declare('vgg13', 'methods.networks.classifiers',
                 summary='VGG-13 with BN (RepDistiller ``vgg13_bn``): two convs per block.',
                 args={'num_outputs': 100})
NETWORKS.declare('vgg8', 'methods.networks.classifiers',
                 summary='VGG-8 with BN (RepDistiller ``vgg8_bn``): one conv per block.',
                 args={'num_outputs': 100})
NETWORKS.declare('wrn', 'methods.networks.classifiers',
                 summary='Wide ResNet WRN-depth-k: depth 6n+4, stages at widths 16k, 32k, 64k.',
                 args={'num_outputs': 100, 'depth': 40, 'widen_factor': 2})
NETWORKS.declare('wrn_16_2', 'methods.networks.classifiers',
                 summary='WRN-16-2.',
                 args={'num_outputs': 100})
NETWORKS.declare('wrn_40_1', 'methods.networks.classifiers',
                 summary='WRN-40-1.',
                 args={'num_outputs': 100})
NETWORKS.declare('wrn_40_2', 'methods.networks.classifiers',
                 summary='WRN-40-2 (2.2M parameters).',
                 args={'num_outputs': 100})
