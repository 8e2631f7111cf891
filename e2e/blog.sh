# The blog (examples/blog) end to end, as the README's main command runs it: up from a clean
# state dir; HTTPS through the Ingress with the Secret's certificate; a post written there
# read back through the NodePort and a LoadBalancer address; NetworkPolicy (when this build
# has it); the database keeps its data across pods on a claim and loses it on emptyDir;
# SIGTERM leaves nothing behind; a second up brings everything back with the data.
. "$(dirname "$0")/lib.sh"
APP=$(cd "$(dirname "$0")/../examples/blog" && pwd)
CA=$KPLANE_STATE_DIR/blog-ca.pem
TOKEN=kept-$$-$RANDOM
BANNER_PID=""
CLIENT_NS=blog-client

# On failure: the blog's objects and kplane's log without the access log.
fail() {
    echo "FAIL - $*" >&2
    "$K" get po,svc,pvc -n blog -o wide >&2 || true
    for d in ui post comment db; do echo "--- logs of $d ---" >&2; "$K" logs -n blog deploy/$d 2>&1 | tail -8 >&2 || true; done
    echo "--- kplane up log (tail, without access log lines) ---" >&2
    grep -v '"client":' "$UP_LOG" | tail -40 >&2 || true
    exit 1
}

finish() {
    [ -n "$BANNER_PID" ] && kill "$BANNER_PID" 2>/dev/null
    ip netns del $CLIENT_NS 2>/dev/null || true
    cleanup
}
trap finish EXIT

now() { date +%s.%N; }
since() { python3 -c "import sys; print('%.1f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$1" "$(now)"; }
# Writes go over HTTP/1.1: an HTTP/2 request body that arrives while the Ingress is still
# connecting to a new upstream is held back until the client gives up (checked below).
https_post() { https "$@" --http1.1; }
https() { curl -sS --fail --max-time 5 --resolve blog.local:18443:127.0.0.1 --cacert "$CA" "https://blog.local:18443$1" "${@:2}"; }
page_has() { https / | grep -q -- "$1"; }
api_has() { https /api/posts | grep -q -- "$1"; }
api_lacks() { https /api/posts >/dev/null && ! https /api/posts | grep -q -- "$1"; }
nodeport_has() { curl -sS --fail --max-time 5 http://127.0.0.1:31080/ | grep -q -- "$1"; }
lb_has() { ip netns exec $CLIENT_NS curl -sS --fail --max-time 5 "http://$LB_IP/" | grep -q -- "$1"; }
new_post() { https_post /api/posts -H 'Content-Type: application/json' -d "{\"title\": \"$1\", \"body\": \"written through the Ingress\"}"; }
# A client outside the pod network: its own namespace, a veth to the node, a default route.
make_client() {
    ip netns add $CLIENT_NS
    ip link add blogc0 type veth peer name eth0 netns $CLIENT_NS
    ip addr add 192.168.77.1/30 dev blogc0 && ip link set blogc0 up
    ip -n $CLIENT_NS addr add 192.168.77.2/30 dev eth0
    ip -n $CLIENT_NS link set eth0 up && ip -n $CLIENT_NS link set lo up
    ip -n $CLIENT_NS route add default via 192.168.77.1
}
up_blog() { up -f "$APP" --node-ip 127.0.0.1; }
# The one db pod, once it is Ready and is not $1.
db_pod() { "$K" get po -n blog -l app=db -o name | sed 's|^pod/||'; }
new_db_ready() {
    local pods; pods=$(db_pod)
    [ "$(echo "$pods" | wc -w)" -eq 1 ] && [ "$pods" != "$1" ] || return 1
    "$K" get po "$pods" -n blog -o json | python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if any(c["type"]=="Ready" and c["status"]=="True" for c in d["status"].get("conditions",[])) else 1)'
}
no_veths() { [ -z "$(ip -o link show type veth)" ]; }
# Every process, interface, table and mount kplane and the blog make is gone.
nothing_left() {
    local left=""
    for pid in $APP_PIDS; do kill -0 "$pid" 2>/dev/null && left="$left $pid"; done
    [ -z "$left" ] || fail "app processes left:$left"
    [ "$(ip netns list | grep -c '^kplane-' || true)" -eq 0 ] || fail "pod namespaces left: $(ip netns list)"
    # A namespace's veth goes when the kernel finishes tearing the namespace down (async).
    eventually 10 no_veths || fail "veths left: $(ip -o link show type veth)"
    ! ip link show kplane0 >/dev/null 2>&1 || fail "bridge left"
    [ -z "$(nft list tables 2>/dev/null)" ] || fail "nft tables left: $(nft list tables)"
    ! losetup -a 2>/dev/null | grep -q "$KPLANE_STATE_DIR" || fail "loop devices left: $(losetup -a | grep "$KPLANE_STATE_DIR")"
    ! grep -q " $KPLANE_STATE_DIR" /proc/self/mountinfo || fail "mounts left: $(grep " $KPLANE_STATE_DIR" /proc/self/mountinfo)"
}
# The blog's processes of this run: those in one of our pod namespaces (another run's are not).
app_pids() {
    for pid in $(pgrep -f '^/usr/bin/(redis-server|python3 /app/)'); do
        if ip netns identify "$pid" 2>/dev/null | grep -q '^kplane-'; then echo "$pid"; fi
    done
}

