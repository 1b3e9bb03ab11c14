"""cGAN-KD at its public code's settings (UBCDingXin/cGAN-KD): fine-tuning lr and epochs over real + fake,
the NFAKE subset, the real/fake mix of batches, the ratio model's epochs and decays, the filtering network.
Seeded and small, like tests/test_cgan_kd.py, whose fixtures and tiny networks these reuse."""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from kd_gan_bench.datasets import load_task
from kd_gan_bench.methods import METHODS
from kd_gan_bench.methods.cgan_kd.fake_set import FakeSet
from kd_gan_bench.methods.cgan_kd.pipeline import build_fake_set, resolve_fake_hparams
from kd_gan_bench.methods.cgan_kd.filtering import filter_net_schedule, filter_net_spec
from kd_gan_bench.methods.cgan_kd.settings import DRE_DEFAULTS
from kd_gan_bench.methods.cgan_kd.subsampling import DensityRatioModel, dre_steps, train_density_ratio
from kd_gan_bench.methods.core.base import TrainSetup
from kd_gan_bench.methods.core.labelled_training import SGDSchedule, fake_subset, predict, train_classifier
from kd_gan_bench.methods.networks.build import build_network

try:
    from tests.test_cgan_kd import CPU, SCHEDULE, SILENT, STUDENT, TEACHER, TINY_FAKE, MemoryCheckpointer
except ImportError:  # pytest's rootdir-relative import mode
    from test_cgan_kd import CPU, SCHEDULE, SILENT, STUDENT, TEACHER, TINY_FAKE, MemoryCheckpointer


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """Tiny networks on a shared 2-core machine: one torch thread (see tests/test_cgan_kd.py)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_fine_tuning_runs_at_lr_001_with_epochs_over_real_plus_fake() -> None:
    method = METHODS.get("cgan_kd")()
    hp = method.resolve_hparams({})
    suite = SGDSchedule(steps=1000, batch_size=50, lr=0.05, milestones=(0.5,))  # 10 epochs of 5,000 real images
    run = method.run_schedule(hp, suite, n_real=5000, n_fake=10000)
    # the public code's lr 0.01 and batch 128 whatever the suite's; the suite's 10 epochs over 15,000 images
    assert (run.lr, run.batch_size, run.steps, run.milestones) == (0.01, 128, round(10 * 15000 / 128), (0.5,))
    explicit = method.run_schedule({**hp, "epochs": 240, "milestones": [0.625, 0.75, 0.875]}, suite, 50000, 100000)
    assert explicit.steps == 240 * 1172 and explicit.milestones == (0.625, 0.75, 0.875)  # CIFAR-100: 150k per epoch
    on_real = {"epochs_over": "real", "batch_size": None, "lr": None}
    assert method.run_schedule({**hp, **on_real}, suite, 5000, 10000) == suite  # the suite's, as before them
    small = SGDSchedule(steps=300, batch_size=32)  # the default suite's: 9.6 epochs of 1,000 real images
    assert method.run_schedule({**hp, **on_real}, small, 1000, 300) == small
    with pytest.raises(ValueError, match="epochs_over must be one of"):
        method.run_schedule({**hp, "epochs_over": "fake"}, suite, 5000, 10000)
    with pytest.raises(ValueError, match="n_fake must be >= 1"):
        method.n_fake({**hp, "n_fake": 0})


def test_fake_subset_takes_n_over_c_per_class_and_a_uniform_subset_for_regression() -> None:
    gen = torch.Generator().manual_seed(0)
    labels = torch.arange(10).repeat_interleave(torch.tensor([5, 5, 5, 5, 5, 5, 5, 5, 5, 12]))
    fake = FakeSet("classification", torch.zeros(len(labels), 3, 4, 4, dtype=torch.uint8), labels, {})
    idx = fake_subset(fake, 25, 10, gen)
    # 25 // 10 = 2 per class, the last class the remainder 7 (as RepDistiller/dataset/cifar100.py), no repeats
    assert torch.bincount(labels[idx], minlength=10).tolist() == [2] * 9 + [7] and len(set(idx.tolist())) == 25
    assert torch.equal(fake_subset(fake, None, 10, gen), torch.arange(len(fake)))
    assert torch.equal(fake_subset(fake, 10 ** 6, 10, gen), torch.arange(len(fake)))
    reg = FakeSet("regression", torch.zeros(40, 3, 4, 4, dtype=torch.uint8), torch.linspace(1, 60, 40), {})
    picked = fake_subset(reg, 7, None, gen)
    assert len(picked) == len(set(picked.tolist())) == 7 and int(picked.max()) < 40


class RecordingTeacher(nn.Module):
    """A teacher that remembers every batch it is shown (cgan_kd+vanilla_kd shows it each training batch)."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net, self.batches = net, []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.batches.append(x.detach().clone())
        return self.net(x)


