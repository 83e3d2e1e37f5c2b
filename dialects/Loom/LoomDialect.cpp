//===- LoomDialect.cpp - the loom dialect ---------------------------------===//
#include "Loom/LoomDialect.h"
#include "Loom/LoomOps.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::loom;

#include "Loom/LoomDialect.cpp.inc"
#include "Loom/LoomEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "Loom/LoomAttrs.cpp.inc"

void LoomDialect::initialize() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "Loom/LoomAttrs.cpp.inc"
      >();
  addOperations<
#define GET_OP_LIST
#include "Loom/LoomOps.cpp.inc"
      >();
}

// (MeshAttr is parsed here, where its storage is defined.)
//===----------------------------------------------------------------------===//
// MeshAttr: #loom.mesh<["dp" = 2, "tp" = 4]>
//===----------------------------------------------------------------------===//

Attribute MeshAttr::parse(AsmParser &parser, Type) {
  SmallVector<StringAttr> names;
  SmallVector<int64_t> sizes;
  auto axis = [&]() -> ParseResult {
    std::string name;
    int64_t size;
    if (parser.parseString(&name) || parser.parseEqual() || parser.parseInteger(size))
      return failure();
    names.push_back(StringAttr::get(parser.getContext(), name));
    sizes.push_back(size);
    return success();
  };
  if (parser.parseLess() ||
      parser.parseCommaSeparatedList(AsmParser::Delimiter::Square, axis) ||
      parser.parseGreater())
    return {};
  return getChecked([&] { return parser.emitError(parser.getNameLoc()); }, parser.getContext(),
                    names, sizes);
}

void MeshAttr::print(AsmPrinter &printer) const {
  printer << "<[";
  llvm::interleaveComma(llvm::zip(getNames(), getSizes()), printer, [&](auto axis) {
    printer << "\"" << std::get<0>(axis).getValue() << "\" = " << std::get<1>(axis);
  });
  printer << "]>";
}

LogicalResult MeshAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                               ArrayRef<StringAttr> names, ArrayRef<int64_t> sizes) {
  if (names.empty())
    return emitError() << "a mesh needs at least one axis";
  if (names.size() != sizes.size())
    return emitError() << "a mesh needs one size per axis";
  for (auto [i, name] : llvm::enumerate(names)) {
    if (name.getValue().empty())
      return emitError() << "mesh axis " << i << " has an empty name";
    if (sizes[i] < 1)
      return emitError() << "mesh axis \"" << name.getValue() << "\" has size " << sizes[i]
                         << "; sizes are at least 1";
    for (size_t j = 0; j < i; ++j)
      if (names[j] == name)
        return emitError() << "mesh axis \"" << name.getValue() << "\" appears twice";
  }
  return success();
}

int64_t MeshAttr::getAxisSize(StringRef name) const {
  for (auto [n, s] : llvm::zip(getNames(), getSizes()))
    if (n.getValue() == name)
      return s;
  return 0;
}

int64_t MeshAttr::getNumRanks() const {
  int64_t n = 1;
  for (int64_t s : getSizes())
    n *= s;
  return n;
}

int64_t MeshAttr::getAxisIndex(StringRef name, int64_t rank) const {
  int64_t stride = 1;
  for (int64_t i = static_cast<int64_t>(getSizes().size()) - 1; i >= 0; --i) {
    if (getNames()[i].getValue() == name)
      return rank / stride % getSizes()[i];
    stride *= getSizes()[i];
  }
  return 0;
}
