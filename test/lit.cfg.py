# -*- Python -*-
import os
import lit.formats
from lit.llvm import llvm_config

config.name = "Einloom"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test"]
config.excludes = ["Inputs", "CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py", "unit", "gpu"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.einloom_obj_root, "test")

config.substitutions.append(("%PYTHON", config.python_executable))
config.substitutions.append(("%inputs", os.path.join(config.test_source_root, "Inputs")))

llvm_config.with_system_environment(["HOME", "TMPDIR", "PATH"])
llvm_config.use_default_substitutions()
tool_dirs = [config.einloom_tools_dir, config.llvm_tools_dir]
llvm_config.add_tool_substitutions(["einloom-opt", "einloom-run-rt", "einloom-run", "einloom-compile", "einloom-tune", "einloom-import"], tool_dirs)
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)

# ptxas comes with the CUDA toolkit, which CI machines may lack; tests that
# assemble kernels say REQUIRES: ptxas and are reported UNSUPPORTED without it.
import shutil
ptxas = os.environ.get("EINLOOM_PTXAS") or ("/usr/local/cuda/bin/ptxas" if os.access("/usr/local/cuda/bin/ptxas", os.X_OK) else shutil.which("ptxas"))
if ptxas:
    config.available_features.add("ptxas")
# NCCL's header (the toolkit's, or EINLOOM_NCCL_INCLUDE): the runtime's
# declarations of NCCL's ABI are checked against it (test/Target/nccl-abi.test).
nccl_include = os.environ.get("EINLOOM_NCCL_INCLUDE") or "/usr/local/cuda/include"
if os.path.exists(os.path.join(nccl_include, "nccl.h")) and shutil.which("c++"):
    config.available_features.add("nccl-header")
    config.substitutions.append(("%nccl_include", nccl_include))
# The CUDA toolkit's cuda.h: the runtime's copies of driver structures are
# checked against it (test/Target/driver-abi.test).
cuda_include = os.environ.get("EINLOOM_CUDA_INCLUDE") or "/usr/local/cuda/include"
if os.path.exists(os.path.join(cuda_include, "cuda.h")) and shutil.which("c++"):
    config.available_features.add("cuda-header")
    config.substitutions.append(("%cuda_include", cuda_include))
config.substitutions.append(("%runtime_include", os.path.join(os.path.dirname(__file__), "..", "runtime", "include")))
