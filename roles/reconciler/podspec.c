/* Builds the main and exit-handler pods of an OMJob as JSON, without I/O, so the
 * reconciler's create calls and the unit tests see the same objects. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lib/common/json.h"
#include "lib/common/util.h"
#include "roles/reconciler/podspec.h"
#include "model/labels.h"
#include "model/objects.h"

/* One build: the inputs, borrowed, and what was derived from them. */
struct build {
    struct json_object *b_omjob;
    struct json_object *b_ps; /* spec.mainPodSpec or spec.exitHandlerSpec */
    const char *b_field;      /* its path, for error messages */
    enum podspec_kind b_kind;
    const struct podspec_exit_info *b_exit;
    const char *b_name, *b_ns, *b_uid;
    char b_pod[PODSPEC_NAME_BUF];
    char *b_err;
    size_t b_errsz;
};

const char *podspec_kind_str(enum podspec_kind kind)
{
    switch (kind) {
    case PODSPEC_MAIN:
        return "main";
    case PODSPEC_EXIT:
        return "exit";
    }
    return "unknown";
}

int podspec_name(const char *omjob_name, enum podspec_kind kind, unsigned attempt, char *out,
                 size_t outsz)
{
    char suffix[32];
    if (omjob_name == NULL || omjob_name[0] == '\0' || out == NULL)
        return -EINVAL;
    if (kind == PODSPEC_MAIN)
        snprintf(suffix, sizeof(suffix), "-main");
    else if (kind == PODSPEC_EXIT && attempt == 0)
        snprintf(suffix, sizeof(suffix), "-exit");
    else if (kind == PODSPEC_EXIT)
        snprintf(suffix, sizeof(suffix), "-exit-%u", attempt);
    else
        return -EINVAL;
    return util_k8s_name(out, outsz, omjob_name, suffix, PODSPEC_NAME_MAX);
}

