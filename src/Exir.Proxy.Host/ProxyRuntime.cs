using System.Net;
using Exir.Core;

namespace Exir.Proxy.Host;

/// <summary>
/// The judgement a running proxy applies: policy (rules and exposure) and the reloadable settings, built together
/// and swapped as one object when the config file changes, so a request never sees half a reload.
/// </summary>
public sealed class ProxyRuntime
{
    public ProxyPolicy Policy { get; }
    public ProxyOptions.Reloadable Settings { get; }
    public IReadOnlyList<IPNetwork> TrustForwardedFrom { get; }
    public string RulesOrigin { get; }

    private ProxyRuntime(ProxyPolicy policy, ProxyOptions.Reloadable settings, IReadOnlyList<IPNetwork> trust, string origin)
    {
        Policy = policy;
        Settings = settings;
        TrustForwardedFrom = trust;
        RulesOrigin = origin;
    }

    /// <summary>Loads rules and exposure (a rules folder over the embedded copy); throws <see cref="ProxyDataException"/> with every problem.</summary>
    public static ProxyRuntime Build(ProxyOptions.Reloadable settings)
    {
        DataFiles data;
        try { data = new DataFiles("rules", typeof(Exposure).Assembly, settings.RulesDirectory); }
        catch (DirectoryNotFoundException e) { throw new ProxyDataException([new ProxyDataProblem(settings.RulesDirectory ?? "rules", 0, 0, e.Message)]); }
        string exposureText;
        try { exposureText = data.ReadAllText(Exposure.FileName); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ProxyDataException([new ProxyDataProblem(Path.Combine(data.Directory ?? "rules", Exposure.FileName), 0, 0,
                "cannot read the exposure file (a rules folder given with --rules or rules: replaces the built-in one: start from a copy of it): " + e.Message)]);
        }
        var exposure = Exposure.Parse(Exposure.FileName, exposureText, settings.InternalNetworks);
        if (settings.EnableRpc)
            exposure = new Exposure(exposure.Routes.Select(r => r.Prefix == "/rpc" ? r with { Enabled = true } : r).ToList(), exposure.InternalNetworks);
        var rules = ProxyRuleSet.Load(data);
        var trust = settings.TrustForwardedFrom.Select(t => IPNetwork.Parse(t)).ToList();
        return new ProxyRuntime(new ProxyPolicy(exposure, rules), settings, trust, data.Origin);
    }

    private readonly System.Runtime.CompilerServices.ConditionalWeakTable<ExposureRoute, Yarp.ReverseProxy.Forwarder.ForwarderRequestConfig> _configs = [];

    /// <summary>How YARP forwards on a route: its activity timeout, HTTP/1.1 exactly (NTLM), no response buffering. One per route, made once.</summary>
    public Yarp.ReverseProxy.Forwarder.ForwarderRequestConfig ForwarderConfig(ExposureRoute route) =>
        _configs.GetValue(route, static r => new Yarp.ReverseProxy.Forwarder.ForwarderRequestConfig
        {
            ActivityTimeout = r.ActivityTimeout,
            Version = HttpVersion.Version11,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            AllowResponseBuffering = false,
        });

    public bool IsTrustedForwarder(IPAddress client)
    {
        if (client.IsIPv4MappedToIPv6) client = client.MapToIPv4();
        foreach (var n in TrustForwardedFrom)
            if (n.Contains(client)) return true;
        return false;
    }

    /// <summary>One line for the start log: what is published to whom, what is blocked, what is off.</summary>
    public string Describe()
    {
        var e = Policy.Exposure;
        string Names(IEnumerable<ExposureRoute> rs) => string.Join(" ", rs.OrderBy(r => r.Prefix, StringComparer.Ordinal).Select(r => r.Prefix));
        var pub = e.Routes.Where(r => r.Enabled && !r.InternalOnly).ToList();
        var inner = e.Routes.Where(r => r.Enabled && r.InternalOnly).ToList();
        var off = e.Routes.Where(r => !r.Enabled).ToList();
        var nets = e.InternalNetworks.Count == 0 ? "nobody: no internalNetworks set" : string.Join(", ", e.InternalNetworks);
        var block = Policy.Rules.Rules.Count(r => r.Action == RuleAction.Block);
        var log = Policy.Rules.Rules.Count - block;
        return $"published to all: {Names(pub)}; internal only ({nets}): {Names(inner)}" + (off.Count > 0 ? $"; off: {Names(off)}" : "") +
               $"; every other path 404; {block} blocking rule(s), {log} logging rule(s) from {RulesOrigin}; a block answers " +
               (Settings.BlockAction == BlockAction.Abort ? "by closing the connection" : Settings.BlockStatus.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }
}
