"""The lazy registry entries of every method and artifact: one ``declare`` per entry (networks:
:mod:`methods.network_entries`).

A listing, a grid expansion and a SLURM submission read these entries and import nothing else;
the entry's module is imported (with torch) the first time the object itself is needed
(``METHODS.get(name)``). Adding a method means its module (with ``@METHODS.register``) and one
``METHODS.declare`` here, whose metadata must equal what the class says (family, teacher mode,
defaults, citation, resources, needs; ``tests/test_registries.py`` checks every entry). ``params``
declares a hyperparameter's type where its default (``None``: the paper's value for the kind of
task) does not tell it, and its valid choices or range: ``--set`` values are checked against it
before anything runs.
"""
from __future__ import annotations

from methods.networks.spec import INITS
from methods.registry import ARTIFACTS, METHODS, Need, Param, params_of
from methods.core.schedule_math import D_STEPS

#: The fake set's training steps: the cGAN's plus the density-ratio model's (sampling and filtering not counted).
FAKE_SET_STEPS = ("gan_steps", "dre_steps")
#: The report's table of fake-set jobs: (record metric, label, tooltip, format) per column.
FAKE_SET_TABLE = {
    "title": "cGAN-KD fake sets",
    "caption": "The processed cGAN samples every cGAN-KD student of this task learns from (Ding et al., arXiv "
               "2104.03164): conditional GAN, cDR-RS subsampling, filtering at the teacher's rho-quantile, label "
               "replacement.",
    "samples_label": "cGAN-KD fakes",
    "grid_caption": "Rows: real training images, then the cGAN-KD fake set's samples of the same labels (after "
                    "subsampling and filtering).",
    "columns": (("n_generated", "Generated", "cGAN samples proposed after the burn-ins", "{:,.0f}"),
                ("n_after_subsampling", "Subsampled", "accepted by cDR-RS rejection sampling", "{:,.0f}"),
                ("n_after_filtering", "Filtered", "accepted and below the teacher's rho-quantile cut-off", "{:,.0f}"),
                ("n_final", "Final", "", "{:,.0f}"),
                ("n_labels_replaced", "Relabelled", "labels replaced by the teacher's prediction", "{:,.0f}"),
                ("n_short_labels", "Short labels", "labels that got fewer fakes than asked", "{:,.0f}"),
                ("cgan_fid", "cGAN FID", "FID of raw cGAN samples vs the real training images", "{:.2f}"),
                ("fake_set_fid", "Fake-set FID", "FID of the final fake set vs the real training images", "{:.2f}")),
}
#: The public code's filtering network per family (``methods.cgan_kd.filtering.FILTER_NETS``): a fake set made
#: with it depends on no teacher and serves every teacher of its task.
FILTER_NETS = {"classification": {"arch": "densenet121"}, "regression": {"arch": "vgg11"}}
#: Declared types of the fake-set settings whose default does not tell (cGAN-KD's pipeline checks the counts).
FAKE_SET_PARAMS = {"ccgan_sigma": Param("float", optional=True, low=0.0),
                   "filter_rho": Param("float", optional=True, low=0.0, high=1.0),
                   **{k: Param("int", low=1) for k in ("n_per_label", "max_label_points", "max_proposals_factor",
                                                         "gan_steps", "dre_steps", "rs_batch_size")}}

_WEIGHT = Param("float", optional=True, low=0.0)
_INIT = Param("str", choices=INITS)
_DROPOUT = Param("float", low=0.0, high=0.999)
_LOOP_PARAMS = {"lambda_gan": Param("float", low=0.0), "d_init": Param("str", choices=("teacher", "scratch")),
                "lambda_recon": _WEIGHT, "init": _INIT, "d_step": Param("str", choices=D_STEPS)}
#: GAN Compression's student settings, shared by feature_kd and cat_ka (``methods.core.gan_compression``)
_GC_STUDENT_PARAMS = {**_LOOP_PARAMS, "student_init": Param("str", choices=("auto", "teacher", "scratch")),
                      "gan_mode": Param("str", optional=True, choices=("lsgan", "vanilla", "hinge")),
                      "ndf": Param("int", optional=True, low=1)}
_LABELLED_PARAMS = {"reg_loss": Param("str", choices=("mse", "l1")),
                    "augment": Param("str", optional=True, choices=("crop_flip", "flip", "none"))}
