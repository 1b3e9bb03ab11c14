"""Published teachers: loading checkpoints in the public layouts (by path and from the registry's cache),
the messages for files that do not fit, and a grid whose teacher phase loads instead of training."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from kd_gan_bench.benchmarks.planning.grid import expand
from kd_gan_bench.benchmarks.planning.overrides import OverrideError
from kd_gan_bench.benchmarks.cli.main import main
from kd_gan_bench.benchmarks.planning.suites import SUITES
from kd_gan_bench.benchmarks.families.teachers import CHECKPOINTS, CheckpointError, LAYOUTS, load_teacher_checkpoint
from kd_gan_bench.methods.networks.build import build_network

SMALL = {"arch": "resnet_generator", "ngf": 8, "n_blocks": 2}


def _save(spec: dict, path: Path, transform=lambda s: s) -> dict[str, torch.Tensor]:
    state = build_network(spec).state_dict()
    torch.save(transform(dict(state)), path)
    return state


def test_load_by_path_in_the_cyclegan_layout(tmp_path: Path) -> None:
    ckpt = tmp_path / "latest_net_G.pth"
    state = _save(SMALL, ckpt)
    outcome = load_teacher_checkpoint({**SMALL, "checkpoint": str(ckpt)}, log=lambda _: None)
    assert all(torch.equal(v, state[k]) for k, v in outcome.model.state_dict().items())
    assert outcome.history == {"steps": []} and outcome.extras["checkpoint"]["path"] == str(ckpt)
    assert len(outcome.extras["checkpoint"]["sha256"]) == 64
    # pre-0.4 CycleGAN files carry InstanceNorm running stats that current modules do not track
    old = tmp_path / "old.pth"
    _save(SMALL, old, lambda s: {**s, "model.2.running_mean": torch.zeros(8), "model.2.running_var": torch.ones(8)})
    load_teacher_checkpoint({**SMALL, "checkpoint": str(old)}, log=lambda _: None)
    # a U-Net in pix2pix's layout, wrapped like a training checkpoint
    unet = {"arch": "unet_generator", "ngf": 4, "num_downs": 5}
    wrapped = tmp_path / "unet.pth"
    _save(unet, wrapped, lambda s: {"G": {f"module.{k}": v for k, v in s.items()}, "epoch": 3})
    load_teacher_checkpoint({**unet, "checkpoint": str(wrapped)}, log=lambda _: None)


def test_gan_compression_layout_from_the_registry_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "th"))
    monkeypatch.setattr(torch.hub, "_hub_dir", None)
    entry = CHECKPOINTS.get("gan_compression/horse2zebra")
    assert entry.url.startswith("https://huggingface.co/mit-han-lab/gan-compression/resolve/main/pretrained/cycle_gan/")
    spec = {**entry.spec, "checkpoint": entry.name}

    def to_gan_compression(state):  # their ResnetBlock holds a Dropout: second conv at index 6
        return {k.replace("conv_block.5.", "conv_block.6."): v for k, v in state.items()}

    entry.cache_path().parent.mkdir(parents=True)
    state = _save(entry.spec, entry.cache_path(), to_gan_compression)
    assert "model.10.conv_block.6.weight" in torch.load(entry.cache_path(), weights_only=True)
    outcome = load_teacher_checkpoint(spec, log=lambda _: None)  # found in the cache: no download
    assert torch.equal(outcome.model.state_dict()["model.10.conv_block.5.weight"], state["model.10.conv_block.5.weight"])
    assert outcome.extras["checkpoint"]["url"] == entry.url
    assert LAYOUTS["gan_compression"]({"model.12.conv_block.7.weight": 1}) == {"model.12.conv_block.6.weight": 1}


def test_checkpoints_that_do_not_fit_name_their_keys(tmp_path: Path) -> None:
    ckpt = tmp_path / "ngf8.pth"
    _save(SMALL, ckpt)
    with pytest.raises(CheckpointError) as info:
        load_teacher_checkpoint({**SMALL, "ngf": 16, "checkpoint": str(ckpt)}, log=lambda _: None)
    msg = str(info.value)
    assert "does not fit resnet ngf16 b2" in msg and "shape mismatches (checkpoint vs model)" in msg
    assert "model.1.weight (8, 3, 7, 7) vs (16, 3, 7, 7)" in msg
    assert "it looks like a ResNet generator with ngf 8 and 2 blocks" in msg
    unet = tmp_path / "unet.pth"
    _save({"arch": "unet_generator", "ngf": 4, "num_downs": 5}, unet)
    with pytest.raises(CheckpointError, match=r"missing keys \(\d+\): model\.1\.weight.*unexpected keys.*model\.model\.0"
                                              r"\.weight.*looks like a U-Net with ngf 4"):
        load_teacher_checkpoint({**SMALL, "checkpoint": str(unet)}, log=lambda _: None)
    cut = tmp_path / "cut.pth"
    cut.write_bytes(ckpt.read_bytes()[:500])
    with pytest.raises(CheckpointError, match="cannot read teacher checkpoint .*cut.pth"):
        load_teacher_checkpoint({**SMALL, "checkpoint": str(cut)}, log=lambda _: None)
    with pytest.raises(CheckpointError, match="neither a known checkpoint .*cyclegan/horse2zebra.* nor an existing file"):
        load_teacher_checkpoint({**SMALL, "checkpoint": str(tmp_path / "nope.pth")}, log=lambda _: None)


def test_registry_checkpoint_must_match_the_teacher_spec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(OverrideError, match=r"checkpoint 'cyclegan/horse2zebra' is a resnet ngf64 b9 .* teacher spec says"):
        expand(SUITES.get("smoke"), overrides=["teacher.checkpoint=cyclegan/horse2zebra"])
    with pytest.raises(OverrideError, match="only the teacher can start from a checkpoint"):
        expand(SUITES.get("smoke"), overrides=["student.checkpoint=x.pth"])
    jobs = expand(SUITES.get("smoke"), overrides=["teacher.ngf=64", "teacher.n_blocks=9",
                                                  "teacher.checkpoint=cyclegan/horse2zebra"])
    assert jobs[0].teacher["checkpoint"] == "cyclegan/horse2zebra"
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match="'.*ckpts/g.pth' is neither a published checkpoint .* nor an existing file"):
        expand(SUITES.get("smoke"), overrides=["teacher.checkpoint=ckpts/g.pth"])
    (tmp_path / "ckpts").mkdir()
    (tmp_path / "ckpts" / "g.pth").write_bytes(b"")  # existence is checked when planning, the tensors before jobs run
    relative = expand(SUITES.get("smoke"), overrides=["teacher.checkpoint=ckpts/g.pth"])[0].teacher["checkpoint"]
    assert relative == str(Path("ckpts/g.pth").absolute())  # jobs may run elsewhere: the path is made absolute
    trained = expand(SUITES.get("cyclegan_horse2zebra"), overrides=["teacher.checkpoint=null"])
    assert "checkpoint" not in trained[0].teacher


def test_grid_teacher_phase_loads_instead_of_training(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setenv("KDGAN_DATA_ROOT", str(tmp_path / "data"))  # grid exports it; restored afterwards
    ckpt = tmp_path / "teacher.pth"
    _save(SMALL, ckpt)
    wrong = tmp_path / "wrong.pth"
    _save({**SMALL, "ngf": 4}, wrong)
    args = ["grid", "--suite", "smoke", "--methods", "output_kd", "--executor", "debug", "--no-progress", "--no-report",
            "--set", "task.size=16", "--set", "task.n_test=2", "--set", "evaluation.latency_repeats=1",
            "--set", "schedule.steps=1", "--tasks", "synthetic_edges2shapes"]
    assert main([*args, "--set", f"teacher.checkpoint={ckpt}",
                 "--results", str(tmp_path / "ok")]) == 0
    records = [json.loads(p.read_text()) for p in (tmp_path / "ok" / "jobs").glob("*/record.json")]
    teacher = next(r for r in records if r["config"]["phase"] == "teacher")
    student = next(r for r in records if r["config"]["phase"] == "student")
    assert teacher["status"] == student["status"] == "done"
    assert teacher["history"] == {"steps": []} and teacher["teacher_checkpoint"]["path"] == str(ckpt)
    assert teacher["metrics"]["params_count"] == sum(v.numel() for v in build_network(SMALL).parameters())
    # a checkpoint that does not fit is refused before any job runs (exit 2, nothing written), not in its teacher job
    assert main([*args, "--methods", "output_kd", "scratch", "--set", f"teacher.checkpoint={wrong}",
                 "--results", str(tmp_path / "bad")]) == 2
    assert "shape mismatches" in capsys.readouterr().err and not (tmp_path / "bad").exists()
