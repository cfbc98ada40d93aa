namespace Exir.Logs;

/// <summary>The log families exir reads. Decided from the file's content; the path is only a hint. <see cref="LogFormats"/> holds what each one is.</summary>
public enum LogFormat
{
    /// <summary>IIS W3C extended log (space-separated, "#Fields:" header).</summary>
    IisW3c,
    /// <summary>Exchange HttpProxy log (CSV, one folder per protocol: Ecp, Owa, Autodiscover, ...).</summary>
    HttpProxy,
    /// <summary>Exchange ECP server log (TimeStamp,ServerName,EventId,EventData).</summary>
    EcpServer,
    /// <summary>Exchange OAB generator log.</summary>
    OabGenerator,
    /// <summary>Any other Exchange CSV log (EWS, ECP activity, CmdletInfra, ...).</summary>
    OtherExchange,
}

/// <summary>The header of a log as the sniffer read it: the directives and the first data line.</summary>
public sealed record LogHeader(string? Software, string? Version, string? LogType, string? Fields, string? FirstData, int Directives)
{
    public bool SoftwareIs(string what) => Has(Software, what);
    public bool LogTypeIs(string what) => Has(LogType, what);
    public bool FieldsHave(string what) => Has(Fields, what);
    public bool IsExchange => SoftwareIs("Microsoft Exchange");

    /// <summary>"2021-03-03 05:42:01 ..." (W3C date and time separated by a space).</summary>
    public bool DataLooksLikeW3c => FirstData is { Length: > 20 } l && char.IsAsciiDigit(l[0]) && l[4] == '-' && l[7] == '-' && l[10] == ' ' && l[13] == ':';
    /// <summary>"2021-03-03T05:42:01.123Z,..." (ISO time first, comma-separated).</summary>
    public bool DataLooksLikeIsoCsv => FirstData is { Length: > 20 } l && char.IsAsciiDigit(l[0]) && l[4] == '-' && l[7] == '-' && l[10] == 'T' && l.Contains(',');
    /// <summary>No header directive at all: a cut or re-collected file; the path then decides, if the data agrees.</summary>
    public bool Headerless => Software is null && LogType is null && Fields is null && FirstData is not null;

    internal static bool Has(string? s, string what) => s is not null && s.Contains(what, StringComparison.OrdinalIgnoreCase);
}

/// <summary>
/// One log format: the name rules and mapping files spell, how its header is recognised, its separator,
/// the role names shared across formats, the field lists used when a file lost its header, and the
/// coverage family a file counts under. Everything that differs between formats lives here, once.
/// </summary>
public sealed class LogFormatDescriptor
{
    public required LogFormat Format { get; init; }
    /// <summary>The one spelling used by rule files, mapping files and outputs: iis, httpproxy, ecp-server, oab-generator, exchange-other.</summary>
    public required string Name { get; init; }
    public required string Title { get; init; }
    public required char Separator { get; init; }
    /// <summary>W3C writes "-" for an empty value.</summary>
    public bool DashMeansEmpty { get; init; }
    /// <summary>Exchange CSV logs carry the build in "#Version:" and live under the install folder's Logging/.</summary>
    public bool IsExchange { get; init; }
    /// <summary>Read even when no consumer wants its lines, so the coverage section shows the log's time span.</summary>
    public bool AlwaysRead { get; init; }
    /// <summary>Role names shared across formats (Stem, Query, Status, Method, UserAgent, User, ClientIp, ForwardedFor, Host, UrlHost) to this format's field names, in preference order.</summary>
    public required IReadOnlyDictionary<string, string[]> Roles { get; init; }
    /// <summary>
    /// Known field lists, used only for a line no trustworthy #Fields header fits (none, empty, naming a field twice,
    /// or fewer/more columns than the line) and that has exactly as many columns (for W3C, with a method and a path
    /// where the list puts them). The first is the product's default.
    /// </summary>
    public IReadOnlyList<LogSchema> DefaultSchemas { get; internal set; } = [];
    /// <summary>Whether a header (and the path, as a hint) is this format. Asked in registry order.</summary>
    internal Func<LogHeader, string, bool> Claims { get; init; } = (_, _) => false;
    /// <summary>The coverage family of a file ("HttpProxy/Ecp", "IIS/W3SVC1", ...), from its path and what its reader saw.</summary>
    internal Func<string, LogReader, string> Family { get; init; } = (_, _) => "";
    /// <summary>The family when the file could not even be opened.</summary>
    public required string FallbackFamily { get; init; }

