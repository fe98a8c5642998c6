/* Unit tests for reconciler/podspec: the main and exit-handler pods built from the
 * OMJob that OpenMetadata's K8sPipelineClient sends (tests/unit/data/podspec/
 * fixture.json is tests/fixtures/omjob-k8spipelineclient.yaml as JSON, with a
 * namespace and uid as the API server would add). */
#include <CUnit/Basic.h>

#include "support/unit.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/common/json.h"
#include "lib/common/util.h"
#include "roles/reconciler/podspec.h"
#include "model/labels.h"

#define FIX_NAME "om-job-mysql-metadata-ingestion-3f9c2a1b"
#define FIX_NS "openmetadata-pipelines"
#define FIX_UID "5b1d6c2e-0f3a-4e8b-9c7d-2a4f6e8b0c11"

/* The fixture as a new object the caller puts; NULL (and a failed assertion) when
 * it cannot be read. */
static struct json_object *load_fixture(void)
{
    const char *dir = getenv("OMJOB_TEST_DATA");
    char path[1024], buf[65536];
    struct json_object *o = NULL;
    snprintf(path, sizeof(path), "%s/podspec/fixture.json", dir != NULL ? dir : "tests/unit/data");
    FILE *f = fopen(path, "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    size_t n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    CU_ASSERT_FATAL(n > 0 && n < sizeof(buf));
    CU_ASSERT_EQUAL_FATAL(jx_parse(buf, n, &o, NULL, 0), 0);
    return o;
}

static struct json_object *build(struct json_object *omjob, enum podspec_kind kind,
                                 const struct podspec_exit_info *ei)
{
    struct json_object *pod = NULL;
    char err[256] = "";
    int rc = podspec_build(omjob, kind, ei, &pod, err, sizeof(err));
    if (rc != 0)
        fprintf(stderr, "podspec_build: %d %s\n", rc, err);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pod);
    return pod;
}

/* The pod's label k ("(none)" when missing); keys hold dots, so no jx path. */
static const char *label(struct json_object *pod, const char *k)
{
    struct json_object *v = NULL;
    if (!json_object_object_get_ex(jx_obj(pod, "metadata.labels"), k, &v) ||
        !json_object_is_type(v, json_type_string))
        return "(none)";
    return json_object_get_string(v);
}

/* Number of env entries named name in the pod's container; *value gets the last one's value. */
static int env_count(struct json_object *pod, const char *name, const char **value)
{
    struct json_object *env = jx_arr(pod, "spec.containers.0.env");
    int count = 0;
    for (size_t i = 0; env != NULL && i < json_object_array_length(env); i++) {
        struct json_object *e = json_object_array_get_idx(env, i);
        if (strcmp(jx_str_or(e, "name", ""), name) == 0) {
            count++;
            if (value != NULL)
                *value = jx_str(e, "value");
        }
    }
    return count;
}

static const char *env_value(struct json_object *pod, const char *name)
{
    const char *v = NULL;
    CU_ASSERT_EQUAL(env_count(pod, name, &v), 1);
    return v != NULL ? v : "(none)";
}

static void add_env(struct json_object *omjob, const char *spec, const char *name,
                    const char *value)
{
    struct json_object *env = jx_arr(omjob, spec), *e = json_object_new_object();
    jx_set_str(e, "name", name);
    jx_set_str(e, "value", value);
    json_object_array_add(env, e);
}

