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
