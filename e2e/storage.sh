# Storage end to end with real pods: a claimed volume outlives its pod and emptyDir does not;
# an image volume stops writes at the claim's size; expansion grows the filesystem a running
# pod has mounted; reclaim Delete removes the data and Retain keeps it (the PV Released);
# SIGTERM leaves no mount, loop device, namespace or process.
. "$(dirname "$0")/lib.sh"
M=$KPLANE_STATE_DIR/manifests
VOLUMES=$KPLANE_STATE_DIR/volumes
mkdir -p "$M"

# On failure: claims, volumes and pods, and kplane's log.
fail() {
    echo "FAIL - $*" >&2
    "$K" get pv,pvc,po -o wide >&2 || true
    "$K" get pvc -o json 2>/dev/null | python3 -c 'import json,sys; [print(c["metadata"]["name"], "requests", c["spec"]["resources"]["requests"], "status", json.dumps(c.get("status"))) for c in json.load(sys.stdin)["items"]]' >&2 || true
    echo "--- kplane up log (tail) ---" >&2
    tail -40 "$UP_LOG" >&2 || true
    exit 1
}

# Whatever the outcome: kplane stopped, then no mount or loop device of this state dir left
# behind (kplane unmounts at shutdown; this is the safety net when it could not).
finish() {
    stop_up
    pkill -9 -f "$KPLANE_STATE_DIR" 2>/dev/null || true
    for mnt in $(awk -v d="$KPLANE_STATE_DIR" 'index($5, d) == 1 {print $5}' /proc/self/mountinfo | sort -r); do
        umount -l "$mnt" 2>/dev/null || true
    done
    for dev in $(losetup -n -O NAME,BACK-FILE 2>/dev/null | awk -v d="$KPLANE_STATE_DIR" 'index($2, d) == 1 {print $1}'); do
        losetup -d "$dev" 2>/dev/null || true
    done
    cleanup
}
trap finish EXIT

cat > "$M/classes.yaml" <<'YAML'
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: keep}
provisioner: kplane.dev/local-path
reclaimPolicy: Retain
volumeBindingMode: Immediate
allowVolumeExpansion: true
YAML
claim() {  # NAME SIZE [CLASS]
    cat <<YAML
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: $1}
spec:
  accessModes: [ReadWriteOnce]
  ${3:+storageClassName: $3}
  resources: {requests: {storage: $2}}
YAML
}
pod() {  # NAME CLAIM
    cat <<YAML
apiVersion: v1
kind: Pod
metadata: {name: $1}
spec:
  terminationGracePeriodSeconds: 2
  containers:
  - name: sh
    command: [sleep, "3600"]
    volumeMounts:
    - {name: data, mountPath: /data}
    - {name: scratch, mountPath: /scratch}
  volumes:
  - {name: data, persistentVolumeClaim: {claimName: $2}}
  - {name: scratch, emptyDir: {}}
YAML
}
claim data 64Mi > "$M/data.yaml"
pod writer data > "$M/writer.yaml"
claim kept 32Mi keep > "$M/kept.yaml"
pod keeper kept > "$M/keeper.yaml"

field() { "$K" get "$1" "$2" -o json | jsonpath "$3"; }
claim_phase() { field pvc "$1" '["status"]["phase"]'; }
bound() { [ "$(claim_phase "$1")" = Bound ]; }
running() { "$K" exec "$1" -- true; }
gone() { ! "$K" get "$1" "$2" >/dev/null 2>&1; }
# The 1K-blocks column of df for /data inside the pod.
df_kib() { "$K" exec "$1" -- df -k /data | awk 'NR == 2 {print $2}'; }