static void check_common(struct json_object *pod, const char *type)
{
    CU_ASSERT_STRING_EQUAL(jx_str_or(pod, "apiVersion", ""), "v1");
    CU_ASSERT_STRING_EQUAL(jx_str_or(pod, "kind", ""), "Pod");
    CU_ASSERT_STRING_EQUAL(jx_str_or(pod, "metadata.namespace", ""), FIX_NS);
    CU_ASSERT_EQUAL(jx_arr_len(pod, "metadata.ownerReferences"), 1);
    CU_ASSERT_STRING_EQUAL(jx_str_or(pod, "metadata.ownerReferences.0.apiVersion", ""),
                           "pipelines.openmetadata.org/v1");
    CU_ASSERT_STRING_EQUAL(jx_str_or(pod, "metadata.ownerReferences.0.kind", ""), "OMJob");
    CU_ASSERT_STRING_EQUAL(jx_str_or(pod, "metadata.ownerReferences.0.name", ""), FIX_NAME);
    CU_ASSERT_STRING_EQUAL(jx_str_or(pod, "metadata.ownerReferences.0.uid", ""), FIX_UID);
    CU_ASSERT_TRUE(jx_bool_or(pod, "metadata.ownerReferences.0.controller", false));
    CU_ASSERT_TRUE(jx_bool_or(pod, "metadata.ownerReferences.0.blockOwnerDeletion", false));
    CU_ASSERT_EQUAL(jx_arr_len(pod, "metadata.finalizers"), 1);
    CU_ASSERT_STRING_EQUAL(jx_str_or(pod, "metadata.finalizers.0", ""),
                           "omjob.pipelines.openmetadata.org/tracking");
    /* The user's managed-by=openmetadata never wins over the operator's labels. */
    CU_ASSERT_STRING_EQUAL(label(pod, "app.kubernetes.io/managed-by"), "omjob-operator");
    CU_ASSERT_STRING_EQUAL(label(pod, "app.kubernetes.io/name"), "openmetadata");
    CU_ASSERT_STRING_EQUAL(label(pod, "app.kubernetes.io/component"), "ingestion");
    CU_ASSERT_STRING_EQUAL(label(pod, "omjob.pipelines.openmetadata.org/name"), FIX_NAME);
    CU_ASSERT_STRING_EQUAL(label(pod, "omjob.pipelines.openmetadata.org/pod-type"), type);
    CU_ASSERT_STRING_EQUAL(label(pod, "app.kubernetes.io/pipeline"), "mysql-metadata-ingestion");
    CU_ASSERT_STRING_EQUAL(label(pod, "app.kubernetes.io/run-id"),
                           "3f9c2a1b-77d4-4c3e-9a51-0b8e2f6d1c90");
    /* Empty annotations, imagePullSecrets, nodeSelector and tolerations are dropped;
     * an exit pod carries only the main outcome it was given. */
    if (strcmp(type, "main") == 0) {
        CU_ASSERT_PTR_NULL(jx_get(pod, "metadata.annotations"));
    } else {
        CU_ASSERT_EQUAL(json_object_object_length(jx_obj(pod, "metadata.annotations")), 2);
        CU_ASSERT_PTR_NOT_NULL(
            jx_str(pod, "metadata.annotations.omjob\\.pipelines\\.openmetadata\\.org/main-reason"));
        CU_ASSERT_PTR_NOT_NULL(jx_str(
            pod, "metadata.annotations.omjob\\.pipelines\\.openmetadata\\.org/main-exit-code"));
    }
    CU_ASSERT_PTR_NULL(jx_get(pod, "spec.imagePullSecrets"));
    CU_ASSERT_PTR_NULL(jx_get(pod, "spec.nodeSelector"));
    CU_ASSERT_PTR_NULL(jx_get(pod, "spec.tolerations"));
    CU_ASSERT_STRING_EQUAL(jx_str_or(pod, "spec.restartPolicy", ""), "Never");
    CU_ASSERT_STRING_EQUAL(jx_str_or(pod, "spec.serviceAccountName", ""), "openmetadata-ingestion");
    CU_ASSERT_EQUAL(jx_arr_len(pod, "spec.containers"), 1);
    CU_ASSERT_STRING_EQUAL(jx_str_or(pod, "spec.containers.0.name", ""), "main");
    CU_ASSERT_STRING_EQUAL(jx_str_or(pod, "spec.containers.0.image", ""),
                           "openmetadata/ingestion-base:1.12.0");
    CU_ASSERT_STRING_EQUAL(jx_str_or(pod, "spec.containers.0.imagePullPolicy", ""), "IfNotPresent");
    CU_ASSERT_FALSE(
        jx_bool_or(pod, "spec.containers.0.securityContext.allowPrivilegeEscalation", true));
    CU_ASSERT_EQUAL(jx_arr_len(pod, "spec.containers.0.securityContext.capabilities.drop"), 1);
    CU_ASSERT_STRING_EQUAL(
        jx_str_or(pod, "spec.containers.0.securityContext.capabilities.drop.0", ""), "ALL");
    CU_ASSERT_TRUE(jx_bool_or(pod, "spec.containers.0.securityContext.runAsNonRoot", false));
    CU_ASSERT_EQUAL(jx_i64_or(pod, "spec.containers.0.securityContext.runAsUser", 0), 1000);
    /* No env entry keeps an empty valueFrom. */
    struct json_object *env = jx_arr(pod, "spec.containers.0.env");
    CU_ASSERT_PTR_NOT_NULL_FATAL(env);
    for (size_t i = 0; i < json_object_array_length(env); i++)
        CU_ASSERT_PTR_NULL(jx_get(json_object_array_get_idx(env, i), "valueFrom"));
}

