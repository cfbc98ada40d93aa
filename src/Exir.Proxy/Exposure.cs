using System.Net;
using YamlDotNet.RepresentationModel;

namespace Exir.Proxy;

public enum ExposureDecision
{
    Allow,
    /// <summary>Not a published path: answer 404 (no hint that anything is there).</summary>
    NotFound,
    /// <summary>Published, but not for this method: 405.</summary>
    MethodNotAllowed,
    /// <summary>An administrative path asked for from outside the internal networks: 404 too, logged apart.</summary>
    InternalOnly,
}

/// <summary>
/// One published path prefix: who may reach it and with which methods, and how the proxy carries its traffic:
/// the longest silence allowed between bytes (<see cref="ActivityTimeout"/>), the largest body, and whether the
/// protocol is long-lived (a slow trickle is normal: no minimum data rate, e.g. RPC_IN_DATA and ActiveSync Ping).
/// </summary>
public sealed record ExposureRoute(string Prefix, bool InternalOnly, IReadOnlySet<string> Methods, bool Enabled)
{
    public TimeSpan ActivityTimeout { get; init; } = DefaultActivityTimeout;
    /// <summary>Largest request body in bytes (null: no limit).</summary>
    public long? MaxBodyBytes { get; init; } = DefaultMaxBodyBytes;
    public bool LongLived { get; init; }

    /// <summary>IIS's own defaults: 100 s without a byte ends a request, 30,000,000 bytes of body.</summary>
    public static readonly TimeSpan DefaultActivityTimeout = TimeSpan.FromSeconds(100);
    public const long DefaultMaxBodyBytes = 30_000_000;
}

/// <summary>
/// What the proxy publishes (rules/proxy/exposure.yaml): the client protocols to everyone, the administrative ones
/// (ECP, PowerShell, the REST API) to the internal networks only, and nothing else.
/// </summary>
public sealed class Exposure
{
    public const string FileName = "proxy/exposure.yaml";

    public IReadOnlyList<ExposureRoute> Routes { get; }
    public IReadOnlyList<IPNetwork> InternalNetworks { get; }

    public Exposure(IReadOnlyList<ExposureRoute> routes, IReadOnlyList<IPNetwork> internalNetworks)
    {
        // Longest prefix first, so a more specific route wins.
        Routes = routes.OrderByDescending(r => r.Prefix.Length).ToList();
        InternalNetworks = internalNetworks;
    }

    public bool IsInternal(IPAddress client)
    {
        if (client.IsIPv4MappedToIPv6) client = client.MapToIPv4();
        foreach (var n in InternalNetworks)
            if (n.Contains(client)) return true;
        return false;
    }

    public ExposureDecision Decide(NormalisedRequest request, IPAddress client)
    {
        var route = Find(request.PathLower);
        if (route is null || !route.Enabled) return ExposureDecision.NotFound;
        if (route.InternalOnly && !IsInternal(client)) return ExposureDecision.InternalOnly;
        return route.Methods.Contains(request.Method) ? ExposureDecision.Allow : ExposureDecision.MethodNotAllowed;
    }

    /// <summary>The route whose prefix is the path or a whole-segment start of it (so /owax is not /owa).</summary>
    public ExposureRoute? Find(string pathLower)
    {
        foreach (var r in Routes)
        {
            if (!pathLower.StartsWith(r.Prefix, StringComparison.Ordinal)) continue;
            if (pathLower.Length == r.Prefix.Length || pathLower[r.Prefix.Length] == '/') return r;
        }
        return null;
    }

    public static Exposure Load(Exir.Core.DataFiles data) => Parse(FileName, data.ReadAllText(FileName));

