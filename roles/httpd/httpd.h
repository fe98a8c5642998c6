/* The httpd role's entry point (see roles/httpd/httpd.c). */
#ifndef OMJOB_ROLES_HTTPD_HTTPD_H
#define OMJOB_ROLES_HTTPD_HTTPD_H

/* Runs the httpd role; argv[0] is "httpd". Returns the process exit status. */
int httpd(int argc, char **argv);

#endif