static void test_main_pod(void)
{
    struct json_object *omjob = load_fixture(), *pod = build(omjob, PODSPEC_MAIN, NULL);
    check_common(pod, "main");
    CU_ASSERT_STRING_EQUAL(jx_str_or(pod, "metadata.name", ""), FIX_NAME "-main");
    /* User labels the operator does not own are kept. */
    CU_ASSERT_STRING_EQUAL(label(pod, "app.kubernetes.io/pipeline-type"), "metadata");
    CU_ASSERT_STRING_EQUAL(jx_str_or(pod, "spec.containers.0.command.1", ""), "main.py");
    CU_ASSERT_STRING_EQUAL(jx_str_or(pod, "spec.containers.0.resources.limits.cpu", ""), "2");
    CU_ASSERT_STRING_EQUAL(jx_str_or(pod, "spec.containers.0.resources.requests.memory", ""),
                           "1Gi");
    CU_ASSERT_EQUAL(jx_i64_or(pod, "spec.containers.0.securityContext.runAsGroup", 0), 1000);
    CU_ASSERT_EQUAL(jx_i64_or(pod, "spec.securityContext.fsGroup", 0), 1000);
    /* The large inline workflow config, byte for byte. */
    const char *want = jx_str(omjob, "spec.mainPodSpec.env.5.value");
    CU_ASSERT_PTR_NOT_NULL_FATAL(want);
    CU_ASSERT(strlen(want) > 500);
    CU_ASSERT_STRING_EQUAL(env_value(pod, "config"), want);
    CU_ASSERT_STRING_EQUAL(env_value(pod, "pipelineType"), "metadata");
    CU_ASSERT_EQUAL(jx_arr_len(pod, "spec.containers.0.env"), 6);
    CU_ASSERT_EQUAL(env_count(pod, "pipelineStatus", NULL), 0);
    CU_ASSERT_EQUAL(env_count(pod, "OMJOB_NAME", NULL), 0);
    json_object_put(pod);
    json_object_put(omjob);
}

