// RUN: einloom-opt %s -split-input-file -loom-select-plan="target=sm_90a" -loom-lower-to-kernels="target=sm_90a" | FileCheck %s

// The sm_90a default where TMA can describe both operands: a persistent,
// warp-specialized kernel. 384 threads (a producer warpgroup and two
// consumers), one CTA per SM so that setmaxnreg applies. One thread
// initialises a full and an empty mbarrier per stage (full: 1 arrival plus
// the copied bytes; empty: one arrival per consumer warp). The producer
// gives up registers, waits for an empty stage, arms the full barrier with
// the stage's bytes and issues two TMA copies (A at (k, m), B at (k, n)).
// The consumers take registers, wait for a full stage, run four wgmma,
// keep one K tile in flight and release the previous stage.
// CHECK-LABEL: func.func @tma
// CHECK: loom.launch = {block = array<i64: 384, 1, 1>, grid = array<i64: 132, 1, 1>
// CHECK-SAME: persistent
// CHECK-SAME: tensor_maps = [{box = array<i64: 64, 128>, dims = array<i64: 1024, 2048>, element_bytes = 2 : i64, operand = 0 : i64, strides = array<i64: 2048>, swizzle = 128 : i64}, {box = array<i64: 64, 256>, dims = array<i64: 1024, 4096>, element_bytes = 2 : i64, operand = 1 : i64, strides = array<i64: 2048>, swizzle = 128 : i64}, {box = array<i64: 64, 64>, dims = array<i64: 4096, 2048>, element_bytes = 2 : i64, operand = 2 : i64, strides = array<i64: 8192>, swizzle = 128 : i64}]
// CHECK-SAME: producer = tma
// CHECK: gpu.func @tma_einsum0(%{{.*}}: memref<4194304xi8>, %{{.*}}: memref<8388608xi8>, %{{.*}}: memref<16777216xi8>, %{{.*}}: memref<384xi8>) kernel
// CHECK-SAME: nvvm.maxntid = array<i32: 384, 1, 1>, nvvm.minctasm = 1 : i32
// CHECK-COUNT-4: nvvm.mbarrier.init
// CHECK: nvvm.fence.mbarrier.init
// CHECK: nvvm.prefetch tensormap
// CHECK: gpu.barrier
// CHECK: nvvm.setmaxregister decrease 40
// CHECK: scf.for
// CHECK: scf.for
// CHECK: nvvm.mbarrier.try_wait.parity
// CHECK: nvvm.mbarrier.arrive.expect_tx {{.*}}, %{{.*}} :
// CHECK: nvvm.cp.async.bulk.tensor.shared.cluster.global {{.*}} box[
// CHECK: nvvm.cp.async.bulk.tensor.shared.cluster.global {{.*}} box[
// CHECK: } else {
// CHECK: nvvm.setmaxregister increase 232
// CHECK: nvvm.mbarrier.try_wait.parity
// CHECK: nvvm.wgmma.fence.aligned
// CHECK-COUNT-4: wgmma.mma_async.sync.aligned.m64n256k16.f32.f16.f16
// CHECK: nvvm.wgmma.wait.group.sync.aligned 1
// CHECK: nvvm.mbarrier.arrive
// CHECK: nvvm.wgmma.wait.group.sync.aligned 0
// CHECK: nvvm.mbarrier.arrive
// The 16-bit result goes through shared memory: per 64-column block, wait
// until the buffer's previous store has read it, a warpgroup barrier, the
// converted pairs, the proxy fence, a barrier, one TMA store.
// CHECK: nvvm.cp.async.bulk.wait_group 0 {read}
// CHECK: nvvm.barrier id = %{{.*}} number_of_threads = %{{.*}}
// CHECK-COUNT-16: vector.store {{.*}} : memref<4096xf16, #gpu.address_space<workgroup>>, vector<2xf16>
// CHECK: fence.proxy.async.shared::cta
// CHECK: nvvm.barrier
// CHECK: nvvm.cp.async.bulk.tensor.global.shared.cta
// CHECK: nvvm.cp.async.bulk.commit.group
// CHECK: nvvm.cp.async.bulk.wait_group 1 {read}
// CHECK: nvvm.cp.async.bulk.wait_group 0
// CHECK-NOT: {read}
// CHECK: gpu.return
func.func @tma(%a: tensor<2048x1024xf16>, %b: tensor<4096x1024xf16>) -> tensor<2048x4096xf16> {
  %c = loom.einsum "mk,nk->mn" (%a, %b) : (tensor<2048x1024xf16>, tensor<4096x1024xf16>) -> tensor<2048x4096xf16>
  return %c : tensor<2048x4096xf16>
}

// -----

