/// The `nft -f` transaction that turns the applied ruleset into the desired one, touching
/// only what differs: elements are added and deleted one by one, a chain is flushed and
/// refilled only when its rules changed, sets and chains come and go with their users.
public enum RulesetDiff {
    /// Nil when nothing changed. With `changedElements` (per set, the keys that may differ
    /// and their old value, nil for absent), elements of sets both sides have are compared
    /// for those keys only, and `old`'s elements are not read.
    public static func transaction(from old: Ruleset, to new: Ruleset, changedElements: [String: [[Ruleset.Atom]: [Ruleset.Atom]?]]? = nil) -> String? {
        precondition(old.table == new.table, "a diff is between two versions of one table")
        var out = NFTScript(table: new.table)
        let table = new.table

        // Sets whose definition changed are re-created: dropped with their users, then added.
        let recreated = Set(new.sets.keys.filter { name in old.sets[name].map { $0.definition != new.sets[name]!.definition } ?? false })
        let addedSets = new.sets.keys.filter { old.sets[$0] == nil || recreated.contains($0) }.sorted()
        let removedSets = old.sets.keys.filter { new.sets[$0] == nil || recreated.contains($0) }.sorted()
        let changedChains = new.chains.keys.filter { name in
            guard let o = old.chains[name] else { return false }
            return o.rules != new.chains[name]!.rules || o.rules.contains { rule in references(rule, removedSets) }
        }.sorted()
        let addedChains = new.chains.keys.filter { old.chains[$0] == nil }.sorted()
        let removedChains = old.chains.keys.filter { new.chains[$0] == nil }.sorted()
        let rehooked = new.chains.keys.filter { old.chains[$0] != nil && old.chains[$0]!.hook != new.chains[$0]!.hook }
        guard rehooked.isEmpty else {
            // A base chain's hook cannot be altered in place; start over.
            return new.fullTransaction(replacing: true)
        }

        // 1. Unhook rules that refer to sets or chains about to go.
        for name in changedChains { out.line("flush chain inet \(table) \(name)") }
        for name in removedChains { out.line("flush chain inet \(table) \(name)") }
        for name in removedChains { out.line("delete chain inet \(table) \(name)") }
        for name in removedSets { out.line("delete \(old.sets[name]!.value == nil ? "set" : "map") inet \(table) \(name)") }
        // 2. New sets and chains, then the rules of new and changed chains.
        for name in addedSets { out.addSet(name, new.sets[name]!) }
        for name in addedChains { out.addChain(name, new.chains[name]!) }
        for name in addedChains + changedChains { out.addRules(name, new.chains[name]!.rules) }
        // 3. Elements.
        let fresh = Set(addedSets)
        for name in new.sets.keys.sorted() {
            let desired = new.sets[name]!
            guard !desired.dynamic else { continue }
            var deletes: [[Ruleset.Atom]] = []
            var adds: [([Ruleset.Atom], [Ruleset.Atom])] = []
            if fresh.contains(name) {
                adds = desired.elements.map { ($0.key, $0.value) }
            } else if let changedElements {
                for (k, before) in changedElements[name] ?? [:] {
                    let after = desired.elements[k]
                    guard before != after else { continue }
                    if before != nil { deletes.append(k) }
                    if let after { adds.append((k, after)) }
                }
            } else {
                let current = old.sets[name]?.elements ?? [:]
                for (k, v) in current {
                    guard let nv = desired.elements[k] else { deletes.append(k); continue }
                    if nv != v { deletes.append(k); adds.append((k, nv)) }
                }
                for (k, v) in desired.elements where current[k] == nil { adds.append((k, v)) }
            }
            deletes.sort { $0.lexicographicallyPrecedes($1, by: atomOrder) }
            adds.sort { $0.0.lexicographicallyPrecedes($1.0, by: atomOrder) }
            out.deleteElements(name, deletes)
            out.addElements(name, adds)
        }
        return out.text.isEmpty ? nil : out.text
    }

    static func references(_ rule: Ruleset.Rule, _ sets: [String]) -> Bool {
        guard !sets.isEmpty else { return false }
        return sets.contains { rule.text.contains("@\($0) ") || rule.text.hasSuffix("@\($0)") }
    }
}