static void test_exit_pod(void)
{
    struct json_object *omjob = load_fixture();
    struct podspec_exit_info ei = {.pe_success = true,
                                   .pe_exit_code_known = true,
                                   .pe_exit_code = 0,
                                   .pe_reason = "Completed",
                                   .pe_main_pod = FIX_NAME "-main"};
    struct json_object *pod = build(omjob, PODSPEC_EXIT, &ei);
    check_common(pod, "exit-handler");
    CU_ASSERT_STRING_EQUAL(jx_str_or(pod, "metadata.name", ""), FIX_NAME "-exit");
    CU_ASSERT_STRING_EQUAL(jx_str_or(pod, "spec.containers.0.command.1", ""), "exit_handler.py");
    /* The exit handler's securityContext has no runAsGroup: none is made up. */
    CU_ASSERT_PTR_NULL(jx_get(pod, "spec.containers.0.securityContext.runAsGroup"));
    CU_ASSERT_STRING_EQUAL(env_value(pod, "pipelineStatus"), "success");
    CU_ASSERT_STRING_EQUAL(env_value(pod, "OMJOB_NAME"), FIX_NAME);
    CU_ASSERT_STRING_EQUAL(env_value(pod, "OMJOB_NAMESPACE"), FIX_NS);
    CU_ASSERT_STRING_EQUAL(env_value(pod, "OMJOB_UID"), FIX_UID);
    CU_ASSERT_STRING_EQUAL(env_value(pod, "OMJOB_MAIN_POD_NAME"), FIX_NAME "-main");
    CU_ASSERT_STRING_EQUAL(env_value(pod, "OMJOB_MAIN_EXIT_CODE"), "0");
    CU_ASSERT_STRING_EQUAL(env_value(pod, "OMJOB_MAIN_REASON"), "Completed");
    CU_ASSERT_STRING_EQUAL(env_value(pod, "config"), "workflowConfig: {loggerLevel: INFO}");
    CU_ASSERT_EQUAL(jx_arr_len(pod, "spec.containers.0.env"), 4 + 7);
    json_object_put(pod);

    /* Failed, exit code unknown, main pod name derived, second attempt. */
    struct podspec_exit_info ef = {.pe_success = false, .pe_reason = "NodeLost", .pe_attempt = 2};
    pod = build(omjob, PODSPEC_EXIT, &ef);
    CU_ASSERT_STRING_EQUAL(jx_str_or(pod, "metadata.name", ""), FIX_NAME "-exit-2");
    CU_ASSERT_STRING_EQUAL(env_value(pod, "pipelineStatus"), "failed");
    CU_ASSERT_STRING_EQUAL(env_value(pod, "OMJOB_MAIN_EXIT_CODE"), "");
    CU_ASSERT_STRING_EQUAL(env_value(pod, "OMJOB_MAIN_POD_NAME"), FIX_NAME "-main");
    CU_ASSERT_STRING_EQUAL(env_value(pod, "OMJOB_MAIN_REASON"), "NodeLost");
    json_object_put(pod);
    json_object_put(omjob);
}

/* spec.activeDeadlineSeconds (OpenMetadata #32579): the main pod gets it, so a
 * real kubelet ends it as DeadlineExceeded; the exit handler does not (it runs
 * after the deadline, as for any failure). Absent or 0: none. */
static void test_active_deadline(void)
{
    struct json_object *omjob = load_fixture();
    struct podspec_exit_info ei = {.pe_success = false, .pe_reason = "DeadlineExceeded"};
    struct json_object *pod = build(omjob, PODSPEC_MAIN, NULL);
    CU_ASSERT_PTR_NULL(jx_get(pod, "spec.activeDeadlineSeconds"));
    json_object_put(pod);
    jx_set_i64(omjob, "spec.activeDeadlineSeconds", 3600);
    pod = build(omjob, PODSPEC_MAIN, NULL);
    CU_ASSERT_EQUAL(jx_i64_or(pod, "spec.activeDeadlineSeconds", 0), 3600);
    json_object_put(pod);
    pod = build(omjob, PODSPEC_EXIT, &ei);
    CU_ASSERT_PTR_NULL(jx_get(pod, "spec.activeDeadlineSeconds"));
    json_object_put(pod);
    jx_set_i64(omjob, "spec.activeDeadlineSeconds", 0);
    pod = build(omjob, PODSPEC_MAIN, NULL);
    CU_ASSERT_PTR_NULL(jx_get(pod, "spec.activeDeadlineSeconds"));
    json_object_put(pod);
    json_object_put(omjob);
}

static void test_user_overrides(void)
{
    struct json_object *omjob = load_fixture();
    add_env(omjob, "spec.exitHandlerSpec.env", "pipelineStatus", "success");
    add_env(omjob, "spec.exitHandlerSpec.env", "OMJOB_NAME", "someone-else");
    add_env(omjob, "spec.exitHandlerSpec.env", "OMJOB_EXTRA", "x");
    struct json_object *labels = jx_obj(omjob, "spec.exitHandlerSpec.labels");
    json_object_object_add(labels, "omjob.pipelines.openmetadata.org/pod-type",
                           json_object_new_string("main"));
    json_object_object_add(labels, "omjob.pipelines.openmetadata.org/name",
                           json_object_new_string("other"));
    struct podspec_exit_info ei = {.pe_success = false,
                                   .pe_exit_code_known = true,
                                   .pe_exit_code = 137,
                                   .pe_reason = "OOMKilled"};
    struct json_object *pod = build(omjob, PODSPEC_EXIT, &ei);
    CU_ASSERT_STRING_EQUAL(env_value(pod, "pipelineStatus"), "failed");
    CU_ASSERT_STRING_EQUAL(env_value(pod, "OMJOB_NAME"), FIX_NAME);
    CU_ASSERT_STRING_EQUAL(env_value(pod, "OMJOB_MAIN_EXIT_CODE"), "137");
    CU_ASSERT_EQUAL(env_count(pod, "OMJOB_EXTRA", NULL), 0);
    CU_ASSERT_STRING_EQUAL(label(pod, "omjob.pipelines.openmetadata.org/pod-type"), "exit-handler");
    CU_ASSERT_STRING_EQUAL(label(pod, "omjob.pipelines.openmetadata.org/name"), FIX_NAME);
    json_object_put(pod);
    json_object_put(omjob);
}

