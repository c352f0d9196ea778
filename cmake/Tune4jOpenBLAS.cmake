# OpenBLAS from the unpacked org.bytedeco:openblas platform jar (OPENBLAS_ROOT).
# The jar's own CMake config names lib/libopenblas.so, which the jar does not ship,
# so the imported target points at libopenblas.so.0 directly.
set(OPENBLAS_ROOT "" CACHE PATH "directory holding include/cblas.h and libopenblas.so.0")
find_path(OPENBLAS_INCLUDE_DIR cblas.h PATHS ${OPENBLAS_ROOT}/include NO_DEFAULT_PATH)
find_file(OPENBLAS_LIBRARY libopenblas.so.0 PATHS ${OPENBLAS_ROOT} NO_DEFAULT_PATH)
if(NOT OPENBLAS_INCLUDE_DIR OR NOT OPENBLAS_LIBRARY)
  message(FATAL_ERROR "OpenBLAS not found under OPENBLAS_ROOT='${OPENBLAS_ROOT}'. "
                      "Build through Maven (mvn package), which unpacks it from the org.bytedeco:openblas jar.")
endif()
add_library(openblas SHARED IMPORTED)
set_target_properties(openblas PROPERTIES
  IMPORTED_LOCATION ${OPENBLAS_LIBRARY}
  IMPORTED_NO_SONAME FALSE
  INTERFACE_INCLUDE_DIRECTORIES ${OPENBLAS_INCLUDE_DIR})