    public string CoverageFamily(string path, LogReader reader) => Family(path, reader);

    /// <summary>Parses a "#Fields:" value with this format's separator.</summary>
    public LogSchema ParseSchema(ReadOnlySpan<char> fieldsValue)
    {
        // Every log of a kind repeats the same header (twice in Exchange's: the bare line and #Fields), and a
        // scan opens hundreds of them: each is parsed once. Schemas are immutable; bounded against crafted headers.
        var known = _parsed.GetAlternateLookup<ReadOnlySpan<char>>();
        if (known.TryGetValue(fieldsValue, out var schema)) return schema;
        schema = Parse(fieldsValue);
        if (_parsed.Count < 64) known.TryAdd(fieldsValue, schema);
        return schema;
    }

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, LogSchema> _parsed = new(StringComparer.Ordinal);

    private LogSchema Parse(ReadOnlySpan<char> fieldsValue)
    {
        var names = new List<string>();
        foreach (var range in fieldsValue.Split(Separator))
        {
            var n = fieldsValue[range].Trim();
            if (n.Length > 0 || Separator == ',') names.Add(n.ToString());
        }
        return new LogSchema(names, this);
    }

    public override string ToString() => Name;
}

/// <summary>The registry of log formats. Order matters: a header is claimed by the first format that recognises it.</summary>
public static class LogFormats
{
    private static readonly Dictionary<string, string[]> IisRoles = new(StringComparer.OrdinalIgnoreCase)
    {
        ["Stem"] = ["cs-uri-stem"],
        ["Query"] = ["cs-uri-query"],
        ["Status"] = ["sc-status"],
        ["Method"] = ["cs-method"],
        ["UserAgent"] = ["cs(User-Agent)"],
        ["User"] = ["cs-username"],
        ["ClientIp"] = ["c-ip"],
        // IIS custom fields are named by the admin; these are the common spellings.
        ["ForwardedFor"] = ["X-Forwarded-For", "cs(X-Forwarded-For)", "x-forwarded-for", "OriginalIP", "X-Original-For"],
        ["Host"] = ["s-computername"],
        ["UrlHost"] = ["cs-host", "cs(Host)"],
    };

    private static readonly Dictionary<string, string[]> ExchangeRoles = new(StringComparer.OrdinalIgnoreCase)
    {
        ["Stem"] = ["UrlStem"],
        ["Query"] = ["UrlQuery"],
        ["Status"] = ["HttpStatus"],
        ["Method"] = ["Method"],
        ["UserAgent"] = ["UserAgent"],
        ["User"] = ["AuthenticatedUser"],
        ["ClientIp"] = ["ClientIpAddress"],
        ["ForwardedFor"] = ["X-Forwarded-For", "OriginalIP", "X-Original-For"],
        ["Host"] = ["ServerHostName", "ServerName"],
        ["UrlHost"] = ["UrlHost"],
    };

    public static LogFormatDescriptor Iis { get; } = new()
    {
        Format = LogFormat.IisW3c, Name = "iis", Title = "IIS W3C", Separator = ' ', DashMeansEmpty = true, AlwaysRead = true,
        Roles = IisRoles, FallbackFamily = "IIS",
        Claims = (h, path) =>
            h.SoftwareIs("Internet Information Services")
            || h.SoftwareIs(ExirProxySoftware) // exir proxy's access log: IIS's shape plus x-exir-* fields
            || (!h.IsExchange && h.LogType is null && h.FieldsHave("cs-uri-stem")) // W3C without #Software
            || (h.Headerless && h.DataLooksLikeW3c && (LogHeader.Has(path, "/W3SVC") || LogHeader.Has(FileName(path), "u_ex")
                                                      || FileName(path).StartsWith(ExirProxyFilePrefix, StringComparison.OrdinalIgnoreCase))),
        Family = (path, reader) =>
            LogHeader.Has(reader.Software, ExirProxySoftware) ? ExirProxyFamily
            : W3svcSite(path) is { } site ? "IIS/" + site
            : reader.Software is null && FileName(path).StartsWith(ExirProxyFilePrefix, StringComparison.OrdinalIgnoreCase) ? ExirProxyFamily
            : "IIS",
    };

