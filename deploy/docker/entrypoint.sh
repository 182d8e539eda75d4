#!/bin/sh
# Picks the Tripline app from the first argument, so one image serves every role. exec keeps
# node as the process that receives SIGTERM and drains (SHUTDOWN_TIMEOUT_MS).
set -e

app="${1:-standalone}"
[ "$#" -gt 0 ] && shift

case "$app" in
  api | ingestor | evaluator | alerter | standalone)
    exec node --enable-source-maps "/app/dist/apps/$app/src/main.js" "$@"
    ;;
  cli | tripline)
    exec node /app/dist/apps/cli/src/main.js "$@"
    ;;
  *)
    # Anything else runs as given, e.g. `docker run tripline node -e ...` or a shell.
    exec "$app" "$@"
    ;;
esac
