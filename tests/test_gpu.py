"""Tests of logits_to_loss.gpu: every kernel against PyTorch, on a CPU under the Triton interpreter.

Sizes are tiny because the interpreter runs each program in NumPy. The references are computed
by torch in float64 from the same (already rounded) inputs; tolerances come from the dtype.
"""

from __future__ import annotations

import importlib.util
import sys
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F

from logits_to_loss import gpu

pytestmark = [  # the interpreter's NumPy warns on the -inf - (-inf) and 1 / 0 of an all -inf row (NaN, as torch)
    pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning"),
    pytest.mark.filterwarnings("ignore:divide by zero encountered:RuntimeWarning"),
]

DTYPES = [torch.float32, torch.bfloat16]


@pytest.fixture
def triton():
    return pytest.importorskip("triton")


def tolerance(dtype: torch.dtype, scale: float = 1.0) -> dict[str, float]:
    """Two ulps of the output dtype (rounding of the result), but no tighter than float32 sums allow."""
    rtol = max(2 * torch.finfo(dtype).eps, 1e-5)
    return {"rtol": rtol, "atol": rtol * scale, "equal_nan": True}


def logits(shape: tuple[int, ...], dtype: torch.dtype, seed: int) -> torch.Tensor:
    """Random logits with -inf entries, an all -inf row and a row offset by 1e4."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(shape, generator=gen, dtype=torch.float64) * 4
    x[..., 1::7] = -float("inf")
    if x.ndim > 1 and x.shape[0] > 2:
        x[1] = -float("inf")  # torch.softmax gives NaN here: so must the kernels
        x[2] += 1e4
    return x.to(dtype)


def softmax_kernels():
    return {
        "fused": gpu.triton_softmax,
        "online, block 64": lambda x: gpu.triton_online_softmax(x, block_size=64),
        "online, one block": lambda x: gpu.triton_online_softmax(x, block_size=1024),
        "split, auto": lambda x: gpu.triton_split_softmax(x, chunk_size=64),
        "split, two launches": lambda x: gpu.triton_split_softmax(x, chunk_size=32, mode="two_launch"),
    }


# ---------------------------------------------------------------- softmax


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(softmax_kernels()))
def test_softmax_kernels_match_torch(triton, name, dtype):
    x = logits((5, 300), dtype, seed=3)  # 300 is not a multiple of any block
    out = softmax_kernels()[name](x)
    assert out.dtype == dtype and out.shape == x.shape
    torch.testing.assert_close(out.double(), torch.softmax(x.double(), -1), **tolerance(dtype))
    assert out[1].isnan().all() and not out[[0, 2, 3, 4]].isnan().any()


@pytest.mark.parametrize("name", list(softmax_kernels()))
@pytest.mark.parametrize("shape", [(17,), (2, 3, 70)])
def test_softmax_kernels_keep_any_leading_shape(triton, name, shape):
    x = logits(shape, torch.float32, seed=len(shape))
    torch.testing.assert_close(softmax_kernels()[name](x), torch.softmax(x, -1), **tolerance(torch.float32))


def test_softmax_of_non_contiguous_input(triton):
    x = logits((40, 6), torch.float32, seed=4).T  # (6, 40), rows strided
    torch.testing.assert_close(gpu.triton_softmax(x), torch.softmax(x, -1), **tolerance(torch.float32))


def test_float16_softmax(triton):
    x = logits((3, 50), torch.float16, seed=5)
    out = gpu.triton_online_softmax(x, 16)
    torch.testing.assert_close(out.double(), torch.softmax(x.double(), -1), **tolerance(torch.float16))


def test_fused_softmax_refuses_rows_longer_than_its_registers(triton, monkeypatch):
    monkeypatch.setattr(gpu, "MAX_FUSED_V", 64)
    with pytest.raises(ValueError, match="triton_online_softmax"):
        gpu.triton_softmax(torch.zeros(2, 65))


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: gpu.triton_softmax(torch.zeros(2, 3, dtype=torch.int64)), "x"),
        (lambda: gpu.triton_softmax([[1.0, 2.0]]), "x"),
        (lambda: gpu.triton_softmax(torch.zeros(2, 0)), "x"),
        (lambda: gpu.triton_online_softmax(torch.zeros(2, 3), block_size=100), "block_size"),
        (lambda: gpu.triton_split_softmax(torch.zeros(2, 3), chunk_size=8), "chunk_size"),
        (lambda: gpu.triton_split_softmax(torch.zeros(2, 3), mode="fast"), "mode"),
    ],
)
def test_softmax_bad_input_names_the_argument(triton, call, name):
    with pytest.raises((TypeError, ValueError), match=name):
        call()


# ---------------------------------------------------------------- split softmax: which variant runs


def test_split_plan_uses_two_launches_under_the_interpreter(triton):
    if not gpu.INTERPRETER:
        pytest.skip("runs on a real GPU")
    assert gpu.split_softmax_plan(1000, 64) == ("two_launch", 0)
    with pytest.raises(ValueError, match="one at a time"):
        gpu.split_softmax_plan(1000, 64, mode="barrier")
    with pytest.raises(ValueError, match="barrier"):
        gpu.triton_split_softmax(torch.zeros(2, 100), 64, mode="barrier")


def test_split_plan_on_a_gpu_keeps_the_programs_of_a_row_resident(triton, monkeypatch):
    """Grid sized from the multiprocessor count, a whole number of rows' chunks; too many chunks fall back."""
    monkeypatch.setattr(gpu, "DEVICE", "cuda")
    monkeypatch.setattr(gpu, "INTERPRETER", False)
    monkeypatch.setattr(torch.cuda, "get_device_properties", lambda _: SimpleNamespace(multi_processor_count=132))
    assert gpu.split_softmax_plan(131072, 16384) == ("barrier", 128)  # 8 chunks, 16 rows at a time
    assert gpu.split_softmax_plan(1000, 1024) == ("barrier", 132)  # one chunk per row
    assert gpu.split_softmax_plan(132 * 64, 64) == ("barrier", 132)
    assert gpu.split_softmax_plan(133 * 64, 64) == ("two_launch", 0)  # 133 chunks cannot all be resident
    with pytest.raises(ValueError, match="133 chunks > 132 SMs"):
        gpu.split_softmax_plan(133 * 64, 64, mode="barrier")
    assert gpu.split_softmax_plan(131072, 16384, mode="two_launch") == ("two_launch", 0)


