namespace Exir.Logs;

/// <summary>
/// The field list of a log, from its "#Fields:" directive. Lookups are by name (case-insensitive), never
/// by position, so E2013's shorter HttpProxy lists and IIS sites with custom fields read the same way.
/// </summary>
public sealed class LogSchema
{
    private readonly Dictionary<string, int> _index = new(StringComparer.OrdinalIgnoreCase);

    public LogSchema(IReadOnlyList<string> names, bool isFallback = false)
    {
        Names = names;
        IsFallback = isFallback;
        for (int i = 0; i < names.Count; i++) _index.TryAdd(names[i], i);
        TimestampIndex = First("DateTime", "TimeStamp", "Timestamp", "date-time");
        DateIndex = IndexOf("date");
        TimeIndex = IndexOf("time");
    }

    public IReadOnlyList<string> Names { get; }
    public int Count => Names.Count;
    /// <summary>True when the file had no #Fields and a known default list of its format is used instead.</summary>
    public bool IsFallback { get; }
    /// <summary>Index of an ISO 8601 timestamp field (Exchange logs), or -1.</summary>
    public int TimestampIndex { get; }
    /// <summary>W3C "date" and "time" fields, or -1.</summary>
    public int DateIndex { get; }
    public int TimeIndex { get; }

    /// <summary>
    /// Index of a field by its own name or by a role name shared across formats (Stem, Query, Status,
    /// Method, UserAgent, User, ClientIp, ForwardedFor, Host, BackEndStatus), so one rule reads IIS and HttpProxy alike.
    /// </summary>
    public int IndexOf(string name)
    {
        if (_index.TryGetValue(name, out int i)) return i;
        if (Roles.TryGetValue(name, out var candidates))
            foreach (var c in candidates)
                if (_index.TryGetValue(c, out i)) return i;
        return -1;
    }

    public bool Has(string name) => IndexOf(name) >= 0;

    private int First(params string[] names)
    {
        foreach (var n in names) if (_index.TryGetValue(n, out int i)) return i;
        return -1;
    }

    private static readonly Dictionary<string, string[]> Roles = new(StringComparer.OrdinalIgnoreCase)
    {
        ["Stem"] = ["cs-uri-stem", "UrlStem"],
        ["Query"] = ["cs-uri-query", "UrlQuery"],
        ["Status"] = ["sc-status", "HttpStatus"],
        ["Method"] = ["cs-method", "Method"],
        ["UserAgent"] = ["cs(User-Agent)", "UserAgent"],
        ["User"] = ["cs-username", "AuthenticatedUser"],
        ["ClientIp"] = ["c-ip", "ClientIpAddress"],
        // IIS custom fields are named by the admin; these are the common spellings.
        ["ForwardedFor"] = ["X-Forwarded-For", "cs(X-Forwarded-For)", "x-forwarded-for", "OriginalIP", "X-Original-For"],
        ["Host"] = ["s-computername", "ServerHostName", "ServerName"],
        ["UrlHost"] = ["cs-host", "cs(Host)"],
    };

    /// <summary>Parses a "#Fields:" value: space-separated for W3C, comma-separated for Exchange logs.</summary>
    public static LogSchema Parse(ReadOnlySpan<char> fieldsValue, LogFormat format)
    {
        var names = new List<string>();
        char sep = format == LogFormat.IisW3c ? ' ' : ',';
        foreach (var range in fieldsValue.Split(sep))
        {
            var n = fieldsValue[range].Trim();
            if (n.Length > 0 || sep == ',') names.Add(n.ToString());
        }
        return new LogSchema(names);
    }

    /// <summary>
    /// Field lists used only when a file of a certain format lost its #Fields header and a data line has
    /// exactly as many columns (IIS's default W3C selection; the E2016/E2019 HttpProxy list; the ECP server list).
    /// </summary>
    public static IReadOnlyList<LogSchema> Defaults(LogFormat format) => format switch
    {
        LogFormat.IisW3c => [IisDefault],
        LogFormat.HttpProxy => [HttpProxyDefault],
        LogFormat.EcpServer => [EcpServerDefault],
        _ => [],
    };

    private static readonly LogSchema IisDefault = new(
        "date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken"
            .Split(' '), isFallback: true);

    private static readonly LogSchema EcpServerDefault = new("TimeStamp,ServerName,EventId,EventData".Split(','), isFallback: true);

    private static readonly LogSchema HttpProxyDefault = new((
        "DateTime,RequestId,MajorVersion,MinorVersion,BuildVersion,RevisionVersion,ClientRequestId,Protocol,UrlHost,UrlStem," +
        "ProtocolAction,AuthenticationType,IsAuthenticated,AuthenticatedUser,Organization,AnchorMailbox,UserAgent,ClientIpAddress," +
        "ServerHostName,HttpStatus,BackEndStatus,ErrorCode,Method,ProxyAction,TargetServer,TargetServerVersion,RoutingType,RoutingHint," +
        "BackEndCookie,ServerLocatorHost,ServerLocatorLatency,RequestBytes,ResponseBytes,TargetOutstandingRequests,AuthModulePerfContext," +
        "HttpPipelineLatency,CalculateTargetBackEndLatency,GlsLatencyBreakup,TotalGlsLatency,AccountForestLatencyBreakup," +
        "TotalAccountForestLatency,ResourceForestLatencyBreakup,TotalResourceForestLatency,ADLatency,SharedCacheLatencyBreakup," +
        "TotalSharedCacheLatency,ActivityContextLifeTime,ModuleToHandlerSwitchingLatency,ClientReqStreamLatency,BackendReqInitLatency," +
        "BackendReqStreamLatency,BackendProcessingLatency,BackendRespInitLatency,BackendRespStreamLatency,ClientRespStreamLatency," +
        "KerberosAuthHeaderLatency,HandlerCompletionLatency,RequestHandlerLatency,HandlerToModuleSwitchingLatency,ProxyTime,CoreLatency," +
        "RoutingLatency,HttpProxyOverhead,TotalRequestTime,RouteRefresherLatency,UrlQuery,BackEndGenericInfo,GenericInfo,GenericErrors," +
        "EdgeTraceId,DatabaseGuid,UserADObjectGuid,PartitionEndpointLookupLatency,RoutingStatus").Split(','), isFallback: true);
}
