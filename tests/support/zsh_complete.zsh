#!/usr/bin/env zsh -f
# Runs zsh's own completion system on one command line and prints what it offers, one candidate
# a line:  zsh -f zsh_complete.zsh COMPLETION_DIR 'tok get --format '
# An interactive zsh in a pseudo-terminal (zsh/zpty) loads compinit with COMPLETION_DIR first in
# fpath; compadd is wrapped to record the candidates added; TAB is typed after the line; a
# function run after completion prints a marker this script waits for.
zmodload zsh/zpty || { print -u2 "zsh_complete: the zsh/zpty module is missing"; exit 2 }
compdir=$1 line=$2
out=$(mktemp) || exit 2
trap 'rm -f $out; zpty -d comp 2>/dev/null' EXIT
zpty -b comp zsh -f -i
zpty -w comp "PS1=; PROMPT=; RPROMPT=; unsetopt zle_bracketed_paste 2>/dev/null"
zpty -w comp "fpath=(${(q)compdir} \$fpath); autoload -Uz compinit; compinit -u -D"
# Record only the calls that add candidates (not those that probe with -O/-A/-D).
zpty -w comp "compadd() { if (( \${@[(I)-[OAD]]} )); then builtin compadd \"\$@\"; return; fi; local -a __m; builtin compadd -O __m \"\$@\"; print -rl -- \$__m >> ${(q)out}; builtin compadd \"\$@\"; }"
# The terminal echoes what is typed: the marker is split in the definition, so only running the
# function prints it whole.
zpty -w comp "__tok_done() { print -n '<<TOK-COMPLETION'-'DONE>>'; }; comppostfuncs=(__tok_done)"
zpty -n -w comp "$line"$'\t'
zpty -r comp __ '*<<TOK-COMPLETION-DONE>>*' || { print -u2 "zsh_complete: no completion happened"; exit 2 }
sort -u $out
