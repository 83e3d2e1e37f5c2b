// The a_fragment layout stores every code once: unpack(pack(q)) == q for
// 2-, 4- and 8-bit codes, signed and unsigned (evaluated by the reference,
// not folded away: -canonicalize is not run here).
// RUN: einloom-run --reference %s --seed 5 --print-values 4096 > %t
// RUN: FileCheck %s --input-file %t
// RUN: /usr/bin/python3 -c "import sys; t=open('%t').read().split('result #'); vals=[x.split('values:')[1] for x in t[1:]]; assert len(vals)==6, len(vals); assert vals[0]==vals[1] and vals[2]==vals[3] and vals[4]==vals[5], 'round trip differs'"
// CHECK: result #5
func.func @main(%q4: tensor<32x128xi4>, %q8: tensor<16x64xi8>, %q2: tensor<48x64xi4>)
    -> (tensor<32x128xi4>, tensor<32x128xi4>, tensor<16x64xi8>, tensor<16x64xi8>, tensor<48x64xi4>, tensor<48x64xi4>) {
  %p4 = loom.pack %q4 {layout = #loom.layout<format = a_fragment, bits = 4, kind = signed>} : (tensor<32x128xi4>) -> tensor<512xi32>
  %u4 = loom.unpack %p4 {layout = #loom.layout<format = a_fragment, bits = 4, kind = signed>} : (tensor<512xi32>) -> tensor<32x128xi4>
  %p8 = loom.pack %q8 {layout = #loom.layout<format = a_fragment, bits = 8, kind = signed>} : (tensor<16x64xi8>) -> tensor<256xi32>
  %u8 = loom.unpack %p8 {layout = #loom.layout<format = a_fragment, bits = 8, kind = signed>} : (tensor<256xi32>) -> tensor<16x64xi8>
  %p2 = loom.pack %q2 {layout = #loom.layout<format = a_fragment, bits = 2, kind = unsigned>} : (tensor<48x64xi4>) -> tensor<192xi32>
  %u2 = loom.unpack %p2 {layout = #loom.layout<format = a_fragment, bits = 2, kind = unsigned>} : (tensor<192xi32>) -> tensor<48x64xi4>
  return %q4, %u4, %q8, %u8, %q2, %u2 : tensor<32x128xi4>, tensor<32x128xi4>, tensor<16x64xi8>, tensor<16x64xi8>, tensor<48x64xi4>, tensor<48x64xi4>
}
