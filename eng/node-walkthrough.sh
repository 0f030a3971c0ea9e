#!/usr/bin/env bash
# The storage node as an operator gets it (issue 17): pack ZenTalk.StorageNode, install it with `dotnet tool install`
# into a temporary tool path from a folder feed, then run the five-node walkthrough of docs/rest-api.md exactly as
# written: its ```sh blocks that follow a "<!-- walkthrough: NAME -->" marker, in order, in one bash with -e. Checks
# that each "stop" block (SIGTERM to all five) ends within 10 s with every node's exit code 0, that the file reads back
# identical before and after the restart, and that no node reported a segment lost. The nodes run inside a private
# network namespace (loopback only) when unshare -n is permitted. Prints one line per step; exits non-zero on failure.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
tmp=$(mktemp -d)
version="0.1.0-ci.$(date +%s)"
walk="$tmp/walk"
mkdir -p "$walk"

cleanup() {
  # Only the nodes this run started (their pid files), then the files and the cached package.
  for f in "$walk"/node*.pid; do [ -f "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null || true; done
  rm -rf "$tmp"
  local cache
  cache=$(dotnet nuget locals global-packages --list 2>/dev/null | sed -n 's/^global-packages: //p')
  [ -n "$cache" ] && rm -rf "${cache%/}/zentalk.storagenode/$version"
  return 0
}
trap cleanup EXIT

# --no-restore: .ci/run restored the solution already, and a restore here would ask the feed for vulnerability data again.
dotnet pack ZenTalk.StorageNode/ZenTalk.StorageNode.csproj -c Release -nologo --no-restore -o "$tmp/feed" -p:Version="$version" >"$tmp/pack.log" 2>&1 \
  || { cat "$tmp/pack.log"; echo "node walkthrough: pack failed"; exit 1; }
dotnet tool install ZenTalk.StorageNode --tool-path "$tmp/tools" --add-source "$tmp/feed" --version "$version" >"$tmp/install.log" 2>&1 \
  || { cat "$tmp/install.log"; echo "node walkthrough: dotnet tool install failed"; exit 1; }
[ -x "$tmp/tools/zentalk-node" ] || { echo "node walkthrough: the tool path has no zentalk-node command"; exit 1; }
echo "node walkthrough: installed ZenTalk.StorageNode $version into a temporary tool path"

# The walkthrough's blocks, each timed; "stop" blocks must end within 10 s.
script="$tmp/walkthrough.sh"
{
  echo 'set -euo pipefail'
  awk '
    /^<!-- walkthrough: [a-z-]+ -->$/ { name = $3; next }
    name != "" && /^```sh$/ { inblock = 1; print "echo \"== " name "\"; __start=$(date +%s%N)"; next }
    inblock && /^```$/ {
      inblock = 0
      print "__ms=$(( ($(date +%s%N) - __start) / 1000000 )); echo \"== " name " took ${__ms} ms\""
      if (name ~ /^stop/) print "[ \"$__ms\" -lt 10000 ] || { echo \"== " name ": over 10 s\"; exit 1; }"
      name = ""; next
    }
    inblock { print }
  ' docs/rest-api.md
} >"$script"
steps=$(grep -c '^echo "== ' "$script" || true)
[ "$steps" -ge 6 ] || { echo "node walkthrough: found $steps walkthrough blocks in docs/rest-api.md, expected 6"; exit 1; }

runtime=$(dotnet --list-runtimes | sed -n 's/^Microsoft.AspNetCore.App 10\.[^ ]* \[\(.*\)\/shared\/Microsoft.AspNetCore.App\]$/\1/p' | head -n 1)
run="cd '$walk' && PATH='$tmp/tools':\$PATH DOTNET_ROOT='${DOTNET_ROOT:-$runtime}' bash '$script'"
status=0
if unshare -n true 2>/dev/null; then
  unshare -n sh -c "ip link set lo up && $run" >"$tmp/walk.log" 2>&1 || status=$?
else
  sh -c "$run" >"$tmp/walk.log" 2>&1 || status=$?
fi
sed 's/^/  /' "$tmp/walk.log"

fail=0
[ "$status" -eq 0 ] || { echo "node walkthrough: the walkthrough exited with $status"; fail=1; }
[ "$(grep -c '^identical$' "$tmp/walk.log")" -eq 1 ] || { echo "node walkthrough: the download differed"; fail=1; }
[ "$(grep -c '^identical after the restart$' "$tmp/walk.log")" -eq 1 ] || { echo "node walkthrough: the download after the restart differed"; fail=1; }
[ "$(grep -c '^node[1-5] exited with code 0$' "$tmp/walk.log")" -eq 10 ] || { echo "node walkthrough: not every SIGTERM ended in exit code 0"; fail=1; }
if grep -l 'cannot be rebuilt' "$walk"/node*.log >/dev/null 2>&1; then
  echo "node walkthrough: a node reported a segment lost:"; grep -h 'cannot be rebuilt' "$walk"/node*.log; fail=1
fi
if [ "$fail" -ne 0 ]; then
  for f in "$walk"/node*.log; do echo "--- $f"; tail -n 20 "$f"; done
  exit 1
fi
echo "node walkthrough: 5 nodes installed, initialised, started, file stored and read back, SIGTERM -> exit 0 within 10 s, restarted, read back"
