"""Relational knowledge distillation (RKD) over sets of embeddings, and CRD's image slicing.

RKD (Park et al., "Relational Knowledge Distillation", CVPR 2019, arXiv 1904.05068) matches the
*structure* of a set of N embeddings rather than the embeddings themselves:

* distance term: pairwise Euclidean distances, each set divided by the mean of its positive
  distances (so a uniform scaling of the embeddings changes nothing), compared with smooth L1;
* angle term: for every triplet (a, b, c) the cosine of the angle at vertex a between b and c,
  compared with smooth L1 over all N^3 triplets.

The numerics follow the RKD code that CRD (You et al., arXiv 2212.11091) ships in its
``relation_kd.py``: distances from the Gram matrix clamped at 1e-12 before the square root with a
zero diagonal; the teacher side carries no gradient; a difference vector of length zero (b == a)
gives cosine 0, as ``F.normalize`` of a zero vector does.

The angle term is computed from the N x N Gram matrix G = X X^T instead of the N x N x D tensor
of differences: (x_b - x_a).(x_c - x_a) = G_bc - G_ab - G_ac + G_aa and
|x_b - x_a|^2 = G_aa + G_bb - 2 G_ab. The N^3 cosines are formed block by block inside a custom
autograd function that accumulates the loss's gradient in the same pass, so memory is O(N^2) plus one
block (``chunk_elements`` cosines per side) instead of several N^3 tensors kept for autograd. A block is
a square of (b, c) pairs for every vertex a, the vertex innermost (long contiguous loops); since
cos_abc = cos_acb, only the blocks on and above the diagonal are formed, those above it counting twice:
about half the N^3 cosines of the direct form (32 x 32 blocks at N = 256: 36 blocks, 56%). The student's
and the teacher's blocks go through the same (stacked) ops, every block works in buffers allocated once
per call, and :func:`rkd_loss` forms each side's Gram matrix once for both terms (40x-55x less time than the
direct form for the rows of a 256 px image, 2 threads here; see ``benchmarks/perf/method_step_times.py``).
Rows, columns and patches of a 256 px image with the gradient, the previous form (chunks of two whole
vertices, every (b, c)) and this one alternating in one process: 2 threads 121 -> 91 ms (wall clock, 9
rounds), 1 thread 208 -> 161 ms (CPU clock, 7 rounds).

Precision: G and the lengths are formed in float64 from centred embeddings (distances and angles
do not change under translation). In float32, G_aa + G_bb - 2 G_ab of two identical rows (a flat
background gives many) is rounding noise rather than 0, and 1/sqrt(noise) ruins every cosine
at that vertex; in float64 the noise is ~1e-16 of |x|^2, and pairs closer than ``COINCIDENT``
(relative squared distance 1e-12) count as coincident: cosine 0, as the direct form gives for a
zero difference vector. The dot products G_bc - P_ab - P_ac cancel in the same way when slices are
nearly equal (on 256 x 256 images with flat halves plus 1e-4 noise, float32 Gram arithmetic put the
angle loss at 5x-50x its float64 value): G and P are split into float32 "hi" parts on a coarse grid,
whose differences are exact, and small "lo" remainders (:func:`split_gram`), so the dot products come out
accurate to about 2^-45 of the largest squared norm before their final float32 rounding (a float64
subtraction: 2^-52), at float32 cost; the gradient with respect to G is
accumulated in float64 (its entries cancel when multiplied by the embeddings). The rest of the N^3
arithmetic (cosines, smooth L1, the weights of the gradient) runs in the input's dtype. On those images
the float32 loss is within 7e-7 and its gradient within 8e-6 of float64 (``tests/test_losses.py``
requires 1e-4). One difference from the direct form: there, a zero difference
vector of the *student* gets the gradient of ``F.normalize`` below eps (1e12 times the upstream
gradient); here it gets none.

Every function takes batched sets, B x N x D (one relation set per batch element), and averages
over the batch.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

EPS = 1e-12
#: cosines per side per block of the angle term (32 x 32 pairs of a 256-set: 1 MiB per side in float32)
CHUNK_ELEMENTS = 1 << 18
COINCIDENT = 1e-12  # squared distance below this fraction of |x_a|^2 + |x_b|^2: coincident points


def _centred_gram(x: torch.Tensor) -> torch.Tensor:
    x = x.double()
    x = x - x.mean(dim=1, keepdim=True)
    return x @ x.transpose(1, 2)


def _squared_distances(gram: torch.Tensor) -> torch.Tensor:
    sq = gram.diagonal(dim1=1, dim2=2)
    return (sq[:, :, None] + sq[:, None, :] - 2 * gram).clamp_min(0)


def _off_diagonal(x: torch.Tensor, value: float = 0.0) -> torch.Tensor:
    eye = torch.eye(x.shape[-1], dtype=torch.bool, device=x.device)
    return x.masked_fill(eye, value)


def _distances(gram: torch.Tensor, eps: float = EPS) -> torch.Tensor:
    return _off_diagonal((_squared_distances(gram).clamp_min(eps)).sqrt())


def pairwise_distances(x: torch.Tensor, eps: float = EPS) -> torch.Tensor:
    """B x N x D -> B x N x N Euclidean distances (squared distances clamped at ``eps``, zero diagonal)."""
    return _distances(_centred_gram(x), eps).to(x.dtype)


def _normalised_distances(gram: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    d = _distances(gram).to(dtype)
    positive = d > 0
    mean = (d * positive).sum(dim=(1, 2), keepdim=True) / positive.sum(dim=(1, 2), keepdim=True).clamp_min(1)
    return d / mean


def _distance_term(gram_s: torch.Tensor, gram_t: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    with torch.no_grad():
        t = _normalised_distances(gram_t, dtype)
    return F.smooth_l1_loss(_normalised_distances(gram_s, dtype), t)


def rkd_distance_loss(student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
    """RKD distance term: smooth L1 between the sets' distance matrices, each divided by its mean."""
    with torch.no_grad():
        gram_t = _centred_gram(teacher)
    return _distance_term(_centred_gram(student), gram_t, student.dtype)