# The outside-the-cluster process behind the selectorless Service `banner`.
python3 "$APP/outside/banner.py" 10.244.0.1 8090 >/dev/null 2>&1 &
BANNER_PID=$!

# As scripts/up does: the TLS secret first (self-signed for blog.local), then up.
T0=$(now)
"$K" create namespace blog >/dev/null
"$K" create secret tls blog-tls -n blog --self-signed --host blog.local >/dev/null
"$K" get secret blog-tls -n blog -o json | python3 -c 'import base64,json,sys; print(base64.b64decode(json.load(sys.stdin)["data"]["tls.crt"]).decode(), end="")' > "$CA"
up_blog
eventually ${BLOG_FIRST_WAIT:-120} page_has "kplane blog" || fail "no HTTPS answer from https://blog.local within 120 s"
FIRST_HTTPS=$(since "$T0")
ok "https://blog.local serves the UI through the Ingress ${FIRST_HTTPS}s after the command"

served=$(python3 - "$CA" <<'PY'
import socket, ssl, sys
pem = open(sys.argv[1]).read()
ctx = ssl.create_default_context(cafile=sys.argv[1])
with socket.create_connection(("127.0.0.1", 18443), timeout=5) as s, ctx.wrap_socket(s, server_hostname="blog.local") as t:
    print("same" if t.getpeercert(binary_form=True) == ssl.PEM_cert_to_DER_cert(pem) else "different")
PY
)
[ "$served" = same ] || fail "the Ingress presents a certificate other than the Secret's"
ok "the certificate for SNI blog.local is the one in Secret blog/blog-tls"

for d in ui post comment db; do
    "$K" rollout status deploy/$d -n blog --timeout 90 >/dev/null || fail "deployment $d not ready: $("$K" get po -n blog -o wide)"
done
[ "$("$K" get po -n blog -l app=ui -o name | wc -l)" -eq 2 ] || fail "ui should have 2 pods"
ok "ui, post, comment (2 replicas each) and db (1) are ready"

created=$(new_post "$TOKEN") || fail "POST /api/posts through the Ingress failed"
echo "$created" | grep -q "\"title\": \"$TOKEN\"" || fail "unexpected answer to the post: $created"
POST_ID=$(echo "$created" | jsonpath '["id"]')
https_post /api/comments -H 'Content-Type: application/json' -d "{\"post\": \"$POST_ID\", \"text\": \"comment-$TOKEN\"}" >/dev/null || fail "POST /api/comments"
https "/api/comments?post=$POST_ID" | grep -q "comment-$TOKEN" || fail "comment not read back"
ok "a post and a comment created through the Ingress (/api/posts → post, /api/comments → comment via the ExternalName alias redis)"

eventually 20 nodeport_has "$TOKEN" || fail "the post is not on the page through the NodePort 127.0.0.1:31080"
curl -sS --fail --max-time 5 http://127.0.0.1:31080/ | grep -q "comment-$TOKEN" || fail "the comment is not on the page"
ok "the post and its comment are on the page through the NodePort (ui → post and comment by name)"

eventually 20 sh -c "$K get svc ui-lb -n blog -o json | grep -q '\"ip\"'" || fail "ui-lb got no LoadBalancer address"
LB_IP=$("$K" get svc ui-lb -n blog -o json | jsonpath '["status"]["loadBalancer"]["ingress"][0]["ip"]')
make_client
eventually 20 lb_has "$TOKEN" || fail "the post is not on the page through the LoadBalancer address $LB_IP"
ok "the post is on the page through the LoadBalancer address $LB_IP, from a client namespace"

https /api/posts -H 'Content-Type: application/json' -d '{"title": "over HTTP/2"}' >/dev/null 2>&1 \
    || fail "a POST over HTTP/2 through the Ingress did not complete (request body held back while the upstream connects)"
ok "a POST over HTTP/2 through the Ingress, while the upstream connection is being made"

page_has "Served from outside the cluster" || fail "the page lacks the banner from the process outside the cluster"
ok "ui reaches a process outside the cluster through the selectorless Service banner"

# Only when this build enforces NetworkPolicy (`kplane up --help` lists a policy component).
if "$K" up --help | tr -d ' \n' | grep -q 'allthisbuildhas:[a-z,]*policy'; then
    connect_db() { "$K" exec -n blog "deploy/$1" -- /usr/bin/python3 -c 'import socket; socket.create_connection(("db", 6379), timeout=3).close()'; }
    eventually 20 connect_db post || fail "post cannot connect to db"
    ! connect_db ui 2>/dev/null || fail "ui opened a connection to db (the policy allows only post and comment)"
    connect_db comment || fail "comment cannot connect to db"
    ok "NetworkPolicy: post and comment reach db, ui does not"
