/* Pure builders of the pods the reconciler creates for an OMJob: the main pod from
 * spec.mainPodSpec and the exit-handler pod from spec.exitHandlerSpec, as the
 * original operator builds them (names, labels, ownerReference, hardened
 * container), plus our fixes (operator labels always win, tracking finalizer,
 * empty valueFrom dropped, OMJOB_* variables for the exit handler). No I/O. */
#ifndef OMJOB_ROLES_RECONCILER_PODSPEC_H
#define OMJOB_ROLES_RECONCILER_PODSPEC_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

enum podspec_kind {
    PODSPEC_MAIN,
    PODSPEC_EXIT,
};

/* "main" or "exit" (for logs). */
const char *podspec_kind_str(enum podspec_kind kind);

/* The one container's name in both pods. */
#define PODSPEC_CONTAINER "main"
/* Longest pod name podspec_name writes (a label value, a hostname), and its buffer. */
#define PODSPEC_NAME_MAX 63
#define PODSPEC_NAME_BUF (PODSPEC_NAME_MAX + 1)

/* Environment of the exit-handler pod. pipelineStatus is the original's contract;
 * the OMJOB_* variables are ours. User variables of these names are replaced. */
#define PODSPEC_ENV_PIPELINE_STATUS "pipelineStatus"
#define PODSPEC_ENV_PREFIX "OMJOB_"
#define PODSPEC_ENV_NAME "OMJOB_NAME"
#define PODSPEC_ENV_NAMESPACE "OMJOB_NAMESPACE"
#define PODSPEC_ENV_UID "OMJOB_UID"
#define PODSPEC_ENV_MAIN_POD_NAME "OMJOB_MAIN_POD_NAME"
#define PODSPEC_ENV_MAIN_EXIT_CODE "OMJOB_MAIN_EXIT_CODE"
#define PODSPEC_ENV_MAIN_REASON "OMJOB_MAIN_REASON"

/* What the exit-handler pod is told about the main pod's end. Strings are
 * borrowed for the call only. */
struct podspec_exit_info {
    bool pe_success;         /* pipelineStatus: true "success", false "failed" */
    bool pe_exit_code_known; /* false: OMJOB_MAIN_EXIT_CODE is "" */
    int pe_exit_code;        /* the main container's exit code when known */
    const char *pe_reason;   /* Completed, Error, OOMKilled, ...; NULL gives "" */
    const char *pe_main_pod; /* NULL gives podspec_name(omjob, PODSPEC_MAIN, 0) */
    unsigned pe_attempt;     /* 0 for the first exit pod, n for its n-th re-creation */
};

/* Writes the deterministic pod name: "<omjob>-main", "<omjob>-exit", or
 * "<omjob>-exit-<attempt>" for attempt > 0 (attempt is ignored for the main pod);
 * shortened with util_k8s_name to at most PODSPEC_NAME_MAX with a hash when longer.
 * 0, -EINVAL (omjob_name NULL or empty, kind unknown) or -ENOSPC (outsz). */
int podspec_name(const char *omjob_name, enum podspec_kind kind, unsigned attempt, char *out,
                 size_t outsz);

/* Builds the v1 Pod of kind for the OMJob omjob (borrowed, unchanged). exit_info is
 * required for PODSPEC_EXIT and ignored for PODSPEC_MAIN. On success *pod_out is a
 * new object the caller frees with json_object_put. -EINVAL with err naming the
 * field ("spec.mainPodSpec.image is missing", "spec.exitHandlerSpec is absent")
 * or -ENOMEM; *pod_out is untouched then. err may be NULL. */
int podspec_build(const struct json_object *omjob, enum podspec_kind kind,
                  const struct podspec_exit_info *exit_info, struct json_object **pod_out,
                  char *err, size_t errsz);

#endif
