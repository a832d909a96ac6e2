# Debian 12's libxsimd-dev (8.1) exports a target `xsimd` whose
# INTERFACE_LINK_LIBRARIES names `xtl`, but its xsimdConfig.cmake never looks
# for xtl. Without an `xtl` target every executable linking xsimd gets a bogus
# `-lxtl` and fails to link. If xtl is available use it, otherwise drop the
# dangling name (xsimd only needs xtl for optional xtl::xcomplex support).
# Used by rmsmp's own CMakeLists.txt and installed next to rmsmpConfig.cmake.
if(TARGET xsimd AND NOT TARGET xtl)
  get_target_property(_rmsmp_xsimd_libs xsimd INTERFACE_LINK_LIBRARIES)
  if(_rmsmp_xsimd_libs AND "xtl" IN_LIST _rmsmp_xsimd_libs)
    find_package(xtl QUIET CONFIG)
    if(NOT TARGET xtl)
      list(REMOVE_ITEM _rmsmp_xsimd_libs xtl)
      set_target_properties(xsimd PROPERTIES INTERFACE_LINK_LIBRARIES "${_rmsmp_xsimd_libs}")
    endif()
  endif()
  unset(_rmsmp_xsimd_libs)
endif()