/* A non-empty valueFrom is the user's and kept as is; a bad label value is made valid. */
static void test_value_from_kept(void)
{
    struct json_object *omjob = load_fixture(), *e = NULL;
    const char *j = "{\"name\":\"DB_PASSWORD\",\"valueFrom\":{\"secretKeyRef\":"
                    "{\"name\":\"db\",\"key\":\"password\"}}}";
    CU_ASSERT_EQUAL_FATAL(jx_parse(j, strlen(j), &e, NULL, 0), 0);
    json_object_array_add(jx_arr(omjob, "spec.mainPodSpec.env"), e);
    json_object_object_add(jx_obj(omjob, "spec.mainPodSpec.labels"), "team",
                           json_object_new_string("data platform/ingest!"));
    struct json_object *pod = build(omjob, PODSPEC_MAIN, NULL);
    struct json_object *env = jx_arr(pod, "spec.containers.0.env");
    struct json_object *last = json_object_array_get_idx(env, json_object_array_length(env) - 1);
    CU_ASSERT_STRING_EQUAL(jx_str_or(last, "name", ""), "DB_PASSWORD");
    CU_ASSERT_STRING_EQUAL(jx_str_or(last, "valueFrom.secretKeyRef.key", ""), "password");
    CU_ASSERT_PTR_NULL(jx_get(last, "value"));
    CU_ASSERT_TRUE(util_label_value_valid(label(pod, "team")));
    json_object_put(pod);
    json_object_put(omjob);
}

static void check_long(struct json_object *pod, const char *want_name_label)
{
    const char *name = jx_str_or(pod, "metadata.name", "");
    CU_ASSERT(strlen(name) <= 63);
    CU_ASSERT_TRUE(util_dns1123_label_valid(name));
    struct json_object *labels = jx_obj(pod, "metadata.labels");
    json_object_object_foreach(labels, k, v)
    {
        CU_ASSERT_TRUE(util_label_value_valid(json_object_get_string(v)));
        (void)k;
    }
    CU_ASSERT_STRING_EQUAL(label(pod, "omjob.pipelines.openmetadata.org/name"), want_name_label);
}