_CGAN_KD_PARAMS = {**_LABELLED_PARAMS, "init": Param("str", choices=("nokd", "scratch")),
                   "n_fake": Param("int", optional=True, low=1), "lr": Param("float", optional=True, low=0.0),
                   "batch_size": Param("int", optional=True, low=1), "epochs": Param("float", optional=True, low=0.0),
                   "epochs_over": Param("str", choices=("real+fake", "real")),
                   "milestones": Param("list", optional=True), "fake_filter_rho": Param("float", optional=True,
                                                                                         low=0.0, high=1.0),
                   "fake_replace_labels": Param("bool", optional=True)}
_CGAN_KD_NEEDS = (Need("fake_set", artifact="cgan_kd_fake_set"), Need("student_init", method="nokd",
                                                                      when=(("init", "nokd"),)))
#: cGAN-KD + KD reads a fake set made with its own filtering settings (rho 0.8, labels kept: the public code's)
_CGAN_KD_KD_NEEDS = (Need("fake_set", artifact="cgan_kd_fake_set",
                          settings=(("fake_filter_rho", "filter_rho"), ("fake_replace_labels", "replace_labels"))),
                     _CGAN_KD_NEEDS[1])
#: The online-teacher schedule shared by crd, omgd and dcd (``methods.core.online_teacher.SCHEDULE_DEFAULTS``).
_ONLINE_PARAMS = {"n_dis": Param("int", optional=True, low=1),
                  "steps_count": Param("str", choices=("teacher", "student")),
                  "epochs": Param("int", optional=True, low=0), "epochs_decay": Param("int", optional=True, low=0),
                  "window_epochs": Param("float", low=0.0), "teacher_select": Param("str", choices=("best", "latest")),
                  "select_images": Param("int", low=1), "vgg_weights": Param("str", optional=True),
                  "teacher_arch": Param("str", optional=True),
                  "student_dropout": _DROPOUT, "teacher_dropout": _DROPOUT, "init": _INIT,
                  **{k: _WEIGHT for k in ("lambda_style", "lambda_feature", "lambda_gan", "lambda_dcd")}}
_DCD_PARAMS = {**_ONLINE_PARAMS, "gan_on": Param("str", choices=("teacher_output", "student")),
               "gan_mode": Param("str", optional=True, choices=("lsgan", "vanilla", "hinge")),
               "ndf": Param("int", optional=True, low=1),
               "d_norm": Param("str", optional=True, choices=("batch", "instance"))}
_CRD_PARAMS = {**_ONLINE_PARAMS, **{k: _WEIGHT for k in ("lambda_row", "lambda_column", "lambda_patch")},
               "patch_size": Param("int", optional=True, low=1),
               "vgg_input": Param("str", choices=("unit", "imagenet"))}
_OMGD_PARAMS = {**_ONLINE_PARAMS, "lambda_cd": _WEIGHT, "ssim_padding": Param("str", choices=("zeros", "reflect")),
                "n_share": Param("int", optional=True, low=0, high=5),
                "deep_teacher_ngf": Param("int", optional=True, low=1),
                "d_norm": Param("str", optional=True)}


def _method(name: str, module: str, *, defaults: dict, params: dict | None = None, check: str = "",
            weights: str = "", **meta: object) -> None:
    """Declare a method; ``params``: the declared types (the others follow their defaults' types); ``check``:
    its torch-free planning check, ``"module:function"`` (see :mod:`methods.core.plan_checks`); ``weights``: the
    torch-free function naming the weights files its runs read (:func:`methods.core.plan_checks.weights_needed`)."""
    METHODS.declare(name, module, defaults=defaults, params=params_of(defaults, params), check=check,
                    weights=weights, **meta)


_method('cgan_kd', 'methods.cgan_kd.method', families=('classification', 'regression'),
        teacher_mode='pretrained',
        summary='cGAN-KD: the student (fine-tuned from NOKD) learns from real + filtered cGAN samples.',
        citation='Ding et al., Distilling and Transferring Knowledge via cGAN-generated Samples for Image '
                 'Classification and Regression, arXiv 2104.03164',
        defaults={'reg_loss': 'mse',
                   'augment': None,
                   'init': 'nokd',
                   'n_fake': 100000,
                   'lr': 0.01,
                   'batch_size': 128,
                   'epochs': None,
                   'epochs_over': 'real+fake',
                   'milestones': None},
        params=_CGAN_KD_PARAMS,
        needs=_CGAN_KD_NEEDS, resources={})

