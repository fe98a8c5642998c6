# Test wiring: unit tests (CUnit, one executable per module), fuzz corpora run as
# ordinary tests, libFuzzer targets (OMJOB_FUZZ), and integration tests that share
# one real control plane per run through the "cluster" CTest fixture.
set(OMJOB_TEST_LIBS omjob_kube omjob_ipc omjob_common)

# Unit tests: tests/unit/test_<module>.c -> unit_<module>; valgrind_<module> too
# when valgrind is there and the build is not sanitized.
find_program(VALGRIND valgrind)
# Under ThreadSanitizer a report fails the test (exit 66), suppressions aside.
set(OMJOB_TSAN_ENV "")
if(OMJOB_TSAN)
  set(OMJOB_TSAN_ENV
    "TSAN_OPTIONS=halt_on_error=1 exitcode=66 second_deadlock_stack=1 suppressions=${CMAKE_SOURCE_DIR}/tests/tsan.supp")
  # The operator's processes under test write their reports here instead; a
  # restarted role would hide its exit code, so scripts/test fails on any file.
  set(OMJOB_TSAN_PROC_ENV
    "TSAN_OPTIONS=exitcode=66 second_deadlock_stack=1 suppressions=${CMAKE_SOURCE_DIR}/tests/tsan.supp log_path=${CMAKE_BINARY_DIR}/tsan-reports/report")
