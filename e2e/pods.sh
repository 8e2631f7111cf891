# Pods on one machine: network, identity, volumes, probes, restarts, Deployments, crash recovery.
. "$(dirname "$0")/lib.sh"
M=$KPLANE_STATE_DIR/manifests
mkdir -p $M /tmp/kplane-e2e-hostpath && chmod 777 /tmp/kplane-e2e-hostpath
trap 'cleanup; rm -rf /tmp/kplane-e2e-hostpath' EXIT
cat > $M/pods.yaml <<'YAML'
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
---
apiVersion: v1
kind: Pod
metadata: {name: server, labels: {app: web}}
spec:
  hostname: alpha
  subdomain: web
  containers:
  - name: web
    command: [/usr/bin/python3, -m, http.server, "8080", --directory, /www]
    ports: [{containerPort: 8080, name: http}]
    readinessProbe: {httpGet: {path: /ready, port: http}, periodSeconds: 1, failureThreshold: 1}
    env:
    - {name: MY_IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}
    - {name: GREETING, value: "hello from $(MY_IP)"}
    volumeMounts:
    - {name: www, mountPath: /www}
    - {name: host, mountPath: /host}
  volumes:
  - {name: www, emptyDir: {}}
  - {name: host, hostPath: {path: /tmp/kplane-e2e-hostpath, type: DirectoryOrCreate}}
---
apiVersion: v1
kind: Pod
metadata: {name: client}
spec:
  containers:
  - name: sh
    command: [sleep, "3600"]
---
apiVersion: v1
kind: Pod
metadata: {name: flaky}
spec:
  containers:
  - name: sh
    command: [sh, -c, "touch /state/alive; exec sleep 3600"]
    livenessProbe: {exec: {command: [test, -f, /state/alive]}, initialDelaySeconds: 2, periodSeconds: 1, failureThreshold: 1, timeoutSeconds: 10}
    volumeMounts: [{name: state, mountPath: /state}]
  volumes: [{name: state, emptyDir: {}}]
---
apiVersion: v1
kind: Pod
metadata: {name: chatty}
spec:
  restartPolicy: Never
  containers:
  - name: sh
    command: [sh, -c, "yes 'a line of output' | head -c 3000000; sleep 2; echo done"]
YAML
up -f $M --restart-backoff 1 --container-log-max-size 1
eventually 20 pod_ip server || fail "server pod got no address"
eventually 20 pod_ip client || fail "client pod got no address"
SERVER=$(pod_ip server); CLIENT=$(pod_ip client)
[ "$SERVER" != "$CLIENT" ] || fail "two pods share $SERVER"
ok "pods got distinct addresses $SERVER and $CLIENT from 10.244.0.0/16"

eventually 10 "$K" exec server -- true || fail "exec into server"
"$K" exec server -- sh -c 'mkdir -p /www && echo pong > /www/ping'
out=$("$K" exec client -- wget -q -T 3 -O - "http://$SERVER:8080/ping") || fail "client could not reach server by IP"
[ "$out" = pong ] || fail "unexpected answer '$out'"
ok "a pod reaches another by IP"

[ "$("$K" exec server -- hostname)" = alpha ] || fail "hostname is not alpha"
"$K" exec server -- cat /etc/hosts | grep -q "alpha.web.default.svc.cluster.local" || fail "/etc/hosts lacks the FQDN"
"$K" exec client -- cat /etc/resolv.conf | grep -q "^nameserver 10.96.0.10" || fail "resolv.conf nameserver"
"$K" exec client -- cat /etc/resolv.conf | grep -q "^search default.svc.cluster.local svc.cluster.local cluster.local" || fail "resolv.conf search"
"$K" exec client -- cat /etc/resolv.conf | grep -q "^options ndots:5" || fail "resolv.conf options"
[ "$("$K" exec server -- sh -c 'echo $GREETING')" = "hello from $SERVER" ] || fail "env expansion"
"$K" exec client -- sh -c 'echo $WEB_SERVICE_HOST $WEB_SERVICE_PORT' | grep -Eq '^10\.[0-9.]+ 80$' || fail "service environment variables"
[ "$("$K" exec client -- id -u)" = 65534 ] || fail "containers must not run as root by default"
ok "hostname, /etc/hosts, resolv.conf, env and service env vars, unprivileged user"

