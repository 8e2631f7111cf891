import ClusterStore
import Foundation
import KubeModel
import Testing
@testable import Controllers

@Suite struct DeploymentPlanTests {
    static func deployment(replicas: Int, surge: String = "25%", unavailable: String = "25%", strategy: String = "RollingUpdate", image: String = "v1") throws -> Deployment {
        let strategyYAML = strategy == "Recreate" ? "{type: Recreate}" : "{type: RollingUpdate, rollingUpdate: {maxSurge: \(surge.hasSuffix("%") ? "\"\(surge)\"" : surge), maxUnavailable: \(unavailable.hasSuffix("%") ? "\"\(unavailable)\"" : unavailable)}}"
        let object = try Manifest.decode("""
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: web, namespace: default, uid: d1, generation: 1}
            spec:
              replicas: \(replicas)
              strategy: \(strategyYAML)
              selector: {matchLabels: {app: web}}
              template:
                metadata: {labels: {app: web}}
                spec: {containers: [{name: c, image: \(image), command: [sleep, "9"]}]}
            """, source: "t")[0].object
        return try Scheme.prepare(object, old: nil).get().decode(Deployment.self)
    }

    static func pods(_ d: Deployment, hash: String, ready: Int, notReady: Int = 0, prefix: String = "p") -> [Pod] {
        (0..<(ready + notReady)).map { i in
            var p = DeploymentPlan.newPod(d, hash: hash)
            p.metadata.name = "\(prefix)\(i)"
            p.metadata.creationTimestamp = "2026-01-01T00:00:0\(i)Z"
            if i < ready { p.status.conditions = [Condition(type: "Ready", status: "True")] }
            return p
        }
    }

    @Test func scaleUpAndDown() throws {
        let d = try Self.deployment(replicas: 5)
        let hash = DeploymentPlan.templateHash(d.spec.template)
        #expect(DeploymentPlan.make(d, pods: Self.pods(d, hash: hash, ready: 1)).create == 4)
        let down = try Self.deployment(replicas: 2)
        let plan = DeploymentPlan.make(down, pods: Self.pods(down, hash: hash, ready: 4, notReady: 1))
        #expect(plan.create == 0)
        #expect(plan.delete.count == 3)
        #expect(plan.delete.first == "p4", "unready pods go first")
    }

    @Test func rollingUpdateRespectsSurgeAndUnavailability() throws {
        let old = try Self.deployment(replicas: 4, surge: "1", unavailable: "1")
        let oldHash = DeploymentPlan.templateHash(old.spec.template)
        let new = try Self.deployment(replicas: 4, surge: "1", unavailable: "1", image: "v2")
        let pods = Self.pods(old, hash: oldHash, ready: 4)
        let plan = DeploymentPlan.make(new, pods: pods)
        #expect(plan.hash != oldHash)
        #expect(plan.create == 1, "at most replicas + maxSurge pods")
        #expect(plan.delete.count == 1, "at most maxUnavailable ready pods go at once")
        #expect(plan.status.updatedReplicas == 0)
    }

    @Test func recreateDeletesOldFirst() throws {
        let old = try Self.deployment(replicas: 2, strategy: "Recreate")
        let new = try Self.deployment(replicas: 2, strategy: "Recreate", image: "v2")
        let plan = DeploymentPlan.make(new, pods: Self.pods(old, hash: DeploymentPlan.templateHash(old.spec.template), ready: 2))
        #expect(plan.create == 0)
        #expect(plan.delete.count == 2)
    }

    @Test func statusCounts() throws {
        let d = try Self.deployment(replicas: 4)
        let hash = DeploymentPlan.templateHash(d.spec.template)
        let plan = DeploymentPlan.make(d, pods: Self.pods(d, hash: hash, ready: 3, notReady: 1))
        #expect(plan.status.replicas == 4)
        #expect(plan.status.readyReplicas == 3)
        #expect(plan.status.updatedReplicas == 4)
        #expect(plan.status.conditions?.first { $0.type == "Available" }?.status == "True", "25% of 4 may be unavailable")
        let short = DeploymentPlan.make(d, pods: Self.pods(d, hash: hash, ready: 2, notReady: 2))
        #expect(short.status.conditions?.first { $0.type == "Available" }?.status == "False")
    }
}