else
    echo "# skip - NetworkPolicy checks: this build has no policy component"
fi

OLD_DB=$(db_pod)
"$K" delete pod "$OLD_DB" -n blog >/dev/null
eventually 60 new_db_ready "$OLD_DB" || fail "the Deployment did not replace db pod $OLD_DB"
eventually 30 api_has "$TOKEN" || fail "the post is gone after the db pod was replaced"
ok "db pod $OLD_DB deleted; its replacement $(db_pod) on the same claim still has the post"

OLD_DB=$(db_pod)
"$K" apply -f "$APP/ephemeral/" >/dev/null || fail "apply the emptyDir variant"
eventually 60 new_db_ready "$OLD_DB" || fail "db did not move to the emptyDir variant"
eventually 30 api_lacks "$TOKEN" || fail "the emptyDir db should start empty"
new_post "lost-$TOKEN" >/dev/null || fail "POST to the emptyDir db"
api_has "lost-$TOKEN" || fail "post on emptyDir not read back"
OLD_DB=$(db_pod)
"$K" delete pod "$OLD_DB" -n blog >/dev/null
eventually 60 new_db_ready "$OLD_DB" || fail "the Deployment did not replace db pod $OLD_DB"
eventually 30 api_lacks "lost-$TOKEN" || fail "the post on emptyDir survived its pod"
ok "on emptyDir (examples/blog/ephemeral) the post is lost with the db pod"
OLD_DB=$(db_pod)
"$K" apply -f "$APP/db.yaml" >/dev/null || fail "apply db.yaml back"
eventually 60 new_db_ready "$OLD_DB" || fail "db did not move back to its claim"
eventually 30 api_has "$TOKEN" || fail "the post on the claim is gone after the emptyDir episode"
ok "back on its claim, db has the post again"

# Optional load (BLOG_LOAD_SECONDS=30): wrk on the page through the Ingress (ui → post →
# db, comment → db per post); p99 latency, and any error fails the check.
if [ "${BLOG_LOAD_SECONDS:-0}" -gt 0 ] && command -v wrk >/dev/null; then
    cp /etc/hosts "$KPLANE_STATE_DIR/hosts" && echo "127.0.0.1 blog.local" >> "$KPLANE_STATE_DIR/hosts"
    mount --bind "$KPLANE_STATE_DIR/hosts" /etc/hosts    # this private mount namespace only
    wrk -t2 -c8 -d"${BLOG_LOAD_SECONDS}s" --latency https://blog.local:18443/ > "$KPLANE_STATE_DIR/wrk.txt" 2>&1 || true
    umount /etc/hosts
    P99=$(awk '$1 == "99%" {print $2}' "$KPLANE_STATE_DIR/wrk.txt")
    RPS=$(awk '/^Requests\/sec/ {print $2}' "$KPLANE_STATE_DIR/wrk.txt")
    ! grep -Eq 'Non-2xx|Socket errors' "$KPLANE_STATE_DIR/wrk.txt" || fail "errors under load: $(grep -E 'Non-2xx|Socket errors' "$KPLANE_STATE_DIR/wrk.txt")"
    ok "${BLOG_LOAD_SECONDS}s of wrk (2 threads, 8 connections) on https://blog.local/: p99 $P99, $RPS requests/s, no errors"
fi

RSS_KB=$(ps -o rss= -p "$UP_PID" | tr -d ' ')
APP_PIDS=$(app_pids)
[ "$(echo $APP_PIDS | wc -w)" -eq 7 ] || fail "expected 7 app processes (2 ui, 2 post, 2 comment, 1 db), found: $APP_PIDS"
ok "kplane RSS with the blog running: $((RSS_KB / 1024)) MiB"

ip netns del $CLIENT_NS
stop_up
nothing_left
ok "SIGTERM: no namespace, veth, bridge, nft table, loop device, mount or app process left"

T1=$(now)
up_blog
eventually 120 page_has "$TOKEN" || fail "after a second up the page does not show the post"
AGAIN=$(since "$T1")
eventually 30 nodeport_has "$TOKEN" || fail "after a second up the NodePort does not serve the post"
make_client
eventually 30 lb_has "$TOKEN" || fail "after a second up the LoadBalancer address does not serve the post"
APP_PIDS=$(app_pids)
ok "a second up on the same state dir serves the post again through the Ingress (${AGAIN}s), the NodePort and $LB_IP"
ip netns del $CLIENT_NS
stop_up
nothing_left
ok "stopped again, nothing left"
echo "# blog: first HTTPS ${FIRST_HTTPS}s after the command; second up ${AGAIN}s; kplane RSS $((RSS_KB / 1024)) MiB${P99:+; p99 under load $P99 at $RPS requests/s}"
