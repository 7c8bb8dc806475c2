/*
 * replay.h - `bancluster replay`: a dry run of the parsers and a ban
 * policy over a log file (the fail2ban-regex of bancluster). Nothing is
 * sent, nothing is banned.
 *
 *   replay [--format FMT] [--config INI] [--max-addresses N]
 *          [--print-matched|--print-missed] FILE [--json]
 */
#ifndef BC_REPLAY_H
#define BC_REPLAY_H

/*
 * argv[0] is "replay". Prints the report (or, with --print-*, the lines)
 * on stdout. Returns 0, 64 on a bad command line (one line on stderr
 * naming the bad value), 78 when --config cannot be loaded, or 1 when
 * the file cannot be read.
 */
int bc_replay_main(int argc, char **argv);

#endif
