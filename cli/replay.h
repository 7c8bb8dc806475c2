/*
 * replay.h - `bancluster replay [--format FMT] FILE [--json]`: a dry run of
 * the parsers and the default ban policy over a log file (the
 * fail2ban-regex of bancluster). Nothing is sent, nothing is banned.
 */
#ifndef BC_REPLAY_H
#define BC_REPLAY_H

/*
 * argv[0] is "replay". Prints the report on stdout. Returns 0, 64 on a
 * bad command line (one line on stderr naming the bad value), or 1 when
 * the file cannot be read.
 */
int bc_replay_main(int argc, char **argv);

#endif