up --volume-mode image ${STORAGE_E2E_LOG_LEVEL:+--log-level $STORAGE_E2E_LOG_LEVEL}
"$K" apply -f "$M/classes.yaml" -f "$M/data.yaml" -f "$M/writer.yaml" >/dev/null || fail "apply the claim and its pod"
eventually 60 running writer || fail "writer pod not running"
bound data || fail "claim data is $(claim_phase data), not Bound, with its pod running"
PV=$(field pvc data '["spec"]["volumeName"]')
[ "$(field pv "$PV" '["status"]["phase"]')" = Bound ] || fail "volume $PV is not Bound"
DIR=$VOLUMES/${PV}_default_data
[ -f "$DIR.img" ] || fail "no image $DIR.img"
grep -q " $DIR " /proc/self/mountinfo || fail "image not mounted on $DIR"
ok "claim data (local-path, WaitForFirstConsumer) bound to $PV when writer used it; image loop-mounted on the node"

"$K" exec writer -- sh -c 'echo kept > /data/file && echo lost > /scratch/file' || fail "write into the volumes"
UID1=$(field po writer '["metadata"]["uid"]')
"$K" delete pod writer >/dev/null || fail "delete writer"
gone po writer || fail "writer still there"
"$K" apply -f "$M/writer.yaml" >/dev/null || fail "recreate writer"
eventually 60 running writer || fail "recreated writer not running"
[ "$(field po writer '["metadata"]["uid"]')" != "$UID1" ] || fail "writer was not recreated"
[ "$("$K" exec writer -- cat /data/file)" = kept ] || fail "the claim lost its data with the pod"
! "$K" exec writer -- test -e /scratch/file || fail "emptyDir kept its data across pods"
ok "a new pod on the claim reads what the deleted one wrote; on emptyDir the file is gone"

out=$("$K" exec writer -- dd if=/dev/zero of=/data/big bs=1M count=100 2>&1) && fail "dd wrote 100 MiB into a 64Mi claim: $out"
echo "$out" | grep -q "No space left on device" || fail "dd failed, but not for space: $out"
WROTE=$("$K" exec writer -- stat -c %s /data/big)
[ "$WROTE" -le $((64 * 1024 * 1024)) ] || fail "wrote $WROTE bytes into a 64Mi claim"
"$K" exec writer -- rm /data/big
ok "a pod cannot write past its 64Mi claim (dd: No space left on device after $((WROTE / 1048576)) MiB)"

BEFORE=$(df_kib writer)
STARTED=$(field po writer '["status"]["containerStatuses"][0]["state"]["running"]["startedAt"]')
claim data 256Mi > "$M/data.yaml"
"$K" apply -f "$M/data.yaml" >/dev/null || fail "apply the larger claim"
capacity() { [ "$(field pvc data '["status"]["capacity"]["storage"]')" = 256Mi ]; }
grown() { [ "$(df_kib writer)" -gt $((200 * 1024)) ]; }
# Growing a mounted ext4 (resize2fs's ioctl) needs CAP_SYS_RESOURCE; some container hosts
# drop it from the bounding set. Then the claim must say so and grow once the pod is gone.
if [ $(( 0x$(awk '/^CapBnd/ {print $2}' /proc/self/status) >> 24 & 1 )) -eq 1 ]; then
    eventually 30 capacity || fail "claim capacity is $(field pvc data '["status"]["capacity"]["storage"]'), not 256Mi"
    eventually 10 grown || fail "df in the running pod shows $(df_kib writer) KiB after expansion to 256Mi (before: $BEFORE)"
    [ "$(field po writer '["status"]["containerStatuses"][0]["restartCount"]')" = 0 ] || fail "writer restarted during expansion"
    [ "$(field po writer '["status"]["containerStatuses"][0]["state"]["running"]["startedAt"]')" = "$STARTED" ] || fail "writer's container was restarted"
    HOW="online: df in the running pod went from $BEFORE to $(df_kib writer) KiB, container not restarted"
else
    pending() { "$K" get pvc data -o json | grep -q FileSystemResizePending; }
    eventually 30 pending || fail "no FileSystemResizePending condition on the claim"
    capacity && fail "capacity 256Mi reported while the filesystem could not grow"
    ok "without CAP_SYS_RESOURCE (not in this host's bounding set) the running pod's ext4 cannot grow online: the claim says FileSystemResizePending and keeps 64Mi"
    "$K" delete pod writer >/dev/null || fail "delete writer"
    eventually 30 capacity || fail "claim capacity is $(field pvc data '["status"]["capacity"]["storage"]'), not 256Mi, once no pod used it"
    "$K" apply -f "$M/writer.yaml" >/dev/null || fail "recreate writer"
    eventually 60 running writer || fail "recreated writer not running"
    grown || fail "df in the new pod shows $(df_kib writer) KiB after expansion to 256Mi (before: $BEFORE)"
    HOW="offline once the pod was gone: df went from $BEFORE to $(df_kib writer) KiB in the next pod"