static void test_long_name(void)
{
    struct json_object *omjob = load_fixture();
    char long_name[251], n_main[PODSPEC_NAME_BUF], n_exit[PODSPEC_NAME_BUF];
    char n_exit1[PODSPEC_NAME_BUF], again[PODSPEC_NAME_BUF], lv[64];
    for (size_t i = 0; i < 250; i++)
        long_name[i] = i % 10 == 9 ? '-' : (char)('a' + i % 26);
    long_name[249] = 'z';
    long_name[250] = '\0';
    jx_set_str(omjob, "metadata.name", long_name);
    CU_ASSERT_EQUAL(util_label_value(lv, sizeof(lv), long_name), 0);
    CU_ASSERT_EQUAL(podspec_name(long_name, PODSPEC_MAIN, 0, n_main, sizeof(n_main)), 0);
    CU_ASSERT_EQUAL(podspec_name(long_name, PODSPEC_EXIT, 0, n_exit, sizeof(n_exit)), 0);
    CU_ASSERT_EQUAL(podspec_name(long_name, PODSPEC_EXIT, 1, n_exit1, sizeof(n_exit1)), 0);
    CU_ASSERT_EQUAL(podspec_name(long_name, PODSPEC_MAIN, 0, again, sizeof(again)), 0);
    CU_ASSERT_STRING_EQUAL(again, n_main);
    CU_ASSERT_STRING_NOT_EQUAL(n_main, n_exit);
    CU_ASSERT_STRING_NOT_EQUAL(n_exit, n_exit1);
    CU_ASSERT_STRING_NOT_EQUAL(n_main, n_exit1);

    struct podspec_exit_info ei = {.pe_success = true};
    struct json_object *pm = build(omjob, PODSPEC_MAIN, NULL);
    struct json_object *pe = build(omjob, PODSPEC_EXIT, &ei);
    struct json_object *pm2 = build(omjob, PODSPEC_MAIN, NULL);
    check_long(pm, lv);
    check_long(pe, lv);
    CU_ASSERT_STRING_EQUAL(jx_str_or(pm, "metadata.name", ""), n_main);
    CU_ASSERT_STRING_EQUAL(jx_str_or(pe, "metadata.name", ""), n_exit);
    CU_ASSERT_STRING_EQUAL(env_value(pe, "OMJOB_MAIN_POD_NAME"), n_main);
    CU_ASSERT_STRING_EQUAL(env_value(pe, "OMJOB_NAME"), long_name);
    CU_ASSERT_STRING_EQUAL(jx_str_or(pm, "metadata.ownerReferences.0.name", ""), long_name);
    /* Deterministic: the same input gives the same object. */
    char *d1 = jx_dump(pm, NULL), *d2 = jx_dump(pm2, NULL);
    CU_ASSERT_PTR_NOT_NULL(d1);
    CU_ASSERT_PTR_NOT_NULL(d2);
    if (d1 != NULL && d2 != NULL)
        CU_ASSERT_STRING_EQUAL(d1, d2);
    free(d1);
    free(d2);
    json_object_put(pm);
    json_object_put(pe);
    json_object_put(pm2);
    json_object_put(omjob);

    CU_ASSERT_EQUAL(podspec_name("", PODSPEC_MAIN, 0, n_main, sizeof(n_main)), -EINVAL);
    CU_ASSERT_EQUAL(podspec_name("a", PODSPEC_MAIN, 0, n_main, 4), -ENOSPC);
}

static void expect_einval(struct json_object *omjob, enum podspec_kind kind, const char *field)
{
    struct podspec_exit_info ei = {.pe_success = true};
    struct json_object *pod = NULL;
    char err[256] = "";
    CU_ASSERT_EQUAL(podspec_build(omjob, kind, &ei, &pod, err, sizeof(err)), -EINVAL);
    CU_ASSERT_PTR_NULL(pod);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, field));
    json_object_put(pod);
}

static void test_errors(void)
{
    struct json_object *omjob = load_fixture();
    json_object_object_del(jx_obj(omjob, "spec.mainPodSpec"), "image");
    expect_einval(omjob, PODSPEC_MAIN, "spec.mainPodSpec.image is missing");
    json_object_object_del(jx_obj(omjob, "spec"), "exitHandlerSpec");
    expect_einval(omjob, PODSPEC_EXIT, "spec.exitHandlerSpec is absent");
    json_object_object_del(jx_obj(omjob, "spec"), "mainPodSpec");
    expect_einval(omjob, PODSPEC_MAIN, "spec.mainPodSpec is absent");
    json_object_object_del(jx_obj(omjob, "metadata"), "uid");
    expect_einval(omjob, PODSPEC_MAIN, "metadata.uid is missing");
    json_object_put(omjob);

    omjob = load_fixture();
    struct json_object *pod = NULL;
    char err[128] = "";
    CU_ASSERT_EQUAL(podspec_build(omjob, PODSPEC_EXIT, NULL, &pod, err, sizeof(err)), -EINVAL);
    CU_ASSERT_PTR_NULL(pod);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "exit"));
    add_env(omjob, "spec.mainPodSpec.env", "", "x");
    expect_einval(omjob, PODSPEC_MAIN, "spec.mainPodSpec.env[6].name is missing");
    json_object_put(omjob);
    CU_ASSERT_STRING_EQUAL(podspec_kind_str(PODSPEC_EXIT), "exit");
}