pod_ready server && fail "server is ready before /ready exists"
"$K" exec server -- sh -c 'echo yes > /www/ready'
eventually 10 pod_ready server || fail "server did not become ready"
"$K" exec server -- rm /www/ready
not_ready() { ! pod_ready server; }
eventually 10 not_ready || fail "server stayed ready after /ready went away"
ok "readiness follows the probe both ways"
"$K" exec server -- sh -c 'echo yes > /www/ready'

restarts() { "$K" get po flaky -o json | jsonpath '["status"]["containerStatuses"][0]["restartCount"]'; }
eventually 20 "$K" exec flaky -- rm /state/alive || fail "could not exec into flaky"
eventually 15 sh -c "[ \$($K get po flaky -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"status\"][\"containerStatuses\"][0][\"restartCount\"])') -ge 1 ]" || fail "liveness failure did not restart the container"
ok "a liveness failure restarts the container (restarts: $(restarts))"

"$K" exec server -- sh -c 'echo kept > /host/file && echo lost > /www/file'
WWW=$(ls -d $KPLANE_STATE_DIR/pods/*/volumes/www)
[ -f "$WWW/file" ] || fail "emptyDir content not on the node"
"$K" delete pod server >/dev/null
eventually 30 sh -c "! $K get po server" || fail "server pod not removed"
[ ! -e "$WWW" ] || fail "emptyDir survived its pod"
[ "$(cat /tmp/kplane-e2e-hostpath/file)" = kept ] || fail "hostPath lost its data"
rm -rf /tmp/kplane-e2e-hostpath
ok "emptyDir is removed with its pod, hostPath survives"

rotated() { ls $KPLANE_STATE_DIR/pods/*/logs/sh.log.1 >/dev/null 2>&1; }
eventually 15 rotated || fail "a 3 MB log was not rotated at 1 MiB"
logs_done() { "$K" logs chatty | tail -1 | grep -q done; }
eventually 20 logs_done || fail "kplane logs does not end with the latest output"
phase() { "$K" get po chatty -o json | jsonpath '["status"]["phase"]'; }
succeeded() { [ "$(phase)" = Succeeded ]; }
eventually 10 succeeded || fail "chatty (restartPolicy Never, exit 0) is $(phase), not Succeeded"
ok "logs rotate at the size limit; a finished pod is Succeeded"

# Crash recovery: kill -9, restart, no duplicates, same addresses.
BEFORE=$(pod_ip client)
kill -9 "$UP_PID"; wait "$UP_PID" 2>/dev/null || true; UP_PID=""
up -f $M --restart-backoff 1
sleepers() { pgrep -c -f '^sleep 3600$' || true; }
two_sleepers() { [ "$(sleepers)" -eq 2 ]; }
eventually 20 two_sleepers || fail "expected exactly 2 container processes after restart, got $(sleepers)"
eventually 20 "$K" exec client -- true || fail "client not running after restart"
[ "$(pod_ip client)" = "$BEFORE" ] || fail "client changed address $BEFORE -> $(pod_ip client)"
# server comes back: it is still in the watched manifest; chatty has finished.
three_namespaces() { [ "$(ip netns list | grep -c kplane-)" -eq 3 ]; }
eventually 15 three_namespaces || fail "expected 3 pod namespaces (client, flaky, server), found: $(ip netns list) $($K get po -o wide)"
ok "after kill -9 and restart: no duplicate process, same pod address"

stop_up
[ "$(ip netns list | grep -c kplane- || true)" -eq 0 ] || fail "namespaces left after stop: $(ip netns list)"
! ip link show kplane0 >/dev/null 2>&1 || fail "bridge left after stop"
[ "$(sleepers)" -eq 0 ] || fail "container processes left after stop"
ok "stopping kplane leaves no namespace, bridge or process"
