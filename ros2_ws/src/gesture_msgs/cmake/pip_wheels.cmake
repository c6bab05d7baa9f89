# Build fix for ROS 2 installed from PyPI wheels (pip-only machines); harmless elsewhere.
#
# The wheels' exported CMake targets (<pkg>::<pkg>__rosidl_generator_py) carry the include
# directories of the machine that built them (/opt/python/cp311-cp311/include/python3.11 and that
# interpreter's numpy headers). Passed as -DCMAKE_PROJECT_INCLUDE=<this file>, this runs once the
# whole CMakeLists.txt is configured and replaces every such directory that does not exist here
# with this interpreter's (sysconfig) and numpy's (numpy.get_include()). Configure with
# -DPython3_EXECUTABLE=<the venv's python> so that it is the interpreter that runs the nodes; its
# prefix (where the wheels put share/ and lib/) is added to CMAKE_PREFIX_PATH and to the ament index
# path (AMENT_PREFIX_PATH of this configure run), so that the wheels' packages and typesupports are found.

if(Python3_EXECUTABLE)
  execute_process(COMMAND "${Python3_EXECUTABLE}" -c "import sys; print(sys.prefix)"
                  OUTPUT_VARIABLE _gesture_prefix OUTPUT_STRIP_TRAILING_WHITESPACE)
  list(PREPEND CMAKE_PREFIX_PATH "${_gesture_prefix}")
  if(NOT "$ENV{AMENT_PREFIX_PATH}" MATCHES "(^|:)${_gesture_prefix}(:|$)")
    if("$ENV{AMENT_PREFIX_PATH}" STREQUAL "")
      set(ENV{AMENT_PREFIX_PATH} "${_gesture_prefix}")
    else()
      set(ENV{AMENT_PREFIX_PATH} "${_gesture_prefix}:$ENV{AMENT_PREFIX_PATH}")
    endif()
  endif()
endif()

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
