/* The operator's Kubernetes names in one place: API groups and resources it
 * watches, the labels it puts on the pods it runs (and selects them by), and the
 * ownerReference kinds. Shared by the watcher, the reconciler, the cleaner and the scheduler. */
#ifndef OMJOB_MODEL_LABELS_H
#define OMJOB_MODEL_LABELS_H

/* Custom resources. */
#define OMJOB_GROUP_VERSION "pipelines.openmetadata.org/v1"
#define OMJOB_PLURAL "omjobs"
#define OMJOB_KIND "OMJob"
#define CRONOMJOB_PLURAL "cronomjobs"
#define CRONOMJOB_KIND "CronOMJob"
#define POD_GROUP_VERSION "v1"
#define POD_PLURAL "pods"

/* Every pod the operator creates carries this label (the original's pods may
 * carry "openmetadata" instead: OpenMetadata's server sets it in the pod spec's
 * labels, which win there). */
#define LABEL_MANAGED_BY "app.kubernetes.io/managed-by"
#define LABEL_MANAGED_BY_VALUE "omjob-operator"
/* The OMJob a pod belongs to (its name, shortened with a hash when longer than a
 * label value may be: the controller ownerReference is authoritative). Both this
 * operator and the original set it on every pod, so the watcher lists and
 * watches the pods that have it (whatever their managed-by): the original's pods
 * are seen and adopted (docs/ARCHITECTURE.md, "Which pods the watcher sees"). */
#define LABEL_OMJOB_NAME "omjob.pipelines.openmetadata.org/name"
#define LABEL_SELECTOR_PODS LABEL_OMJOB_NAME
/* "main" or "exit-handler" (POD_TYPE_*). */
#define LABEL_POD_TYPE "omjob.pipelines.openmetadata.org/pod-type"
#define POD_TYPE_MAIN "main"
#define POD_TYPE_EXIT_HANDLER "exit-handler"

/* The other labels on every pod the operator creates (values fixed, as the
 * original sets them), and the ones copied from the OMJob when it has them. */
#define LABEL_APP_NAME "app.kubernetes.io/name"
#define LABEL_APP_NAME_VALUE "openmetadata"
#define LABEL_COMPONENT "app.kubernetes.io/component"
#define LABEL_COMPONENT_VALUE "ingestion"
#define LABEL_PIPELINE "app.kubernetes.io/pipeline"
#define LABEL_RUN_ID "app.kubernetes.io/run-id"

/* On an OMJob a CronOMJob created: the scheduled time it runs, RFC 3339 UTC
 * (docs/LIFECYCLE.md, "CronOMJob: runs, status and history"). The run's id is its
 * LABEL_RUN_ID (a UUID); its controller ownerReference names the CronOMJob. */
#define ANNOTATION_SCHEDULED_AT "pipelines.openmetadata.org/scheduled-at"
/* Env values in a CronOMJob's omJobSpec replaced in each run's OMJob: the run id
 * and the OMJob's name (exact matches of the whole value). */
#define PLACEHOLDER_RUN_ID "{{ omjob.uid }}"
#define PLACEHOLDER_NAME "{{ omjob.name }}"

/* Finalizer on the operator's pods: holds a pod (and so its logs) until the
 * reconciler has recorded its end and the exit handler has run. */
#define FINALIZER_TRACKING "omjob.pipelines.openmetadata.org/tracking"
/* On exit pods: the main outcome the pod was given (reason; exit code, "" when
 * unknown). The exit pod is created before status records the outcome, so these
 * are what status must then record (docs/LIFECYCLE.md). */
#define ANNOTATION_MAIN_REASON "omjob.pipelines.openmetadata.org/main-reason"
#define ANNOTATION_MAIN_EXIT_CODE "omjob.pipelines.openmetadata.org/main-exit-code"

/* Annotation that kubectl apply writes: a second copy of the object, dropped
 * from the cache. */
#define ANNOTATION_LAST_APPLIED "kubectl.kubernetes.io/last-applied-configuration"

#endif
