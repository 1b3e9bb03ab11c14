"""FID feature extraction speed: images/s, and the fraction of a plain 3x3 convolution's throughput.

    python -m kd_gan_bench.benchmarks.perf.fid_throughput [--images 32] [--size 256] [--batch-size 32] [--students 4]
        [--device auto|cpu|cuda] [--threads N] [--weights PATH] [--repeats 3] [--skip-old]

Prints, on the same seeded uint8 images (``--size`` px, resized to 299 inside the network):

* conv peak: GMAC/s of a plain 3x3 convolution (64 -> 64 channels, 56 x 56, batch 16; the better of
  NCHW and channels-last), the machine's reference throughput;
* InceptionV3's MACs per image (counted with forward hooks on its convolutions);
* ``torch-fidelity as called before``: ``torch_fidelity.calculate_metrics`` with FID and KID on
  ``--images`` fake and as many real images (what :mod:`kd_gan_bench.benchmarks.metrics.fid` did until now: the
  network built per call, NCHW, scipy ``sqrtm``), as images/s and as a fraction of the conv peak;
* torch-fidelity's module called plainly in the same batches (NCHW, its batch norms apart), images/s;
* ``extract_features``: the harness's path now (network built once, batch norms folded into the convolutions,
  channels-last, batched, ``inference_mode``), images/s and fraction of the conv peak (target >= 50%), and the largest
  difference of its features from torch-fidelity's module called plainly (tests require <= 1e-5);
* K students: ``compute_fid_kid`` of ``--students`` fake sets against one cached real set, against K
  plain fake passes (target <= 1.1x on CUDA).

Weights: ``--weights``, else whatever :func:`kd_gan_bench.methods.weights.resolver.find_local` finds; else a seeded random
InceptionV3 (speed does not depend on the values). torch-fidelity is given
:class:`kd_gan_bench.methods.networks.inception_net.TensorOnlyInceptionV3` (its own class unpickles the weights file as code).
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Callable, Sequence

import torch
from torch import nn

from kd_gan_bench.benchmarks.core.environment import choose_device
from kd_gan_bench.benchmarks.metrics.fid import INCEPTION, Extractor, compute_fid_kid, extract_features
from kd_gan_bench.methods.networks.inception_net import inception_skeleton, load_inception, register as register_tensor_only
from kd_gan_bench.methods.weights.resolver import find_local


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn: Callable[[], object], device: torch.device, repeats: int = 3) -> float:
    """Median seconds of ``fn`` after one untimed call."""
    fn()
    times = []
    for _ in range(repeats):
        _sync(device)
        start = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


@torch.inference_mode()
def conv_peak_gmacs(device: torch.device, repeats: int) -> float:
    conv = nn.Conv2d(64, 64, 3, padding=1, bias=False).to(device)
    x = torch.randn(16, 64, 56, 56, device=device)
    macs = 16 * 64 * 64 * 9 * 56 * 56
    best = 0.0
    for fmt in (torch.contiguous_format, torch.channels_last):
        c, y = conv.to(memory_format=fmt), x.contiguous(memory_format=fmt)
        best = max(best, macs / timed(lambda: c(y), device, repeats=max(repeats, 3)) / 1e9)
    return best


@torch.inference_mode()
def inception_macs(net: nn.Module, device: torch.device) -> float:
    total = [0]

    def hook(m: nn.Conv2d, inputs: tuple, out: torch.Tensor) -> None:
        total[0] += out.numel() // out.shape[0] * m.in_channels // m.groups * m.kernel_size[0] * m.kernel_size[1]

    handles = [m.register_forward_hook(hook) for m in net.modules() if isinstance(m, nn.Conv2d)]
    net(torch.zeros(1, 3, 299, 299, dtype=torch.uint8, device=device))
    for h in handles:
        h.remove()
    return total[0] / 1e9


def weights_file(explicit: str | None, folder: Path) -> str:
    found = find_local("inception", explicit)
    if found:
        return str(found.path)
    path = folder / "inception-random.pth"
    skeleton, g = inception_skeleton(), torch.Generator().manual_seed(0)
    with torch.no_grad():
        for conv in (m for m in skeleton.modules() if isinstance(m, nn.Conv2d)):  # He-normal: features of O(1)
            fan_in = conv.in_channels * conv.kernel_size[0] * conv.kernel_size[1]
            conv.weight.copy_(torch.randn(conv.weight.shape, generator=g) * (2.0 / fan_in) ** 0.5)
    torch.save(skeleton.state_dict(), path)
    return str(path)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--images", type=int, default=32)
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--students", type=int, default=4)
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int)
    p.add_argument("--weights")
    p.add_argument("--repeats", type=int, default=3, help="timed repeats (median) after one untimed call")
    p.add_argument("--skip-old", action="store_true", help="do not time the old torch-fidelity call")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = choose_device(args.device)
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (args.images, 3, args.size, args.size), generator=g, dtype=torch.uint8)
    real = torch.randint(0, 256, (args.images, 3, args.size, args.size), generator=g, dtype=torch.uint8)
    with tempfile.TemporaryDirectory() as tmp:
        ext = Extractor(INCEPTION, weights_file(args.weights, Path(tmp)), True)
        plain = load_inception(ext.weights_path, ["2048"], INCEPTION)
        plain = plain.to(device)
        peak = conv_peak_gmacs(device, args.repeats)
        macs = inception_macs(plain, device)
        print(f"device {device}, threads {torch.get_num_threads()}, {args.images} images of {args.size}px")
        print(f"conv peak (3x3, 64->64, 56x56, batch 16): {peak:.1f} GMAC/s; InceptionV3: {macs:.2f} GMAC/image")

        def report(label: str, seconds: float, n: int) -> None:
            rate = n / seconds
            print(f"{label:<44} {rate:8.2f} images/s  {rate * macs / peak:6.1%} of conv peak")

        if not args.skip_old:
            report_old(images, real, ext, device, report)
        @torch.inference_mode()
        def plain_features() -> torch.Tensor:
            return torch.cat([plain(images[i:i + args.batch_size].to(device))[0]
                              for i in range(0, args.images, args.batch_size)])

        report("torch-fidelity's module, batched", timed(plain_features, device, args.repeats), args.images)
        new = timed(lambda: extract_features(images, ext, device, args.batch_size), device, args.repeats)
        report("extract_features (BN folded, channels-last)", new, args.images)
        want = plain_features()
        got = extract_features(images, ext, device, args.batch_size)
        print(f"max |features - torch-fidelity plain| = {float((got - want).abs().max()):.2e} "
              f"(max |feature| {float(want.abs().max()):.2f})")
        students = [torch.roll(images, k, dims=0) for k in range(args.students)]
        cache = Path(tmp) / "cache"
        compute_fid_kid(students[0], real, real_cache_name="perf", cache_root=cache, extractor=ext, device=device)
        k_fid = timed(lambda: [compute_fid_kid(s, real, real_cache_name="perf", cache_root=cache, extractor=ext,
                                               device=device, batch_size=args.batch_size) for s in students], device, 1)
        k_pass = timed(lambda: [extract_features(s, ext, device, args.batch_size) for s in students], device, 1)
        print(f"FID+KID of {args.students} students (real statistics cached): {k_fid:.2f} s = {k_fid / k_pass:.2f}x "
              f"{args.students} plain fake passes ({k_pass:.2f} s)")
    return 0


def report_old(images: torch.Tensor, real: torch.Tensor, ext: Extractor,
               device: torch.device, report: Callable[[str, float, int], None]) -> None:
    """The call kd_gan_bench.benchmarks.metrics.fid made before: torch-fidelity end to end on fake + real images."""
    import torch_fidelity
    from torch.utils.data import TensorDataset

    class Images(TensorDataset):
        def __getitem__(self, i: int) -> torch.Tensor:
            return self.tensors[0][i]

    def call() -> None:
        torch_fidelity.calculate_metrics(
            input1=Images(images), input2=Images(real), fid=True, kid=True, kid_subset_size=min(1000, len(images)),
            cache=False, feature_extractor=register_tensor_only(), feature_extractor_weights_path=ext.weights_path,
            cuda=device.type == "cuda", verbose=False, batch_size=64, save_cpu_ram=True)

    report("torch-fidelity as called before (fake+real)", timed(call, device, repeats=1), 2 * len(images))


if __name__ == "__main__":
    raise SystemExit(main())
