import WardenIndex
import WardenModel

// The property tests' comparisons: each query answered by the index and by the reference,
// both rendered as text and compared; a mismatch is recorded with the seed, the step, the query
// and both answers. See PropertyTests.swift for an overview.

extension PropertyRun {
    func record(_ kind: String, _ query: String, index: String, reference: String) {
        var text =
            "seed \(seed) step \(step) (settings accept_global_perms=\(settings.acceptGlobalPerms), "
            + "anonymous_user=\(settings.anonymousUser.map(quoted) ?? "nil")): \(kind) \(query)\n"
            + "  index:     \(index)\n  reference: \(reference)"
        if !dumpedState {
            dumpedState = true
            text += "\n  state: " + stateDump()
        }
        mismatches.append(text)
    }

    /// The reference's text for an expectation, or nil (counted) when the semantics do not decide.
    func text<V>(_ expected: RefExpected<V>, _ render: (V) -> String) -> String? {
        switch expected {
        case .value(let value): return render(value)
        case .error(let code): return "error " + code.rawValue
        case .unspecified(let why):
            unspecified[why, default: 0] += 1
            return nil
        }
    }

    /// The index's answer as (text compared, text reported).
    func text<V>(_ result: Result<Evaluated<V>, IndexError>, _ render: (V) -> String) -> (String, String) {
        text(result.map(\.value), revision: (try? result.get())?.revision, render)
    }

    func text<V>(
        _ result: Result<V, IndexError>,
        revision answered: Revision?,
        _ render: (V) -> String
    ) -> (String, String) {
        switch result {
        case .success(let value):
            let rendered = render(value)
            if let answered, answered.rawValue != revision {
                return (rendered + " @revision \(answered)", rendered + " @revision \(answered) (expected \(revision))")
            }
            return (rendered, rendered)
        case .failure(let error):
            return ("error " + error.code.rawValue, "error " + error.code.rawValue + ": " + esc(error.message))
        }
    }

    func compare(_ kind: String, _ query: @autoclosure () -> String, index: (String, String), reference: String?) {
        guard let reference else { return }
        compared += 1
        coverage[answerCategory(kind, reference), default: 0] += 1
        if index.0 != reference { record(kind, query(), index: index.1, reference: reference) }
    }

    func compareCheck(_ request: CheckRequest) {
        let actual = Result { () throws(IndexError) in try index.check(request) }
        compare(
            "check",
            esc("\(request)"),
            index: text(actual, render),
            reference: text(reference.check(request), render)
        )
    }

    func compareChecks(_ requests: [CheckRequest]) {
        let answers = index.check(requests)
        if answers.revision.rawValue != revision {
            record(
                "check batch",
                esc("\(requests)"),
                index: "revision \(answers.revision)",
                reference: "revision \(revision)"
            )
        }
        for (position, request) in requests.enumerated() {
            compare(
                "check batch item \(position)",
                esc("\(request)"),
                index: text(answers.value[position], revision: answers.revision, render),
                reference: text(reference.check(request), render)
            )
        }
    }

