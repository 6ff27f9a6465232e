# Finds libtorch for the shim and for programs measured against it (bench/native), and sets
# XMOD_TORCH_INCLUDES, XMOD_TORCH_LIBS and XMOD_WITH_CUDA. In this order:
#   1. LIBTORCH_DIR (env or -D) holding share/cmake/Torch/TorchConfig.cmake, e.g. an official
#      (CPU or CUDA) libtorch zip: find_package(Torch) supplies its flags and CUDA libraries;
#   2. otherwise headers and libraries under LIBTORCH_DIR or the system prefix (Debian's
#      libtorch-dev, which ships no TorchConfig.cmake).
if(NOT LIBTORCH_DIR AND DEFINED ENV{LIBTORCH_DIR})
  set(LIBTORCH_DIR $ENV{LIBTORCH_DIR})
endif()

set(XMOD_TORCH_LIBS "")
set(XMOD_TORCH_INCLUDES "")
set(XMOD_WITH_CUDA OFF)
if(LIBTORCH_DIR AND EXISTS "${LIBTORCH_DIR}/share/cmake/Torch/TorchConfig.cmake")
  list(APPEND CMAKE_PREFIX_PATH "${LIBTORCH_DIR}")
  find_package(Torch REQUIRED CONFIG)
  set(XMOD_TORCH_LIBS ${TORCH_LIBRARIES})
  set(XMOD_TORCH_INCLUDES ${TORCH_INCLUDE_DIRS})
  string(APPEND CMAKE_CXX_FLAGS " ${TORCH_CXX_FLAGS}")
  if(TARGET torch_cuda OR TORCH_CUDA_LIBRARIES)
    set(XMOD_WITH_CUDA ON)
  endif()
else()
  set(_hints "")
  if(LIBTORCH_DIR)
    set(_hints HINTS "${LIBTORCH_DIR}")
  endif()
  find_path(TORCH_API_INCLUDE torch/torch.h ${_hints}
            PATH_SUFFIXES include/torch/csrc/api/include torch/csrc/api/include)
  find_path(TORCH_ATEN_INCLUDE ATen/ATen.h ${_hints} PATH_SUFFIXES include)
  find_library(TORCH_CPU_LIB torch_cpu ${_hints} PATH_SUFFIXES lib)
  find_library(TORCH_LIB torch ${_hints} PATH_SUFFIXES lib)
  find_library(C10_LIB c10 ${_hints} PATH_SUFFIXES lib)
  if(NOT TORCH_API_INCLUDE OR NOT TORCH_ATEN_INCLUDE OR NOT TORCH_CPU_LIB OR NOT C10_LIB)
    message(FATAL_ERROR "XMOD: libtorch not found: install libtorch-dev (scripts/install-deps) or set LIBTORCH_DIR=/path/to/libtorch")
  endif()
  set(XMOD_TORCH_INCLUDES ${TORCH_ATEN_INCLUDE} ${TORCH_API_INCLUDE})
  set(XMOD_TORCH_LIBS ${TORCH_CPU_LIB} ${C10_LIB})
  if(TORCH_LIB)
    list(APPEND XMOD_TORCH_LIBS ${TORCH_LIB})
  endif()
  find_library(TORCH_CUDA_LIB torch_cuda ${_hints} PATH_SUFFIXES lib)
  find_library(C10_CUDA_LIB c10_cuda ${_hints} PATH_SUFFIXES lib)
  if(TORCH_CUDA_LIB AND C10_CUDA_LIB)
    list(APPEND XMOD_TORCH_LIBS ${TORCH_CUDA_LIB} ${C10_CUDA_LIB})
    set(XMOD_WITH_CUDA ON)
  endif()
endif()

