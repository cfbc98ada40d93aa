namespace Exir.Proxy.AccessLog;

/// <summary>What the proxy did with a request (the x-exir-action column).</summary>
public enum AccessLogAction
{
    /// <summary>Passed to the backend.</summary>
    Forward,
    /// <summary>Refused by a block rule (403).</summary>
    Block,
    /// <summary>Refused as ambiguous before any rule read it (400).</summary>
    Reject,
    /// <summary>Not published, or internal-only from outside (404).</summary>
    NotFound,
    /// <summary>Published route, method not allowed (405).</summary>
    Method,
    /// <summary>Refused by a rate limit (429).</summary>
    RateLimit,
    /// <summary>The proxy or the backend failed (502, 504, ...).</summary>
    Error,
}

/// <summary>
/// One request as the proxy's access log records it: the IIS W3C fields a hunt reads plus what exir decided.
/// Every text value is attacker-controlled; <see cref="W3cAccessLogWriter"/> escapes them.
/// </summary>
public sealed record AccessLogEntry
{
    /// <summary>When the request arrived (written in UTC).</summary>
    public required DateTimeOffset Time { get; init; }
    public string? ServerIp { get; init; }
    public required string Method { get; init; }
    /// <summary>The request target exactly as received (split at the first '?' into cs-uri-stem and cs-uri-query).</summary>
    public required string RawTarget { get; init; }
    public int Port { get; init; }
    public string? User { get; init; }
    public string? ClientIp { get; init; }
    /// <summary>"HTTP/1.1", "HTTP/2", ...</summary>
    public string? HttpVersion { get; init; }
    public string? UserAgent { get; init; }
    public string? Cookie { get; init; }
    public string? Referer { get; init; }
    public string? Host { get; init; }
    public int Status { get; init; }
    public int SubStatus { get; init; }
    public long BytesSent { get; init; }
    public long BytesReceived { get; init; }
    public long TimeTakenMs { get; init; }
    /// <summary>The X-Forwarded-For the proxy sent upstream.</summary>
    public string? ForwardedFor { get; init; }
    public AccessLogAction Action { get; init; }
    /// <summary>Ids of the rules that matched (block and log rules).</summary>
    public IReadOnlyList<string> Rules { get; init; } = [];
    /// <summary>The normalised path and query the rules judged (<see cref="NormalisedOf"/>).</summary>
    public string? Normalised { get; init; }

    /// <summary>The normalised form of a request as the log writes it: path, and "?query" when there is one.</summary>
    public static string NormalisedOf(NormalisedRequest request) =>
        request.Query.Length == 0 ? request.Path : request.Path + "?" + request.Query;

    /// <summary>The x-exir-action token.</summary>
    public static string ActionToken(AccessLogAction action) => action switch
    {
        AccessLogAction.Forward => "forward",
        AccessLogAction.Block => "block",
        AccessLogAction.Reject => "reject",
        AccessLogAction.NotFound => "notfound",
        AccessLogAction.Method => "method",
        AccessLogAction.RateLimit => "ratelimit",
        _ => "error",
    };
}