fi
[ "$(field pv "$PV" '["spec"]["capacity"]["storage"]')" = 256Mi ] || fail "volume capacity not 256Mi"
[ "$("$K" exec writer -- cat /data/file)" = kept ] || fail "data lost by the expansion"
"$K" exec writer -- dd if=/dev/zero of=/data/big bs=1M count=100 >/dev/null 2>&1 || fail "100 MiB do not fit after expansion to 256Mi"
ok "expansion to 256Mi, $HOW, data kept, 100 MiB fit"

"$K" delete pod writer >/dev/null || fail "delete writer"
"$K" delete pvc data >/dev/null || fail "delete claim data"
eventually 30 gone pv "$PV" || fail "volume $PV (reclaimPolicy Delete) still there"
[ ! -e "$DIR" ] && [ ! -e "$DIR.img" ] || fail "data of $PV left on the node: $(ls -d "$DIR"*)"
! grep -q " $DIR " /proc/self/mountinfo || fail "$DIR still mounted"
ok "deleting claim data (reclaimPolicy Delete) removed $PV, its image and its mount"

"$K" apply -f "$M/kept.yaml" -f "$M/keeper.yaml" >/dev/null || fail "apply claim kept and its pod"
eventually 60 running keeper || fail "keeper pod not running"
KPV=$(field pvc kept '["spec"]["volumeName"]')
KDIR=$VOLUMES/${KPV}_default_kept
"$K" exec keeper -- sh -c 'echo retained > /data/file' || fail "write into kept"
"$K" delete pod keeper >/dev/null || fail "delete keeper"
"$K" delete pvc kept >/dev/null || fail "delete claim kept"
released() { [ "$(field pv "$KPV" '["status"]["phase"]')" = Released ]; }
eventually 30 released || fail "volume $KPV (Retain) is $(field pv "$KPV" '["status"]["phase"]'), not Released"
[ "$(cat "$KDIR/data/file")" = retained ] || fail "the retained volume lost its data"
ok "deleting claim kept (reclaimPolicy Retain) left $KPV Released with its data"

# The pods' processes: those in one of this run's pod namespaces (/run/netns is private).
pod_pids() {
    for pid in $(pgrep -f '^sleep 3600$'); do
        if ip netns identify "$pid" 2>/dev/null | grep -q '^kplane-'; then echo "$pid"; fi
    done
}
# Stop with a pod running on a mounted image volume.
"$K" apply -f "$M/data.yaml" -f "$M/writer.yaml" >/dev/null && eventually 60 running writer || fail "writer did not start on a new claim"
POD_PIDS=$(pod_pids)
[ -n "$POD_PIDS" ] || fail "no container process found for writer"
stop_up
! grep -q " $KPLANE_STATE_DIR" /proc/self/mountinfo || fail "mounts left after stop: $(grep " $KPLANE_STATE_DIR" /proc/self/mountinfo)"
no_loops() { ! losetup -a 2>/dev/null | grep -q "$KPLANE_STATE_DIR"; }
eventually 10 no_loops || fail "loop devices left after stop: $(losetup -a | grep "$KPLANE_STATE_DIR")"
[ "$(ip netns list | grep -c '^kplane-' || true)" -eq 0 ] || fail "pod namespaces left: $(ip netns list)"
[ -z "$(nft list tables 2>/dev/null)" ] || fail "nft tables left: $(nft list tables)"
for pid in $POD_PIDS; do ! kill -0 "$pid" 2>/dev/null || fail "container process $pid left"; done
ok "stopping kplane leaves no mount, loop device, namespace, nft table or process"
