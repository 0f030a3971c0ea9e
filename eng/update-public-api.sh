#!/usr/bin/env bash
# Records every new public symbol (analyzer RS0016) of the shipped packages in PublicAPI.Unshipped.txt,
# and drops lines for symbols that no longer exist (RS0017). Review the diff: it is the public API change.
set -uo pipefail
cd "$(dirname "$0")/.."
for proj in ZenTalk.Storage ZenTalk.MeshStorage ZenTalk.Sdk; do
  [ -f "$proj/$proj.csproj" ] || continue
  file="$proj/PublicAPI.Unshipped.txt"
  out=$(dotnet build "$proj/$proj.csproj" -c Release --no-incremental -p:TreatWarningsAsErrors=false 2>&1)
  added=$(echo "$out" | sed -n "s/.*warning RS0016: Symbol '\(.*\)' is not part of the declared public API.*/\1/p" | sort -u)
  removed=$(echo "$out" | sed -n "s/.*warning RS0017: Symbol '\(.*\)' is part of the declared API.*/\1/p" | sort -u)
  {
    echo '#nullable enable'
    { tail -n +2 "$file"; printf '%s\n' "$added"; } | grep -v -x -F -e '' -f <(printf '%s\n' "$removed" | grep . || echo '#never#') | sort -u
  } > "$file.tmp"
  mv "$file.tmp" "$file"
  echo "$proj: $(printf '%s' "$added" | grep -c .) added, $(printf '%s' "$removed" | grep -c .) removed"
done