    /// <summary>Reads and validates the exposure file; every problem is reported with its line.</summary>
    /// <param name="extraInternal">Networks added from the command line or host configuration.</param>
    public static Exposure Parse(string file, string yaml, IEnumerable<string>? extraInternal = null)
    {
        var y = new YamlReader(file);
        var root = y.Root(yaml);
        var routes = new List<ExposureRoute>();
        var networks = new List<IPNetwork>();
        if (root is not null)
        {
            var keys = y.Keys(root, "internalNetworks", "routes");
            if (keys.TryGetValue("internalNetworks", out var nets))
                foreach (var (node, text) in y.Strings(nets.Value, "internalNetworks"))
                    if (IPNetwork.TryParse(text, out var n)) networks.Add(n);
                    else y.Error(node, $"'{text}' is not a network in CIDR form (e.g. 10.0.0.0/8)");
            if (!keys.TryGetValue("routes", out var rs) || rs.Value is not YamlSequenceNode seq) y.Error(root, "missing 'routes' (a list)");
            else
                foreach (var item in seq)
                {
                    if (item is not YamlMappingNode m) { y.Error(item, "a route is a mapping"); continue; }
                    var k = y.Keys(m, "prefix", "access", "methods", "enabled", "activityTimeoutSeconds", "maxBodyMiB", "longLived");
                    var prefix = y.Required(k, m, "prefix");
                    if (prefix is not null && (!prefix.StartsWith('/') || prefix.Length < 2 || prefix.EndsWith('/')))
                    { y.Error(k["prefix"].Value, $"prefix '{prefix}' must start with '/' and not end with one"); prefix = null; }
                    var access = k.TryGetValue("access", out var a) ? y.Scalar(a.Value, "access") : "public";
                    if (access is not ("public" or "internal")) { y.Error(a.Value ?? m, $"access '{access}' is not one of public, internal"); access = null; }
                    var methods = k.TryGetValue("methods", out var mm)
                        ? y.Strings(mm.Value, "methods").Select(v => v.Value.ToUpperInvariant()).ToHashSet(StringComparer.Ordinal)
                        : null;
                    if (methods is null || methods.Count == 0) { y.Error(m, "missing 'methods' (the HTTP methods this route takes)"); }
                    var enabled = true;
                    if (k.TryGetValue("enabled", out var e))
                    {
                        var t = y.Scalar(e.Value, "enabled");
                        if (t is "true" or "false") enabled = t == "true";
                        else y.Error(e.Value, $"enabled '{t}' is not true or false");
                    }
                    var timeout = ExposureRoute.DefaultActivityTimeout;
                    if (k.TryGetValue("activityTimeoutSeconds", out var ts))
                    {
                        var t = y.Scalar(ts.Value, "activityTimeoutSeconds");
                        if (int.TryParse(t, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var sec) && sec is >= 1 and <= 172_800)
                            timeout = TimeSpan.FromSeconds(sec);
                        else y.Error(ts.Value, $"activityTimeoutSeconds '{t}' is not a whole number of seconds from 1 to 172800 (two days)");
                    }
                    long? maxBody = ExposureRoute.DefaultMaxBodyBytes;
                    if (k.TryGetValue("maxBodyMiB", out var mb))
                    {
                        var t = y.Scalar(mb.Value, "maxBodyMiB");
                        if (t is "unlimited") maxBody = null;
                        else if (long.TryParse(t, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var mib) && mib is >= 0 and <= 1L << 20)
                            maxBody = mib << 20;
                        else y.Error(mb.Value, $"maxBodyMiB '{t}' is not a number of MiB from 0 to 1048576, or 'unlimited'");
                    }
                    var longLived = false;
                    if (k.TryGetValue("longLived", out var ll))
                    {
                        var t = y.Scalar(ll.Value, "longLived");
                        if (t is "true" or "false") longLived = t == "true";
                        else y.Error(ll.Value, $"longLived '{t}' is not true or false");
                    }
                    if (prefix is not null && access is not null && methods is { Count: > 0 })
                    {
                        if (routes.Any(r => r.Prefix == prefix.ToLowerInvariant())) y.Error(m, $"prefix '{prefix}' appears twice");
                        routes.Add(new ExposureRoute(prefix.ToLowerInvariant(), access == "internal", methods, enabled)
                        {
                            ActivityTimeout = timeout, MaxBodyBytes = maxBody, LongLived = longLived,
                        });
                    }
                }
        }
        foreach (var text in extraInternal ?? [])
            if (IPNetwork.TryParse(text, out var n)) networks.Add(n);
            else y.Problems.Add(new ProxyDataProblem("(configuration)", 0, 0, $"'{text}' is not a network in CIDR form"));
        if (y.Problems.Count > 0) throw new ProxyDataException(y.Problems);
        return new Exposure(routes, networks);
    }
}
