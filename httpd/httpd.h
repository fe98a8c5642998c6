/* The httpd role's entry point (see httpd/httpd.c). */
#ifndef OMJOB_HTTPD_H
#define OMJOB_HTTPD_H

/* Runs the httpd role; argv[0] is "httpd". Returns the process exit status. */
int httpd(int argc, char **argv);

#endif
