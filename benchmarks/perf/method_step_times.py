"""How much each distillation method adds to a student training step, at the papers' scale.

    python -m kd_gan_bench.benchmarks.perf.method_step_times [--size 256] [--device auto|cpu|cuda] [--steps 10]
        [--warmup 3] [--batch-size 1] [--students resnet,mobile] [--methods output_kd,...,crd,omgd,dcd,cat_ka]
        [--teacher-ngf 64] [--student-ngf 16] [--blocks 9] [--patch-size N] [--threads N] [--clock wall|cpu]
        [--skip-online-teacher] [--rounds 3]

The setting is the CycleGAN one of the papers (horse2zebra in SRPKD, ReKo and CRD): 256x256 images
(the built-in unpaired task ``synthetic_plain2striped``, so LSGAN, output L1 weight 10 and CRD's
CycleGAN weights), a ResNet-9blocks ngf 64 teacher (CycleGAN's ``resnet_9blocks``) and ResNet-9blocks
students at ngf 16, plain and "mobile" (depthwise-separable blocks: the CRD/OMGD student). Networks
have seeded random weights: a step's cost does not depend on them. The issue's target: the
method-specific losses add at most 20% to an output_kd training step; the VGG16 perceptual part and
CRD's online teacher training are reported separately.

Everything runs through the methods' own code:

* step ms: the method's real ``train`` (the pretrained-teacher loop of :mod:`kd_gan_bench.methods.core.distill`, CRD's
  own loop) runs ``warmup + steps`` steps with ``log_every = 1``; a step lasts from one ``run_steps``
  log call to the next, the device synchronised at each, so it holds batch sampling, the teacher's
  forward, the discriminator's update, the student's update and the loop's bookkeeping. Median over
  the timed steps. CRD's step is its student step: its online teacher trains only at step 0, a
  warm-up step (``steps_count`` ``student``, ``n_dis`` = all steps, ``teacher_select`` ``latest``); the
  step includes the frozen teacher's forward, the teacher discriminator's GAN term and the VGG16 terms.
* method loss ms: forward + backward of the method-specific loss terms alone, on the tensors of the
  method's last training step (kept by wrapping the method's ``losses``, or CRD's
  ``content_relation_losses``, during that step), one untimed call then the median of ``steps``:
  feature_kd's 1x1 adapters + MSE, srpkd's relation matrices + MSE, reko's attention, top-K, head and
  InfoNCE, CRD's RKD distance + angle on rows, columns and patches, OMGD's SSIM, TV and channel
  distillation (adaptors included), DCD's connectors and discriminator features (``dcd_term``: the
  student side with its backward, the frozen teacher side forward only), cat_ka's kernel alignments (it
  needs ``--batch-size`` >= 2 and is left out at batch 1). For the loop's methods it is the forward of
  their ``losses`` (its output L1, the term output_kd has too, is a negligible part) and the backward of
  the terms output_kd does not have. Shown as % of output_kd's median step.
* separately: CRD's, OMGD's and DCD's VGG16 style + relu2_2 L1 terms (timed like the losses), their
  steps without them, one step of their online teacher (the CycleGAN recipe of
  :func:`kd_gan_bench.methods.core.recipes.build_recipe` at the teacher's width: both generators and both
  discriminators), and the RKD angle term on the rows of one image (N = size samples of 3 x size
  values) in the blocked Gram form the methods use against the direct form of the public RKD/CRD
  code (:func:`rkd_angle_loss_reference`).
* step MiB: the most memory a timed step needs on top of what was in use when the timed steps began
  (networks, optimiser states, the previous step's gradients): activations, gradients, temporaries.
  CUDA: torch's allocator (``max_memory_allocated`` minus ``memory_allocated``, tensors only). CPU
  (Linux): the process's resident set, ``VmHWM`` (reset through ``/proc/self/clear_refs``) minus
  ``VmRSS``, both taken after glibc's ``malloc_trim`` returned freed heap memory to the system;
  elsewhere it is not measured.

Rounds: every method runs once per round (``--rounds``, default 3), in the same order, so a slow spell of a
shared machine (these 2-core VMs' speed drifts by up to 2x over minutes) hits a round's reference and its methods
alike; every ratio and share is taken within its round, and the table gives medians over rounds and the range of
the step ratios. The targets' verdicts (own terms <= 20% of an output_kd step, CRD's step <= 1.6x) use the medians.

The work is split: :mod:`~kd_gan_bench.benchmarks.perf.method_runs` (a method's row), :mod:`~kd_gan_bench.benchmarks.perf.reference_parts`
(online teacher step, RKD angle forms), :mod:`~kd_gan_bench.benchmarks.perf.step_timing` and :mod:`~kd_gan_bench.benchmarks.perf.step_memory`
(the measures), :mod:`~kd_gan_bench.benchmarks.perf.capture` (a loss function's arguments from the last step) and
:mod:`~kd_gan_bench.benchmarks.perf.step_table` (the output). Progress goes to stderr, the table to stdout. The process's torch thread count is in the header: on a
CPU the numbers scale with it and with whatever else runs on the cores.
"""
from __future__ import annotations

import argparse
import os
import sys

import torch

from kd_gan_bench.benchmarks.core.environment import choose_device
from kd_gan_bench.benchmarks.perf.method_runs import ONLINE, REFERENCE, Bench, run_method
from kd_gan_bench.benchmarks.perf.reference_parts import angle_forms_ms, teacher_step_ms
from kd_gan_bench.benchmarks.perf.step_memory import StepMemory
from kd_gan_bench.benchmarks.perf.step_table import format_student
from kd_gan_bench.benchmarks.perf.step_timing import CLOCKS, use_clock
from kd_gan_bench.datasets import load_task
from kd_gan_bench.methods.networks.network_spec import describe_network

