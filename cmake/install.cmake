# `cmake --install <build> --prefix P` installs, for programs outside this tree (README: "Use
# attograd in your own project"; tests/install/run.sh checks all of it):
#   P/include/attograd/<folder>/*.h       every public header: #include <attograd/core/core.h>
#   P/lib/libattograd.a (or .so)          the library, as BUILD_SHARED_LIBS chose
#   P/lib/cmake/attograd/                 the CMake package: find_package(attograd 0.2) gives the
#                                         imported target attograd::attograd
#   P/lib/pkgconfig/attograd.pc           the same for pkg-config
# Nothing else of the tree (examples, tests, benchmarks) is installed.
include(CMakePackageConfigHelpers)

set(ATTOGRAD_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/attograd)

install(TARGETS attograd EXPORT attograd-targets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/attograd/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/attograd
        FILES_MATCHING PATTERN "*.h")
install(EXPORT attograd-targets NAMESPACE attograd:: DESTINATION ${ATTOGRAD_INSTALL_CMAKEDIR})

# The dependencies a user's build must find, as the library links them (CMakeLists.txt): those of
# the public headers always; those of the .cpp files only where the library is static, since a
# shared one carries its own references to them.
get_target_property(attograd_type attograd TYPE)
if(attograd_type STREQUAL "STATIC_LIBRARY")
  set(ATTOGRAD_STATIC_LIBRARY TRUE)
else()
  set(ATTOGRAD_STATIC_LIBRARY FALSE)
endif()

configure_package_config_file(${CMAKE_CURRENT_SOURCE_DIR}/cmake/attograd-config.cmake.in
                              ${CMAKE_CURRENT_BINARY_DIR}/attograd-config.cmake
                              INSTALL_DESTINATION ${ATTOGRAD_INSTALL_CMAKEDIR})
# 0.x: a minor version may change the API, so 0.2 accepts 0.2.* only.
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/attograd-config-version.cmake
                                 VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/attograd-config.cmake ${CMAKE_CURRENT_BINARY_DIR}/attograd-config-version.cmake
        DESTINATION ${ATTOGRAD_INSTALL_CMAKEDIR})

# attograd.pc finds its prefix from its own place (${pcfiledir}), so it is right for any --prefix.
# A static library's dependencies go in Requires (pkg-config --libs must list them for the link);
# a shared one's in Requires.private.
set(ATTOGRAD_PC_PREFIX "\${pcfiledir}")
cmake_path(APPEND CMAKE_INSTALL_LIBDIR pkgconfig OUTPUT_VARIABLE pc_dir)
string(REGEX REPLACE "[^/]+" ".." pc_dir_up "${pc_dir}")
string(APPEND ATTOGRAD_PC_PREFIX "/${pc_dir_up}")
set(pc_private "hdf5 zlib")
if(ATTOGRAD_WITH_MPI)
  string(APPEND pc_private " ompi-c")  # Open MPI's pkg-config name
endif()
if(ATTOGRAD_STATIC_LIBRARY)
  set(ATTOGRAD_PC_REQUIRES "fmt nlohmann_json ${pc_private}")
  set(ATTOGRAD_PC_REQUIRES_PRIVATE "")
else()
  set(ATTOGRAD_PC_REQUIRES "fmt nlohmann_json")
  set(ATTOGRAD_PC_REQUIRES_PRIVATE "${pc_private}")
endif()
configure_file(${CMAKE_CURRENT_SOURCE_DIR}/cmake/attograd.pc.in ${CMAKE_CURRENT_BINARY_DIR}/attograd.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/attograd.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