def _inverse_lengths(gram: torch.Tensor, eps: float = EPS) -> torch.Tensor:
    """1 / max(|x_b - x_a|, eps) (``F.normalize``'s convention); 0 for coincident points (a zero vector)."""
    sq = gram.diagonal(dim1=1, dim2=2)
    d2 = _squared_distances(gram)
    coincident = d2 <= COINCIDENT * (sq[:, :, None] + sq[:, None, :])
    return d2.clamp_min(eps * eps).rsqrt().masked_fill(coincident, 0.0)


#: Bits of the "hi" parts of :func:`split_gram`: |G|, |P| <= 1.5 max|x|^2, so G_hi - P_hi - P_hi stays below
#: 4 x 2^HI_BITS grid steps = 2^24: exact in float32 (24-bit significand).
HI_BITS = 22


def split_gram(gram: torch.Tensor, dtype: torch.dtype) -> tuple[torch.Tensor | None, ...]:
    """(G_hi, G_lo, Q_hi, Q_lo) in ``dtype`` from a float64 Gram matrix, with Q_ba = P_ab = G_ab - G_aa / 2
    (P transposed, so that a row of Q runs over the vertices a).

    The dot products M_abc = (x_b - x_a).(x_c - x_a) = G_bc - P_ab - P_ac cancel catastrophically
    when x_a, x_b, x_c nearly coincide. Each of G and P is split into a "hi" part on a grid of
    2^-HI_BITS of the set's largest squared norm (a float32 holds every sum of three such numbers
    exactly) and the small remainder "lo": the hi parts of M subtract exactly in float32 and the lo
    parts carry the rest, so M comes out accurate to about 2^-45 of the largest squared norm before its
    float32 rounding, at float32 cost (a float64 N^3 pass costs several float32 ones on a CPU). In float64 there is no "lo" (None)."""
    q = (gram - gram.diagonal(dim1=1, dim2=2)[..., None] / 2).transpose(1, 2).contiguous()
    if dtype == torch.float64:
        return gram, None, q, None
    largest = gram.diagonal(dim1=1, dim2=2).amax(dim=1).clamp_min(torch.finfo(torch.float64).tiny)
    grid = torch.exp2(torch.ceil(torch.log2(largest)) - HI_BITS)[:, None, None]
    parts = []
    for x in (gram, q):
        hi = torch.round(x / grid) * grid
        parts += [hi.to(dtype), (x - hi).to(dtype)]
    return tuple(parts[i] for i in (0, 1, 2, 3))


