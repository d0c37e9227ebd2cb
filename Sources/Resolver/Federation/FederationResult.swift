import NameExpansion

/// The federation answer kinds counted in `fedns_federation_answers_total`.
public enum FederationResult: String, Sendable, CaseIterable {
    case local, zonal, regional, global

    init(_ kind: FederationTargetKind) {
        switch kind {
        case .zonal: self = .zonal
        case .regional: self = .regional
        case .global: self = .global
        }
    }

    /// This result as the label on a response.
    var answerKind: AnswerKind { AnswerKind(handler: FederationHandler.handlerName, kind: rawValue) }
}

extension Response {
    /// Which federation answer this was; nil when the federation handler did not answer.
    public var federationResult: FederationResult? {
        get {
            guard let answerKind, answerKind.handler == FederationHandler.handlerName else { return nil }
            return FederationResult(rawValue: answerKind.kind)
        }
        set { answerKind = newValue?.answerKind }
    }
}
