"""The package on the CPU: import, compile to PTX, explain, the reference on
NumPy arrays, argument handling and errors. Runs in CI (no GPU)."""
import ctypes

import os

import numpy as np
import pytest

import einloom
from einloom import _spec


def test_imports_and_finds_its_library():
    assert einloom.version().startswith("einloom ")
    assert einloom.library_path.endswith(".so")
    assert einloom._capi.einloomApiVersion() >= 2


def test_compile_to_ptx_and_explain():
    k = einloom.compile("mk,nk->mn", {"m": 16, "n": 4096, "k": 4096}, "f16")
    assert ".entry" in k.ptx and "wgmma.mma_async" in k.ptx
    report = k.explain()
    assert "skinny: M=16, N=4096" in report
    assert k.plan.startswith("#loom.plan<") and "order = ba" in k.plan
    assert [b["shape"] for b in k.inputs] == [(16, 4096), (4096, 4096)]
    assert k.outputs[0]["dtype"] == "f16" and k.outputs[0]["shape"] == (16, 4096)
    assert "einsum 'mk,nk->mn'" in repr(k)


def test_compile_forms_of_sizes_dtype_and_target():
    a = einloom.compile("mk,nk->mn", "m=64,n=64,k=64", "half", target="sm_80")
    b = einloom.compile("mk,nk->mn", [(64, 64), (64, 64)], "float16", target="sm_80")
    assert a.target == b.target == "sm_80"
    assert "mma.sync.aligned.m16n8k16" in a.ptx and "mma.sync.aligned.m16n8k16" in b.ptx
    i8 = einloom.compile("mk,nk->mn", {"m": 64, "n": 64, "k": 64}, "int8")
    assert i8.outputs[0]["dtype"] == "i32"  # as torch._int_mm
    f8 = einloom.compile("mk,nk->mn", {"m": 64, "n": 64, "k": 64}, "e4m3", out_dtype="bf16")
    assert f8.inputs[0]["dtype"] == "f8E4M3FN" and f8.outputs[0]["dtype"] == "bf16"


def test_dynamic_dimension():
    k = einloom.compile("mk,nk->mn", {"m": 4096, "n": 256, "k": 64}, "f16", dynamic="m")
    assert k.dynamic == "m"
    assert k.dynamic_range == (1, 16384)
    assert k.inputs[0]["shape"] == (-1, 64)


def test_given_plan_is_used():
    plan = ("#loom.plan<tile_m = 64, tile_n = 64, tile_k = 64, warps_m = 2, warps_n = 2, "
            "mma = m16n8k16, stages = 3>")
    k = einloom.compile("mk,nk->mn", {"m": 128, "n": 128, "k": 128}, "f16", plan=plan)
    assert "given plan" in k.explain()


def test_compile_mlir_with_a_fused_epilogue():
    text = """
func.func @main(%a: tensor<64x128xf16>, %w: tensor<256x128xf16>, %b: tensor<256xf16>) -> tensor<64x256xf16> {
  %c = loom.einsum "mk,nk->mn" (%a, %w) : (tensor<64x128xf16>, tensor<256x128xf16>) -> tensor<64x256xf16>
  %d = loom.add %c, %b : tensor<64x256xf16>, tensor<256xf16>
  %e = loom.activation gelu %d : tensor<64x256xf16>
  return %e : tensor<64x256xf16>
}"""
    k = einloom.compile_mlir(text)
    assert len(k.inputs) == 3
    assert "fused epilogue" in k.explain()


def test_compile_mlir_with_fp8_block_scales():
    # Two fp8 dequantizes (activations per 1 x 128, weight per 128 x 128)
    # fuse into one block-scaled einsum on the TMA wgmma kernel.
    text = """
func.func @main(%xq: tensor<256x512xf8E4M3FN>, %sa: tensor<256x4xf32>, %wq: tensor<384x512xf8E4M3FN>, %sb: tensor<3x4xf32>) -> tensor<256x384xbf16> {
  %x = loom.dequantize %xq, %sa {quant = #loom.quant<bits = 8, kind = e4m3, granularity = group, axis = 1, group_size = 128, scale_type = f32>} : (tensor<256x512xf8E4M3FN>, tensor<256x4xf32>) -> tensor<256x512xbf16>
  %w = loom.dequantize %wq, %sb {quant = #loom.quant<bits = 8, kind = e4m3, granularity = block, group_size = 128, scale_type = f32>} : (tensor<384x512xf8E4M3FN>, tensor<3x4xf32>) -> tensor<384x512xbf16>
  %y = loom.einsum "mk,nk->mn" (%x, %w) : (tensor<256x512xbf16>, tensor<384x512xbf16>) -> tensor<256x384xbf16>
  return %y : tensor<256x384xbf16>
}"""
    k = einloom.compile_mlir(text)
    assert len(k.inputs) == 4
    assert [x["op"] for x in k.kernels] == ["einsum"]
    assert "block scales (one a row per 128 of K" in k.explain()
    with pytest.raises(einloom.Error, match="tensor-core math needs sm_89 or newer"):
        einloom.compile_mlir(text, target="sm_80")