def test_students_learn_from_real_plus_the_fake_subset_in_the_codes_proportion() -> None:
    data = load_task("synthetic_shapes10", size=16, n_train=100, n_test=10)
    n_fake_all = 400
    white = torch.full((n_fake_all, 3, 16, 16), 255, dtype=torch.uint8)  # fakes recognisable in a batch
    fake = FakeSet("classification", white, torch.arange(n_fake_all) % 10, {})
    torch.manual_seed(0)
    teacher = RecordingTeacher(build_network({**TEACHER, "num_outputs": 10}))
    init = build_network({**STUDENT, "num_outputs": 10}).state_dict()
    method = METHODS.get("cgan_kd+vanilla_kd")()
    hp = method.resolve_hparams({"n_fake": 200, "batch_size": 32, "epochs": 2, "augment": "none"})
    out = method.train(TrainSetup(data, STUDENT, {}, hp, SCHEDULE, CPU, 0, teacher=teacher,
                                  inputs={"fake_set": fake, "student_init": init}, log=SILENT))
    steps = 2 * math.ceil(300 / 32)  # 2 epochs over 100 real + 200 fake
    assert out.extras == {"n_train_real": 100, "n_train_fake": 200, "steps": steps, "batch_size": 32, "lr": 0.01}
    batches = [b for b in teacher.batches if len(b) == 32]
    assert len(batches) == steps
    is_fake = torch.cat([(b == 1.0).flatten(1).all(1) for b in batches]).float()
    assert abs(float(is_fake.mean()) - 2 / 3) < 0.06  # 200 of 300 images: two thirds of every batch on average


def test_density_ratio_model_trains_for_epochs_with_lr_decays() -> None:
    assert dre_steps({**DRE_DEFAULTS}, 50000) == 200 * 196  # the public code: 200 epochs at batch 256, ~39k steps
    assert dre_steps({**DRE_DEFAULTS, "dre_steps": 7}, 50000) == 7
    with pytest.raises(ValueError, match="dre_milestones are fractions"):
        dre_steps({**DRE_DEFAULTS, "dre_milestones": [80, 150]}, 100)
    gen = torch.Generator().manual_seed(0)
    real = torch.randn(100, 4, generator=gen)
    hp = {**DRE_DEFAULTS, "dre_epochs": 5, "dre_batch_size": 20, "dre_hidden": [8], "dre_dim_embed": 4}
    model = DensityRatioModel(4, nn.Embedding(2, 4), 4, [8], 0.0)
    ckpt = MemoryCheckpointer()
    history = train_density_ratio(model, real, torch.arange(100) % 2, lambda y, g: torch.randn(len(y), 4, generator=g),
                                  hp, CPU, 0, log_every=1, checkpointer=ckpt, log=SILENT)
    assert history["steps"][-1] == 25  # 5 epochs of 100 / 20
    sched = ckpt.state["schedulers"]["dre"]
    assert dict(sched["milestones"]) == {10: 1, 18: 1}  # epochs 2 and 3.75 of 5: 0.4 and 0.75 of the run
    assert sched["_last_lr"] == [pytest.approx(1e-4 * 0.01)]  # decayed twice by 0.1


def test_filtering_network_is_the_codes_and_is_trained_on_the_real_data() -> None:
    assert filter_net_spec({"filter_net": None}, "classification") == {"arch": "densenet121"}
    assert filter_net_spec({"filter_net": None}, "regression") == {"arch": "vgg11"}
    assert filter_net_spec({"filter_net": "teacher"}, "regression") is None
    assert filter_net_schedule({"filter_net_schedule": None}, "classification", 50000).steps == 240 * 782
    utk = filter_net_schedule({"filter_net_schedule": None}, "regression", 11808)
    assert (utk.steps, utk.batch_size, utk.lr) == (350 * 93, 128, 0.01)
    with pytest.raises(ValueError, match="filter_net must be"):
        resolve_fake_hparams({"filter_net": "densenet"})
    data = load_task("synthetic_shapes10", size=16, n_train=60, n_test=20)
    tiny = {**TINY_FAKE, "subsample": False, "filter_net": STUDENT,
            "filter_net_schedule": {"steps": 6, "batch_size": 16}}
    ckpt = MemoryCheckpointer()
    fake = build_fake_set(data, None, tiny, CPU, 0, checkpointer=ckpt, log=SILENT)  # no teacher needed
    assert fake.stats["filter_net"] == STUDENT and fake.stats["filter_net_steps"] == 6
    assert 0 <= fake.stats["accuracy"] <= 100  # the filtering network's test quality, for the record
    assert ckpt.state["stages"]["filter_net"]["step"] == 6  # its own stage: a resumed job does not retrain it
    # the labels are the filtering network's predictions: retrain it alone (same seed) and compare
    net = train_classifier(data, STUDENT, SGDSchedule(steps=6, batch_size=16), CPU, 3, log=SILENT).model
    assert torch.equal(fake.labels, predict(net, fake.images, CPU).argmax(1))
    with pytest.raises(ValueError, match="needs the pair's teacher"):
        build_fake_set(data, None, {**tiny, "filter_net": "teacher"}, CPU, 0, log=SILENT)
