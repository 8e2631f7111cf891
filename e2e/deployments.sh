# Deployments: scale 1 → 5 → 2, roll to a new template without going below maxUnavailable.
. "$(dirname "$0")/lib.sh"
# Each pod is ready once it has written its own file (pods share the node's /tmp, as
# processes on one machine do; the files are removed at the end).
trap 'rm -f /tmp/ready-web-*; cleanup' EXIT
M=$KPLANE_STATE_DIR/manifests
mkdir -p $M
deployment() {
cat > $M/deploy.yaml <<YAML
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: $1
  strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 1, maxUnavailable: 1}}
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        command: [sh, -c, "sleep 1; touch /tmp/ready-\$HOSTNAME; exec sleep 3600"]
        env: [{name: VERSION, value: "$2"}]
        readinessProbe: {exec: {command: [sh, -c, "test -f /tmp/ready-\$HOSTNAME"]}, periodSeconds: 1}
YAML
}
# Waits until the watched manifest has been re-applied (replicas $1, VERSION $2).
applied() { "$K" get deploy web -o yaml | grep -q "replicas: $1" && "$K" get deploy web -o yaml | grep -q "value: $2"; }
ready_count() { "$K" get deploy web -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"].get("readyReplicas",0))'; }
running_pods() { "$K" get po -l app=web -o name | wc -l; }
deployment 1 v1
up -f $M --components controllers,pods
eventually 30 sh -c "[ \$($K get deploy web -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"status\"].get(\"readyReplicas\",0))') -eq 1 ]" || fail "1 replica not ready"
ok "deployment ready with 1 replica"
deployment 5 v1
eventually 10 applied 5 v1 || fail "manifest change not applied"
"$K" rollout status deploy/web --timeout 60 >/dev/null || fail "scale to 5 did not finish"
[ "$(running_pods)" -eq 5 ] || fail "expected 5 pods, got $(running_pods)"
ok "scaled to 5"
deployment 2 v1
eventually 10 applied 2 v1 || fail "manifest change not applied"
eventually 40 sh -c "[ \$($K get po -l app=web -o name | wc -l) -eq 2 ]" || fail "expected 2 pods after scale down, got $(running_pods)"
ok "scaled down to 2"
deployment 2 v2
eventually 10 applied 2 v2 || fail "manifest change not applied"
low=2
for i in $(seq 1 150); do
    r=$(ready_count); [ "$r" -lt "$low" ] && low=$r
    if "$K" rollout status deploy/web --timeout 0.2 >/dev/null 2>&1; then break; fi
done
"$K" rollout status deploy/web --timeout 60 >/dev/null || fail "rollout to v2 did not finish"
[ "$low" -ge 1 ] || fail "ready replicas dropped to $low during the rollout (maxUnavailable 1)"
two_pods() { [ "$(running_pods)" -eq 2 ]; }
eventually 40 two_pods || fail "old pods were not removed after the rollout"
for p in $("$K" get po -l app=web -o name); do
    "$K" get "$p" -o yaml | grep -q "value: v2" || fail "$p still runs the old template"
done
ok "rolled to a new template; ready replicas never below $low (maxUnavailable 1)"
