/*
 * audit_smtp.h - `bancluster audit smtp`: verify from outside that an SMTP
 * server takes credentials only over TLS, checks MAIL FROM, refuses to
 * relay, and (opt-in) bans repeated abuse. See docs/audit-smtp.md.
 */
#ifndef BC_AUDIT_SMTP_H
#define BC_AUDIT_SMTP_H

/* Exit codes of the audit (Nagios plugin convention), and EX_USAGE (64)
 * of <sysexits.h> on a bad command line. */
#define BC_AUDIT_EXIT_OK 0      /* every check passed (info/skip allowed) */
#define BC_AUDIT_EXIT_WARN 1    /* at least one warning, no failure */
#define BC_AUDIT_EXIT_FAIL 2    /* at least one failure */
#define BC_AUDIT_EXIT_UNKNOWN 3 /* the server could not be audited */

/*
 * Run `audit smtp`. argv[0] is "smtp", the rest are the command's
 * arguments. Prints the report on stdout (human or --json), one-line
 * errors on stderr, and returns the process exit code above.
 */
int bc_audit_smtp_main(int argc, char **argv);

#endif
