#!/usr/bin/env bash
# Counts lifecycle state and event names written as string literals ("open", "award", ...) in a source tree.
#
# The names are the `as_str` values of the lifecycle enums whose name ends in `State` or `Event`
# (TenderState, TenderEvent, LotState, LotEvent, ParticipationState, ParticipationEvent, RequestState,
# RequestEvent), read from `crates/lifecycle/src`. Not counted: the demo (`src/demo/`), migrations,
# `tests/` directories and `#[cfg(test)]` items (skipped by brace depth, a heuristic that ignores braces
# inside strings and comments).
#
# Usage: scripts/count-state-literals.sh [DIR ...]   (default: crates/service/src)
#        -v  list every hit (file:line: name)
set -euo pipefail
cd "$(dirname "$0")/.."

verbose=0
if [[ "${1:-}" == "-v" ]]; then verbose=1; shift; fi
dirs=("$@")
[[ ${#dirs[@]} -eq 0 ]] && dirs=(crates/service/src)

# names: the literals of `string_enum!` blocks of *State / *Event enums
names=$(perl -ne '
    if (/^\s*pub enum (\w+(?:State|Event)) \(/) { $in = 1; next }
    if ($in && /^\s*\}/) { $in = 0; next }
    print "$1\n" if $in && /=>\s*"([a-z0-9_]+)"/;
' crates/lifecycle/src/*.rs | sort -u)

files=$(find "${dirs[@]}" -name '*.rs' -not -path '*/demo/*' -not -path '*/migration/*' -not -path '*/tests/*' | sort)

perl -e '
    my ($verbose, $names, @files) = @ARGV;
    my %name = map { $_ => 1 } split /\n/, $names;
    my ($total, %distinct, %perfile) = (0);
    for my $f (@files) {
        open my $fh, "<", $f or die "$f: $!";
        my ($pending, $depth, $skipping) = (0, 0, 0);
        while (my $line = <$fh>) {
            if ($skipping) {
                $depth += () = $line =~ /\{/g;
                $depth -= () = $line =~ /\}/g;
                $skipping = 0 if $depth <= 0;
                next;
            }
            if ($line =~ /^\s*#\[cfg\(test\)\]/) { $pending = 1; next }
            if ($pending) {
                my $o = () = $line =~ /\{/g;
                my $c = () = $line =~ /\}/g;
                if ($o) { $depth = $o - $c; $skipping = $depth > 0; $pending = 0; }
                elsif ($line =~ /;\s*$/) { $pending = 0 }
                next;
            }
            next if $line =~ m{^\s*//};
            while ($line =~ /"([a-z0-9_]+)"/g) {
                next unless $name{$1};
                $total++; $distinct{$1}++; $perfile{$f}++;
                print "$f:$.: $1\n" if $verbose;
            }
        }
    }
    printf "%-60s %d\n", $_, $perfile{$_} for sort keys %perfile;
    printf "total literals: %d (distinct names: %d)\n", $total, scalar keys %distinct;
' "$verbose" "$names" $files
