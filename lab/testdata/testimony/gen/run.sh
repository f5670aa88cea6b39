#!/bin/bash
# run.sh NAME -- gateway command...: upstreams + gateway + client, all stopped by PID.
# Run in /tmp/gcfix with upbin and clientbin built there from gen/up and
# gen/client (go build -o upbin ./up; go build -o clientbin ./client) and the
# gateway's config in /tmp/gcfix/NAME; the gateway writes its logs there.
set -u
name=$1; shift; shift
dir=/tmp/gcfix/$name
cd /tmp/gcfix
./upbin > up.out 2>&1 & up=$!
sleep 0.5
"$@" > $dir/stdout.log 2> $dir/stderr.log & gw=$!
sleep 1.5
./clientbin http://127.0.0.1:18180 | tee $dir/client.out
sleep 0.5
kill -TERM $gw
for i in $(seq 50); do kill -0 $gw 2>/dev/null || break; sleep 0.1; done
kill -0 $gw 2>/dev/null && { echo "gateway $gw still running, KILL"; kill -KILL $gw; }
wait $gw
echo "gateway exit $?"
kill $up; wait $up 2>/dev/null