# ---------------------------------------------------------------- cross-entropy


def ce_case(dtype: torch.dtype, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(7, 150, generator=gen, dtype=torch.float64) * 4
    targets = torch.randint(0, 150, (7,), generator=gen)
    targets[[1, 4]] = -100  # ignored rows
    x[2] += 1e4
    x[3, (targets[3] + 1) % 150 :: 9] = -float("inf")  # -inf entries away from the target
    return x.to(dtype), targets


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_loss_and_in_place_gradient_match_torch(triton, reduction, dtype):
    x, targets = ce_case(dtype, seed=6)
    leaf = x.double().requires_grad_(True)
    expected = F.cross_entropy(leaf, targets, reduction=reduction)
    expected.sum().backward()
    buffer = x.clone()
    loss = gpu.triton_cross_entropy(buffer, targets, reduction=reduction)
    assert loss.dtype == torch.float32 and loss.shape == expected.shape
    torch.testing.assert_close(loss.double(), expected.detach(), rtol=1e-5, atol=1e-5)  # computed in float32
    assert buffer.dtype == dtype  # the gradient, written over the logits
    torch.testing.assert_close(buffer.double(), leaf.grad, **tolerance(dtype, leaf.grad.abs().max().item()))
    assert (buffer[[1, 4]] == 0).all()


def test_cross_entropy_writes_in_place_without_a_new_buffer(triton):
    x, targets = ce_case(torch.float32, seed=7)
    pointer = x.data_ptr()
    gpu.triton_cross_entropy(x, targets)
    assert x.data_ptr() == pointer and not x.isnan().any()


def test_an_ignored_row_gets_a_zero_gradient_even_if_it_is_all_minus_inf(triton):
    x, targets = ce_case(torch.float32, seed=8)
    x[1] = -float("inf")  # padding; torch's gradient here is NaN * 0 = NaN, ours is exactly 0
    loss = gpu.triton_cross_entropy(x, targets)
    assert loss.isfinite() and (x[1] == 0).all() and x.isfinite().all()


def test_cross_entropy_with_every_target_ignored_is_nan_like_torch(triton):
    x = torch.randn(3, 20)
    targets = torch.full((3,), -1, dtype=torch.int64)
    expected = F.cross_entropy(x, targets, ignore_index=-1)
    loss = gpu.triton_cross_entropy(x, targets, ignore_index=-1)
    assert expected.isnan() and loss.isnan() and (x == 0).all()


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: gpu.triton_cross_entropy(torch.zeros(2, 3), torch.tensor([0, 3])), "targets"),
        (lambda: gpu.triton_cross_entropy(torch.zeros(2, 3), torch.tensor([0.0, 1.0])), "targets"),
        (lambda: gpu.triton_cross_entropy(torch.zeros(2, 3), torch.tensor([0])), "targets"),
        (lambda: gpu.triton_cross_entropy(torch.zeros(2, 3), torch.tensor([0, 1]), reduction="avg"), "reduction"),
        (lambda: gpu.triton_cross_entropy(torch.zeros(3, 2).T, torch.tensor([0, 1])), "contiguous"),
        (lambda: gpu.triton_cross_entropy(torch.zeros(2, 2, 3), torch.tensor([0, 1])), "logits"),
    ],
)
def test_cross_entropy_bad_input_names_the_argument(triton, call, name):
    with pytest.raises((TypeError, ValueError), match=name):
        call()


