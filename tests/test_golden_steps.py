"""One whole student step through our public method API against the public code's student step.

tests/golden/steps.json holds the parameter update that the public student step made from the initial weights
(student, adaptors, discriminator = the teacher's, frozen teacher) and the batch of our method's first step, in
float64 (tests/golden_inputs.py ``run_our_step``: unpaired task, ResNet ngf 8 teacher, ngf 4 student, 32 px,
batch 4, Adam lr 2e-4): GAN Compression's (mit-han-lab/gan-compression ``ResnetDistiller.optimize_parameters``
with ``BaseResnetDistiller.backward_D/backward_G`` and ``calc_distill_loss``, its multi-GPU calls run on the one CPU
module; it steps the discriminator after the student's backward pass, the ``d_step`` ``after_g`` of these
methods) for ``feature_kd`` and ``output_kd`` (``lambda_distill`` 0), CAT's (snap-research/CAT
``InceptionDistiller.optimize_parameters``, kernel alignment, one GPU, so our ``ka_groups`` 1; the discriminator steps
first, ``d_step`` ``before_g``) for ``cat_ka``, both on GAN Compression's
``ResnetGenerator`` (the ResNet our tiny student is). Our step, run by ``Method.train`` for one step, must move every student parameter by the
same amount: max |ours - public| <= 1e-5 x lr per entry (the first Adam update of an entry is at most lr; a
relative bound per tensor is meaningless for the conv biases before instance norm, whose gradients are rounding
noise and whose updates are ~1e-13). The discriminator's update is compared by its norm. CRD (TheKernelZ/CRD ``Pix2PixBestDistiller``): the student's
path of ``optimize_parameters`` (forward, ``backward_G_student``, its optimiser's step) from the online teacher's and
the student's initial weights of our run, paired task, our seeded fallback VGG16 (``empty_hub``) on both sides.
OMGD (bytedance/OMGD ``MultiTeacherDistiller.backward_G_student`` + ``calc_CD_loss``, pix2pix, two online teachers)
and DCD (poopit/DCD-official ``CycleganBestDistiller.backward_G_Student`` + ``calc_DCD_loss``, CycleGAN, 96 px so
that the connector maps need no upsampling, ``steps_count="student"``, ``lambda_gan`` 0: the code's GAN term
judges the teacher's output) run the public student step on the student, adaptors / connectors and batch of our
run and on its online teachers' outputs, activations and discriminator at that step, as our run produced them
(the teachers' own training is not re-run on the public side). Each golden records the student's initial
weights (norm and sum per tensor); a changed initialisation fails first, with that message.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

try:
    from tests.golden_inputs import run_our_step, unpack
except ImportError:  # pytest's rootdir-relative import mode
    from golden_inputs import run_our_step, unpack

GOLDEN = json.loads((Path(__file__).parent / "golden" / "steps.json").read_text())["steps"]
LR = 2e-4
TOL = 1e-5 * LR

#: CRD's pix2pix code relates the 3 colour channels of the first B patches of the batch (its reshape), where
#: methods/crd/method.py relates each image's patches (a deviation its docstring table keeps on purpose). The golden
#: ``crd_patch_per_image`` is the public step with that one line patched to per-image patch sets.
CRD_PATCHES = pytest.mark.xfail(strict=True, reason="documented deviation: methods/crd/method.py relates each image's "
                                                    "patches, the public pix2pixbest_distiller.py 3 channels of B patches")


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("case", ["feature_kd", "feature_kd_no_gan",
                                  "output_kd", "cat_ka", "cat_ka_no_gan",
                                  pytest.param("crd", marks=CRD_PATCHES), "crd_patch_per_image", "omgd", "dcd"])
def test_one_student_step_equals_the_public_code(case: str, empty_hub) -> None:
    golden = GOLDEN[case]
    initial, outcome = run_our_step(golden["method"], golden["overrides"], golden.get("paired", False),
                                    golden.get("size", 32))
    for name, want in golden["student_initial"].items():
        got = initial[name]
        assert abs(float(got.sum()) - want["sum"]) <= 1e-9 * max(1.0, abs(want["sum"])) and \
            abs(float(got.norm()) - want["norm"]) <= 1e-9 * want["norm"], (
            f"{case}: the student's initial {name} is not the one the golden step started from: the method's or the "
            f"network's initialisation changed; recompute tests/golden/steps.json from the public code")
    final = outcome.model.state_dict()
    assert set(final) == set(golden["student_delta"])
    worst = {}
    for name, packed in golden["student_delta"].items():
        ours = final[name] - initial[name]
        want = unpack(packed)
        worst[name] = float((ours - want).abs().max())
    bad = {k: v for k, v in worst.items() if v > TOL}
    assert not bad, f"{case}: student updates differ from the public step by more than {TOL:.1e}: {bad}"
    for name, want in golden["discriminator_delta"].items():
        ours = outcome.discriminator.state_dict()[name] - initial_discriminator()[name]
        assert abs(float(ours.norm()) - want["norm"]) <= 1e-5 * max(want["norm"], LR), name


def initial_discriminator() -> dict[str, torch.Tensor]:
    try:
        from tests.golden_inputs import step_teacher
    except ImportError:
        from golden_inputs import step_teacher
    return step_teacher()[1].state_dict()
