/* Placeholder until the kube library lands; its owner deletes this file. */
typedef int kube_placeholder_t;
