# freezeprobe_stage(NAME SOURCES... [LINKS libs...] [PRIVATE_LINKS libs...])
# One library per folder of the data flow (userspace/<stage>/, fixtures/): a static library
# freezeprobe_<NAME> whose folder is its public include directory. A stage links only the stages
# below it (util <- probe, cgroup <- pipeline <- output <- app <- fixtures), so a header of a
# higher stage cannot be included from a lower one: the build fails.
function(freezeprobe_stage name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LINKS;PRIVATE_LINKS" ${ARGN})
  add_library(freezeprobe_${name} STATIC ${ARG_SOURCES})
  target_include_directories(freezeprobe_${name} PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
  target_compile_options(freezeprobe_${name} PRIVATE -Wall -Wextra)
  target_link_libraries(freezeprobe_${name} PUBLIC ${ARG_LINKS} PRIVATE ${ARG_PRIVATE_LINKS})
endfunction()
