using System.Net;

namespace Exir.Proxy;

/// <summary>The proxy's answer to one request: pass it on (Status 0) or answer with this status, and why.</summary>
public sealed record PolicyOutcome(int Status, string Reason, RuleVerdict Rules)
{
    public bool Forward => Status == 0;
}

/// <summary>
/// The order a request is judged in: an ambiguous encoding is refused (400) before anything reads it, then the
/// exposure (404/405), then the rule set (403 on a block; log rules only record).
/// </summary>
public sealed class ProxyPolicy(Exposure exposure, ProxyRuleSet rules)
{
    public Exposure Exposure { get; } = exposure;
    public ProxyRuleSet Rules { get; } = rules;

    public static ProxyPolicy Load(Exir.Core.DataFiles data) => new(Exposure.Load(data), ProxyRuleSet.Load(data));

    public PolicyOutcome Decide(string method, string rawTarget, IReadOnlyList<Header> headers, IPAddress client) =>
        Decide(RequestNormaliser.Normalise(method, rawTarget, headers), client);

    public PolicyOutcome Decide(NormalisedRequest request, IPAddress client)
    {
        if (request.IsAmbiguous)
            return new PolicyOutcome(400, "ambiguous encoding: " + string.Join(", ", request.AnomalyList.Where(a => (a & NormalisedRequest.AmbiguousAnomalies) != 0)), RuleVerdict.Pass);
        var isInternal = Exposure.IsInternal(client);
        // Rules run first so an attack on an unpublished path is still named in the log.
        var verdict = Rules.Evaluate(request, isInternal);
        if (verdict.Blocked)
            return new PolicyOutcome(403, "blocked by " + string.Join(", ", verdict.Matched.Where(r => r.Action == RuleAction.Block).Select(r => r.Id)), verdict);
        return Exposure.Decide(request, client) switch
        {
            ExposureDecision.NotFound => new PolicyOutcome(404, "not a published path", verdict),
            ExposureDecision.InternalOnly => new PolicyOutcome(404, "internal-only path from outside", verdict),
            ExposureDecision.MethodNotAllowed => new PolicyOutcome(405, $"method {request.Method} not allowed here", verdict),
            _ => new PolicyOutcome(0, "allowed", verdict),
        };
    }
}