    /// <summary>"#Software: exir proxy VERSION": the access log of exir proxy (Exir.Proxy's W3cAccessLogWriter), read as <see cref="Iis"/>.</summary>
    public const string ExirProxySoftware = "exir proxy";
    /// <summary>The coverage family of exir proxy's access logs.</summary>
    public const string ExirProxyFamily = "exir proxy";
    /// <summary>exir proxy names its daily files exir-proxy_yyyyMMdd.log.</summary>
    public const string ExirProxyFilePrefix = "exir-proxy_";
    /// <summary>The #Fields of exir proxy's access log (the same list as Exir.Proxy's W3cAccessLogWriter.Fields; a test holds them equal).</summary>
    public const string ExirProxyFields =
        "date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs-version cs(User-Agent) cs(Cookie) cs(Referer) cs-host " +
        "sc-status sc-substatus sc-bytes cs-bytes time-taken x-forwarded-for x-exir-action x-exir-rules x-exir-normalised";

    public static LogFormatDescriptor HttpProxy { get; } = new()
    {
        Format = LogFormat.HttpProxy, Name = "httpproxy", Title = "Exchange HttpProxy", Separator = ',', IsExchange = true, AlwaysRead = true,
        Roles = ExchangeRoles, FallbackFamily = "HttpProxy",
        Claims = (h, path) =>
            h.LogTypeIs("HttpProxy")
            || (!h.LogTypeIs("ECP Server") && !h.LogTypeIs("OAB") && h.FieldsHave("AnchorMailbox") && h.FieldsHave("BackEndCookie"))
            || (h.Headerless && h.DataLooksLikeIsoCsv && LogHeader.Has(path, "/HttpProxy/")),
        Family = (path, reader) =>
        {
            // The protocol folder (HttpProxy/Ecp/...) names the family; a loose file falls back to its Protocol field.
            int at = path.LastIndexOf("/HttpProxy/", StringComparison.OrdinalIgnoreCase);
            string rest = at >= 0 ? path[(at + "/HttpProxy/".Length)..] : path.StartsWith("HttpProxy/", StringComparison.OrdinalIgnoreCase) ? path["HttpProxy/".Length..] : "";
            int slash = rest.IndexOf('/');
            if (slash > 0) return "HttpProxy/" + rest[..slash];
            return reader.FirstLineField("Protocol") is { Length: > 0 and < 40 } proto ? "HttpProxy/" + proto : "HttpProxy";
        },
    };

    public static LogFormatDescriptor EcpServer { get; } = new()
    {
        Format = LogFormat.EcpServer, Name = "ecp-server", Title = "Exchange ECP server", Separator = ',', IsExchange = true, AlwaysRead = true,
        Roles = ExchangeRoles, FallbackFamily = "ECP Server",
        Claims = (h, path) =>
            h.LogTypeIs("ECP Server")
            // Log-type missing: ECP activity logs share the field list, so only the folder tells them apart.
            || (h.IsExchange && h.LogType is null && h.FieldsHave("EventData") && LogHeader.Has(path, "/ECP/Server/"))
            || (h.Headerless && h.DataLooksLikeIsoCsv && LogHeader.Has(path, "/ECP/Server/")),
        Family = (_, _) => "ECP Server",
    };

    public static LogFormatDescriptor OabGenerator { get; } = new()
    {
        Format = LogFormat.OabGenerator, Name = "oab-generator", Title = "Exchange OAB generator", Separator = ',', IsExchange = true, AlwaysRead = true,
        Roles = ExchangeRoles, FallbackFamily = "OABGenerator",
        Claims = (h, path) =>
            h.LogTypeIs("OABGen") || h.LogTypeIs("OAB Gen")
            || (h.IsExchange && h.LogType is null && LogHeader.Has(path, "OABGeneratorLog"))
            || (h.Headerless && h.DataLooksLikeIsoCsv && LogHeader.Has(path, "OABGeneratorLog")),
        Family = (_, _) => "OABGenerator",
    };

    public static LogFormatDescriptor OtherExchange { get; } = new()
    {
        Format = LogFormat.OtherExchange, Name = "exchange-other", Title = "other Exchange log", Separator = ',', IsExchange = true,
        Roles = ExchangeRoles, FallbackFamily = "Exchange",
        Claims = (h, _) => h.IsExchange,
        Family = (_, reader) => reader.LogType is { Length: > 0 and < 60 } t ? "Exchange/" + t : "Exchange",
    };

    /// <summary>Every format, in the order headers are offered to them.</summary>
    public static IReadOnlyList<LogFormatDescriptor> All { get; } = [Iis, HttpProxy, EcpServer, OabGenerator, OtherExchange];