def _side_parts(grams: list[torch.Tensor], dtype: torch.dtype) -> tuple[torch.Tensor | None, ...]:
    """:func:`split_gram`'s (G_hi, G_lo, Q_hi, Q_lo) of each side's Gram matrices (B x N x N), stacked:
    S x B x N x N for S sides (student and teacher are processed together, one op for both)."""
    parts = zip(*(split_gram(gram, dtype) for gram in grams))
    return tuple(None if part[0] is None else torch.stack(part) for part in parts)


def _block_dots(parts: tuple[torch.Tensor | None, ...], b: int, rows: slice, cols: slice, out: torch.Tensor,
                scratch: torch.Tensor) -> torch.Tensor:
    """M_abc = G_bc - P_ab - P_ac of set ``b`` for b in ``rows``, c in ``cols`` and every vertex a, on every side:
    S x rows x cols x N (the vertex innermost: contiguous, long loops), written into ``out`` (``scratch``: a buffer
    of the same shape). The hi parts subtract exactly, then the lo parts are added (:func:`split_gram`)."""
    g_hi, g_lo, q_hi, q_lo = parts
    torch.sub(g_hi[:, b, rows, cols, None], q_hi[:, b, rows, None, :], out=out).sub_(q_hi[:, b, None, cols, :])
    if g_lo is not None:   # P_ab + P_ac first: one rounding, the same for (b, c) and (c, b)
        torch.add(q_lo[:, b, rows, None, :], q_lo[:, b, None, cols, :], out=scratch)
        out.add_(torch.sub(g_lo[:, b, rows, cols, None], scratch, out=scratch))
    return out