_method('cgan_kd+vanilla_kd', 'methods.cgan_kd.method', families=('classification', 'regression'),
        teacher_mode='pretrained',
        summary='cGAN-KD combined with Hinton KD: real + cGAN samples, CE to labels + T^2 KL to the teacher.',
        citation='Ding et al., Distilling and Transferring Knowledge via cGAN-generated Samples for Image '
                 'Classification and Regression, arXiv 2104.03164; Hinton et al. 2015',
        defaults={'reg_loss': 'mse',
                   'augment': None,
                   'kd_T': 4.0,
                   'kd_weight': 0.9,
                   'label_weight': 0.1,
                   'init': 'nokd',
                   'n_fake': 100000,
                   'lr': 0.01,
                   'batch_size': 128,
                   'epochs': None,
                   'epochs_over': 'real+fake',
                   'milestones': None,
                   'fake_filter_rho': 0.8,
                   'fake_replace_labels': False},
        params=_CGAN_KD_PARAMS,
        needs=_CGAN_KD_KD_NEEDS, resources={})

_method('crd', 'methods.crd.method', families=('i2i',), teacher_mode='online',
        summary='Content relationship distillation: RKD on row/column/patch slices of outputs, VGG '
                'style/feature, online teacher D.',
        citation='You et al., Exploring Content Relationships for Distilling Efficient GANs, arXiv 2212.11091',
        defaults={'lambda_row': None,
                   'lambda_column': None,
                   'lambda_patch': None,
                   'rkd_distance': 1.0,
                   'rkd_angle': 2.0,
                   'patch_size': None,
                   'lambda_style': None,
                   'lambda_feature': None,
                   'lambda_gan': None,
                   'n_dis': None,
                   'steps_count': 'teacher',
                   'epochs': None,
                   'epochs_decay': None,
                   'window_epochs': 10.0,
                   'teacher_select': 'best',
                   'select_images': 32,
                   'teacher_arch': None,
                   'vgg_input': 'unit',
                   'vgg_weights': None,
                   'student_dropout': 0.0,
                   'teacher_dropout': 0.0,
                   'init': 'normal'},
        params=_CRD_PARAMS,
        needs=(), resources={}, check='methods.core.plan_checks:crd',
        weights='methods.core.plan_checks:online_teacher_weights')

_method('feature_kd', 'methods.feature_kd.method', families=('i2i',), teacher_mode='pretrained',
        summary="GAN Compression feature distillation: 1x1-adapted student features, MSE to teacher's, plus "
                'output L1.',
        citation='Li et al., GAN Compression: Efficient Architectures for Interactive Conditional GANs, CVPR '
                 '2020',
        defaults={'lambda_gan': 1.0,
                   'd_init': 'teacher', 'init': 'normal', 'd_step': 'after_g',
                   'lambda_recon': None,
                   'lambda_distill': None,
                   'student_init': 'auto',
                   'gan_mode': None,
                   'ndf': None},
        params={**_GC_STUDENT_PARAMS, "lambda_distill": _WEIGHT},
        needs=(), resources={}, check='methods.core.plan_checks:feature_kd')

_method('nokd', 'methods.nokd.method', families=('classification', 'regression'), teacher_mode='none',
        summary='Student trained on real data only: cross-entropy, or MSE/L1 on normalised labels for '
                'regression.',
        citation="NOKD baseline of Ding et al., cGAN-KD, arXiv 2104.03164 (RepDistiller's CIFAR recipe)",
        defaults={'reg_loss': 'mse', 'augment': None},
        params=_LABELLED_PARAMS,
        needs=(), resources={})

_method('output_kd', 'methods.output_kd.method', families=('i2i',), teacher_mode='pretrained',
        summary='Output distillation: lambda_recon x L1(student(x), teacher(x)) + GAN loss.',
        citation='Output-level KD baseline, as in GAN Compression (Li et al., CVPR 2020) without the feature '
                 'term',
        defaults={'lambda_gan': 1.0, 'd_init': 'teacher', 'init': 'normal', 'd_step': 'after_g', 'lambda_recon': None},
        params=_LOOP_PARAMS,
        needs=(), resources={})

