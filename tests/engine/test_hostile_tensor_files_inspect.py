"""``netstudio inspect`` on tensors that are not plain dense arrays: expanded and overlapping views of
2**40 elements in a kilobyte (run in a capped child process: materialising one would take 4 TB),
sparse, quantized, meta, nested and raw-bit tensors, values near the float32 limit, and
non-finite numbers in ``--json`` (written as "inf", "-inf", "nan")."""

from __future__ import annotations

import contextlib
import io
import json
import time
import warnings

import pytest
import torch

from netstudio import cli
from netstudio.files.checkpoint import open_checkpoint
from tests.engine.test_hostile_tensor_files_builders import probe


def strict_json(text: str):
    """``json.loads`` that refuses the NaN/Infinity tokens Python would otherwise accept."""
    def refuse(token):
        raise AssertionError(f"{token} is not JSON")
    return json.loads(text, parse_constant=refuse)


def inspect(path, *extra) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(["inspect", str(path), *extra])
    return code, out.getvalue(), err.getvalue()


def test_expanded_and_overlapping_views_are_never_materialised(tmp_path):
    base = torch.tensor([1.0, float("nan"), float("inf"), 0.0])
    views = {
        "ones": torch.ones(1).expand(2**40),
        "rows": base.expand(2**38, 4),
        "windows": torch.arange(2.0**21).as_strided((2**20, 2**20), (1, 1)),
    }
    path = tmp_path / "views.pt"
    torch.save(views, path)
    assert path.stat().st_size < 10 * 2**20
    start = time.monotonic()
    table, as_json = probe("inspect", path), probe("inspect-json", path)
    assert time.monotonic() - start < 60
    assert table[0]["code"] == 0 and table[0]["err"] == "", table
    rows = {line.split()[0]: line for line in table[0]["out"].splitlines()[2:-1]}
    assert rows["ones"].endswith("expanded view of 1 stored value")
    assert "overlapping view of 2,097,151 stored values" in rows["windows"]
    tensors = {t["name"]: t for t in strict_json(as_json[0]["out"])["tensors"]}
    ones, rows_, windows = tensors["ones"], tensors["rows"], tensors["windows"]
    assert (ones["numel"], ones["stored"], ones["nbytes"], ones["mean"], ones["std"]) == (2**40, 1, 4, 1.0, 0.0)
    assert (rows_["nans"], rows_["infs"], rows_["min"], rows_["max"]) == (2**38, 2**38, 0.0, 1.0)
    assert windows["stored"] == 2**21 - 1 and windows["max"] == 2**21 - 2 and "spans" in windows["note"]


SPARSE = {
    "coo": lambda: torch.sparse_coo_tensor(torch.tensor([[0, 0, 2], [1, 1, 3]]), torch.tensor([1.0, 2.0, -4.0]),
                                           (3, 4)),
    "csr": lambda: torch.tensor([[0.0, 5.0], [0.0, 0.0]]).to_sparse_csr(),
    "csc": lambda: torch.tensor([[0.0, 5.0], [0.0, 0.0]]).to_sparse_csc(),
    "bsr": lambda: torch.eye(4).to_sparse_bsr((2, 2)),
    "huge-coo": lambda: torch.sparse_coo_tensor(torch.tensor([[0], [2**30]]), torch.tensor([7.0]), (2**30, 2**31)),
}


def odd_tensors() -> dict[str, torch.Tensor]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch warns that these kinds of tensor are experimental
        odd = {name: make() for name, make in SPARSE.items()}
        odd["quantized"] = torch.quantize_per_tensor(torch.tensor([-1.0, 0.0, 0.5]), 0.5, 0, torch.qint8)
        odd["per-channel"] = torch.quantize_per_channel(torch.ones(2, 2), torch.tensor([0.1, 0.2]),
                                                        torch.tensor([0, 0]), 0, torch.quint8)
        odd["meta"] = torch.empty(3, 4, device="meta")
        odd["nested"] = torch.nested.nested_tensor([torch.ones(2), torch.zeros(3)])
        odd["bits"] = torch.zeros(3, dtype=torch.uint8).view(torch.bits8)
        odd["complex32"] = torch.tensor([3 + 4j]).to(torch.complex32)
    return odd