def test_compile_mlir_with_a_gated_long_convolution():
    text = open(os.path.join(os.path.dirname(__file__), "..", "..", "examples",
                             "gated-conv.mlir")).read()
    k = einloom.compile_mlir(text)
    assert [x["op"] for x in k.kernels] == ["fftconv_spectrum", "fftconv"]
    assert k.kernels[1]["spec"] == "causal:0:1:1"
    assert len(k.inputs) == 4
    assert "Monarch kernel: padded length 2048 = 64 x 32" in k.explain()


def test_save_and_load(tmp_path):
    k = einloom.compile("mk,nk->mn", {"m": 32, "n": 32, "k": 32}, "f16")
    k.save(tmp_path / "k.bundle")
    back = einloom.load(tmp_path / "k.bundle")
    assert back.ptx == k.ptx and back.buffers == k.buffers


@pytest.mark.parametrize("spec,shapes", [
    ("mk,nk->mn", [(3, 5), (4, 5)]),
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
    ("ii->i", [(4, 4)]),
    ("ii,ij->j", [(5, 5), (5, 3)]),
    ("...ij,...jk->...ik", [(2, 1, 3, 4), (3, 4, 2)]),
    ("ij,ij", [(3, 4), (3, 4)]),           # implicit output: a scalar
    ("ij,j->ij", [(3, 4), (1,)]),          # size-1 broadcast
    ("abc,cd,de->ae", [(2, 3, 4), (4, 5), (5, 2)]),
])
def test_reference_matches_numpy(spec, shapes):
    rng = np.random.default_rng(7)
    arrays = [rng.standard_normal(s) for s in shapes]
    got = einloom.reference(spec, *arrays)
    want = np.einsum(spec, *arrays)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    # einsum on host arrays is the reference too
    np.testing.assert_allclose(einloom.einsum(spec, *arrays), want, rtol=1e-12, atol=1e-12)


def test_reference_rounds_to_the_types():
    a = np.array([[1.0, 2.0]], dtype=np.float16)
    b = np.array([[1e-4, 1.0]], dtype=np.float16)
    got = einloom.reference("mk,nk->mn", a, b)
    assert got.dtype == np.float16
    assert got[0, 0] == np.float16(float(a[0, 0]) * float(b[0, 0]) + 2.0)
    i = np.array([[100, 100]], dtype=np.int8)
    assert einloom.reference("mk,nk->mn", i, i).dtype == np.int32
    assert einloom.reference("mk,nk->mn", i, i)[0, 0] == 20000
    # a requantized i8 result saturates
    assert einloom.reference("mk,nk->mn", i, i, out_dtype="i8")[0, 0] == 127
    bf = einloom.reference("k,k->", np.array([1.0, 2.0 ** -9], np.float32),
                           np.array([1.0, 1.0], np.float32), out_dtype="bf16")
    assert float(bf) == 1.0  # 1 + 2^-9 rounds to 1 in bf16


def test_reference_out_argument():
    a = np.ones((2, 3))
    out = np.zeros((2,))
    r = einloom.einsum("ij->i", a, out=out, device="cpu")
    assert r is out and list(out) == [3.0, 3.0]