    static LogFormats()
    {
        // IIS 8.5 and later by default, IIS 7/7.5 by default (no Referer), and every standard field ticked.
        Iis.DefaultSchemas =
        [
            Default(Iis, "date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken"),
            Default(Iis, "date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) sc-status sc-substatus sc-win32-status time-taken"),
            Default(Iis, "date time s-sitename s-computername s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs-version cs(User-Agent) cs(Cookie) cs(Referer) cs-host sc-status sc-substatus sc-win32-status sc-bytes cs-bytes time-taken"),
            // exir proxy's access log, for a file that lost its header.
            Default(Iis, ExirProxyFields),
        ];
        EcpServer.DefaultSchemas = [Default(EcpServer, "TimeStamp,ServerName,EventId,EventData")];
        // The E2016/E2019 HttpProxy list.
        HttpProxy.DefaultSchemas = [Default(HttpProxy,
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
            "EdgeTraceId,DatabaseGuid,UserADObjectGuid,PartitionEndpointLookupLatency,RoutingStatus")];
    }

    public static LogFormatDescriptor Get(LogFormat format) => format switch
    {
        LogFormat.IisW3c => Iis,
        LogFormat.HttpProxy => HttpProxy,
        LogFormat.EcpServer => EcpServer,
        LogFormat.OabGenerator => OabGenerator,
        _ => OtherExchange,
    };

    /// <summary>The format a rule or mapping file names, by its one spelling; null when unknown.</summary>
    public static LogFormatDescriptor? ByName(string name) =>
        All.FirstOrDefault(d => string.Equals(d.Name, name.Trim(), StringComparison.OrdinalIgnoreCase));

    /// <summary>The names, for error messages ("iis, httpproxy, ...").</summary>
    public static string Names => string.Join(", ", All.Select(d => d.Name));

    /// <summary>The first format that claims the header (content first; the path is only a hint for header-less files).</summary>
    public static LogFormatDescriptor? Claim(LogHeader header, string relativePath)
    {
        var path = relativePath.Replace('\\', '/');
        foreach (var d in All)
            if (d.Claims(header, path)) return d;
        return null;
    }

    /// <summary>
    /// Whether a path is where, or named as, IIS and Exchange write their logs (W3SVC folders, u_ex*.log,
    /// HttpProxy_*.log, Exchange Logging folders, exir proxy's exir-proxy_*.log...): a file there that no format can read is a gap worth naming.
    /// </summary>
    public static bool LooksLikeLogPath(string relativePath)
    {
        var path = relativePath.Replace('\\', '/');
        var name = FileName(path);
        if (W3svcSite(path) is not null) return true;
        foreach (var folder in LogFolders)
            if (path.StartsWith(folder + "/", StringComparison.OrdinalIgnoreCase) || path.Contains("/" + folder + "/", StringComparison.OrdinalIgnoreCase))
                return true;
        foreach (var prefix in LogNamePrefixes)
            if (name.StartsWith(prefix, StringComparison.OrdinalIgnoreCase)) return true;
        return false;
    }

    private static readonly string[] LogFolders = ["Logging", "LogFiles", "HttpProxy", "W3SVC"];
    private static readonly string[] LogNamePrefixes = ["u_ex", "u_in", "u_nc", "HttpProxy_", "ECPServer", "OABGeneratorLog", "Ews_", ExirProxyFilePrefix];

    private static LogSchema Default(LogFormatDescriptor d, string fields) =>
        new(fields.Split(d.Separator), d, isFallback: true);

    private static string FileName(string path) => path[(path.LastIndexOf('/') + 1)..];

    private static string? W3svcSite(string path)
    {
        foreach (var segment in path.Split('/'))
            if (segment.Length > 5 && segment.StartsWith("W3SVC", StringComparison.OrdinalIgnoreCase) && segment.AsSpan(5).IndexOfAnyExceptInRange('0', '9') < 0)
                return segment.ToUpperInvariant();
        return null;
    }
}

public static class LogFormatNames
{
    /// <summary>The format's descriptor (name, separator, roles, coverage family).</summary>
    public static LogFormatDescriptor Descriptor(this LogFormat format) => LogFormats.Get(format);

    /// <summary>True for the comma-separated Exchange formats.</summary>
    public static bool IsExchangeCsv(this LogFormat format) => LogFormats.Get(format).IsExchange;
}