_method('reko', 'methods.reko.method', families=('i2i',), teacher_mode='pretrained',
        summary='Region-aware KD: teacher-attention top-K regions, patch-wise InfoNCE through a projection '
                'head, plus output L1.',
        citation='Zhang et al., Region-aware Knowledge Distillation for Efficient Image-to-Image Translation,'
                 ' arXiv 2205.12451 (attention and contrastive construction reconstructed from the abstract)',
        defaults={'lambda_gan': 1.0,
                   'd_init': 'teacher', 'init': 'normal', 'd_step': 'after_g',
                   'lambda_recon': None,
                   'lambda_nce': 1.0,
                   'layer': 'auto',
                   'attention': 'l2',
                   'num_patches': 64,
                   'tau': 0.07},
        params={**_LOOP_PARAMS, "attention": Param("str", choices=("l2", "l1"))},
        needs=(), resources={}, check='methods.core.plan_checks:reko')

_method('scratch', 'methods.scratch.method', families=('i2i',), teacher_mode='none',
        summary="Student trained from scratch with the teacher's recipe (pix2pix or CycleGAN), no distillation.",
        citation='NOKD baseline of every paper here; recipes: Isola et al. CVPR 2017 (pix2pix), Zhu et al. '
                 'ICCV 2017 (CycleGAN)',
        defaults={},
        needs=(), resources={})

_method('srpkd', 'methods.srpkd.method', families=('i2i',), teacher_mode='pretrained',
        summary='Semantic relation preserving KD: output L1 + MSE between student and teacher position-'
                'relation matrices.',
        citation='Li, Jiang, Aarabi, Semantic Relation Preserving Knowledge Distillation for Image-to-Image '
                 'Translation, ECCV 2020 workshops, arXiv 2104.15082 (relation matrix reconstructed from the '
                 'abstract)',
        defaults={'lambda_gan': 1.0,
                   'd_init': 'teacher', 'init': 'normal', 'd_step': 'after_g',
                   'lambda_recon': None,
                   'lambda_relation': 10.0,
                   'layer': 'auto',
                   'max_side': 32},
        params=_LOOP_PARAMS,
        needs=(), resources={}, check='methods.core.plan_checks:srpkd')

_method('vanilla_kd', 'methods.vanilla_kd.method', families=('classification', 'regression'),
        teacher_mode='pretrained',
        summary="Hinton KD: weighted CE + T^2 x KL to the teacher's softened outputs (MSE to its prediction "
                'for regression).',
        citation='Hinton, Vinyals & Dean, Distilling the Knowledge in a Neural Network, NIPS DL Workshop 2015',
        defaults={'reg_loss': 'mse', 'augment': None, 'kd_T': 4.0, 'kd_weight': 0.9, 'label_weight': 0.1},
        params=_LABELLED_PARAMS,
        needs=(), resources={})

_method('omgd', 'methods.omgd.method', families=('i2i',), teacher_mode='online',
        summary='Online multi-granularity distillation: wide + deep online teachers, SSIM/style/feature/TV + '
                'channel KD.',
        citation='Ren et al., Online Multi-Granularity Distillation for GAN Compression, ICCV 2021',
        defaults={'lambda_ssim': 10.0,
                   'lambda_style': 10000.0,
                   'lambda_feature': 10.0,
                   'lambda_tv': 1e-05,
                   'lambda_cd': None,
                   'ssim_padding': 'zeros',
                   'deep_teacher': 'auto',
                   'deep_teacher_ngf': None,
                   'teacher_arch': None,
                   'lambda_gan': 1.0,
                   'lambda_recon': 100.0,
                   'ndf': 128,
                   'n_share': None,
                   'd_norm': None,
                   'n_dis': None,
                   'steps_count': 'teacher',
                   'epochs': None,
                   'epochs_decay': None,
                   'window_epochs': 10.0,
                   'teacher_select': 'best',
                   'select_images': 32,
                   'vgg_weights': None,
                   'student_dropout': 0.0,
                   'teacher_dropout': 0.0,
                   'init': 'normal'},
        params=_OMGD_PARAMS,
        needs=(), resources={}, check='methods.core.plan_checks:omgd',
        weights='methods.core.plan_checks:online_teacher_weights')

