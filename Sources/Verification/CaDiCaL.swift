// CaDiCaL (Biere et al., "CaDiCaL, Kissat, Paracooba, Plingeling and Treengeling entering the SAT Competition
// 2020") through its IPASIR C API, with a deadline: the solver polls `terminate` and gives up when it passes.

import CCaDiCaL

/// One incremental CaDiCaL instance: clauses added once, solved under assumptions many times.
final class CaDiCaL {
    private let solver: OpaquePointer
    private let clock: Deadline

    /// When the solver must stop (nil: never); read by CaDiCaL's terminate callback.
    final class Deadline {
        let deadline: SearchDeadline?
        init(_ deadline: SearchDeadline?) { self.deadline = deadline }
        var passed: Bool { deadline?.passed ?? false }
    }

    init(deadline: SearchDeadline?) {
        solver = ccadical_init()
        clock = Deadline(deadline)
        if deadline != nil {
            ccadical_set_terminate(solver, Unmanaged.passUnretained(clock).toOpaque()) { state in
                Unmanaged<Deadline>.fromOpaque(state!).takeUnretainedValue().passed ? 1 : 0
            }
        }
    }

    deinit { ccadical_release(solver) }

    /// Adds a formula's clauses (DIMACS, each ended by 0); false when the deadline passed on the way (checked
    /// every 2^20 literals: a large formula takes seconds to add).
    func add(_ cnf: CNF) -> Bool {
        for (i, l) in cnf.literals.enumerated() {
            if i & 0xFFFFF == 0 && clock.passed { return false }
            ccadical_add(solver, l)
        }
        return true
    }

    /// Adds one clause.
    func add(clause: [Int32]) {
        for l in clause { ccadical_add(solver, l) }
        ccadical_add(solver, 0)
    }

    /// Solves under `assumptions`: true (satisfiable), false (not), nil (the deadline came first).
    func solve(assuming assumptions: [Int32]) -> Bool? {
        for a in assumptions { ccadical_assume(solver, a) }
        switch ccadical_solve(solver) {
        case 10: return true
        case 20: return false
        default: return nil
        }
    }

    /// The value of `literal` in the last satisfying assignment.
    func value(_ literal: Int32) -> Bool { ccadical_val(solver, literal) > 0 }
}