TASK = "synthetic_plain2striped"
METHOD_NAMES = ("output_kd", "feature_kd", "srpkd", "reko", "crd", "omgd", "dcd", "cat_ka")
#: methods whose loss needs batch > 1 (kernel alignment is 1 at batch 1)
NEEDS_BATCH = {"cat_ka": 2}
STUDENT_ARCHS = {"resnet": "resnet_generator", "mobile": "mobile_resnet_generator"}


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=256, help="image side (default 256)")
    parser.add_argument("--device", default="auto", help="auto (CUDA when available), cpu or cuda")
    parser.add_argument("--steps", type=int, default=10, help="timed steps per method (default 10)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first, at least 1 (default 3)")
    parser.add_argument("--batch-size", type=int, default=1, help="default 1, the CycleGAN papers' batch")
    parser.add_argument("--methods", default=",".join(METHOD_NAMES), help=f"comma-separated, from {METHOD_NAMES}")
    parser.add_argument("--students", default=",".join(STUDENT_ARCHS),
                        help=f"comma-separated, from {tuple(STUDENT_ARCHS)}")
    parser.add_argument("--teacher-ngf", type=int, default=64)
    parser.add_argument("--student-ngf", type=int, default=16)
    parser.add_argument("--blocks", type=int, default=9, help="residual blocks of teacher and students (default 9)")
    parser.add_argument("--patch-size", type=int, default=None, help="CRD's patch side (default size / 8: 32 at 256)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    parser.add_argument("--clock", choices=tuple(CLOCKS), default="wall",
                        help="wall: elapsed time (default); cpu: the process's CPU time, less inflated by other "
                             "processes on shared cores (CPU device, best with --threads 1)")
    parser.add_argument("--skip-online-teacher", action="store_true",
                        help="do not time a step of CRD's online teacher (the slowest part of the run)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="run every method this many times, interleaved; ratios are per round (default 3)")
    args = parser.parse_args(argv)
    args.methods = [m for m in args.methods.split(",") if m]
    args.students = [s for s in args.students.split(",") if s]
    unknown = sorted(set(args.methods) - set(METHOD_NAMES)) + sorted(set(args.students) - set(STUDENT_ARCHS))
    if unknown or min(args.warmup, args.steps, args.rounds) < 1:
        parser.error(f"unknown method/student {unknown}" if unknown else "--warmup, --steps and --rounds must be >= 1")
    if args.clock == "cpu" and args.device != "cpu":
        parser.error("--clock cpu measures CPU time: it needs --device cpu")
    args.methods = [REFERENCE] + [m for m in args.methods if m != REFERENCE]  # the reference every ratio needs
    args.skipped = [m for m in args.methods if args.batch_size < NEEDS_BATCH.get(m, 1)]
    args.methods = [m for m in args.methods if m not in args.skipped]
    return args


def _header(args: argparse.Namespace, bench: Bench) -> str:
    device = bench.device
    where = (torch.cuda.get_device_name(device) if device.type == "cuda" else
             f"{torch.get_num_threads()} torch thread(s), load average {os.getloadavg()[0]:.2f} on "
             f"{os.cpu_count()} cores")
    return (f"method step times: {args.size}x{args.size} {TASK} (CycleGAN setting), batch {args.batch_size}, "
            f"{device} ({where}), torch {torch.__version__}; medians of {args.steps} timed steps after "
            f"{args.warmup} warm-up, {args.rounds} round(s), {args.clock} clock; teacher {describe_network(bench.teacher_spec)} (random weights)")


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    use_clock(args.clock)
    device = choose_device(args.device)
    bench = Bench(load_task(TASK, size=args.size, n_train=max(8, args.batch_size), n_test=1),
                  {"arch": "resnet_generator", "ngf": args.teacher_ngf, "n_blocks": args.blocks}, device,
                  args.warmup, args.steps, args.batch_size, args.patch_size or max(1, args.size // 8),
                  StepMemory(device))
    print(_header(args, bench), file=sys.stderr, flush=True)
    lines: list[str] = []
    for student in args.students:
        spec = {"arch": STUDENT_ARCHS[student], "ngf": args.student_ngf, "n_blocks": args.blocks}
        rounds = [[run_method(m, spec, bench) for m in args.methods] for _ in range(args.rounds)]
        lines += format_student(describe_network(spec), rounds)
    if "cat_ka" in args.skipped:
        lines.append(f"cat_ka not run: kernel alignment needs --batch-size >= {NEEDS_BATCH['cat_ka']} (it is 1 at "
                     f"batch 1); e.g. --methods cat_ka --batch-size 2")
    online = [m for m in args.methods if m in (*ONLINE, "omgd")]  # OMGD's CycleGAN teacher is CRD's recipe too
    if online and not args.skip_online_teacher:
        lines.append(f"{', '.join(online)} online teacher step (the task's CycleGAN recipe: 2 generators + 2 "
                     f"discriminators, {describe_network(bench.teacher_spec)}): {teacher_step_ms(bench):.1f} ms "
                     f"(not part of the {', '.join(online)} rows)")
        lines.append(f"{', '.join(online)} VGG16 weights: {bench.vgg_source} (timing does not depend on them)")
    blocked, direct = angle_forms_ms(bench)
    lines.append(f"RKD angle term, rows of one image (N {args.size}, D {3 * args.size}), fwd+bwd: blocked Gram form "
                 f"{blocked:.1f} ms, direct form (public code) {direct:.1f} ms ({direct / blocked:.1f}x)")
    print("\n".join(["", _header(args, bench), f"step MiB: {bench.memory.description}", *lines]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