static int bad(struct build *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad(struct build *b, const char *fmt, ...)
{
    if (b->b_err != NULL && b->b_errsz > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(b->b_err, b->b_errsz, fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}

static int add_copy(struct json_object *o, const char *k, struct json_object *src)
{
    struct json_object *dst = NULL;
    if (json_object_deep_copy(src, &dst, NULL) != 0)
        return -ENOMEM;
    return jx_add(o, k, dst);
}

/* True for a non-empty object, array or string: empty ones are dropped. */
static bool nonempty(struct json_object *v)
{
    switch (json_object_get_type(v)) {
    case json_type_object:
        return json_object_object_length(v) > 0;
    case json_type_array:
        return json_object_array_length(v) > 0;
    case json_type_string:
        return json_object_get_string_len(v) > 0;
    default:
        return false;
    }
}

/* Copies key k of the pod spec into o when present and non-empty. */
static int copy_if(struct json_object *o, struct json_object *ps, const char *k)
{
    struct json_object *v = NULL;
    if (!json_object_object_get_ex(ps, k, &v) || !nonempty(v))
        return 0;
    return add_copy(o, k, v);
}

static int set_label(struct json_object *labels, const char *k, const char *v)
{
    char buf[UTIL_K8S_LABEL_MAX + 1];
    int rc = util_label_value(buf, sizeof(buf), v);
    return rc < 0 ? rc : jx_add_str(labels, k, buf);
}

/* The OMJob's label k, when it is a string, copied onto the pod's labels. */
static int copy_omjob_label(struct build *b, struct json_object *labels, const char *k)
{
    struct json_object *l = jx_obj(b->b_omjob, "metadata.labels"), *v = NULL;
    if (l == NULL || !json_object_object_get_ex(l, k, &v) ||
        !json_object_is_type(v, json_type_string))
        return 0;
    return set_label(labels, k, json_object_get_string(v));
}

/* User labels first, then the operator's, which replace any user label of the
 * same key: selection and ownership must not depend on what a user wrote. */
static int build_labels(struct build *b, struct json_object **out)
{
    struct json_object *labels = json_object_new_object(), *user = jx_obj(b->b_ps, "labels");
    int rc = labels == NULL ? -ENOMEM : 0;
    if (rc == 0 && user != NULL) {
        json_object_object_foreach(user, k, v)
        {
            if (rc == 0 && json_object_is_type(v, json_type_string))
                rc = set_label(labels, k, json_object_get_string(v));
        }
    }
    if (rc == 0)
        rc = jx_add_str(labels, LABEL_APP_NAME, LABEL_APP_NAME_VALUE);
    if (rc == 0)
        rc = jx_add_str(labels, LABEL_COMPONENT, LABEL_COMPONENT_VALUE);
    if (rc == 0)
        rc = jx_add_str(labels, LABEL_MANAGED_BY, LABEL_MANAGED_BY_VALUE);
    if (rc == 0)
        rc = set_label(labels, LABEL_OMJOB_NAME, b->b_name);
    if (rc == 0)
        rc = jx_add_str(labels, LABEL_POD_TYPE,
                        b->b_kind == PODSPEC_MAIN ? POD_TYPE_MAIN : POD_TYPE_EXIT_HANDLER);
    if (rc == 0)
        rc = copy_omjob_label(b, labels, LABEL_PIPELINE);
    if (rc == 0)
        rc = copy_omjob_label(b, labels, LABEL_RUN_ID);
    if (rc < 0)
        goto fail;
    *out = labels;
    return 0;
fail:
    json_object_put(labels);
    return rc;
}

/* The pod spec's annotations (string values only), when there are any. */
static int build_annotations(struct build *b, struct json_object *meta)
{
    struct json_object *src = jx_obj(b->b_ps, "annotations"), *dst = NULL;
    int rc = 0;
    bool exit_pod = b->b_kind == PODSPEC_EXIT && b->b_exit != NULL;
    if ((src == NULL || json_object_object_length(src) == 0) && !exit_pod)
        return 0;
    dst = json_object_new_object();
    if (dst == NULL)
        return -ENOMEM;
    if (src != NULL) {
        json_object_object_foreach(src, k, v)
        {
            if (rc == 0 && json_object_is_type(v, json_type_string))
                rc = jx_add_str(dst, k, json_object_get_string(v));
        }
    }
    if (rc == 0 && exit_pod) {
        /* The main outcome this exit pod was told, ours (user values replaced):
         * the durable record when the pod is created before status says it. */
        char code[16] = "";
        if (b->b_exit->pe_exit_code_known)
            snprintf(code, sizeof(code), "%d", b->b_exit->pe_exit_code);
        json_object_object_del(dst, ANNOTATION_MAIN_REASON);
        json_object_object_del(dst, ANNOTATION_MAIN_EXIT_CODE);
        rc = jx_add_str(dst, ANNOTATION_MAIN_REASON,
                        b->b_exit->pe_reason != NULL ? b->b_exit->pe_reason : "");
        if (rc == 0)
            rc = jx_add_str(dst, ANNOTATION_MAIN_EXIT_CODE, code);
    }
    if (rc < 0) {
        json_object_put(dst);
        return rc;
    }
    return jx_add(meta, "annotations", dst);
}

static int build_owner(struct build *b, struct json_object *meta)
{
    return jx_add(meta, "ownerReferences", wc_controller_refs(OMJOB_KIND, b->b_name, b->b_uid));
}

static int build_metadata(struct build *b, struct json_object *pod)
{
    struct json_object *meta = json_object_new_object(), *labels = NULL, *fin = NULL;
    int rc = meta == NULL ? -ENOMEM : 0;
    if (rc == 0)
        rc = jx_add_str(meta, "name", b->b_pod);
    if (rc == 0)
        rc = jx_add_str(meta, "namespace", b->b_ns);
    if (rc == 0)
        rc = build_labels(b, &labels);
    if (rc == 0)
        rc = jx_add(meta, "labels", labels);
    if (rc == 0)
        rc = build_annotations(b, meta);
    if (rc == 0)
        rc = build_owner(b, meta);
    if (rc == 0) {
        const char *f = FINALIZER_TRACKING;
        fin = jx_str_array(&f, 1);
        rc = jx_add(meta, "finalizers", fin);
    }
    if (rc < 0)
        goto fail;
    return jx_add(pod, "metadata", meta);
fail:
    json_object_put(meta);
    return rc;
}

static bool env_reserved(const char *name)
{
    return strcmp(name, PODSPEC_ENV_PIPELINE_STATUS) == 0 ||
           strncmp(name, PODSPEC_ENV_PREFIX, strlen(PODSPEC_ENV_PREFIX)) == 0;
}

/* Copies one user variable, dropping an empty (or null) valueFrom: OpenMetadata
 * sends "valueFrom: {}" next to every value. */
static int env_copy(struct json_object *env, struct json_object *e)
{
    struct json_object *c = json_object_new_object();
    int rc = c == NULL ? -ENOMEM : 0;
    if (rc == 0) {
        json_object_object_foreach(e, k, v)
        {
            if (rc == 0 && strcmp(k, "valueFrom") == 0 && !nonempty(v))
                continue;
            if (rc == 0)
                rc = add_copy(c, k, v);
        }
    }
    if (rc < 0) {
        json_object_put(c);
        return rc;
    }
    return jx_push(env, c);
}

static int env_add(struct json_object *env, const char *name, const char *value)
{
    struct json_object *e = json_object_new_object();
    int rc = e == NULL ? -ENOMEM : jx_add_str(e, "name", name);
    if (rc == 0)
        rc = jx_add_str(e, "value", value);
    if (rc < 0) {
        json_object_put(e);
        return rc;
    }
    return jx_push(env, e);
}

/* The exit handler's contract: pipelineStatus, then our OMJOB_* variables. */
static int env_exit(struct build *b, struct json_object *env)
{
    const struct podspec_exit_info *ei = b->b_exit;
    char main_pod[PODSPEC_NAME_BUF], code[16] = "";
    int rc = 0;
    if (ei->pe_main_pod != NULL)
        rc = util_strlcpy(main_pod, ei->pe_main_pod, sizeof(main_pod)) < 0 ? -EINVAL : 0;
    else
        rc = podspec_name(b->b_name, PODSPEC_MAIN, 0, main_pod, sizeof(main_pod));
    if (rc < 0)
        return bad(b, "main pod name is invalid");
    if (ei->pe_exit_code_known)
        snprintf(code, sizeof(code), "%d", ei->pe_exit_code);
    rc = env_add(env, PODSPEC_ENV_PIPELINE_STATUS, ei->pe_success ? "success" : "failed");
    if (rc == 0)
        rc = env_add(env, PODSPEC_ENV_NAME, b->b_name);
    if (rc == 0)
        rc = env_add(env, PODSPEC_ENV_NAMESPACE, b->b_ns);
    if (rc == 0)
        rc = env_add(env, PODSPEC_ENV_UID, b->b_uid);
    if (rc == 0)
        rc = env_add(env, PODSPEC_ENV_MAIN_POD_NAME, main_pod);
    if (rc == 0)
        rc = env_add(env, PODSPEC_ENV_MAIN_EXIT_CODE, code);
    if (rc == 0)
        rc = env_add(env, PODSPEC_ENV_MAIN_REASON, ei->pe_reason != NULL ? ei->pe_reason : "");
    return rc;
}

static int build_env(struct build *b, struct json_object *ctr)
{
    struct json_object *env = json_object_new_array(), *user = jx_get(b->b_ps, "env");
    size_t n = json_object_is_type(user, json_type_array) ? json_object_array_length(user) : 0;
    int rc = env == NULL ? -ENOMEM : 0;
    if (rc == 0 && user != NULL && n == 0 && !json_object_is_type(user, json_type_array))
        rc = bad(b, "%s.env is not an array", b->b_field);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        struct json_object *e = json_object_array_get_idx(user, i);
        const char *name = jx_str(e, "name");
        if (name == NULL || name[0] == '\0')
            rc = bad(b, "%s.env[%zu].name is missing", b->b_field, i);
        else if (b->b_kind == PODSPEC_EXIT && env_reserved(name))
            continue;
        else
            rc = env_copy(env, e);
    }
    if (rc == 0 && b->b_kind == PODSPEC_EXIT)
        rc = env_exit(b, env);
    if (rc < 0)
        goto fail;
    if (json_object_array_length(env) == 0) {
        json_object_put(env);
        return 0;
    }
    return jx_add(ctr, "env", env);
fail:
    json_object_put(env);
    return rc;
}

/* True when the pod securityContext asks for a non-root user: runAsNonRoot true, or
 * a runAsUser above 0. */
static bool asks_non_root(struct json_object *psc)
{
    struct json_object *v = NULL;
    if (psc == NULL)
        return false;
    if (json_object_object_get_ex(psc, "runAsNonRoot", &v) &&
        json_object_is_type(v, json_type_boolean) && json_object_get_boolean(v))
        return true;
    return json_object_object_get_ex(psc, "runAsUser", &v) &&
           json_object_is_type(v, json_type_int) && json_object_get_int64(v) > 0;
}

/* A spec asking for a non-root user gets what Pod Security "restricted" wants and
 * the spec leaves unsaid: runAsNonRoot true and the RuntimeDefault seccomp profile on
 * the container. Whatever the pod securityContext says itself wins (a spec that
 * still violates the policy is refused by admission, and says so in its status). */
static int add_restricted(struct json_object *psc, struct json_object *sc)
{
    struct json_object *v = NULL;
    int rc = 0;
    if (!asks_non_root(psc))
        return 0;
    if (!json_object_object_get_ex(psc, "runAsNonRoot", &v))
        rc = jx_add(sc, "runAsNonRoot", json_object_new_boolean(1));
    if (rc == 0 && !json_object_object_get_ex(psc, "seccompProfile", &v)) {
        struct json_object *prof = json_object_new_object();
        rc = prof == NULL ? -ENOMEM : jx_add_str(prof, "type", "RuntimeDefault");
        if (rc == 0)
            rc = jx_add(sc, "seccompProfile", prof); /* puts prof on failure */
        else
            json_object_put(prof);
    }
    return rc;
}

/* Never privileged, whatever the spec says; the user and group of the pod's
 * securityContext are repeated on the container, as the original does. */
static int build_ctr_security(struct build *b, struct json_object *ctr)
{
    static const char *const copied[] = {"runAsNonRoot", "runAsUser", "runAsGroup"};
    static const char *const all = "ALL";
    struct json_object *sc = json_object_new_object(), *caps = json_object_new_object();
    struct json_object *psc = jx_obj(b->b_ps, "securityContext");
    int rc = sc == NULL || caps == NULL ? -ENOMEM : 0;
    if (rc == 0)
        rc = jx_add(sc, "allowPrivilegeEscalation", json_object_new_boolean(0));
    if (rc == 0)
        rc = jx_add(caps, "drop", jx_str_array(&all, 1));
    if (rc == 0) {
        rc = jx_add(sc, "capabilities", caps);
        caps = NULL;
    }
    for (size_t i = 0; rc == 0 && psc != NULL && i < sizeof(copied) / sizeof(copied[0]); i++) {
        struct json_object *v = NULL;
        if (json_object_object_get_ex(psc, copied[i], &v) && v != NULL)
            rc = add_copy(sc, copied[i], v);
    }
    if (rc == 0)
        rc = add_restricted(psc, sc);
    json_object_put(caps);
    if (rc < 0) {
        json_object_put(sc);
        return rc;
    }
    return jx_add(ctr, "securityContext", sc);
}

static int build_container(struct build *b, struct json_object *spec)
{
    struct json_object *ctrs = json_object_new_array(), *ctr = json_object_new_object();
    int rc = ctrs == NULL || ctr == NULL ? -ENOMEM : 0;
    if (rc == 0)
        rc = jx_add_str(ctr, "name", PODSPEC_CONTAINER);
    if (rc == 0)
        rc = jx_add_str(ctr, "image", jx_str(b->b_ps, "image"));
    if (rc == 0)
        rc = copy_if(ctr, b->b_ps, "imagePullPolicy");
    if (rc == 0)
        rc = copy_if(ctr, b->b_ps, "command");
    if (rc == 0)
        rc = build_env(b, ctr);
    if (rc == 0)
        rc = copy_if(ctr, b->b_ps, "resources");
    if (rc == 0)
        rc = build_ctr_security(b, ctr);
    if (rc == 0) {
        rc = jx_push(ctrs, ctr);
        ctr = NULL;
    }
    json_object_put(ctr);
    if (rc < 0) {
        json_object_put(ctrs);
        return rc;
    }
    return jx_add(spec, "containers", ctrs);
}

static int build_spec(struct build *b, struct json_object *pod)
{
    static const char *const copied[] = {"serviceAccountName", "imagePullSecrets", "nodeSelector",
                                         "tolerations", "securityContext"};
    struct json_object *spec = json_object_new_object();
    int rc = spec == NULL ? -ENOMEM : jx_add_str(spec, "restartPolicy", "Never");
    for (size_t i = 0; rc == 0 && i < sizeof(copied) / sizeof(copied[0]); i++)
        rc = copy_if(spec, b->b_ps, copied[i]);
    /* The OMJob's deadline bounds the main pod (a real kubelet ends it as
     * DeadlineExceeded); the exit handler runs after it, unbounded. */
    int64_t ads = jx_i64_or(b->b_omjob, "spec.activeDeadlineSeconds", 0);
    if (rc == 0 && b->b_kind == PODSPEC_MAIN && ads > 0)
        rc = jx_add(spec, "activeDeadlineSeconds", json_object_new_int64(ads));
    if (rc == 0)
        rc = build_container(b, spec);
    if (rc < 0) {
        json_object_put(spec);
        return rc;
    }
    return jx_add(pod, "spec", spec);
}

/* Checks the OMJob fields every pod needs and fills b. 0 or -EINVAL. */
static int check_input(struct build *b)
{
    static const char *const meta[] = {"metadata.name", "metadata.namespace", "metadata.uid"};
    const char **dst[] = {&b->b_name, &b->b_ns, &b->b_uid};
    for (size_t i = 0; i < 3; i++) {
        *dst[i] = jx_str(b->b_omjob, meta[i]);
        if (*dst[i] == NULL || (*dst[i])[0] == '\0')
            return bad(b, "%s is missing", meta[i]);
    }
    b->b_field = b->b_kind == PODSPEC_MAIN ? "spec.mainPodSpec" : "spec.exitHandlerSpec";
    b->b_ps = jx_obj(b->b_omjob, b->b_field);
    if (b->b_ps == NULL || !json_object_is_type(b->b_ps, json_type_object))
        return bad(b, "%s is absent", b->b_field);
    const char *image = jx_str(b->b_ps, "image");
    if (image == NULL || image[0] == '\0')
        return bad(b, "%s.image is missing", b->b_field);
    if (b->b_kind == PODSPEC_EXIT && b->b_exit == NULL)
        return bad(b, "exit information is required for the exit pod");
    unsigned attempt = b->b_exit != NULL ? b->b_exit->pe_attempt : 0;
    if (podspec_name(b->b_name, b->b_kind, attempt, b->b_pod, sizeof(b->b_pod)) < 0)
        return bad(b, "metadata.name cannot make a pod name");
    return 0;
}

int podspec_build(const struct json_object *omjob, enum podspec_kind kind,
                  const struct podspec_exit_info *exit_info, struct json_object **pod_out,
                  char *err, size_t errsz)
{
    /* json-c getters take non-const objects; nothing below modifies omjob. */
    struct build b = {.b_omjob = (struct json_object *)omjob,
                      .b_kind = kind,
                      .b_exit = kind == PODSPEC_EXIT ? exit_info : NULL,
                      .b_err = err,
                      .b_errsz = errsz};
    struct json_object *pod = NULL;
    int rc;
    if (omjob == NULL || pod_out == NULL || (kind != PODSPEC_MAIN && kind != PODSPEC_EXIT))
        return bad(&b, "invalid arguments");
    rc = check_input(&b);
    if (rc < 0)
        goto fail;
    pod = json_object_new_object();
    rc = pod == NULL ? -ENOMEM : jx_add_str(pod, "apiVersion", POD_GROUP_VERSION);
    if (rc == 0)
        rc = jx_add_str(pod, "kind", "Pod");
    if (rc == 0)
        rc = build_metadata(&b, pod);
    if (rc == 0)
        rc = build_spec(&b, pod);
    if (rc < 0)
        goto fail;
    *pod_out = pod;
    return 0;
fail:
    if (rc == -ENOMEM)
        bad(&b, "out of memory");
    json_object_put(pod);
    return rc;
}
