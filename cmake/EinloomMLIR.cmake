# Finds MLIR 22 (Debian's llvm-22 packages) and sets up TableGen for our dialect.
# We link the shared libMLIR.so / libLLVM.so: fast links and small tools. A
# fully static build for the GPU host (JIT) is a separate configuration.
set(EINLOOM_LLVM_ROOT "/usr/lib/llvm-22" CACHE PATH "LLVM/MLIR 22 install prefix")
find_package(MLIR REQUIRED CONFIG HINTS "${EINLOOM_LLVM_ROOT}/lib/cmake/mlir")
message(STATUS "Einloom: MLIR from ${MLIR_DIR}, LLVM ${LLVM_PACKAGE_VERSION}")

list(APPEND CMAKE_MODULE_PATH "${MLIR_CMAKE_DIR}" "${LLVM_CMAKE_DIR}")
set(LLVM_RUNTIME_OUTPUT_INTDIR ${CMAKE_BINARY_DIR}/bin)
set(LLVM_LIBRARY_OUTPUT_INTDIR ${CMAKE_BINARY_DIR}/lib)
set(MLIR_BINARY_DIR ${CMAKE_BINARY_DIR})
include(TableGen)
include(AddLLVM)
include(AddMLIR)
include(HandleLLVMOptions)

include_directories(SYSTEM ${LLVM_INCLUDE_DIRS} ${MLIR_INCLUDE_DIRS})
include_directories(${PROJECT_SOURCE_DIR}/include ${PROJECT_SOURCE_DIR}/dialects
                    ${PROJECT_BINARY_DIR}/dialects ${PROJECT_BINARY_DIR}/include)
separate_arguments(LLVM_DEFINITIONS_LIST NATIVE_COMMAND ${LLVM_DEFINITIONS})
add_definitions(${LLVM_DEFINITIONS_LIST})

set(CMAKE_RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bin)

# Everything that uses MLIR links these two shared libraries...
set(EINLOOM_MLIR_LIBS MLIR LLVM)
# ...except in the static configuration (scripts/build-static-jit.sh): the
# JIT programs that run the compiler on the GPU host, which has no LLVM,
# link LLVM's and MLIR's static component libraries (only the objects they
# use are pulled in) and a static libstdc++.
option(EINLOOM_STATIC_LLVM "Link LLVM/MLIR statically (the GPU host's JIT programs)" OFF)
if(EINLOOM_STATIC_LLVM)
  set(EINLOOM_MLIR_LIBS)
  foreach(kind DIALECT CONVERSION EXTENSION TRANSLATION)
    get_property(libs GLOBAL PROPERTY MLIR_${kind}_LIBS)
    foreach(lib ${libs})
      if(NOT lib MATCHES "Test")
        list(APPEND EINLOOM_MLIR_LIBS ${lib})
      endif()
    endforeach()
  endforeach()
  list(APPEND EINLOOM_MLIR_LIBS MLIRRegisterAllDialects MLIRRegisterAllPasses
       MLIRRegisterAllExtensions MLIRGPUPipelines MLIRNVVMTarget MLIRTargetLLVM MLIRParser
       MLIRPass MLIRTransforms MLIRSupport MLIRIR LLVMNVPTXCodeGen LLVMNVPTXDesc LLVMNVPTXInfo)
  add_link_options(-static-libstdc++ -static-libgcc -Wl,--as-needed)
  # System libraries LLVMSupport names by imported target (only linked where
  # an object that is pulled in needs them).
  # Debian's MLIR archives name the LLVM dylib; point that target at LLVM's
  # static component archives instead.
  set(EINLOOM_LLVM_STATIC_LIBS)
  foreach(lib ${LLVM_AVAILABLE_LIBS})
    if(lib MATCHES "^LLVM.+" AND NOT lib MATCHES "^LLVM(TableGen|FuzzerCLI|FuzzMutate|FileCheck|Exegesis|SupportLSP|Testing|Debuginfod|LineEditor|Interpreter|WindowsManifest|Polly|Extensions|LTO|DTLTO|BOLT.*|OptDriver|CFIVerify|Diff|Exegesis.*)$")
      list(APPEND EINLOOM_LLVM_STATIC_LIBS ${lib})
    endif()
  endforeach()
  # Archives that refer to each other in every order: one linker group.
  set(CMAKE_CXX_LINK_EXECUTABLE
      "<CMAKE_CXX_COMPILER> <FLAGS> <CMAKE_CXX_LINK_FLAGS> <LINK_FLAGS> <OBJECTS> -o <TARGET> -Wl,--start-group <LINK_LIBRARIES> -Wl,--end-group")
  # The same for libEinloom.so (the Python package's library); a version
  # script exports only Einloom's own symbols (cmake/einloom-static.map).
  set(CMAKE_CXX_CREATE_SHARED_LIBRARY
      "<CMAKE_CXX_COMPILER> <CMAKE_SHARED_LIBRARY_CXX_FLAGS> <LANGUAGE_COMPILE_FLAGS> <LINK_FLAGS> <CMAKE_SHARED_LIBRARY_CREATE_CXX_FLAGS> <SONAME_FLAG><TARGET_SONAME> -o <TARGET> <OBJECTS> -Wl,--start-group <LINK_LIBRARIES> -Wl,--end-group -Wl,--version-script=${CMAKE_CURRENT_LIST_DIR}/einloom-static.map")
  set_target_properties(LLVM PROPERTIES
    IMPORTED_LOCATION_RELEASE "${LLVM_LIBRARY_DIR}/libLLVMSupport.a"
    IMPORTED_LOCATION_RELWITHDEBINFO "${LLVM_LIBRARY_DIR}/libLLVMSupport.a"
    IMPORTED_LOCATION "${LLVM_LIBRARY_DIR}/libLLVMSupport.a"
    IMPORTED_NO_SONAME TRUE
    INTERFACE_LINK_LIBRARIES "${EINLOOM_LLVM_STATIC_LIBS}")
  foreach(pair "zstd::libzstd_shared=/usr/lib/x86_64-linux-gnu/libzstd.so.1" "ZLIB::ZLIB=z" "LibXml2::LibXml2=xml2")
    string(REPLACE "=" ";" pair "${pair}")
    list(GET pair 0 target)
    list(GET pair 1 lib)
    if(NOT TARGET ${target})
      add_library(${target} INTERFACE IMPORTED)
      set_target_properties(${target} PROPERTIES INTERFACE_LINK_LIBRARIES ${lib})
    endif()
  endforeach()
endif()
if(NOT LLVM_PACKAGE_VERSION VERSION_GREATER_EQUAL 22 OR LLVM_PACKAGE_VERSION VERSION_GREATER_EQUAL 23)
  message(FATAL_ERROR "Einloom needs LLVM/MLIR 22, found ${LLVM_PACKAGE_VERSION}")
endif()