def test_errors_are_valueerrors_with_the_message():
    assert issubclass(einloom.Error, ValueError)
    with pytest.raises(einloom.Error, match="unknown element type"):
        einloom.compile("mk,nk->mn", {"m": 4, "n": 4, "k": 4}, "f17")
    with pytest.raises(einloom.Error, match="no size for label 'k'"):
        einloom.compile("mk,nk->mn", {"m": 4, "n": 4}, "f16")
    with pytest.raises(einloom.Error, match="invalid einsum"):
        einloom.compile("mk,nk-->mn", {"m": 4, "n": 4, "k": 4}, "f16")
    with pytest.raises(einloom.Error, match="has size 4 in one operand and 5"):
        einloom.reference("ij,jk->ik", np.ones((3, 4)), np.ones((5, 2)))
    with pytest.raises(einloom.Error, match="names 2 operand"):
        einloom.reference("ij,jk->ik", np.ones((3, 4)))
    with pytest.raises(einloom.Error, match="does not parse"):
        einloom.compile_mlir("func.func @main(")
    with pytest.raises(einloom.Error, match="different types"):
        einloom.reference("i,i->", np.ones(3, np.float32), np.ones(3, np.float64))
    with pytest.raises(einloom.Error, match="cannot open|No such file"):
        einloom.load("/nonexistent/x.bundle")
    with pytest.raises(einloom.Error, match="not a GPU array"):
        einloom.compile("mk,nk->mn", {"m": 4, "n": 4, "k": 4}, "f16")(object(), object())


def test_kernel_checks_its_operands_before_touching_anything():
    k = einloom.compile("mk,nk->mn", {"m": 4, "n": 4, "k": 4}, "f16")
    with pytest.raises(einloom.Error, match="takes 2 operand"):
        k(np.ones((4, 4)))
    with pytest.raises(einloom.Error, match="not a GPU array; einloom.einsum"):
        k(np.ones((4, 4), np.float16), np.ones((4, 4), np.float16))


def test_spec_parsing_matches_numpy_rules():
    assert _spec.parse("ij,jk", [2, 2]) == (["ij", "jk"], "ik")
    ins, out = _spec.parse("...ij,...jk->...ik", [4, 3])
    assert out[-2:] == "ik" and len(out) == 4 and ins[1][0] == out[1]
    assert _spec.parse("ii", [2]) == (["ii"], "")
    with pytest.raises(einloom.Error, match="repeats in the output"):
        _spec.parse("ij->ii", [2])
    with pytest.raises(einloom.Error, match="in no operand"):
        _spec.parse("ij->k", [2])
    assert _spec.dtype_name("bfloat16") == "bf16" and _spec.dtype_name(np.dtype("int8")) == "i8"


def test_the_library_refuses_bad_handles_without_crashing():
    capi = einloom._capi
    assert capi.einloomBundleDestroy(ctypes.c_void_p(12345)) != 0
    assert "not a live handle" in capi.einloomLastError().decode()
    assert capi.einloomReferenceEinsum(b"ij->i", 0, None, None, None, None, None, 0, None, 0,
                                       None) != 0


