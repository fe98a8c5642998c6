/* omjob-operator's entry point: parses the command line and dispatches to the
 * supervisor (no role given) or to one role run in the foreground. */
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "version.h"

#define EX_USAGE 64

static void usage(FILE *f)
{
    fprintf(f, "usage: omjob-operator [--version] [--help]\n"
               "\n"
               "Runs OpenMetadata ingestion jobs (OMJob resources) and guarantees that each\n"
               "job's exit handler runs. Configuration comes from the environment:\n"
               "KUBECONFIG, OPERATOR_NAMESPACE, WATCH_NAMESPACES, RECONCILIATION_THREADS,\n"
               "HEALTH_CHECK_PORT, METRICS_PORT, LOG_LEVEL, LOG_FORMAT (see README.md).\n");
}

int main(int argc, char **argv)
{
    log_init("supervisor");
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--version") == 0 || strcmp(argv[i], "-V") == 0) {
            printf("omjob-operator %s (build %s)\n", OMJOB_VERSION, OMJOB_BUILD);
            return 0;
        }
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        }
        fprintf(stderr, "omjob-operator: unknown argument '%s' (try --help)\n", argv[i]);
        return EX_USAGE;
    }
    fprintf(stderr, "omjob-operator: the supervisor is not implemented yet\n");
    return 1;
}