# ---------------------------------------------------------------- linear layer + cross-entropy


def linear_case(dtype: torch.dtype, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    hidden = torch.randn(13, 8, generator=gen).to(dtype)
    weight = torch.randn(37, 8, generator=gen).to(dtype)
    targets = torch.randint(0, 37, (13,), generator=gen)
    targets[[0, 1, 2, 9]] = -100  # the chunks hold different numbers of counted tokens
    return hidden, weight, targets


def loss_and_grads(fn, hidden, weight, targets) -> tuple[torch.Tensor, ...]:
    h, w = hidden.clone().requires_grad_(True), weight.clone().requires_grad_(True)
    loss = fn(h, w, targets)
    loss.backward()
    return loss.detach(), h.grad, w.grad


def linear_methods():
    return {
        "chunked": lambda chunk: lambda h, w, t: gpu.chunked_cross_entropy(h, w, t, chunk),
        "fused": lambda chunk: lambda h, w, t: gpu.fused_linear_cross_entropy(h, w, t, chunk),
    }


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("chunk_size", [1, 4, 13, 100])
@pytest.mark.parametrize("method", list(linear_methods()))
def test_linear_cross_entropy_matches_autograd_of_the_plain_version(request, method, chunk_size, dtype):
    if method == "fused":
        request.getfixturevalue("triton")
    hidden, weight, targets = linear_case(dtype, seed=8)
    expected = loss_and_grads(gpu.torch_linear_cross_entropy, hidden, weight, targets)
    got = loss_and_grads(linear_methods()[method](chunk_size), hidden, weight, targets)
    chunks = -(-13 // chunk_size)  # grad_weight is rounded to dtype once per chunk
    for ours, reference in zip(got, expected):
        assert ours.dtype == reference.dtype
        scale = reference.abs().max().item()
        torch.testing.assert_close(ours, reference, **tolerance(dtype, scale * min(chunks, 4)))


def test_chunked_cross_entropy_is_a_mean_over_all_tokens_not_over_chunks():
    hidden, weight, targets = linear_case(torch.float32, seed=9)
    loss = gpu.chunked_cross_entropy(hidden, weight, targets, 4)
    per_chunk = [F.cross_entropy(hidden[i : i + 4] @ weight.T, targets[i : i + 4]) for i in range(0, 13, 4)]
    mean_of_means = torch.stack(per_chunk).mean()  # the classic mistake: chunk 0 has only one counted token
    torch.testing.assert_close(loss, F.cross_entropy(hidden @ weight.T, targets))
    assert not torch.isclose(loss, mean_of_means, rtol=1e-3)


def test_chunked_cross_entropy_works_without_triton_and_scales_by_the_upstream_gradient():
    hidden, weight, targets = linear_case(torch.float32, seed=10)
    h = hidden.clone().requires_grad_(True)
    (3 * gpu.chunked_cross_entropy(h, weight, targets, 5)).backward()
    g = hidden.clone().requires_grad_(True)
    (3 * F.cross_entropy(g @ weight.T, targets)).backward()
    torch.testing.assert_close(h.grad, g.grad)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"chunk_size": 0}, "chunk_size"),
        ({"chunk_size": 2.5}, "chunk_size"),
        ({"weight": torch.zeros(37, 9)}, "weight"),
        ({"weight": torch.zeros(37, 8, dtype=torch.float64)}, "weight"),
        ({"targets": torch.full((13,), 37)}, "targets"),
        ({"hidden": torch.zeros(13, 8, 1)}, "hidden"),
    ],
)
def test_chunked_cross_entropy_bad_input_names_the_argument(kwargs, name):
    hidden, weight, targets = linear_case(torch.float32, seed=11)
    args = {"hidden": hidden, "weight": weight, "targets": targets, "chunk_size": 4} | kwargs
    with pytest.raises((TypeError, ValueError), match=name):
        gpu.chunked_cross_entropy(**args)