// A batch becomes the third dimension of both tensor maps (box extent 1).
// An f32 result is staged in blocks of 64 rows by 32 columns (128 bytes)
// and stored with TMA through a third map, whose box is 32 x 64 x 1.
// CHECK-LABEL: func.func @tma_batched
// CHECK: tensor_maps = [{box = array<i64: 64, 128, 1>, dims = array<i64: 512, 1024, 4>, element_bytes = 2 : i64, operand = 0 : i64, strides = array<i64: 1024, 1048576>
// CHECK-SAME: {box = array<i64: 32, 64, 1>, dims = array<i64: 1024, 1024, 4>, element_bytes = 4 : i64, operand = 2 : i64, strides = array<i64: 4096, 4194304>
// CHECK: gpu.func @tma_batched_einsum0({{.*}}memref<384xi8>)
// CHECK-COUNT-8: vector.store {{.*}} : memref<2048xf32, #gpu.address_space<workgroup>>, vector<2xf32>
// CHECK: nvvm.cp.async.bulk.tensor.global.shared.cta
func.func @tma_batched(%a: tensor<4x1024x512xbf16>, %b: tensor<4x1024x512xbf16>) -> tensor<4x1024x1024xf32> {
  %c = loom.einsum "bmk,bnk->bmn" (%a, %b) : (tensor<4x1024x512xbf16>, tensor<4x1024x512xbf16>) -> tensor<4x1024x1024xf32>
  return %c : tensor<4x1024x1024xf32>
}

// -----

// cluster_m = 2: two CTAs along M share each B tile. Each copies half of it
// (a 128-row box) and multicasts it to both; consumers release a stage on
// the empty barrier of every CTA in the cluster; cluster barriers after the
// barrier set-up and before exit.
// CHECK-LABEL: func.func @tma_cluster
// CHECK: cluster = 2 : i64
// CHECK-SAME: {box = array<i64: 64, 128>, dims = array<i64: 1024, 4096>, element_bytes = 2 : i64, operand = 1 : i64
// CHECK: gpu.func @tma_cluster_einsum0
// CHECK-SAME: nvvm.cluster_dim = array<i32: 2, 1, 1>
// CHECK: nvvm.cluster.arrive
// CHECK: nvvm.cluster.wait
// CHECK: nvvm.cp.async.bulk.tensor.shared.cluster.global {{.*}} box[
// CHECK: nvvm.cp.async.bulk.tensor.shared.cluster.global {{.*}} box[{{.*}}] multicast_mask =
// CHECK: nvvm.mapa
// CHECK: nvvm.mapa
// CHECK: nvvm.cluster.arrive
// CHECK-NEXT: nvvm.cluster.wait
// CHECK-NEXT: gpu.return
func.func @tma_cluster(%a: tensor<2048x1024xf16>, %b: tensor<4096x1024xf16>) -> tensor<2048x4096xf16> {
  %c = loom.einsum "mk,nk->mn" (%a, %b) {plan = #loom.plan<tile_m = 128, tile_n = 256, tile_k = 64, warps_m = 8, warps_n = 1, mma = wgmma_k16, stages = 4, producer = tma, raster = swizzle, swizzle = 8, cluster_m = 2>} : (tensor<2048x1024xf16>, tensor<4096x1024xf16>) -> tensor<2048x4096xf16>
  return %c : tensor<2048x4096xf16>
}

// -----

// Operands contiguous along M (A stored K x M) and N (B stored K x N): the
// tensor maps are transposed (M or N innermost, then K) with 64 x 64 boxes,
// copied once per 64 rows of the tile (2 for A, 4 for B), and wgmma reads
// both transposed (the last two immediates).
// CHECK-LABEL: func.func @tma_transposed
// CHECK: layout_a = "mn-major (TMA)", layout_b = "mn-major (TMA)"
// CHECK-SAME: tensor_maps = [{box = array<i64: 64, 64>, dims = array<i64: 2048, 1024>, element_bytes = 2 : i64, operand = 0 : i64, strides = array<i64: 4096>, swizzle = 128 : i64}, {box = array<i64: 64, 64>, dims = array<i64: 4096, 1024>, element_bytes = 2 : i64, operand = 1 : i64, strides = array<i64: 8192>
// CHECK: gpu.func @tma_transposed_einsum0
// CHECK-COUNT-6: nvvm.cp.async.bulk.tensor.shared.cluster.global
// CHECK: } else {
// CHECK-COUNT-4: wgmma.mma_async.sync.aligned.m64n256k16.f32.f16.f16 {{.*}}, p, 1, 1, 1, 1;
func.func @tma_transposed(%a: tensor<1024x2048xf16>, %b: tensor<1024x4096xf16>) -> tensor<2048x4096xf16> {
  %c = loom.einsum "km,kn->mn" (%a, %b) : (tensor<1024x2048xf16>, tensor<1024x4096xf16>) -> tensor<2048x4096xf16>
  return %c : tensor<2048x4096xf16>
}

// -----

// 8-bit operands contiguous along M: wgmma has no transposed form for them,
// so sm_90a keeps mma.sync.
// CHECK-LABEL: func.func @transposed_8bit
// CHECK: mma = m16n8k32
func.func @transposed_8bit(%a: tensor<1024x2048xi8>, %b: tensor<1024x4096xi8>) -> tensor<2048x4096xi32> {
  %c = loom.einsum "km,kn->mn" (%a, %b) : (tensor<1024x2048xi8>, tensor<1024x4096xi8>) -> tensor<2048x4096xi32>
  return %c : tensor<2048x4096xi32>
}
