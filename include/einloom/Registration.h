//===- Registration.h - dialects and passes Einloom uses --------*- C++ -*-===//
#ifndef EINLOOM_REGISTRATION_H
#define EINLOOM_REGISTRATION_H

namespace mlir {
class DialectRegistry;
} // namespace mlir

namespace einloom {
/// Registers loom and the upstream dialects (with their extensions and
/// translation interfaces) that Einloom's pipelines produce.
/// Every upstream dialect, extension and translation, and ours (einloom-opt).
void registerAllDialects(mlir::DialectRegistry &registry);
/// Only what the compiler pipeline (planning, kernels, PTX) needs: sessions
/// and the compile tools use this.
void registerCompilerDialects(mlir::DialectRegistry &registry);
/// Registers Einloom's passes and the upstream passes its pipelines use.
void registerAllPasses();
} // namespace einloom

#endif