def test_default_chunk_size_keeps_a_chunk_of_logits_within_the_budget():
    assert gpu.default_chunk_size(131072, 2) == 128  # 128 x 128K x 2 bytes = 32 MiB
    assert gpu.default_chunk_size(50000, 4) == 128
    assert gpu.default_chunk_size(10**9, 4) == 16


# ---------------------------------------------------------------- backend and measuring helpers


def test_backend_is_described_in_one_line():
    line = gpu.describe_backend()
    assert "\n" not in line and "torch" in line
    if gpu.DEVICE == "cpu" and gpu.triton is not None:
        assert line.startswith("CPU, Triton interpreter")


def test_measuring_helpers_on_this_device():
    assert gpu.copy_bandwidth(1 << 16, repeat=2) > 0
    assert gpu.time_ms(lambda: None, repeat=2) >= 0
    if gpu.DEVICE == "cpu":
        assert gpu.peak_memory(lambda: torch.zeros(10)) is None
    with pytest.raises(ValueError, match="nbytes"):
        gpu.copy_bandwidth(0)


def test_without_triton_the_torch_parts_work_and_the_kernels_say_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "triton", None)  # makes `import triton` raise ImportError
    monkeypatch.setitem(sys.modules, "triton.language", None)
    spec = importlib.util.spec_from_file_location("gpu_without_triton", gpu.__file__)
    bare = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bare)
    assert bare.triton is None and "torch only" in bare.describe_backend()
    hidden, weight, targets = linear_case(torch.float32, seed=12)
    torch.testing.assert_close(
        bare.chunked_cross_entropy(hidden, weight, targets, 4), F.cross_entropy(hidden @ weight.T, targets)
    )
    for call in (
        lambda: bare.triton_softmax(torch.zeros(2, 3)),
        lambda: bare.triton_cross_entropy(torch.zeros(2, 3), torch.tensor([0, 1])),
        lambda: bare.fused_linear_cross_entropy(hidden, weight, targets),
    ):
        with pytest.raises(ImportError, match="pip install triton"):
            call()
