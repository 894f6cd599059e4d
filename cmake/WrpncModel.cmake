# WrpncModel.cmake: generate C from an ONNX model at build time.
#
#   include(path/to/WrpncModel.cmake)
#   wrpnc_add_model(my_model                       # a static library target
#       MODEL ${CMAKE_SOURCE_DIR}/model.onnx
#       NAME  net                                  # symbol prefix: net_run, NET_WORKSPACE_BYTES
#       [ISA generic|avx2|avx512|neon]             # default generic
#       [INPUT_SHAPES image=1x1x28x28 ...]
#       [OPTIONS --weights c ...])                 # any further wrpnc compile options
#   target_link_libraries(app PRIVATE my_model)    # then #include "net.h"
#
# The wrpnc executable is WRPNC_EXECUTABLE, or found on PATH.
function(wrpnc_add_model target)
  cmake_parse_arguments(W "" "MODEL;NAME;ISA" "INPUT_SHAPES;OPTIONS" ${ARGN})
  if(NOT W_MODEL OR NOT W_NAME)
    message(FATAL_ERROR "wrpnc_add_model(${target}): MODEL and NAME are required")
  endif()
  if(NOT W_ISA)
    set(W_ISA generic)
  endif()
  if(NOT WRPNC_EXECUTABLE)
    find_program(WRPNC_EXECUTABLE wrpnc REQUIRED)
  endif()
  set(out ${CMAKE_CURRENT_BINARY_DIR}/wrpnc_${W_NAME})
  set(shape_args "")
  foreach(s ${W_INPUT_SHAPES})
    list(APPEND shape_args --input-shape ${s})
  endforeach()
  set(srcs ${out}/${W_NAME}.c)
  if("--weights;c" IN_LIST W_OPTIONS OR "c" IN_LIST W_OPTIONS)
    list(APPEND srcs ${out}/${W_NAME}_weights.c)
  endif()
  add_custom_command(
    OUTPUT ${srcs} ${out}/${W_NAME}.h
    COMMAND ${WRPNC_EXECUTABLE} compile ${W_MODEL} -o ${out} --name ${W_NAME}
            --target ${W_ISA} ${shape_args} ${W_OPTIONS}
    DEPENDS ${W_MODEL} ${WRPNC_EXECUTABLE}
    COMMENT "wrpnc: compiling ${W_MODEL} to ${W_NAME}.c (${W_ISA})"
    VERBATIM)
  add_library(${target} STATIC ${srcs})
  target_include_directories(${target} PUBLIC ${out})
  set_target_properties(${target} PROPERTIES C_STANDARD 99)
  if(W_ISA STREQUAL "avx2")
    target_compile_options(${target} PRIVATE -mavx2 -mfma -mbmi2 -mpopcnt)
  elseif(W_ISA STREQUAL "avx512")
    target_compile_options(${target} PRIVATE -mavx2 -mfma -mbmi2 -mpopcnt -mavx512f -mavx512bw
                           -mavx512vl -mavx512dq -mavx512vpopcntdq -mavx512vnni)
  endif()
  find_library(WRPNC_LIBM m)
  if(WRPNC_LIBM)
    target_link_libraries(${target} PUBLIC ${WRPNC_LIBM})
  endif()
endfunction()
