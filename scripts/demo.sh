#!/usr/bin/env bash
# Installs, builds, and runs ferry on a local default: a source and a target redis-server on
# loopback (ports 26379 and 26380) with sample data, and `ferry sync` between them with
# configs/demo.yaml. ferry keeps running in the background; the script tells where to look.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
./scripts/install-deps.sh
./scripts/build.sh

DEMO=/tmp/ferry-demo
SRC=26379
DST=26380
for port in $SRC $DST; do redis-cli -p $port shutdown nosave >/dev/null 2>&1 || true; done
if [ -f $DEMO/ferry.pid ]; then kill "$(cat $DEMO/ferry.pid)" >/dev/null 2>&1 || true; fi
rm -rf $DEMO && mkdir -p $DEMO
for port in $SRC $DST; do
  mkdir -p $DEMO/redis-$port
  redis-server --port $port --bind 127.0.0.1 --dir $DEMO/redis-$port --save '' --appendonly no \
    --repl-diskless-sync-delay 0 --repl-backlog-size 64mb --enable-debug-command local \
    --daemonize yes --logfile $DEMO/redis-$port/redis.log
done
for _ in $(seq 50); do redis-cli -p $DST ping >/dev/null 2>&1 && break; sleep 0.1; done

echo "== sample data on the source (127.0.0.1:$SRC)"
redis-cli -p $SRC debug populate 100000 demo 64 >/dev/null
redis-cli -p $SRC rpush demo:list a b c >/dev/null
redis-cli -p $SRC hset demo:hash field value other 42 >/dev/null
redis-cli -p $SRC zadd demo:zset 1.5 one 2.25 two >/dev/null
redis-cli -p $SRC sadd demo:set x y z >/dev/null
redis-cli -p $SRC xadd demo:stream '*' event signup >/dev/null
redis-cli -p $SRC set demo:ttl soon ex 3600 >/dev/null
redis-cli -n 2 -p $SRC set demo:db2 "in another db" >/dev/null
echo "   $(redis-cli -p $SRC dbsize) keys in db 0"

echo "== starting ferry sync -c configs/demo.yaml"
nohup "$ROOT/build/app/ferry" sync -c "$ROOT/configs/demo.yaml" > $DEMO/ferry.out 2>&1 &
echo $! > $DEMO/ferry.pid
for _ in $(seq 100); do grep -q "full sync applied" $DEMO/ferry.log 2>/dev/null && break; sleep 0.1; done
redis-cli -p $SRC set demo:live "written after the full sync" >/dev/null
API=http://127.0.0.1:18001
for _ in $(seq 100); do
  curl -s $API/syncer/status | grep -q '"AppliedPhase":"stream","LagBytes":0' && break
  sleep 0.1
done
# ferry keeps its checkpoint in the target (ferry-checkpoint:*), so compare key by key.
digests() {
  for db in 0 2; do
    redis-cli -p "$1" -n $db --scan | grep -v '^ferry-checkpoint:' | sort |
      sed 's/^/DEBUG DIGEST-VALUE /' | redis-cli -p "$1" -n $db
  done | md5sum | cut -d' ' -f1
}
echo "== per-key digests (DEBUG DIGEST-VALUE of every key, DBs 0 and 2):"
echo "   source $(digests $SRC)"
echo "   target $(digests $DST)"
cat <<MSG

ferry is running (pid $(cat $DEMO/ferry.pid)), syncing 127.0.0.1:$SRC into 127.0.0.1:$DST.
  log:      $DEMO/ferry.log   (progress every 5 s: offsets, lag, commands/s)
  status:   curl -s $API/syncer/status
  metrics:  curl -s $API/prometheus
  try:      redis-cli -p $SRC set hello world; redis-cli -p $DST get hello
  stop:     curl -XDELETE $API/   or   kill \$(cat $DEMO/ferry.pid)   (graceful; exit code 0)
MSG
