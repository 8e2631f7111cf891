import ClusterStore
import KubeModel
import Testing
@testable import Storage

/// Kubernetes' binder_test.go `TestSync`, case by case: the objects are put in a MemoryStore,
/// one `syncClaim` or `syncVolume` of the real planner runs, its writes go through the real
/// applier, and the stored result is compared with the case's expectation.
struct BinderCase: CustomTestStringConvertible, Sendable {
    enum Call: Sendable { case claim, volume }

    var name: String
    var volumes: [PersistentVolume]
    var expectedVolumes: [PersistentVolume]
    var claims: [PersistentVolumeClaim]
    var expectedClaims: [PersistentVolumeClaim]
    var events: [String] = []
    var call: Call = .claim

    var testDescription: String { name }
}

let selectorLabels = ["foo": "true", "bar": "false"]

let binderCases: [BinderCase] = [
    // [Unit test set 1] The user did not care which PV they get.
    BinderCase(name: "1-1 - successful bind",
               volumes: [volume("volume1-1", "1Gi", phase: "Available")],
               expectedVolumes: [volume("volume1-1", "1Gi", uid: "uid1-1", claim: "claim1-1", phase: "Bound", boundByController: true)],
               claims: [claim("claim1-1", uid: "uid1-1", "1Gi")],
               expectedClaims: [claim("claim1-1", uid: "uid1-1", "1Gi", volumeName: "volume1-1", phase: "Bound", boundByController: true, bindCompleted: true)]),
    BinderCase(name: "1-2 - noop",
               volumes: [volume("volume1-2", "1Gi", phase: "Available")],
               expectedVolumes: [volume("volume1-2", "1Gi", phase: "Available")],
               claims: [claim("claim1-2", uid: "uid1-2", "10Gi")],
               expectedClaims: [claim("claim1-2", uid: "uid1-2", "10Gi")],
               events: ["Normal FailedBinding"]),
    BinderCase(name: "1-3 - reset to Pending",
               volumes: [volume("volume1-3", "1Gi", phase: "Available")],
               expectedVolumes: [volume("volume1-3", "1Gi", phase: "Available")],
               claims: [claim("claim1-3", uid: "uid1-3", "10Gi", phase: "Bound")],
               expectedClaims: [claim("claim1-3", uid: "uid1-3", "10Gi")],
               events: ["Normal FailedBinding"]),
    BinderCase(name: "1-4 - smallest volume",
               volumes: [volume("volume1-4-1", "10Gi", phase: "Available"), volume("volume1-4-2", "1Gi", phase: "Available")],
               expectedVolumes: [volume("volume1-4-1", "10Gi", phase: "Available"),
                                 volume("volume1-4-2", "1Gi", uid: "uid1-4", claim: "claim1-4", phase: "Bound", boundByController: true)],
               claims: [claim("claim1-4", uid: "uid1-4", "1Gi")],
               expectedClaims: [claim("claim1-4", uid: "uid1-4", "1Gi", volumeName: "volume1-4-2", phase: "Bound", boundByController: true, bindCompleted: true)]),
    BinderCase(name: "1-5 - prebound volume by name - success",
               volumes: [volume("volume1-5-1", "10Gi", claim: "claim1-5"), volume("volume1-5-2", "1Gi", phase: "Available")],
               expectedVolumes: [volume("volume1-5-1", "10Gi", uid: "uid1-5", claim: "claim1-5", phase: "Bound"),
                                 volume("volume1-5-2", "1Gi", phase: "Available")],
               claims: [claim("claim1-5", uid: "uid1-5", "1Gi")],
               expectedClaims: [withCapacity("10Gi", claim("claim1-5", uid: "uid1-5", "1Gi", volumeName: "volume1-5-1", phase: "Bound", boundByController: true, bindCompleted: true))]),
    BinderCase(name: "1-6 - prebound volume by UID - success",
               volumes: [volume("volume1-6-1", "10Gi", uid: "uid1-6", claim: "claim1-6"), volume("volume1-6-2", "1Gi", phase: "Available")],
               expectedVolumes: [volume("volume1-6-1", "10Gi", uid: "uid1-6", claim: "claim1-6", phase: "Bound"),
                                 volume("volume1-6-2", "1Gi", phase: "Available")],
               claims: [claim("claim1-6", uid: "uid1-6", "1Gi")],
               expectedClaims: [withCapacity("10Gi", claim("claim1-6", uid: "uid1-6", "1Gi", volumeName: "volume1-6-1", phase: "Bound", boundByController: true, bindCompleted: true))]),
    BinderCase(name: "1-7 - prebound volume to different claim",
               volumes: [volume("volume1-7", "10Gi", uid: "uid1-777", claim: "claim1-7")],
               expectedVolumes: [volume("volume1-7", "10Gi", uid: "uid1-777", claim: "claim1-7")],
               claims: [claim("claim1-7", uid: "uid1-7", "1Gi")],
               expectedClaims: [claim("claim1-7", uid: "uid1-7", "1Gi")],
               events: ["Normal FailedBinding"]),
    BinderCase(name: "1-8 - complete bind after crash - PV bound",
               volumes: [volume("volume1-8", "1Gi", uid: "uid1-8", claim: "claim1-8", boundByController: true)],
               expectedVolumes: [volume("volume1-8", "1Gi", uid: "uid1-8", claim: "claim1-8", phase: "Bound", boundByController: true)],
               claims: [claim("claim1-8", uid: "uid1-8", "1Gi")],
               expectedClaims: [claim("claim1-8", uid: "uid1-8", "1Gi", volumeName: "volume1-8", phase: "Bound", boundByController: true, bindCompleted: true)]),
    BinderCase(name: "1-9 - complete bind after crash - PV status saved",
               volumes: [volume("volume1-9", "1Gi", uid: "uid1-9", claim: "claim1-9", phase: "Bound", boundByController: true)],
               expectedVolumes: [volume("volume1-9", "1Gi", uid: "uid1-9", claim: "claim1-9", phase: "Bound", boundByController: true)],
               claims: [claim("claim1-9", uid: "uid1-9", "1Gi")],
               expectedClaims: [claim("claim1-9", uid: "uid1-9", "1Gi", volumeName: "volume1-9", phase: "Bound", boundByController: true, bindCompleted: true)]),
    BinderCase(name: "1-10 - complete bind after crash - PVC bound",
               volumes: [volume("volume1-10", "1Gi", uid: "uid1-10", claim: "claim1-10", phase: "Bound", boundByController: true)],
               expectedVolumes: [volume("volume1-10", "1Gi", uid: "uid1-10", claim: "claim1-10", phase: "Bound", boundByController: true)],
               claims: [claim("claim1-10", uid: "uid1-10", "1Gi", volumeName: "volume1-10", boundByController: true, bindCompleted: true)],
               expectedClaims: [claim("claim1-10", uid: "uid1-10", "1Gi", volumeName: "volume1-10", phase: "Bound", boundByController: true, bindCompleted: true)]),
    BinderCase(name: "1-11 - bind when selector matches",
               volumes: [volume("volume1-1", "1Gi", phase: "Available", labels: selectorLabels)],
               expectedVolumes: [volume("volume1-1", "1Gi", uid: "uid1-1", claim: "claim1-1", phase: "Bound", boundByController: true, labels: selectorLabels)],
               claims: [claim("claim1-1", uid: "uid1-1", "1Gi", selector: selectorLabels)],
               expectedClaims: [claim("claim1-1", uid: "uid1-1", "1Gi", volumeName: "volume1-1", phase: "Bound", boundByController: true, bindCompleted: true, selector: selectorLabels)]),
    BinderCase(name: "1-12 - do not bind when selector does not match",
               volumes: [volume("volume1-1", "1Gi", phase: "Available")],
               expectedVolumes: [volume("volume1-1", "1Gi", phase: "Available")],
               claims: [claim("claim1-1", uid: "uid1-1", "1Gi", selector: selectorLabels)],
               expectedClaims: [claim("claim1-1", uid: "uid1-1", "1Gi", selector: selectorLabels)],
               events: ["Normal FailedBinding"]),
    BinderCase(name: "1-13 - do not bind when volumeMode does not match (claim Block, volume Filesystem)",
               volumes: [volume("volume1-13", "1Gi", phase: "Available", volumeMode: "Filesystem")],
               expectedVolumes: [volume("volume1-13", "1Gi", phase: "Available", volumeMode: "Filesystem")],
               claims: [claim("claim1-13", uid: "uid1-13", "1Gi", volumeMode: "Block")],
               expectedClaims: [claim("claim1-13", uid: "uid1-13", "1Gi", volumeMode: "Block")],
               events: ["Normal FailedBinding"]),
    BinderCase(name: "1-14 - only Available volumes bind (a Pending one is skipped)",
               volumes: [volume("volume1-14", "1Gi", phase: "Pending")],
               expectedVolumes: [volume("volume1-14", "1Gi", phase: "Pending")],
               claims: [claim("claim1-14", uid: "uid1-14", "1Gi")],
               expectedClaims: [claim("claim1-14", uid: "uid1-14", "1Gi")],
               events: ["Normal FailedBinding"]),

    // [Unit test set 2] The user asked for a specific PV.
    BinderCase(name: "2-1 - claim prebound to non-existing volume - noop",
               volumes: [], expectedVolumes: [],
               claims: [claim("claim2-1", uid: "uid2-1", "10Gi", volumeName: "volume2-1")],
               expectedClaims: [claim("claim2-1", uid: "uid2-1", "10Gi", volumeName: "volume2-1")]),
    BinderCase(name: "2-2 - claim prebound to non-existing volume - reset status",
               volumes: [], expectedVolumes: [],
               claims: [claim("claim2-2", uid: "uid2-2", "10Gi", volumeName: "volume2-2", phase: "Bound")],
               expectedClaims: [claim("claim2-2", uid: "uid2-2", "10Gi", volumeName: "volume2-2")]),
    BinderCase(name: "2-3 - claim prebound to unbound volume",
               volumes: [volume("volume2-3", "1Gi")],
               expectedVolumes: [volume("volume2-3", "1Gi", uid: "uid2-3", claim: "claim2-3", phase: "Bound", boundByController: true)],
               claims: [claim("claim2-3", uid: "uid2-3", "1Gi", volumeName: "volume2-3")],
               expectedClaims: [claim("claim2-3", uid: "uid2-3", "1Gi", volumeName: "volume2-3", phase: "Bound", bindCompleted: true)]),
    BinderCase(name: "2-4 - claim prebound to prebound volume by name",
               volumes: [volume("volume2-4", "1Gi", claim: "claim2-4")],
               expectedVolumes: [volume("volume2-4", "1Gi", uid: "uid2-4", claim: "claim2-4", phase: "Bound")],
               claims: [claim("claim2-4", uid: "uid2-4", "1Gi", volumeName: "volume2-4")],
               expectedClaims: [claim("claim2-4", uid: "uid2-4", "1Gi", volumeName: "volume2-4", phase: "Bound", bindCompleted: true)]),
    BinderCase(name: "2-5 - claim prebound to prebound volume by UID",
               volumes: [volume("volume2-5", "1Gi", uid: "uid2-5", claim: "claim2-5")],
               expectedVolumes: [volume("volume2-5", "1Gi", uid: "uid2-5", claim: "claim2-5", phase: "Bound")],
               claims: [claim("claim2-5", uid: "uid2-5", "1Gi", volumeName: "volume2-5")],
               expectedClaims: [claim("claim2-5", uid: "uid2-5", "1Gi", volumeName: "volume2-5", phase: "Bound", bindCompleted: true)]),
    BinderCase(name: "2-6 - claim prebound to already bound volume",
               volumes: [volume("volume2-6", "1Gi", uid: "uid2-6-1", claim: "claim2-6-1", phase: "Bound")],
               expectedVolumes: [volume("volume2-6", "1Gi", uid: "uid2-6-1", claim: "claim2-6-1", phase: "Bound")],
               claims: [claim("claim2-6", uid: "uid2-6", "1Gi", volumeName: "volume2-6", phase: "Bound")],
               expectedClaims: [claim("claim2-6", uid: "uid2-6", "1Gi", volumeName: "volume2-6")],
               events: ["Warning FailedBinding"]),
    BinderCase(name: "2-7 - claim bound by controller to already bound volume",
               volumes: [volume("volume2-7", "1Gi", uid: "uid2-7-1", claim: "claim2-7-1", phase: "Bound")],
               expectedVolumes: [volume("volume2-7", "1Gi", uid: "uid2-7-1", claim: "claim2-7-1", phase: "Bound")],
               claims: [claim("claim2-7", uid: "uid2-7", "1Gi", volumeName: "volume2-7", phase: "Bound", boundByController: true)],
               expectedClaims: [claim("claim2-7", uid: "uid2-7", "1Gi", volumeName: "volume2-7", phase: "Bound", boundByController: true)],
               events: ["Warning FailedBinding"]),
    BinderCase(name: "2-8 - claim prebound to unbound volume that does not match the selector",
               volumes: [volume("volume2-8", "1Gi")],
               expectedVolumes: [volume("volume2-8", "1Gi", uid: "uid2-8", claim: "claim2-8", phase: "Bound", boundByController: true)],
               claims: [claim("claim2-8", uid: "uid2-8", "1Gi", volumeName: "volume2-8", selector: selectorLabels)],
               expectedClaims: [claim("claim2-8", uid: "uid2-8", "1Gi", volumeName: "volume2-8", phase: "Bound", bindCompleted: true, selector: selectorLabels)]),
    BinderCase(name: "2-9 - claim prebound to a too small volume - VolumeMismatch",
               volumes: [volume("volume2-9", "1Gi", phase: "Available")],
               expectedVolumes: [volume("volume2-9", "1Gi", phase: "Available")],
               claims: [claim("claim2-9", uid: "uid2-9", "10Gi", volumeName: "volume2-9")],
               expectedClaims: [claim("claim2-9", uid: "uid2-9", "10Gi", volumeName: "volume2-9")],
               events: ["Warning VolumeMismatch"]),
    BinderCase(name: "2-10 - claim prebound to a volume of another class - VolumeMismatch",
               volumes: [volume("volume2-10", "1Gi", phase: "Available", className: "gold")],
               expectedVolumes: [volume("volume2-10", "1Gi", phase: "Available", className: "gold")],
               claims: [claim("claim2-10", uid: "uid2-10", "1Gi", volumeName: "volume2-10", className: "silver")],
               expectedClaims: [claim("claim2-10", uid: "uid2-10", "1Gi", volumeName: "volume2-10", className: "silver")],
               events: ["Warning VolumeMismatch"]),
    BinderCase(name: "2-11 - claim prebound to a Block volume - VolumeMismatch",
               volumes: [volume("volume2-11", "1Gi", phase: "Available", volumeMode: "Block")],
               expectedVolumes: [volume("volume2-11", "1Gi", phase: "Available", volumeMode: "Block")],
               claims: [claim("claim2-11", uid: "uid2-11", "1Gi", volumeName: "volume2-11")],
               expectedClaims: [claim("claim2-11", uid: "uid2-11", "1Gi", volumeName: "volume2-11")],
               events: ["Warning VolumeMismatch"]),
    BinderCase(name: "2-12 - claim prebound to a volume without its access mode - VolumeMismatch",
               volumes: [volume("volume2-12", "1Gi", phase: "Available", modes: ["ReadOnlyMany"])],
               expectedVolumes: [volume("volume2-12", "1Gi", phase: "Available", modes: ["ReadOnlyMany"])],
               claims: [claim("claim2-12", uid: "uid2-12", "1Gi", volumeName: "volume2-12")],
               expectedClaims: [claim("claim2-12", uid: "uid2-12", "1Gi", volumeName: "volume2-12")],
               events: ["Warning VolumeMismatch"]),

    // [Unit test set 3] Syncing bound claims.
    BinderCase(name: "3-1 - bound claim with missing VolumeName",
               volumes: [], expectedVolumes: [],
               claims: [claim("claim3-1", uid: "uid3-1", "10Gi", phase: "Bound", boundByController: true, bindCompleted: true)],
               expectedClaims: [claim("claim3-1", uid: "uid3-1", "10Gi", phase: "Lost", boundByController: true, bindCompleted: true)],
               events: ["Warning ClaimLost"]),
    BinderCase(name: "3-2 - bound claim with missing volume",
               volumes: [], expectedVolumes: [],
               claims: [claim("claim3-2", uid: "uid3-2", "10Gi", volumeName: "volume3-2", phase: "Bound", boundByController: true, bindCompleted: true)],
               expectedClaims: [claim("claim3-2", uid: "uid3-2", "10Gi", volumeName: "volume3-2", phase: "Lost", boundByController: true, bindCompleted: true)],
               events: ["Warning ClaimLost"]),
    BinderCase(name: "3-3 - bound claim with unbound volume",
               volumes: [volume("volume3-3", "10Gi")],
               expectedVolumes: [volume("volume3-3", "10Gi", uid: "uid3-3", claim: "claim3-3", phase: "Bound", boundByController: true)],
               claims: [claim("claim3-3", uid: "uid3-3", "10Gi", volumeName: "volume3-3", boundByController: true, bindCompleted: true)],
               expectedClaims: [claim("claim3-3", uid: "uid3-3", "10Gi", volumeName: "volume3-3", phase: "Bound", boundByController: true, bindCompleted: true)]),
    BinderCase(name: "3-4 - bound claim with prebound volume",
               volumes: [volume("volume3-4", "10Gi", uid: "claim3-4-x", claim: "claim3-4")],
               expectedVolumes: [volume("volume3-4", "10Gi", uid: "claim3-4-x", claim: "claim3-4")],
               claims: [claim("claim3-4", uid: "uid3-4", "10Gi", volumeName: "volume3-4", boundByController: true, bindCompleted: true)],
               expectedClaims: [claim("claim3-4", uid: "uid3-4", "10Gi", volumeName: "volume3-4", phase: "Lost", boundByController: true, bindCompleted: true)],
               events: ["Warning ClaimMisbound"]),
    BinderCase(name: "3-5 - bound claim with bound volume",
               volumes: [volume("volume3-5", "10Gi", uid: "uid3-5", claim: "claim3-5")],
               expectedVolumes: [volume("volume3-5", "10Gi", uid: "uid3-5", claim: "claim3-5", phase: "Bound")],
               claims: [claim("claim3-5", uid: "uid3-5", "10Gi", volumeName: "volume3-5", bindCompleted: true)],
               expectedClaims: [claim("claim3-5", uid: "uid3-5", "10Gi", volumeName: "volume3-5", phase: "Bound", bindCompleted: true)]),
    BinderCase(name: "3-6 - bound claim with bound volume of another claim",
               volumes: [volume("volume3-6", "10Gi", uid: "uid3-6-x", claim: "claim3-6-x")],
               expectedVolumes: [volume("volume3-6", "10Gi", uid: "uid3-6-x", claim: "claim3-6-x")],
               claims: [claim("claim3-6", uid: "uid3-6", "10Gi", volumeName: "volume3-6", bindCompleted: true)],
               expectedClaims: [claim("claim3-6", uid: "uid3-6", "10Gi", volumeName: "volume3-6", phase: "Lost", bindCompleted: true)],
               events: ["Warning ClaimMisbound"]),
    BinderCase(name: "3-7 - bound claim with unbound volume where selector doesn't match",
               volumes: [volume("volume3-3", "10Gi")],
               expectedVolumes: [volume("volume3-3", "10Gi", uid: "uid3-3", claim: "claim3-3", phase: "Bound", boundByController: true)],
               claims: [claim("claim3-3", uid: "uid3-3", "10Gi", volumeName: "volume3-3", boundByController: true, bindCompleted: true, selector: selectorLabels)],
               expectedClaims: [claim("claim3-3", uid: "uid3-3", "10Gi", volumeName: "volume3-3", phase: "Bound", boundByController: true, bindCompleted: true, selector: selectorLabels)]),

    // [Unit test set 4] syncVolume.
    BinderCase(name: "4-1 - pending volume",
               volumes: [volume("volume4-1", "10Gi")], expectedVolumes: [volume("volume4-1", "10Gi", phase: "Available")],
               claims: [], expectedClaims: [], call: .volume),
    BinderCase(name: "4-2 - pending prebound volume",
               volumes: [volume("volume4-2", "10Gi", claim: "claim4-2")], expectedVolumes: [volume("volume4-2", "10Gi", claim: "claim4-2", phase: "Available")],
               claims: [], expectedClaims: [], call: .volume),
    BinderCase(name: "4-3 - bound volume with missing claim",
               volumes: [volume("volume4-3", "10Gi", uid: "uid4-3", claim: "claim4-3", phase: "Bound")],
               expectedVolumes: [volume("volume4-3", "10Gi", uid: "uid4-3", claim: "claim4-3", phase: "Released")],
               claims: [], expectedClaims: [], call: .volume),
    BinderCase(name: "4-4 - volume bound to claim with different UID",
               volumes: [volume("volume4-4", "10Gi", uid: "uid4-4", claim: "claim4-4", phase: "Bound")],
               expectedVolumes: [volume("volume4-4", "10Gi", uid: "uid4-4", claim: "claim4-4", phase: "Released")],
               claims: [claim("claim4-4", uid: "uid4-4-x", "10Gi", volumeName: "volume4-4", phase: "Bound", bindCompleted: true)],
               expectedClaims: [claim("claim4-4", uid: "uid4-4-x", "10Gi", volumeName: "volume4-4", phase: "Bound", bindCompleted: true)],
               call: .volume),
    BinderCase(name: "4-5 - volume bound by controller to unbound claim",
               volumes: [volume("volume4-5", "10Gi", uid: "uid4-5", claim: "claim4-5", phase: "Bound", boundByController: true)],
               expectedVolumes: [volume("volume4-5", "10Gi", uid: "uid4-5", claim: "claim4-5", phase: "Bound", boundByController: true)],
               claims: [claim("claim4-5", uid: "uid4-5", "10Gi")],
               expectedClaims: [claim("claim4-5", uid: "uid4-5", "10Gi")], call: .volume),
    BinderCase(name: "4-5b - volume bound by user to unbound claim",
               volumes: [volume("volume4-5", "10Gi", uid: "uid4-5", claim: "claim4-5", phase: "Bound")],
               expectedVolumes: [volume("volume4-5", "10Gi", uid: "uid4-5", claim: "claim4-5", phase: "Bound")],
               claims: [claim("claim4-5", uid: "uid4-5", "10Gi")],
               expectedClaims: [claim("claim4-5", uid: "uid4-5", "10Gi")], call: .volume),
    BinderCase(name: "4-6 - volume bound by to bound claim",
               volumes: [volume("volume4-6", "10Gi", uid: "uid4-6", claim: "claim4-6", phase: "Available")],
               expectedVolumes: [volume("volume4-6", "10Gi", uid: "uid4-6", claim: "claim4-6", phase: "Bound")],
               claims: [claim("claim4-6", uid: "uid4-6", "10Gi", volumeName: "volume4-6", phase: "Bound")],
               expectedClaims: [claim("claim4-6", uid: "uid4-6", "10Gi", volumeName: "volume4-6", phase: "Bound")], call: .volume),
    BinderCase(name: "4-7 - volume bound by controller to claim bound somewhere else",
               volumes: [volume("volume4-7", "10Gi", uid: "uid4-7", claim: "claim4-7", phase: "Bound", boundByController: true)],
               expectedVolumes: [volume("volume4-7", "10Gi", phase: "Available")],
               claims: [claim("claim4-7", uid: "uid4-7", "10Gi", volumeName: "volume4-7-x", phase: "Bound")],
               expectedClaims: [claim("claim4-7", uid: "uid4-7", "10Gi", volumeName: "volume4-7-x", phase: "Bound")], call: .volume),
    BinderCase(name: "4-8 - volume bound by user to claim bound somewhere else",
               volumes: [volume("volume4-8", "10Gi", uid: "uid4-8", claim: "claim4-8", phase: "Bound")],
               expectedVolumes: [volume("volume4-8", "10Gi", claim: "claim4-8", phase: "Available")],
               claims: [claim("claim4-8", uid: "uid4-8", "10Gi", volumeName: "volume4-8-x", phase: "Bound")],
               expectedClaims: [claim("claim4-8", uid: "uid4-8", "10Gi", volumeName: "volume4-8-x", phase: "Bound")], call: .volume),
    BinderCase(name: "4-9 - volume with claim of incompatible volumeMode - VolumeMismatch",
               volumes: [volume("volume4-9", "10Gi", uid: "uid4-9", claim: "claim4-9", phase: "Bound", volumeMode: "Block")],
               expectedVolumes: [volume("volume4-9", "10Gi", uid: "uid4-9", claim: "claim4-9", phase: "Bound", volumeMode: "Block")],
               claims: [claim("claim4-9", uid: "uid4-9", "10Gi")],
               expectedClaims: [claim("claim4-9", uid: "uid4-9", "10Gi")],
               events: ["Warning VolumeMismatch", "Warning VolumeMismatch"], call: .volume),

    // [Unit test set 13] Classes.
    BinderCase(name: "13-1 - binding to class",
               volumes: [volume("volume13-1-1", "1Gi", phase: "Available"), volume("volume13-1-2", "10Gi", phase: "Available", className: "gold")],
               expectedVolumes: [volume("volume13-1-1", "1Gi", phase: "Available"),
                                 volume("volume13-1-2", "10Gi", uid: "uid13-1", claim: "claim13-1", phase: "Bound", boundByController: true, className: "gold")],
               claims: [claim("claim13-1", uid: "uid13-1", "1Gi", className: "gold")],
               expectedClaims: [withCapacity("10Gi", claim("claim13-1", uid: "uid13-1", "1Gi", volumeName: "volume13-1-2", phase: "Bound", boundByController: true, bindCompleted: true, className: "gold"))]),
    BinderCase(name: "13-2 - binding without a class",
               volumes: [volume("volume13-2-1", "1Gi", phase: "Available", className: "gold"), volume("volume13-2-2", "10Gi", phase: "Available")],
               expectedVolumes: [volume("volume13-2-1", "1Gi", phase: "Available", className: "gold"),
                                 volume("volume13-2-2", "10Gi", uid: "uid13-2", claim: "claim13-2", phase: "Bound", boundByController: true)],
               claims: [claim("claim13-2", uid: "uid13-2", "1Gi")],
               expectedClaims: [withCapacity("10Gi", claim("claim13-2", uid: "uid13-2", "1Gi", volumeName: "volume13-2-2", phase: "Bound", boundByController: true, bindCompleted: true))]),
    BinderCase(name: "13-3 - binding to specific a class",
               volumes: [volume("volume13-3-1", "1Gi", phase: "Available", className: "silver"), volume("volume13-3-2", "10Gi", phase: "Available", className: "gold")],
               expectedVolumes: [volume("volume13-3-1", "1Gi", phase: "Available", className: "silver"),
                                 volume("volume13-3-2", "10Gi", uid: "uid13-3", claim: "claim13-3", phase: "Bound", boundByController: true, className: "gold")],
               claims: [claim("claim13-3", uid: "uid13-3", "1Gi", className: "gold")],
               expectedClaims: [withCapacity("10Gi", claim("claim13-3", uid: "uid13-3", "1Gi", volumeName: "volume13-3-2", phase: "Bound", boundByController: true, bindCompleted: true, className: "gold"))]),
    BinderCase(name: "13-4 - empty class",
               volumes: [volume("volume13-4", "1Gi", phase: "Available", className: "")],
               expectedVolumes: [volume("volume13-4", "1Gi", uid: "uid13-4", claim: "claim13-4", phase: "Bound", boundByController: true, className: "")],
               claims: [claim("claim13-4", uid: "uid13-4", "1Gi", className: "")],
               expectedClaims: [claim("claim13-4", uid: "uid13-4", "1Gi", volumeName: "volume13-4", phase: "Bound", boundByController: true, bindCompleted: true, className: "")]),
    BinderCase(name: "13-5 - nil class",
               volumes: [volume("volume13-5", "1Gi", phase: "Available", className: "")],
               expectedVolumes: [volume("volume13-5", "1Gi", uid: "uid13-5", claim: "claim13-5", phase: "Bound", boundByController: true, className: "")],
               claims: [claim("claim13-5", uid: "uid13-5", "1Gi")],
               expectedClaims: [claim("claim13-5", uid: "uid13-5", "1Gi", volumeName: "volume13-5", phase: "Bound", boundByController: true, bindCompleted: true)]),
    BinderCase(name: "13-6 - nil class in PV, '' class in claim",
               volumes: [volume("volume13-6", "1Gi", phase: "Available")],
               expectedVolumes: [volume("volume13-6", "1Gi", uid: "uid13-6", claim: "claim13-6", phase: "Bound", boundByController: true)],
               claims: [claim("claim13-6", uid: "uid13-6", "1Gi", className: "")],
               expectedClaims: [claim("claim13-6", uid: "uid13-6", "1Gi", volumeName: "volume13-6", phase: "Bound", boundByController: true, bindCompleted: true, className: "")]),
]

