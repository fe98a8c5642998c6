{{/* Names, labels and the RBAC rules, shared by every template of the chart. */}}

{{- define "omjob-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "omjob-operator.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else if contains (include "omjob-operator.name" .) .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name (include "omjob-operator.name" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{- define "omjob-operator.serviceAccountName" -}}
{{- default (include "omjob-operator.fullname" .) .Values.serviceAccount.name }}
{{- end }}

{{- define "omjob-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "omjob-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "omjob-operator.labels" -}}
{{ include "omjob-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end }}

{{/* The watched namespaces: a list, empty for ALL. */}}
{{- define "omjob-operator.watchList" -}}
{{- $w := .Values.env.watchNamespaces | toString | trim }}
{{- if and (ne $w "ALL") (ne $w "") }}
{{- range splitList "," $w }}{{ if trim . }}{{ trim . }},{{ end }}{{ end }}
{{- end }}
{{- end }}

{{/*
Exactly the API calls the operator makes (grep kube_get/list/create/patch/delete
in roles/ and runtime/events.c; tests/integration/test_rbac.sh runs the operator
under these and fails on any 403):
  omjobs         get (cleaner, scheduler), list/watch (watcher), create (scheduler:
                 a CronOMJob's run), patch (reconciler: its finalizer), delete
                 (cleaner: TTL; scheduler: history limits)
  omjobs/status  patch (reconciler); cronomjobs list/watch (watcher);
                 cronomjobs/status patch (scheduler)
  finalizers     update (omjobs/, cronomjobs/): the pods' and runs' ownerReferences set blockOwnerDeletion,
                 which OwnerReferencesPermissionEnforcement admits only from who may
                 update the owner's finalizers
  pods           get (reconciler: gone?), list/watch (watcher), create, patch (its
                 finalizer), delete (reconciler)
  events         create, get, patch (a restarted process counts into its
                 predecessor's Event), list (Events a crashed process did not post)
  customresourcedefinitions  get, of our two CRDs only (watcher, once at start:
                 which of our fields an older CRD prunes): a ClusterRole of its
                 own (rbac.yaml), in namespaced mode too, as CRDs are cluster-scoped
*/}}
{{- define "omjob-operator.rules" -}}
- apiGroups: [pipelines.openmetadata.org]
  resources: [omjobs]
  verbs: [get, list, watch, create, patch, delete]
- apiGroups: [pipelines.openmetadata.org]
  resources: [cronomjobs]
  verbs: [list, watch]
- apiGroups: [pipelines.openmetadata.org]
  resources: [omjobs/status, cronomjobs/status]
  verbs: [patch]
- apiGroups: [pipelines.openmetadata.org]
  resources: [omjobs/finalizers, cronomjobs/finalizers]
  verbs: [update]
- apiGroups: [""]
  resources: [pods]
  verbs: [get, list, watch, create, patch, delete]
- apiGroups: [""]
  resources: [events]
  verbs: [get, list, create, patch]
{{- end }}