_method('dcd', 'methods.dcd.method', families=('i2i',), teacher_mode='online',
        summary='Discriminator-cooperated distillation: connector maps judged by the online teacher D, VGG '
                'style/feature.',
        citation='Hu et al., Discriminator-Cooperated Feature Map Distillation for GAN Compression, CVPR 2023',
        defaults={'lambda_dcd': None,
                   'lambda_style': None,
                   'lambda_feature': None,
                   'lambda_gan': None,
                   'teacher_connector': None,
                   'gan_on': 'teacher_output',
                   'gan_mode': None,
                   'ndf': None,
                   'd_norm': None,
                   'n_dis': None,
                   'steps_count': 'teacher',
                   'epochs': None,
                   'epochs_decay': None,
                   'window_epochs': 10.0,
                   'teacher_select': 'best',
                   'select_images': 32,
                   'vgg_weights': None,
                   'student_dropout': 0.0,
                   'teacher_dropout': 0.0,
                   'init': 'normal'},
        params=_DCD_PARAMS,
        needs=(), resources={}, weights='methods.core.plan_checks:online_teacher_weights')

_method('cat_ka', 'methods.cat_ka.method', families=('i2i',), teacher_mode='pretrained',
        summary="CAT's distillation: GAN + output L1 - lambda_ka x sum of kernel alignments at CAT's layers "
                "(batch > 1).",
        citation='Jin et al., Teachers Do More Than Teach: Compressing Image-to-Image Models, CVPR 2021 '
                 '(kernel-alignment distillation only, no architecture search)',
        defaults={'lambda_gan': 1.0,
                   'd_init': 'teacher', 'init': 'normal', 'd_step': 'before_g',
                   'lambda_ka': None,
                   'lambda_recon': None,
                   'recon_target': None,
                   'layers': None,
                   'ka_groups': 4,
                   'student_init': 'auto',
                   'gan_mode': None,
                   'ndf': None},
        params={**_GC_STUDENT_PARAMS, "ka_groups": Param("int", low=1)},
        needs=(), resources={}, check='methods.core.plan_checks:cat_ka')

_FAKE_SET_DEFAULTS = {
    'gan_steps': 2000,
     'gan_batch_size': 64,
     'gan_d_steps': 2,
     'gan_lr_g': 0.0002,
     'gan_lr_d': 0.0002,
     'gan_beta1': 0.0,
     'gan_beta2': 0.999,
     'gan_ch': 64,
     'gan_dim_z': 128,
     'gan_dim_embed': 128,
     'ccgan_vicinity': 'hard',
     'ccgan_kappa_mult': 1.0,
     'ccgan_sigma': None,
     'ccgan_soft_threshold': 0.001,
     'dre_epochs': 200,
     'dre_steps': None,
     'dre_batch_size': 256,
     'dre_lr': 0.0001,
     'dre_milestones': (0.4, 0.75),
     'dre_gamma': 0.1,
     'dre_weight_decay': 0.0001,
     'dre_lambda': 0.01,
     'dre_hidden': (2048, 1024, 512, 256, 128),
     'dre_dropout': 0.5,
     'dre_dim_embed': 128,
     'rs_burn_in': 5000,
     'rs_batch_size': 500,
     'filter': True,
     'filter_rho': None,
     'filter_burn_in': 1000,
     'replace_labels': True,
     'filter_net': None,
     'filter_net_schedule': None,
     'subsample': True,
     'n_per_label': 1000,
     'max_label_points': 100,
     'max_proposals_factor': 20,
     'fid_samples': 10000,
     'log_every': 50,
     'checkpoint_every': 0}
ARTIFACTS.declare(
    "cgan_kd_fake_set", "methods.cgan_kd.artifact", summary="cGAN-KD's processed fake set of one task and teacher",
    families=("classification", "regression"), section="fake_set", defaults=_FAKE_SET_DEFAULTS,
    params=params_of(_FAKE_SET_DEFAULTS, FAKE_SET_PARAMS), step_keys=FAKE_SET_STEPS, batch_key="gan_batch_size",
    table=FAKE_SET_TABLE, network_setting="filter_net", default_networks=FILTER_NETS)