func withCapacity(_ size: String, _ c: PersistentVolumeClaim) -> PersistentVolumeClaim {
    var c = c
    c.status.capacity = ["storage": q(size)]
    return c
}

/// Names follow the kubernetes cases; `_` (not valid in an object name) became `-`.
@Suite struct BinderTableTests {
    @Test(arguments: binderCases)
    func syncOnce(_ test: BinderCase) async throws {
        let seeded = try await SeededStore(volumes: test.volumes, claims: test.claims)
        let snapshot = try await seeded.snapshot()
        var planner = StoragePlanner(StorageInputs(snapshot: snapshot, node: testNode, provisioner: nil, now: "2025-01-01T00:00:00Z"))
        switch test.call {
        case .claim: for c in test.claims { planner.syncClaim(c.key) }
        case .volume: for v in test.volumes { planner.syncVolume(v.name) }
        }
        planner.flush()
        var applier = StorageApplier(store: seeded.store, host: nil, snapshot: snapshot, logger: quietLogger, now: "2025-01-01T00:00:00Z")
        let outcome = await applier.apply(planner.plan)
        #expect(outcome.failures == 0, "\(outcome.errors)")
        #expect(planner.plan.events.map(\.description) == test.events)

        let volumes = try await seeded.volumes()
        #expect(volumes.count == test.expectedVolumes.count)
        for want in test.expectedVolumes {
            let got = try #require(volumes[want.name], "volume \(want.name) missing")
            #expect(got.phase == want.phase, "\(want.name) phase")
            #expect(got.spec.claimRef?.name ?? "" == want.spec.claimRef?.name ?? "", "\(want.name) claimRef.name")
            #expect(got.spec.claimRef?.uid ?? "" == (want.spec.claimRef?.uid).map(seeded.uid) ?? "", "\(want.name) claimRef.uid")
            #expect(got.hasAnnotation(StorageAnnotations.boundByController) == want.hasAnnotation(StorageAnnotations.boundByController), "\(want.name) bound-by-controller")
        }
        let claims = try await seeded.claims()
        for want in test.expectedClaims {
            let got = try #require(claims[want.name])
            #expect(got.phase == want.phase, "\(want.name) phase")
            #expect(got.volumeName == want.volumeName, "\(want.name) volumeName")
            for a in [StorageAnnotations.boundByController, StorageAnnotations.bindCompleted] {
                #expect(got.hasAnnotation(a) == want.hasAnnotation(a), "\(want.name) \(a)")
            }
            if want.phase == "Bound" {
                #expect(got.status.capacity?["storage"] == want.status.capacity?["storage"], "\(want.name) capacity")
                if test.call == .claim, test.claims.first(where: { $0.name == want.name })?.phase != "Bound" { #expect(got.status.accessModes == volumes[want.volumeName]?.spec.accessModes, "\(want.name) accessModes") }
            }
        }
    }

    /// A second sync over the result changes nothing: every step is idempotent.
    @Test(arguments: binderCases.filter { $0.events.isEmpty })
    func secondSyncIsQuiet(_ test: BinderCase) async throws {
        let seeded = try await SeededStore(volumes: test.volumes, claims: test.claims)
        for round in 0..<2 {
            let snapshot = try await seeded.snapshot()
            var planner = StoragePlanner(StorageInputs(snapshot: snapshot, node: testNode, provisioner: nil, now: "2025-01-01T00:00:00Z"))
            switch test.call {
            case .claim: for c in test.claims { planner.syncClaim(c.key) }
            case .volume: for v in test.volumes { planner.syncVolume(v.name) }
            }
            planner.flush()
            if round == 1 { #expect(planner.plan.steps.isEmpty, "\(planner.plan.steps)") }
            var applier = StorageApplier(store: seeded.store, host: nil, snapshot: snapshot, logger: quietLogger, now: "2025-01-01T00:00:00Z")
            _ = await applier.apply(planner.plan)
        }
    }
}