def test_sparse_quantized_meta_nested_and_raw_bits_are_listed(tmp_path):
    path = tmp_path / "odd.pt"
    torch.save(odd_tensors(), path)
    code, out, err = inspect(path)
    assert (code, err) == (0, "")
    rows = {line.split()[0]: line for line in out.splitlines()[2:-1]}
    assert "sparse COO tensor with 3 stored values" in rows["coo"]  # as stored: (0, 1) twice
    assert "sparse CSR tensor with 1 stored value" in rows["csr"] and "sparse CSC" in rows["csc"]
    assert "quantized (per_tensor_affine)" in rows["quantized"] and "meta tensor" in rows["meta"]
    assert "nested tensor of 2 tensors with 5 values" in rows["nested"] and "raw bits" in rows["bits"]
    code, out, _ = inspect(path, "--json")
    tensors = {t["name"]: t for t in strict_json(out)["tensors"]}
    coo = tensors["coo"]
    assert (coo["min"], coo["max"], coo["layout"], coo["stored"]) == (-4.0, 3.0, "sparse_coo", 3)  # 1 + 2 summed
    assert coo["mean"] == pytest.approx(-1 / 12)
    assert tensors["huge-coo"]["numel"] == 2**61 and tensors["huge-coo"]["mean"] == pytest.approx(7 / 2**61)
    assert (tensors["quantized"]["min"], tensors["quantized"]["max"]) == (-1.0, 0.5)
    assert tensors["meta"]["mean"] is None and tensors["meta"]["shape"] == [3, 4]
    assert tensors["complex32"]["max"] == 5.0


def test_values_near_the_float32_limit_do_not_overflow(tmp_path):
    x = torch.tensor([3e38, 3e38, -3e38, 3e38])
    torch.save({"x": x}, tmp_path / "big.pt")
    code, out, _ = inspect(tmp_path / "big.pt", "--json")
    (entry,) = strict_json(out)["tensors"]
    reference = x.double()
    assert code == 0 and entry["mean"] == pytest.approx(reference.mean().item())
    assert entry["std"] == pytest.approx(reference.std(correction=0).item())


def test_non_finite_numbers_are_strings_in_json(tmp_path):
    mask = torch.full((4, 4), float("-inf")).triu(1)
    torch.save({"mask": mask, "all-inf": torch.full((3,), float("-inf")), "best": float("-inf"),
                "history": [1.0, float("nan"), float("inf")]}, tmp_path / "mask.pt")
    code, out, _ = inspect(tmp_path / "mask.pt", "--json")
    data = strict_json(out)
    assert code == 0
    tensors = {t["name"]: t for t in data["tensors"]}
    assert tensors["mask"]["infs"] == 6 and tensors["all-inf"]["min"] is None
    assert data["values"] == [{"name": "best", "value": "-inf"}, {"name": "history", "value": [1.0, "nan", "inf"]}]


def test_the_listing_says_what_is_stored(tmp_path):
    torch.save({"e": torch.ones(1).expand(2**40), "w": torch.ones(3)}, tmp_path / "e.pt")
    checkpoint = open_checkpoint(tmp_path / "e.pt")
    e = checkpoint["e"]
    assert (e.numel, e.stored, e.nbytes, e.note) == (2**40, 1, 4, "expanded view of 1 stored value")
    assert checkpoint["w"].stored is None and checkpoint["w"].note == "" and checkpoint.nbytes == 16
    (result,) = probe("inspect", tmp_path / "e.pt")  # reading 2**40 elements must not happen, so capped
    total = result["out"].splitlines()[-1]
    assert total == "Total: 2 tensors, 1,099,511,627,779 elements, 16 bytes (stored values only)"