    /// Lists every page, following the tokens, sometimes writing between two pages (keyset
    /// pagination: each page must be the next `page_size` qualifying objects after the cursor,
    /// at the state it is read at), and sometimes handing a token to another listing (it
    /// resumes after the same pk there). The reference gets its own token for the last pk
    /// returned, so the index's tokens stay opaque.
    func compareListObjects(_ first: ListObjectsQuery) {
        countToken(first.pageToken)
        var query = first
        var expectedQuery = first
        var cursor: RefBytes? = nil
        var foreign = false
        var page = 0
        while true {
            let actual = Result { () throws(IndexError) in try index.listObjects(query) }
            let expected = reference.listObjects(expectedQuery, tally: tally)
            let pageSize = query.pageSize ?? 1000
            let wanted = text(expected) { answer -> String in
                switch answer {
                case .unrestricted(let decision): return "unrestricted " + render(decision)
                case .objects(let pks):
                    return renderPage(pks.prefix(max(pageSize, 0)).map(refString), more: pks.count > pageSize)
                }
            }
            let got = text(actual, render)
            let label =
                page == 0
                ? "listObjects"
                : "listObjects page \(page + 1)\(foreign ? " (another listing's token)" : "") after \(quoted(cursor ?? []))"
            compare(label, esc("\(query)"), index: got, reference: wanted)
            if page > 0 { pagesCompared += 1 }
            guard case .success(let evaluated) = actual, case .objects(let pks, let token?) = evaluated.value,
                let last = pks.last, page < 40, !diverged
            else { return }
            // Follow the token; sometimes in another listing, sometimes after a write.
            page += 1
            cursor = refBytes(last)
            foreign = rng.chance(0.1)
            if foreign {
                query = randomListObjects()
                tally.note("ListObjects: another listing's page_token")
            }
            query.pageToken = token
            expectedQuery = query
            expectedQuery.pageToken = ReferenceEvaluator.pageToken(after: refBytes(last))
            if rng.chance(0.25) {
                step += 1
                applyBoth(randomBatch(size: rng.chance(0.8) ? 1 : rng.int(2...4)))
            }
        }
    }

    /// Counts a first page's token by kind (the follow-up pages' tokens are the index's own).
    func countToken(_ token: String?) {
        guard let token else { return }
        let kind: String
        switch ReferenceEvaluator.decodePageToken(token) {
        case .none: kind = "empty"
        case .cursor: kind = "well-formed, from another listing or for a pk never listed"
        case .invalid: kind = "malformed"
        }
        if kind != "malformed" && token.dropFirst().contains(where: \.isUppercase) {
            tally.note("ListObjects: a page_token in uppercase or mixed-case hex")
        }
        tally.note("ListObjects: a page_token given: " + kind)
    }

    func compareListSubjects(_ query: ListSubjectsQuery) {
        let actual = Result { () throws(IndexError) in try index.listSubjects(query) }
        compare(
            "listSubjects",
            esc("\(query)"),
            index: text(actual, render),
            reference: text(reference.listSubjects(query, tally: tally), render)
        )
    }

    func comparePermissions(_ query: PermissionsQuery) {
        let actual = Result { () throws(IndexError) in try index.permissions(query) }
        compare(
            "permissions",
            esc("\(query)"),
            index: text(actual, render),
            reference: text(reference.permissions(query, tally: tally)) { render($0.map(refString)) }
        )
    }

    /// A BatchGetPermissions against the reference's GetPermissions of each pk (the request
    /// fails as its worst pk does: a field rule first, then an unregistered type), and against
    /// the index's own GetPermissions of each pk at the same revision.
    func comparePermissionSets(_ query: PermissionSetsQuery) {
        let actual = Result { () throws(IndexError) in try index.permissionSets(query) }
        func single(_ pk: String) -> PermissionsQuery {
            var single = PermissionsQuery(
                subject: query.subject,
                object: ObjectRef(contentType: query.contentType, pk: pk),
                mode: query.mode
            )
            single.acceptGlobalPerms = query.acceptGlobalPerms
            return single
        }
        // No pk: the request's own fields still decide (a valid pk stands in for the rules).
        let expectations = (query.pks.isEmpty ? ["1"] : query.pks).map { reference.permissions(single($0)) }
        var unspecified: String?
        var invalid = false
        var failure: IndexError.Code?
        var values: [[RefBytes]] = []
        for expectation in expectations {
            switch expectation {
            case .unspecified(let why): unspecified = why
            case .error(.invalidArgument): invalid = true
            case .error(let code): failure = failure ?? code
            case .value(let codenames): values.append(codenames)
            }
        }
        let expected: RefExpected<[[RefBytes]]> =
            if let unspecified { .unspecified(unspecified) } else if invalid {
                .error(.invalidArgument)
            } else if let failure { .error(failure) } else { .value(query.pks.isEmpty ? [] : values) }
        compare(
            "permissionSets",
            esc("\(query)"),
            index: text(actual) { sets in render(sets) },
            reference: text(expected) { "sets " + render($0.map { $0.map(refString) }) }
        )
        guard case .success(let sets) = actual else { return }
        for (position, pk) in query.pks.enumerated() {
            let one = Result { () throws(IndexError) in try index.permissions(single(pk)) }
            let alone = text(one) { render($0) }
            let inBatch = render(sets.value.codenames(of: position))
            if alone.0 != inBatch || (try? one.get())?.revision != sets.revision {
                record(
                    "permissionSets item \(position) vs permissions",
                    esc("\(single(pk))"),
                    index: inBatch,
                    reference: alone.1
                )
            }
        }
    }
}
