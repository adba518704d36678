#!/bin/sh
# The halt scenario of the fleet (issue #16), with the real commands, on
# this machine: N simulated devices (default 2000) run 1.0; the channel is
# handed to the fleet service (stages 10,50,100 every EVERY, halt at 20%
# failures after 20 reports); 2.0, whose health check fails on every
# device, is released and halted at its first stage; 3.0, a good release,
# then reaches every device. Time is compressed: devices poll every POLL
# (default 10s), stages last EVERY (default 60s), the run DURATION
# (default 5m).
#
#   FERRY=./ferry N=2000 sh scripts/fleet-halt.sh
#   FERRY=./ferry N=10000 POLL=20s EVERY=90s DURATION=7m sh scripts/fleet-halt.sh
#
# It prints the simulator's figures, the rollout status when 2.0 halted and
# the fleet service's decisions. Work files stay in $W (printed).
set -eu
FERRY=$(command -v "${FERRY:-ferry}")
N=${N:-2000}
POLL=${POLL:-10s}
EVERY=${EVERY:-60s}
DURATION=${DURATION:-5m}
W=$(mktemp -d)
cd "$W"
echo "work folder: $W"
"$FERRY" keygen --out keys >/dev/null
"$FERRY" keys add-rollout --keys keys --channel stable
for v in 1.0 2.0 3.0; do
	mkdir -p "src-$v/app"
	for i in 1 2 3 4 5 6; do head -c 3000 /dev/urandom | base64 >"src-$v/app/f$i.py"; done
	echo "$v" >"src-$v/VERSION"
done
"$FERRY" release --from src-1.0 --version 1.0 --keys keys --origin origin
"$FERRY" fleet token >token
"$FERRY" serve origin --addr 127.0.0.1:18080 2>/dev/null &
ORIGIN_PID=$!
"$FERRY" fleet serve --addr 127.0.0.1:18090 --db fleet.db --token-file token \
	--origin origin --rollout-keys keys --decide-every 2s 2>fleet.log &
FLEET_PID=$!
trap 'kill $ORIGIN_PID $FLEET_PID 2>/dev/null' EXIT
sleep 1
"$FERRY" fleet simulate --devices "$N" --origin http://127.0.0.1:18080 --root keys/root.pub \
	--fleet http://127.0.0.1:18090 --token-file token --poll "$POLL" --duration "$DURATION" \
	--fault-rate 0.01 --power-cut-rate 0.01 --unhealthy 2.0 >simulate.txt &
SIM_PID=$!
sleep 45
"$FERRY" rollout --channel stable --db fleet.db --stages 10,50,100 --every "$EVERY" \
	--halt-on-failure-rate 20% --min-reports 20 --keys keys --origin origin
"$FERRY" release --from src-2.0 --version 2.0 --keys keys --origin origin
until "$FERRY" rollout --channel stable --db fleet.db --status | grep -q '^halt:'; do sleep 1; done
echo "--- 2.0 halted:"
"$FERRY" rollout --channel stable --db fleet.db --status
sleep 30
"$FERRY" release --from src-3.0 --version 3.0 --keys keys --origin origin
wait $SIM_PID
echo "--- the simulator:"
cat simulate.txt
echo "--- the fleet service's decisions:"
grep 'rollout decision' fleet.log
