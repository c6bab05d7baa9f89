# Build fix for ROS 2 installed from PyPI wheels (pip-only machines); does nothing elsewhere.
#
# Included by CMakeLists.txt before any find_package, so that a plain `colcon build` works in an
# activated virtual environment (as `make colcon` runs it):
#   - the interpreter is Python3_EXECUTABLE, else the one FindPython3 finds (the active venv's);
#     if its prefix holds no ament_cmake (share/ament_cmake_core), ROS 2 is not from the wheels
#     there and this file returns at once;
#   - that prefix (where the wheels put share/ and lib/) is added to CMAKE_PREFIX_PATH and to the
#     ament index path (AMENT_PREFIX_PATH of this configure run), so that the wheels' packages and
#     typesupports are found; BUILD_TESTING defaults to OFF (the linters' CMake packages are not
#     among the wheels);
#   - the wheels' exported CMake targets (<pkg>::<pkg>__rosidl_generator_py) carry the include
#     directories of the machine that built them (/opt/python/cp311-cp311/include/python3.11 and
#     that interpreter's numpy headers): once the whole CMakeLists.txt is configured, every such
#     directory that does not exist here is replaced with this interpreter's (sysconfig) and
#     numpy's (numpy.get_include()).

if(NOT Python3_EXECUTABLE)
  find_package(Python3 REQUIRED COMPONENTS Interpreter)
endif()
execute_process(COMMAND "${Python3_EXECUTABLE}" -c "import sys; print(sys.prefix)"
                OUTPUT_VARIABLE _gesture_prefix OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT EXISTS "${_gesture_prefix}/share/ament_cmake_core")
  return()
endif()
message(STATUS "pip_wheels.cmake: ROS 2 from the Python wheels of ${_gesture_prefix}")
list(PREPEND CMAKE_PREFIX_PATH "${_gesture_prefix}")
if(NOT "$ENV{AMENT_PREFIX_PATH}" MATCHES "(^|:)${_gesture_prefix}(:|$)")
  if("$ENV{AMENT_PREFIX_PATH}" STREQUAL "")
    set(ENV{AMENT_PREFIX_PATH} "${_gesture_prefix}")
  else()
    set(ENV{AMENT_PREFIX_PATH} "${_gesture_prefix}:$ENV{AMENT_PREFIX_PATH}")
  endif()
endif()
option(BUILD_TESTING "Build the tests" OFF)

function(_gesture_fix_wheel_include_dirs)
  if(NOT Python3_EXECUTABLE)
    find_package(Python3 REQUIRED COMPONENTS Interpreter)
  endif()
  execute_process(
    COMMAND "${Python3_EXECUTABLE}" -c
            "import sysconfig, numpy; print(sysconfig.get_paths()['include']); print(numpy.get_include())"
    OUTPUT_VARIABLE _out OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE _rc)
  if(NOT _rc EQUAL 0)
    message(FATAL_ERROR "pip_wheels.cmake: ${Python3_EXECUTABLE} cannot report its include directories "
                        "(is numpy installed in it?)")
  endif()
  string(REPLACE "\n" ";" _out "${_out}")
  list(GET _out 0 _python_include)
  list(GET _out 1 _numpy_include)
  get_property(_targets DIRECTORY "${CMAKE_SOURCE_DIR}" PROPERTY IMPORTED_TARGETS)
  set(_fixed 0)
  foreach(_target IN LISTS _targets)
    get_target_property(_dirs ${_target} INTERFACE_INCLUDE_DIRECTORIES)
    if(NOT _dirs)
      continue()
    endif()
    set(_new "")
    set(_changed FALSE)
    foreach(_dir IN LISTS _dirs)
      if(NOT EXISTS "${_dir}" AND _dir MATCHES "/include/python3\\.[0-9]+$")
        list(APPEND _new "${_python_include}")
        set(_changed TRUE)
      elseif(NOT EXISTS "${_dir}" AND _dir MATCHES "/numpy/(_core/)?include$")
        list(APPEND _new "${_numpy_include}")
        set(_changed TRUE)
      else()
        list(APPEND _new "${_dir}")
      endif()
    endforeach()
    if(_changed)
      list(REMOVE_DUPLICATES _new)
      set_target_properties(${_target} PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${_new}")
      math(EXPR _fixed "${_fixed} + 1")
    endif()
  endforeach()
  message(STATUS "pip_wheels.cmake: include directories of ${_fixed} wheel target(s) point to "
                 "${_python_include} and ${_numpy_include}")
endfunction()

cmake_language(DEFER DIRECTORY "${CMAKE_SOURCE_DIR}" CALL _gesture_fix_wheel_include_dirs)