def _block_side(n: int, chunk_elements: int) -> int:
    """Side of the (b, c) blocks: about ``chunk_elements`` cosines per side for all N vertices (1 to N)."""
    return min(n, max(1, math.isqrt(max(1, chunk_elements // n))))


def _blocks(n_sets: int, n: int, chunk_elements: int) -> list[tuple[int, slice, slice, float]]:
    """(set, b block, c block, multiplicity) for the blocks on and above the diagonal: the cosines are symmetric
    in (b, c), so a block above the diagonal stands for its mirror image too (multiplicity 2)."""
    side = _block_side(n, chunk_elements)
    starts = range(0, n, side)
    return [(b, slice(i, min(n, i + side)), slice(j, min(n, j + side)), 1.0 if i == j else 2.0)
            for b in range(n_sets) for i in starts for j in starts if j >= i]


class _AngleLoss(torch.autograd.Function):
    """Mean smooth L1 between the student's and the teacher's N^3 angle cosines, in blocks of (b, c) pairs.

    Inputs are the student's Gram matrix (float64), inverse lengths (the working dtype) and the
    teacher's (no grad), all B x N x N. cos_abc = cos_acb, so only the blocks of (b, c) on and above the
    diagonal are formed, for all vertices a at once, a block above the diagonal counting twice: half the
    N^3 work of the direct form (the public code forms every triplet). Each block forms both sides' dot
    products M and cosines cos = M h_ab h_ac in the same ops (stacked), and accumulates the loss's
    gradient in the same pass (a scalar loss needs no second pass): with w = dL/dcos and W = w h_ab h_ac,
    dG_bc += sum_a W, dG_ab -= sum_c W and dG_ac -= sum_b W, dG_aa += sum_bc W, dh_ab += sum_c w M_abc h_ac
    = sum_c w cos_abc / h_ab and dh_ac += sum_b w cos_abc / h_ac (h = 0 only for coincident points, whose h
    carries no gradient). dG is accumulated in float64 (in-place adds of the float32 block sums): its
    entries cancel against each other when multiplied by the embeddings (the same cancellation as in M),
    so they must stay consistent to better than the working precision. Smooth L1 (beta 1) of
    d = cos_s - cos_t is sum(w (d - w / 2)) with w = clamp(d, -1, 1), its derivative.

    Every block works in buffers allocated once per call: allocating its temporaries (a megabyte
    each) block after block cost as much as the arithmetic in a training process (fresh pages from the
    system, faulted in on every block)."""

    @staticmethod
    def forward(ctx, gram_s, inv_s, gram_t, inv_t, chunk_elements: int):  # type: ignore[override]
        n_sets, n = gram_s.shape[:2]
        scale = 1.0 / (n_sets * n ** 3)
        with_grad = ctx.needs_input_grad[0] or ctx.needs_input_grad[1]
        d_gram, d_inv = torch.zeros_like(gram_s), torch.zeros_like(inv_s)
        total = gram_s.new_zeros((), dtype=torch.float64)
        parts = _side_parts([gram_s, gram_t], inv_s.dtype)
        inv = torch.stack([inv_s, inv_t]).transpose(2, 3).contiguous()    # [side, set, b, a] = h_ab
        side = _block_side(n, chunk_elements)
        cos_buf, hh_buf = (inv.new_empty(2 * n * side * side) for _ in range(2))
        d_buf, w_buf = (inv.new_empty(n * side * side) for _ in range(2))
        for b, rows, cols, k in _blocks(n_sets, n, chunk_elements):
            shape = (rows.stop - rows.start, cols.stop - cols.start, n)
            size = math.prod(shape)
            cos, hh = (buf[: 2 * size].view(2, *shape) for buf in (cos_buf, hh_buf))
            d, w = (buf[:size].view(shape) for buf in (d_buf, w_buf))
            _block_dots(parts, b, rows, cols, cos, hh)                      # 2 x rows x cols x N: M, then cos
            h_rows, h_cols = inv[:, b, rows], inv[:, b, cols]               # 2 x rows x N, 2 x cols x N
            cos.mul_(torch.mul(h_rows[:, :, None], h_cols[:, None], out=hh))
            torch.clamp(torch.sub(cos[0], cos[1], out=d), -1.0, 1.0, out=w)  # d smooth_l1 / d cos, unscaled
            total += k * (torch.dot(w.view(-1), d.view(-1)) - 0.5 * torch.dot(w.view(-1), w.view(-1))).double()
            if not with_grad:
                continue
            weighted = hh[0].mul_(w)                                         # W, [b, c, a]
            d_gram[b, rows, cols].add_(weighted.sum(dim=2, dtype=torch.float64), alpha=k)
            along_c, along_b = weighted.sum(dim=1), weighted.sum(dim=0)      # rows x N, cols x N
            d_gram[b, :, rows].sub_(along_c.T, alpha=k)                      # dG_ab, at [a, b]
            d_gram[b, :, cols].sub_(along_b.T, alpha=k)
            d_gram[b].diagonal().add_(along_c.sum(dim=0, dtype=torch.float64), alpha=k)
            w.mul_(cos[0])                                                   # w cos = w M h_ab h_ac
            for at, h, summed in ((rows, h_rows[0], w.sum(dim=1)), (cols, h_cols[0], w.sum(dim=0))):
                d_inv[b, :, at] += (k * torch.where(h > 0, summed / h, 0.0)).T
        ctx.save_for_backward(d_gram.mul_(scale), d_inv.mul_(scale))
        return (total * scale).to(inv_s.dtype)

    @staticmethod
    def backward(ctx, grad_out):  # type: ignore[override]
        d_gram, d_inv = ctx.saved_tensors
        return d_gram * grad_out, d_inv * grad_out, None, None, None


def _angle_term(gram_s: torch.Tensor, gram_t: torch.Tensor, dtype: torch.dtype,
                chunk_elements: int = CHUNK_ELEMENTS) -> torch.Tensor:
    with torch.no_grad():
        inv_t = _inverse_lengths(gram_t).to(dtype)
    return _AngleLoss.apply(gram_s, _inverse_lengths(gram_s).to(dtype), gram_t, inv_t, chunk_elements)


def rkd_angle_loss(student: torch.Tensor, teacher: torch.Tensor, chunk_elements: int = CHUNK_ELEMENTS) -> torch.Tensor:
    """RKD angle term: smooth L1 between the N^3 vertex cosines of the two sets (B x N x D each).

    Values equal the direct formula (normalised difference vectors, ``bmm``) to float rounding;
    memory is O(N^2) plus ``chunk_elements`` cosines per side at a time."""
    with torch.no_grad():
        gram_t = _centred_gram(teacher)
    return _angle_term(_centred_gram(student), gram_t, student.dtype, chunk_elements)


def rkd_angle_loss_reference(student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
    """The angle term as the public RKD/CRD code computes it: the N x N x D tensor of normalised
    difference vectors and a ``bmm`` per set. The reference :func:`rkd_angle_loss` is tested and
    benchmarked against; it needs O(N^2 D) memory."""
    def cosines(x: torch.Tensor) -> torch.Tensor:
        unit = F.normalize(x[:, None, :, :] - x[:, :, None, :], p=2, dim=3)   # B x N(a) x N x D
        return unit.flatten(0, 1).bmm(unit.flatten(0, 1).transpose(1, 2)).view(x.shape[0], -1)

    with torch.no_grad():
        t = cosines(teacher)
    return F.smooth_l1_loss(cosines(student), t)


def angle_cosines(x: torch.Tensor) -> torch.Tensor:
    """All vertex cosines of each set, B x N x N x N (``[b, a, j, k]``: angle at a between j and k).

    For inspection and tests on small sets; the loss never materialises this tensor."""
    gram = _centred_gram(x)
    inv, parts = _inverse_lengths(gram).to(x.dtype), _side_parts([gram], x.dtype)
    n, every = x.shape[1], slice(0, x.shape[1])
    out, scratch = (x.new_empty(1, n, n, n) for _ in range(2))
    return torch.stack([_block_dots(parts, b, every, every, out, scratch)[0].permute(2, 0, 1)
                        * inv[b, :, :, None] * inv[b, :, None, :] for b in range(x.shape[0])])


def rkd_loss(student: torch.Tensor, teacher: torch.Tensor, distance_weight: float = 1.0,
             angle_weight: float = 2.0) -> torch.Tensor:
    """``distance_weight`` x distance term + ``angle_weight`` x angle term (CRD: 1 and 2)."""
    loss = student.new_zeros(())
    with torch.no_grad():
        gram_t = _centred_gram(teacher)
    gram_s = _centred_gram(student)   # one Gram matrix per side for both terms
    if distance_weight:
        loss = loss + distance_weight * _distance_term(gram_s, gram_t, student.dtype)
    if angle_weight:
        loss = loss + angle_weight * _angle_term(gram_s, gram_t, student.dtype)
    return loss


def row_slices(images: torch.Tensor) -> torch.Tensor:
    """B x C x H x W -> B x H x (C*W): each image's rows as one set of H samples."""
    return images.transpose(1, 2).reshape(images.shape[0], images.shape[2], -1)


def column_slices(images: torch.Tensor) -> torch.Tensor:
    """B x C x H x W -> B x W x (C*H): each image's columns as one set of W samples."""
    return images.permute(0, 3, 1, 2).reshape(images.shape[0], images.shape[3], -1)


def patch_slices(images: torch.Tensor, size: int) -> torch.Tensor:
    """B x C x H x W -> B x L x (C*size*size): each image's non-overlapping size x size patches.

    The image sides must be multiples of ``size`` (CRD: 32, i.e. 64 patches of a 256x256 image)."""
    h, w = images.shape[-2:]
    if h % size or w % size:
        raise ValueError(f"patch size {size} does not tile a {h}x{w} image")
    return F.unfold(images, kernel_size=size, stride=size).transpose(1, 2)
