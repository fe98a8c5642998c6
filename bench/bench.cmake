# Benchmarks: bench/bench_<name>.c -> bench_<name>; scripts/bench runs them all.
# Each prints one figure per line as "BENCH <name> <value> <unit>".
file(GLOB BENCH_SRC CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/bench/bench_*.c)
foreach(src ${BENCH_SRC})
  get_filename_component(name ${src} NAME_WE)
  add_executable(${name} ${src})
  target_link_libraries(${name} PRIVATE omjob_model omjob_kube omjob_ipc omjob_common nng::nng
    PkgConfig::CURL)
endforeach()
# Not a benchmark of its own (no bench_ prefix, so scripts/bench does not run it):
# the load generator and watch probes of bench/bench_lifecycle.sh, which uses the
# operator's own pod builder and Event recorder for its plain-client ceiling.
add_executable(lifecycle_driver ${CMAKE_SOURCE_DIR}/bench/lifecycle_driver.c)
target_link_libraries(lifecycle_driver PRIVATE omjob_reconciler m)
# Not a benchmark of its own either: the library floor of bench_lifecycle.sh's idle
# figures, linked exactly as the operator (the same libraries mapped).
add_executable(lib_floor ${CMAKE_SOURCE_DIR}/bench/lib_floor.c)
target_link_libraries(lib_floor PRIVATE omjob_supervisor omjob_watcher omjob_reconciler
  omjob_cleaner omjob_scheduler omjob_httpd omjob_elector)
# bench_watcher drives the watcher's cache itself.
target_link_libraries(bench_watcher PRIVATE omjob_watcher)
