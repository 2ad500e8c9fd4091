#!/usr/bin/env bash
# Prints help2man's include file (extra man page sections) for one droplab binary: for
# droplab, the --help of every subcommand (read from the binary, so it never goes stale),
# where the shipped profiles are, and SEE ALSO. Called by the build (CMakeLists.txt).
# Usage: scripts/man-include.sh /path/to/droplab[-gen|-sink]
set -euo pipefail
BIN=${1:?usage: man-include.sh BINARY}
PROG=$(basename "$BIN")

# Lines of a section ("Subcommands") of a --help: the first word of each entry.
subcommands() {
  "$@" --help | awk '/^[A-Za-z][A-Za-z ]*:$/ { s = ($0 == "Subcommands:"); next }
                     s && /^  [^ ]/ { print $1 }'
}

# A --help as a literal roff block: backslashes escaped, no line read as a request.
literal() {
  echo ".nf"
  "$@" --help | sed -e 's/\\/\\e/g' -e "s/^\([.']\)/\\\\\&\1/"
  echo ".fi"
}

# Each subcommand's help under its own heading, nested subcommands included.
commands() {
  local sub title=$PROG w
  for w in "${@:2}"; do title+=" $w"; done
  for sub in $(subcommands "$@"); do
    echo ".SS \"$title $sub\""
    literal "$@" "$sub"
    commands "$@" "$sub"
  done
}

case $PROG in
droplab)
  echo "[COMMANDS]"
  commands "$BIN"
  cat <<'EOF'
[FILES]
.TP
.I /usr/share/droplab/profiles/NAME.json
The shipped profiles. A bare NAME (no slash, no .json), as in
.BR "droplab run socket-rcvbuf" ,
is looked up in
.I ../share/droplab/profiles
next to the droplab binary; anything else is a path to a profile file.
.TP
.I /run/droplab
The host lock and the journals of changes a run made, undone by the next run after a crash.
[SEE ALSO]
.BR droplab-gen (1),
.BR droplab-sink (1)
EOF
  ;;
*)
  cat <<'EOF'
[SEE ALSO]
.BR droplab (1),
which runs this program in its lab.
EOF
  ;;
esac
