/* Placeholder until the ipc library lands; its owner deletes this file. */
typedef int ipc_placeholder_t;
