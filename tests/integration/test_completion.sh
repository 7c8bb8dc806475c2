#!/bin/sh
# test_completion.sh - deploy/completion/bancluster in a bash with no
# bash-completion package: commands, subcommands, options and option
# values come from the built program's usage; file arguments complete
# file names; a program that cannot run completes nothing, silently.
# Each case sets COMP_WORDS and COMP_CWORD as bash does and compares
# COMPREPLY exactly. No namespaces. Env: B.
. "$(dirname "$0")/lib.sh"

COMP=$TOP/deploy/completion/bancluster
WORK=$(mktemp -d /tmp/bc-comp.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
mkdir "$WORK/logs" "$WORK/etc"
: >"$WORK/logs/mail.log"
: >"$WORK/logs/mail log 2"
: >"$WORK/etc/cli.ini"

if ! command -v bash >/dev/null 2>&1; then
	echo "# SKIP completion: no bash"
	exit 0
fi
check "bash -n: the completion file parses" bash -n "$COMP"

# comp WANT WORD...: complete the last WORD (COMP_CWORD = the last);
# COMPREPLY, sorted and joined by spaces, must be WANT. The program is
# found on PATH as "bancluster", as an admin would type it.
comp() {
	want=$1
	shift
	got=$(cd "$WORK" && PATH="$BIN:$PATH" bash -c '
		source "$0"
		COMP_WORDS=("$@")
		COMP_CWORD=$(($# - 1))
		_bancluster
		printf "%s\n" "${COMPREPLY[@]}" | LC_ALL=C sort | tr "\n" " "' \
		"$COMP" bancluster "$@" 2>&1)
	got=${got% }
	if [ "$got" = "$want" ]; then
		ok "complete 'bancluster $*': $want"
	else
		notok "complete 'bancluster $*': want \"$want\", got \"$got\""
	fi
}

out=$(bash -c 'source "$0"; complete -p bancluster' "$COMP" 2>&1)
check "sourcing registers it: $out" [ "$out" = "complete -F _bancluster bancluster" ]

# commands and global options
comp "ban" ba
comp "admin agent allow audit ban keygen list replay report show status unban" ""
comp "replay report" re
comp "--config --help --version -V -c -h" -
comp "--config" --con
comp "status" -c etc/cli.ini st
comp "status" --config etc/cli.ini st
comp "etc/cli.ini" -c etc/c
# subcommands
comp "fleet smtp" audit ""
comp "add list remove" agent ""
comp "add list remove" admin ""
comp "remove" agent rem
comp "--help --json" agent list ""
comp "--help" admin add ""
comp "agent" ag
comp "--help --json" audit fleet ""
comp "--ban-test" audit smtp mx.example.org --ban
comp "add list remove" allow ""
comp "remove" allow re
comp "--comment --for --help" allow add 192.0.2.0/24 ""
comp "--comment --for --help" allow add 192.0.2.0/24 --for 1h ""
comp "--help --json" allow list ""
comp "--help" allow remove 192.0.2.0/24 ""
# options of a command, those given already left out
comp "--for --force --help --reason" ban 192.0.2.1 --
comp "--help --json --local --manual --since" list --active ""
comp "--help --json" status ""
comp "--covering --fleet-only --help --local-only" unban 192.0.2.7 --
comp "--covering" unban --cov
comp "--fleet-only --help --local-only" unban --covering 192.0.2.7 --
# "[--a|--b]": once one is given, neither is offered again
comp "--covering --help" unban --local-only 192.0.2.7 --
comp "--covering --help" unban 192.0.2.7 --fleet-only --
comp "--count --help --kind --service --socket" report 192.0.2.1 --
# option values from their placeholders
comp "permanent" ban 192.0.2.1 --for ""
comp "abort all auth sender" audit smtp mx.example.org --ban-test ""
comp "auth_abort auth_fail auth_success sender_violation" report 192.0.2.1 --kind ""
comp "sender_violation" report 192.0.2.1 --kind s
comp "auto dovecot exim postfix sendmail" replay --format ""
comp "exim" replay --format ex
comp "" ban 192.0.2.1 --reason ""
# file names: replay's FILE, keygen --out PATH, audit smtp --ca-file F
comp "logs/mail log 2 logs/mail.log" replay logs/m
comp "logs/mail log 2 logs/mail.log" replay --format postfix logs/
comp "--config --format --help --json --max-addresses --print-matched --print-missed" replay -
comp "etc/cli.ini" keygen --out etc/
comp "logs/mail.log" audit smtp mx.example.org --ca-file logs/mail.l
# nothing for a program that is not there, and no error
got=$(bash -c 'source "$0"; COMP_WORDS=(/nonexistent/bancluster ba); COMP_CWORD=1; _bancluster; echo "[${COMPREPLY[*]}]"' "$COMP" 2>&1)
check "a program that cannot run: nothing, silently ($got)" [ "$got" = "[]" ]
# a path to the program works as well as PATH
got=$(bash -c 'source "$0"; COMP_WORDS=("$1" sta); COMP_CWORD=1; _bancluster; echo "${COMPREPLY[*]}"' "$COMP" "$BIN/bancluster" 2>&1)
check "COMP_WORDS[0] a path to the program ($got)" [ "$got" = "status" ]
# the shell's options are left as they were (set -f is local)
got=$(bash -c 'source "$0"; COMP_WORDS=(bancluster list ""); COMP_CWORD=2; PATH="$1:$PATH" _bancluster; case $- in *f*) echo noglob;; *) echo glob;; esac' "$COMP" "$BIN" 2>&1)
check "globbing left on after a completion ($got)" [ "$got" = glob ]

# make install puts it where bash-completion looks, below PREFIX
if command -v make >/dev/null 2>&1 &&
	make -s -C "$TOP" B="$B" PREFIX=/usr/local DESTDIR="$WORK/root" install >"$WORK/install.log" 2>&1; then
	f=$WORK/root/usr/local/share/bash-completion/completions/bancluster
	[ "$(stat -c %a "$f" 2>/dev/null)" = 644 ] && cmp -s "$f" "$COMP"
	verdict "make install: \$(PREFIX)/share/bash-completion/completions/bancluster, 0644, as in deploy/"
	cmp -s "$WORK/root/usr/local/share/doc/bancluster/LICENSE" "$TOP/LICENSE"
	verdict "make install: LICENSE beside the README"
else
	notok "make install DESTDIR=$WORK/root: $(tail -3 "$WORK/install.log" | tr '\n' ' ')"
fi

echo "# $PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