endif()
file(GLOB UNIT_TESTS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/unit/test_*.c)
file(GLOB UNIT_SUPPORT CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/unit/support/*.c)
foreach(src ${UNIT_TESTS})
  get_filename_component(name ${src} NAME_WE)
  string(REPLACE "test_" "" mod ${name})
  add_executable(${name} ${src} ${UNIT_SUPPORT})
  # A module's test links only its own library, so one module's work in
  # progress never breaks another's tests.
  if(mod MATCHES "^kube")
    set(libs omjob_kube PkgConfig::CURL)
  elseif(mod MATCHES "^ipc")
    set(libs omjob_ipc nng::nng)
  elseif(mod MATCHES "^common|^log|^cfg|^json|^metrics|^util")
    set(libs omjob_common)
  elseif(mod MATCHES "^cron|^tz")
    set(libs omjob_cron)
  elseif(mod MATCHES "^(watcher|reconciler|cleaner|scheduler|httpd|supervisor|runtime|model|workq|elector)")
    string(REGEX REPLACE "_.*" "" lib ${mod})
    set(libs omjob_${lib} nng::nng PkgConfig::CURL)
  else()
    message(FATAL_ERROR "tests/unit/${name}.c: name it test_<library>_<topic>.c")
  endif()
  target_link_libraries(${name} PRIVATE ${libs} PkgConfig::CUNIT)
  target_include_directories(${name} PRIVATE ${CMAKE_SOURCE_DIR}/tests/unit)
  add_test(NAME unit_${mod} COMMAND ${name})
  # Modules that run threads (the watcher's cache, IPC's reply workers, the
  # control socket, httpd, the worker threads of lib/workq and those of the
  # cleaner and the scheduler on them) are labelled threads: `make tsan` runs them.
  set(labels unit)
  if(mod MATCHES "^(watcher|ipc|runtime_ctl|httpd|workq_pool|cleaner_pool|scheduler_pool)")
    set(labels "unit;threads")
  endif()
  set_tests_properties(unit_${mod} PROPERTIES LABELS "${labels}" TIMEOUT 120
    ENVIRONMENT "OMJOB_TEST_DATA=${CMAKE_SOURCE_DIR}/tests/unit/data;${OMJOB_TSAN_ENV}")
  if(VALGRIND AND NOT OMJOB_SANITIZE AND NOT OMJOB_TSAN AND NOT OMJOB_COVERAGE)
    add_test(NAME valgrind_${mod} COMMAND ${VALGRIND} --quiet --error-exitcode=99
      --suppressions=${CMAKE_SOURCE_DIR}/tests/unit/valgrind.supp --leak-check=full --show-leak-kinds=definite,indirect,possible
      --errors-for-leak-kinds=definite,indirect,possible $<TARGET_FILE:${name}>)
    set_tests_properties(valgrind_${mod} PROPERTIES LABELS "unit;valgrind" TIMEOUT 600
      ENVIRONMENT "OMJOB_TEST_DATA=${CMAKE_SOURCE_DIR}/tests/unit/data;OMJOB_UNDER_VALGRIND=1")
  endif()
endforeach()

# Fuzz targets: tests/fuzz/fuzz_<name>.c defines LLVMFuzzerTestOneInput. Its corpus
# (tests/fuzz/corpus/<name>/) always runs through a plain driver; with OMJOB_FUZZ
# and clang the libFuzzer binary fuzz_<name> is built as well.
file(GLOB FUZZ_TARGETS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_*.c)
foreach(src ${FUZZ_TARGETS})
  get_filename_component(name ${src} NAME_WE)
  string(REPLACE "fuzz_" "" fz ${name})
  add_executable(corpus_${fz} ${src} ${CMAKE_SOURCE_DIR}/tests/fuzz/standalone.c)
  target_link_libraries(corpus_${fz} PRIVATE ${OMJOB_TEST_LIBS} nng::nng PkgConfig::CURL)
  add_test(NAME fuzz_corpus_${fz} COMMAND corpus_${fz}
    ${CMAKE_SOURCE_DIR}/tests/fuzz/corpus/${fz})
  set_tests_properties(fuzz_corpus_${fz} PROPERTIES LABELS "unit;fuzz" TIMEOUT 300)
  if(OMJOB_FUZZ AND CMAKE_C_COMPILER_ID MATCHES "Clang")
    add_executable(${name} ${src})
    target_link_options(${name} PRIVATE -fsanitize=fuzzer)
    target_link_libraries(${name} PRIVATE ${OMJOB_TEST_LIBS} nng::nng PkgConfig::CURL)
  endif()
endforeach()

# The schedule library's fuzz targets (fuzz_cron*, fuzz_tz*) link omjob_cron.
foreach(src ${FUZZ_TARGETS})
  get_filename_component(name ${src} NAME_WE)
  string(REPLACE "fuzz_" "" fz ${name})
  if(fz MATCHES "^cron|^tz")
    target_link_libraries(corpus_${fz} PRIVATE omjob_cron)
    if(TARGET ${name})
      target_link_libraries(${name} PRIVATE omjob_cron)
    endif()
  endif()
endforeach()

# Differential test of lib/cron against robfig/cron/v3, Kubernetes' CronJob parser
# (tests/crondiff/run.sh: a few seconds once Go's caches are warm; skipped without Go).
add_test(NAME unit_crondiff COMMAND bash ${CMAKE_SOURCE_DIR}/tests/crondiff/run.sh
  $<TARGET_FILE:test_cron>)
set_tests_properties(unit_crondiff PROPERTIES LABELS unit TIMEOUT 300 SKIP_RETURN_CODE 77)

# Integration tests share one control plane: cluster_up (FIXTURES_SETUP) writes
# ${CMAKE_BINARY_DIR}/cluster.env, cluster_down (FIXTURES_CLEANUP) stops it. With
# OMJOB_TEST_CLUSTER=external in the environment both reuse a running cluster.
set(CLUSTER_ENV ${CMAKE_BINARY_DIR}/cluster.env)
add_test(NAME cluster_up COMMAND ${CMAKE_SOURCE_DIR}/tests/cluster/fixture up ${CLUSTER_ENV})
set_tests_properties(cluster_up PROPERTIES FIXTURES_SETUP cluster LABELS integration
  TIMEOUT 3600)
add_test(NAME cluster_down COMMAND ${CMAKE_SOURCE_DIR}/tests/cluster/fixture down ${CLUSTER_ENV})
set_tests_properties(cluster_down PROPERTIES FIXTURES_CLEANUP cluster LABELS integration
  TIMEOUT 120)

set(WITH_CLUSTER ${CMAKE_SOURCE_DIR}/tests/cluster/with-cluster ${CLUSTER_ENV})
# Under ASan the operator's processes read tests/lsan.supp (leaks that are not ours).
set(OMJOB_LSAN_ENV "")
if(OMJOB_SANITIZE)
  set(OMJOB_LSAN_ENV
    ";LSAN_OPTIONS=suppressions=${CMAKE_SOURCE_DIR}/tests/lsan.supp print_suppressions=0")
endif()
function(omjob_integration_test name timeout)
  add_test(NAME ${name} COMMAND ${WITH_CLUSTER} ${ARGN})
  set_tests_properties(${name} PROPERTIES FIXTURES_REQUIRED cluster LABELS integration
    TIMEOUT ${timeout} ENVIRONMENT
    "OMJOB_BIN=$<TARGET_FILE:omjob-operator>;OMJOB_SRC=${CMAKE_SOURCE_DIR};OMJOB_BUILD_DIR=${CMAKE_BINARY_DIR}${OMJOB_LSAN_ENV}")
  # Integration tests create OMJobs, and the scenario tests run whole operators
  # watching every namespace, whose reconcilers would act on any test's OMJobs: they
  # take turns. Unit and process tests (which watch a namespace nobody uses) still
  # run beside them.
  if(name MATCHES "^it_")
    set_tests_properties(${name} PROPERTIES RESOURCE_LOCK omjob_operator)
  endif()
endfunction()

# Shell tests: tests/cluster/selftest*.sh and tests/integration/*.sh.
file(GLOB SH_ITESTS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/cluster/test_*.sh
  ${CMAKE_SOURCE_DIR}/tests/integration/test_*.sh)
foreach(src ${SH_ITESTS})
  get_filename_component(name ${src} NAME_WE)
  omjob_integration_test(it_${name} 600 bash ${src})
endforeach()

# C tests: tests/integration/itest_<name>.c -> it_<name>.
file(GLOB C_ITESTS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/integration/itest_*.c)
file(GLOB IT_SUPPORT CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/integration/support/*.c)
foreach(src ${C_ITESTS})
  get_filename_component(name ${src} NAME_WE)
  string(REPLACE "itest_" "" it ${name})
  add_executable(${name} ${src} ${IT_SUPPORT})
  # itest_kube tests the kube library alone; the others may use runtime/ too.
  if(it STREQUAL "kube")
    target_link_libraries(${name} PRIVATE ${OMJOB_TEST_LIBS} PkgConfig::CUNIT)
  else()
    target_link_libraries(${name} PRIVATE omjob_runtime ${OMJOB_TEST_LIBS} nng::nng
      PkgConfig::CURL PkgConfig::CUNIT)
  endif()
  target_include_directories(${name} PRIVATE ${CMAKE_SOURCE_DIR}/tests/integration)
  omjob_integration_test(it_${it} 600 $<TARGET_FILE:${name}>)
endforeach()

# Test tools the shell tests run from the build directory: tcpstall, a loopback
# TCP proxy that can stop forwarding its open connections (test_watch_stall.sh).
add_executable(tcpstall ${CMAKE_SOURCE_DIR}/tests/integration/tools/tcpstall.c)

# Process tests: tests/process/test_<name>.sh -> process_<name>. They run the
# supervisor and its roles as real processes (start, readiness, restarts, stop,
# status, command line), each in its own run directory. The watcher role needs an
# API server, so they share the cluster fixture (as the operator's identity).
file(GLOB PROCESS_TESTS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/process/test_*.sh)
foreach(src ${PROCESS_TESTS})
  get_filename_component(name ${src} NAME_WE)
  string(REPLACE "test_" "" pt ${name})
  omjob_integration_test(process_${pt} 300 bash ${src})
  set_tests_properties(process_${pt} PROPERTIES LABELS "process;integration")
endforeach()

# Integration tests whose processes run threads of their own: the watcher (list,
# watch and reply threads), httpd, and the scheduler (its workers: it_test_cron).
# `make test` runs them in the TSan build.
foreach(t it_test_watcher process_httpd it_test_cron)
  if(TEST ${t})
    get_test_property(${t} LABELS l)
    set_tests_properties(${t} PROPERTIES LABELS "${l};threads")
    if(OMJOB_TSAN)
      get_test_property(${t} ENVIRONMENT e)
      set_tests_properties(${t} PROPERTIES ENVIRONMENT "${e};${OMJOB_TSAN_PROC_ENV}")
    endif()
  endif()
endforeach()

# They restart the API server under everyone's feet, or make nodes NotReady (KCM's
# zone disruption state, test_selftest's node count): nothing runs beside them.
foreach(t it_test_apiserver_restart it_test_apiserver_outage it_test_apiserver_stall it_test_optional_crd
    it_test_node_loss)
  if(TEST ${t})
    set_tests_properties(${t} PROPERTIES RUN_SERIAL TRUE)
  endif()
endforeach()