/* The pod securityContext of the main pod replaced by the JSON sc (NULL: removed). */
static struct json_object *with_pod_sc(const char *sc)
{
    struct json_object *omjob = load_fixture(), *ps = jx_obj(omjob, "spec.mainPodSpec"), *o = NULL;
    json_object_object_del(ps, "securityContext");
    if (sc != NULL) {
        CU_ASSERT_EQUAL_FATAL(jx_parse(sc, strlen(sc), &o, NULL, 0), 0);
        json_object_object_add(ps, "securityContext", o);
    }
    return omjob;
}

static void test_restricted(void)
{
    /* runAsUser alone: runAsNonRoot and RuntimeDefault filled in on the container. */
    struct json_object *omjob = with_pod_sc("{\"runAsUser\": 1000}");
    struct json_object *pod = build(omjob, PODSPEC_MAIN, NULL);
    CU_ASSERT_TRUE(jx_bool_or(pod, "spec.containers.0.securityContext.runAsNonRoot", false));
    CU_ASSERT_STRING_EQUAL(
        jx_str_or(pod, "spec.containers.0.securityContext.seccompProfile.type", ""),
        "RuntimeDefault");
    CU_ASSERT_FALSE(
        jx_bool_or(pod, "spec.containers.0.securityContext.allowPrivilegeEscalation", true));
    json_object_put(pod);
    json_object_put(omjob);

    /* runAsNonRoot alone: the profile too. */
    omjob = with_pod_sc("{\"runAsNonRoot\": true}");
    pod = build(omjob, PODSPEC_MAIN, NULL);
    CU_ASSERT_STRING_EQUAL(
        jx_str_or(pod, "spec.containers.0.securityContext.seccompProfile.type", ""),
        "RuntimeDefault");
    json_object_put(pod);
    json_object_put(omjob);

    /* The spec's own choices win: its profile (on the pod) and its runAsNonRoot false. */
    omjob = with_pod_sc("{\"runAsUser\": 1000, \"runAsNonRoot\": false, "
                        "\"seccompProfile\": {\"type\": \"Unconfined\"}}");
    pod = build(omjob, PODSPEC_MAIN, NULL);
    CU_ASSERT_PTR_NULL(jx_get(pod, "spec.containers.0.securityContext.seccompProfile"));
    CU_ASSERT_STRING_EQUAL(jx_str_or(pod, "spec.securityContext.seccompProfile.type", ""),
                           "Unconfined");
    CU_ASSERT_FALSE(jx_bool_or(pod, "spec.containers.0.securityContext.runAsNonRoot", true));
    json_object_put(pod);
    json_object_put(omjob);

    /* Root, or nothing said: nothing added (an image that needs root still runs). */
    const char *const rootish[] = {NULL, "{}", "{\"runAsUser\": 0}", "{\"runAsNonRoot\": false}"};
    for (size_t i = 0; i < sizeof(rootish) / sizeof(rootish[0]); i++) {
        omjob = with_pod_sc(rootish[i]);
        pod = build(omjob, PODSPEC_MAIN, NULL);
        CU_ASSERT_PTR_NULL(jx_get(pod, "spec.containers.0.securityContext.seccompProfile"));
        if (i < 3) /* the last one's own false is copied */
            CU_ASSERT_PTR_NULL(jx_get(pod, "spec.containers.0.securityContext.runAsNonRoot"));
        json_object_put(pod);
        json_object_put(omjob);
    }
}

int main(void)
{
    static const struct unit_test tests[] = {
        {"main pod from the K8sPipelineClient OMJob", test_main_pod},
        {"exit pod and its environment", test_exit_pod},
        {"activeDeadlineSeconds on the main pod only", test_active_deadline},
        {"user env and labels never override ours", test_user_overrides},
        {"non-empty valueFrom kept, label values made valid", test_value_from_kept},
        {"250-char OMJob name", test_long_name},
        {"missing fields are -EINVAL naming the field", test_errors},
        {"non-root specs get PSS restricted's seccomp and runAsNonRoot", test_restricted},
        {NULL, NULL},
    };
    return unit_run("reconciler_podspec", NULL, NULL, tests);
}