def test_gradient_specs():
    from einloom._spec import gradient_specs as g
    assert g("mk,nk->mn", [(4, 8), (3, 8)]) == ["mn,nk->mk", "mn,mk->nk"]
    assert g("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]) == ["bik,bjk->bij", "bik,bij->bjk"]
    assert g("ab,bc,cd->ad", [(2, 3), (3, 4), (4, 5)])[1] == "ad,ab,cd->bc"
    assert g("ii,ij->j", [(3, 3), (3, 4)]) is None      # a repeated label
    assert g("ij,jk->i", [(2, 3), (3, 4)]) is None      # k summed in one operand alone
    assert g("ij,jk->ik", [(2, 1), (3, 4)]) is None     # a broadcast dimension


W4_MLIR = """func.func @main(%x: tensor<16x256xf16>, %q: tensor<64x256xi4>, %s: tensor<64x2xf16>, %z: tensor<64x2xi8>) -> tensor<16x64xf16> {
  %w = loom.dequantize %q, %s, %z {quant = #loom.quant<bits = 4, kind = unsigned, scheme = asymmetric, granularity = group, axis = 1, group_size = 128, scale_type = f16>} : (tensor<64x256xi4>, tensor<64x2xf16>, tensor<64x2xi8>) -> tensor<64x256xf16>
  %y = loom.einsum "mk,nk->mn" (%x, %w) : (tensor<16x256xf16>, tensor<64x256xf16>) -> tensor<16x64xf16>
  return %y : tensor<16x64xf16>
}
"""


def test_quantized_weight_is_a_packed_buffer():
    k = einloom.compile_mlir(W4_MLIR, target="sm_80")
    layouts = [b["layout"] for b in k.buffers]
    assert layouts[1] == "a_fragment 4 unsigned"
    assert layouts[0] == layouts[2] == layouts[3] == ""


def test_pack_weight_layout_and_errors():
    codes = (np.arange(16)[:, None] + np.arange(64)[None, :]) % 16
    words = einloom.pack_weight(codes, bits=4)
    assert words.dtype == np.int32 and words.shape == (16 * 64 // 8,)
    # Lane 0's first word: fields (row, k) (0,0) (8,0) (0,8) (8,8) (0,1) (8,1)
    # (0,9) (8,9) of docs/dialect.md's a_fragment layout.
    assert np.uint32(words[0]) == 0x19910880
    # Every code is stored once: the same codes shifted by one differ in
    # every word.
    assert (einloom.pack_weight((codes + 1) % 16, bits=4) != words).all()
    signed = einloom.pack_weight(codes - 8, bits=4, signed=True)
    assert np.uint32(signed[0]) == 0x19910880 ^ 0x88888888
    # 3 bits: three words a lane; word 2 holds register j's high bits at j
    # and j + 16 (docs/dialect.md).
    c3 = (3 * np.arange(16)[:, None] + 5 * np.arange(64)[None, :]) % 8
    w3 = einloom.pack_weight(c3, bits=3)
    assert w3.shape == (16 * 64 * 3 // 32,)
    want = 0
    for j in range(16):
        for h in range(2):
            ks, r = j // 4, j % 4
            code = c3[8 * (r % 2), 16 * ks + 8 * (r // 2) + h]
            want |= int(code >> 2) << (j + 16 * h)
    assert np.uint32(w3[2]) == want and want != 0
    with pytest.raises(einloom.Error, match="must lie in"):
        einloom.pack_weight(codes, bits=2)
    with pytest.raises(einloom.Error, match="N % 16"):
        einloom.pack_weight(codes[:8], bits=4)
    with pytest.raises(einloom.Error, match="integer array"):
        einloom.pack_weight(codes.astype(np.float32), bits=4)


def test_sparse_weight_buffers_and_packing():
    # A tiled_csl weight: the kernel takes the activations, the words and
    # the offsets (one per 64 x 64 tile, plus one).
    k = einloom.compile("mk,nk->mn", {"m": 8, "n": 200, "k": 256}, sparse="tiled_csl",
                        target="sm_80")
    assert [b["layout"] for b in k.inputs] == ["", "tiled_csl 64 64", "tiled_csl_offsets"]
    assert k.inputs[2]["shape"] == (4 * 4 + 1,)
    assert "producer = tiled_csl" in k.plan
    w = np.zeros((200, 256), dtype=np.float16)
    w[0, 0], w[0, 9], w[199, 255] = 1.0, -2.0, 0.5
    w[3, 3] = -0.0  # a zero of either sign is left out
    words, offsets = einloom.pack_sparse(w)
    assert words.dtype == offsets.dtype == np.int32 and offsets.shape == (17,)
    # Tile 0 holds two words, tile 15 one, each padded to 4.
    assert list(offsets[:2]) == [0, 4] and offsets[15] == 4 and offsets[16] == 8
    assert len(words) == 8
    # (199, 255) is (7, 63) of tile 15: swizzled slot 7*64 + 8*(7 ^ 7) + 7.
    assert np.uint32(words[4]) == (7 * 64 + 7) << 16 | 0x3800
    einloom.check_sparse(words, offsets, w.shape)
    bad = offsets.copy()
    bad[1] = 2
    with pytest.raises(einloom.Error, match="corrupt tiled_csl data"):
        einloom.check_sparse(words, bad, w.shape)
    with pytest.raises(einloom.Error, match="corrupt tiled_csl data"):
        einloom.check_sparse(words, offsets, (100, 256))
    with pytest.raises(einloom.Error, match="f16 or bf16"):
        einloom.pack_sparse(w.astype(np.float32))
    with pytest.raises(einloom.Error, match="tiled_csl"):
        einloom.compile("mk,nk->mn", {"m": 8, "n": 200, "k": 256}, sparse="csr")
    with pytest.raises(einloom.Error, match="multiple of 8"):
        einloom.compile("mk,nk->mn", {"m": 8, "n": 200, "k": 100}, sparse="tiled_csl")


def test_bitmap_weight_buffers():
    # A bitmap weight: the kernel takes the activations, the values, the
    # masks (a bit per element of 4 x 4 tiles of 64 x 64) and the offsets:
    # the order einloom.pack_bitmap returns them in.
    k = einloom.compile("mk,nk->mn", {"m": 8, "n": 200, "k": 256}, sparse="bitmap",
                        target="sm_80")
    assert [b["layout"] for b in k.inputs] == ["", "bitmap 64 64", "bitmap_masks",
                                               "bitmap_offsets"]
    assert k.inputs[2]["shape"] == (16 * 64 * 64 // 32,)
    assert k.inputs[3]["shape"] == (17,)
    assert "producer = bitmap" in k.plan
    values, masks, offsets = einloom.pack_bitmap(np.eye(200, 256, dtype=np.float16))
    assert masks.shape == k.inputs[2]["shape"] and offsets.shape == k.inputs[3]["shape"]
    k128 = einloom.compile("mk,nk->mn", {"m": 8, "n": 200, "k": 256}, sparse="bitmap:128")
    assert k128.inputs[1]["layout"] == "bitmap 128 64"
    with pytest.raises(einloom.Error, match="bitmap"):
        einloom.compile("mk,nk->mn", {"m": 8, "n": 200, "k": 256}, sparse="bitmap:96")


def test_block_csr_weight_buffers_and_packing():
    # A block-sparse weight: the kernel takes the activations, the stored
    # blocks, the column indices (a slot per block of the weight) and the
    # row pointers; pack_block_csr returns them in that order.
    k = einloom.compile("mk,nk->mn", {"m": 8, "n": 192, "k": 256}, sparse="block_csr")
    assert [b["layout"] for b in k.inputs] == ["", "block_csr 64 64", "block_csr_col_idx",
                                               "block_csr_row_ptr"]
    assert k.inputs[2]["shape"] == (12,) and k.inputs[3]["shape"] == (4,)
    assert "producer = block_csr" in k.plan
    w = np.zeros((192, 256), dtype=np.float16)
    w[0, 70] = 1.0      # block (0, 1)
    w[130, 255] = -2.0  # block (2, 3)
    w[64, 0] = -0.0     # a zero of either sign stores nothing
    blocks, col_idx, row_ptr = einloom.pack_block_csr(w)
    assert list(row_ptr) == [0, 1, 1, 2]
    assert list(col_idx[:2]) == [1, 3] and col_idx.shape == (12,)
    assert blocks.shape == (2, 64, 64)
    assert blocks[0, 0, 6] == 0x3c00 and blocks[1, 2, 63] == 0xc000
    assert int((blocks != 0).sum()) == 2
    with pytest.raises(einloom.Error, match="multiples of 64"):
        einloom.pack_block_csr(w[:100])
    with pytest.raises(einloom.Error, match="multiples of 64"):
        einloom.compile("mk,nk->mn", {"m": 8, "n": 100, "k": 256}, sparse="block_csr")


def test_sparse_format_chosen_by_density():
    # sparse="auto@P": the planner's estimates pick the format; the inputs'
    # layouts say which (a nearly dense weight is read dense).
    sizes = {"m": 16, "n": 28672, "k": 8192}
    sparse = einloom.compile("mk,nk->mn", sizes, sparse="auto@5")
    assert sparse.inputs[1]["layout"] == "tiled_csl 64 64"
    moderate = einloom.compile("mk,nk->mn", sizes, sparse="auto@40")
    assert moderate.inputs[1]["layout"] == "bitmap 64 64"
    dense = einloom.compile("mk,nk->mn", sizes, sparse="auto@95")
    assert [b["layout"] for b in dense.inputs] == ["", ""]
    with pytest.raises(einloom.Error, match="percentage"):
        einloom.compile("mk,nk->mn", sizes, sparse="auto@0")


def test_two_four_weight_buffers():
    # A 2:4 weight: the kernel takes the activations, the values (N x K/2,
    # K bytes a row) and the metadata (N x K/16 16-bit words).
    k = einloom.compile("mk,nk->mn", {"m": 8, "n": 200, "k": 256}, sparse="two_four",
                        target="sm_80")
    assert [b["layout"] for b in k.inputs] == ["", "two_four", "two_four_meta"]
    assert k.inputs[1]["shape"] == (200, 256) and k.inputs[2]["shape"] == (200, 16)
    assert "producer = two_four" in k.plan
    with pytest.raises(einloom.Error, match="multiple of 16"):
        einloom.compile("mk,nk->mn", {"m": 8, "n": 200, "k": 200}, sparse="two_four")


def test_pack_two_four():
    # 2:4 as docs/dialect.md lays it out: decoding the metadata gives back
    # the weight (pruned by magnitude where asked).
    rng = np.random.default_rng(5)
    w = rng.standard_normal((6, 32)).astype(np.float16)
    values, meta = einloom.pack_two_four(w, prune=True)
    assert values.dtype == meta.dtype == np.uint16
    assert values.shape == (6, 16) and meta.shape == (6, 2)
    want = w.copy()
    for r in range(6):
        for g in range(0, 32, 4):
            small = np.argsort(-np.abs(want[r, g:g + 4]).astype(np.float32), kind="stable")[2:]
            want[r, g + small] = 0
    got = np.zeros_like(w)
    for r in range(6):
        for g in range(8):
            field = (int(meta[r, g // 4]) >> (4 * (g % 4))) & 0xF
            i0, i1 = field & 3, field >> 2
            assert i0 < i1
            got[r, 4 * g + i0] = values[r, 2 * g:2 * g + 1].view(np.float16)[0]
            got[r, 4 * g + i1] = values[r, 2 * g + 1:2 * g + 2].view(np.float16)[0]
    assert np.array_equal(got, want)
    # The pruned weight is 2:4 already: packing it unpruned gives the same.
    v2, m2 = einloom.pack_two_four(want)
    assert np.array_equal(v2, values) and np.array_equal(m2, meta)
    with pytest.raises(einloom.Error, match="more than 2 nonzeros"):
        einloom.pack_two_four(w)
    with pytest.raises(einloom.Error, match="K % 16 == 0"):
        einloom.pack_two_four(w[:, :24], prune=True)
    with pytest.raises(einloom.Error, match="f16 or bf16"):
        einloom.pack_two_four(w.astype(np.float32))


def test_pack_bitmap():
    # The bitmap layout of docs/dialect.md, decoded here: the marked values
    # in (block, half, bit) order from each tile's offset.
    rng = np.random.default_rng(9)
    w = rng.standard_normal((70, 104)).astype(np.float16)
    w[rng.random(w.shape) < 0.6] = 0
    values, masks, offsets = einloom.pack_bitmap(w)
    assert values.dtype == np.uint16 and masks.dtype == offsets.dtype == np.int32
    assert offsets.shape == (5,) and masks.shape == (4 * 128,)
    got = np.zeros_like(w)
    for t in range(4):
        at = int(offsets[t])
        for b in range(64):
            for h in range(2):
                m = int(masks[2 * (t * 64 + b) + h]) & 0xFFFFFFFF
                for q in range(32):
                    if m >> q & 1:
                        r = (t // 2) * 64 + 8 * (b // 8) + 4 * h + q // 8
                        c = (t % 2) * 64 + 8 * (b % 8) + q % 8
                        got[r, c] = values[at:at + 1].view(np.float16)[0]
                        at += 1
        assert at <= offsets[t + 1] and offsets[t + 1] % 8 == 0
    assert np.array_equal(got, w)
    einloom.check_bitmap(values, masks, offsets, w.shape)
    bad = masks.copy()
    bad[2 * (2 * 64 + 63) + 1] |= 1 << 31  # tile 2 row 63: row 127, outside
    with pytest.raises(einloom.Error, match="corrupt bitmap data"):
        einloom.check_bitmap(values, bad, offsets, w.shape)
    with pytest.raises(einloom.Error, match="bitmap"):
        einloom.pack_bitmap(w, tile_rows=12)


SHARDED_MLP = """
func.func @mlp(%x: tensor<8x64xf16>, %w1: tensor<256x64xf16>, %w2: tensor<64x256xf16>)
    -> tensor<8x64xf16> attributes {loom.mesh = #loom.mesh<["tp" = 4]>} {
  %h = loom.einsum "th,fh->tf" (%x, %w1) {loom.shard = {f = "tp"}}
      : (tensor<8x64xf16>, tensor<256x64xf16>) -> tensor<8x256xf16>
  %a = loom.activation gelu %h : tensor<8x256xf16>
  %y = loom.einsum "tf,hf->th" (%a, %w2) {loom.shard = {f = "tp"}}
      : (tensor<8x256xf16>, tensor<64x256xf16>) -> tensor<8x64xf16>
  return %y : tensor<8x64xf16>
}
"""


def test_sharded_kernel_mesh_slices_and_communicator_errors(monkeypatch):
    k = einloom.compile_mlir(SHARDED_MLP)
    assert k.mesh == [("tp", 4)] and k.ranks == 4
    assert [b["sharding"] for b in k.inputs] == [(), ("tp", ""), ("", "tp")]
    assert [b["shape"] for b in k.inputs] == [(8, 64), (64, 64), (64, 64)]
    assert k.outputs[0]["sharding"] == () and k.outputs[0]["shape"] == (8, 64)
    assert any(kk["op"] == "all_reduce" for kk in k.kernels)
    # Each rank's slice of the whole weights: w1 by rows, w2 by columns.
    w1 = np.arange(256 * 64).reshape(256, 64)
    w2 = np.arange(64 * 256).reshape(64, 256)
    assert (k.local_slice(1, w1, 2) == w1[128:192]).all()
    assert (k.local_slice(2, w2, 3) == w2[:, 192:]).all()
    assert k.local_slice(0, w1[:8, :64], 1).shape == (8, 64)  # whole on every rank
    with pytest.raises(einloom.Error, match="rank 4 is not in the mesh"):
        k.local_slice(1, w1, 4)
    with pytest.raises(einloom.Error, match="does not split over the 4 ranks"):
        k.local_slice(1, w1[:250], 0)
    with pytest.raises(einloom.Error, match="takes an einloom.Communicator"):
        k.use_communicator(object())
    plain = einloom.compile("mk,nk->mn", "m=16,n=16,k=16", "f16")
    assert plain.mesh == [] and plain.ranks == 1
    assert all(b["sharding"] == () for b in plain.buffers)
    with pytest.raises(einloom.Error, match="not sharded"):
        plain.use_communicator(None)
    # Where no NCCL can be loaded, a clear error (not a crash).
    monkeypatch.setenv("EINLOOM_LIBNCCL", "/nonexistent/libnccl.so.2")
    with pytest.raises(einloom.Error, match="cannot load NCCL"):
        einloom.Communicator.unique_id()
    with pytest.raises(einloom.Error, match="128 bytes"):
        einloom.Communicator(b"short", 2, 0)


def test_block_mask_compiles_with_the_mask_as_last_input():
    # A mask per batch and head: one byte a 128 x 128 block of the scores.
    k = einloom.compile("bhqd,bhkd->bhqk", {"b": 2, "h": 3, "q": 300, "d": 64, "k": 500},
                        dtype="bf16", block_mask="128x128:fill=-inf")
    assert len(k.inputs) == 3
    assert k.inputs[2]["shape"] == (2, 3, 3, 4) and k.inputs[2]["dtype"] == "i8"
    assert "tile_m = 128, tile_n = 128" in k.plan
    shared = einloom.compile("bhqd,bhkd->bhqk", {"b": 2, "h": 3, "q": 300, "d": 64, "k": 500},
                             dtype="bf16", block_mask="64x64:shared", target="sm_80")
    assert shared.inputs[2]["shape"] == (5, 8)
    with pytest.raises(einloom.Error, match="BMxBN"):
        einloom.compile("qd,kd->qk", {"q": 64, "d": 64, "k": 64}, block_mask="64")
    with pytest.raises(einloom.Error, match="fill= takes a number"):
        einloom.compile("qd,kd->qk", {"q": 64, "d": 64, "k": 64}, block_mask="64x64:fill=x")
    with pytest.raises(einloom.Error, match="no plan fits"):
        einloom.compile("qd,kd->qk", {"q": 64, "d": 64, "k": 64}, block_mask="16x16")
    # The compiler parses the mask (the C API's einloomCompileEinsumMasked),
    # from shapes too, and --explain's report tells of it.
    from_shapes = einloom.compile("qd,kd->qk", [(100, 64), (200, 64)], block_mask="64x64:shared")
    assert from_shapes.inputs[2]["shape"] == (2, 4)
    assert "block mask: one byte a 64x64 tile" in from_shapes.explain()
    with pytest.raises(einloom.Error, match="bad block mask '64x64:oops'"):
        einloom.compile("qd,kd->qk", {"q": 64, "d": 64, "k": 64}, block_mask="64x64:oops")
    with pytest.raises(einloom.Error, match="no sparse= or dynamic="):
        einloom.compile("qd,kd->qk", {"q": 64, "d": 64, "k": 64}, block_mask="64x64",
                        dynamic="q")
