using System.Globalization;
using System.Net;
using YamlDotNet.RepresentationModel;

namespace Exir.Proxy.Host;

/// <summary>What happens to a blocked request: an answer with a status, or the connection cut without one (EOMT's "abort").</summary>
public enum BlockAction { Status, Abort }

/// <summary>The certificate the proxy presents: a PFX (password from an environment variable) or a PEM pair.</summary>
public sealed record ListenCertificate(string File, string? KeyFile = null, string? PasswordEnvironmentVariable = null);

/// <summary>
/// Everything `exir proxy` runs with. Built from the command line, or from exir-proxy.yaml (<see cref="ProxyConfigFile"/>)
/// with the command line on top. The parts a running proxy can take without a restart are <see cref="Reloadable"/>.
/// </summary>
public sealed record ProxyOptions
{
    /// <summary>Addresses to listen on: http://IP:PORT or https://IP:PORT (https needs <see cref="Certificate"/>).</summary>
    public IReadOnlyList<Uri> Listen { get; init; } = [new("http://127.0.0.1:8080")];
    public required Uri Backend { get; init; }
    public ListenCertificate? Certificate { get; init; }
    /// <summary>Check the backend's certificate against the trust store (or <see cref="BackendCaFile"/>, or the pin). Off only when told.</summary>
    public bool ValidateBackendCertificate { get; init; } = true;
    /// <summary>SHA-256 of the backend certificate (hex): accepted whatever the chain says, anything else refused.</summary>
    public string? BackendCertificatePin { get; init; }
    /// <summary>A PEM file of CA certificates that may sign the backend's certificate (an internal CA).</summary>
    public string? BackendCaFile { get; init; }
    /// <summary>Health and metrics, on their own listener (never on the published one): http://127.0.0.1:PORT.</summary>
    public Uri? Admin { get; init; }
    /// <summary>Folder of the W3C access log (exir-proxy_yyyyMMdd.log), read by `exir scan` like an IIS log.</summary>
    public string? AccessLogDirectory { get; init; }
    /// <summary>Folder that gets every block as a finding (findings.jsonl, appended as they happen).</summary>
    public string? OutDirectory { get; init; }
    /// <summary>How long a stop waits for requests in flight (long polls, RPC channels) before it cuts them.</summary>
    public TimeSpan ShutdownGrace { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>A client must send its request headers within this time (slowloris).</summary>
    public TimeSpan HeaderTimeout { get; init; } = TimeSpan.FromSeconds(20);
    /// <summary>Largest request header block (Exchange's own limit is about 64 KiB with Kerberos tokens).</summary>
    public int MaxHeaderBytes { get; init; } = 64 * 1024;
    public Reloadable Policy { get; init; } = new();
    /// <summary>Where the options came from, for the start line and errors.</summary>
    public string? ConfigFile { get; init; }

    /// <summary>The part of the options a config reload replaces: rules, exposure, networks, limits, what a block does.</summary>
    public sealed record Reloadable
    {
        /// <summary>A rules folder that overrides the built-in proxy/*.yaml (and adds .yaml rule files).</summary>
        public string? RulesDirectory { get; init; }
        /// <summary>Networks that reach the internal routes (ECP, PowerShell, API), added to exposure.yaml's.</summary>
        public IReadOnlyList<string> InternalNetworks { get; init; } = [];
        /// <summary>Clients (another proxy, a load balancer) whose X-Forwarded-For is kept and appended to; everyone else's is replaced.</summary>
        public IReadOnlyList<string> TrustForwardedFrom { get; init; } = [];
        /// <summary>Publish Outlook Anywhere (/rpc), off by default.</summary>
        public bool EnableRpc { get; init; }
        public BlockAction BlockAction { get; init; } = BlockAction.Status;
        public int BlockStatus { get; init; } = 403;
        /// <summary>Failed logons (401, OWA's logon page with reason=2) per client address in <see cref="FailedAuthWindow"/> before it is locked out for that window.</summary>
        public int FailedAuthLimit { get; init; } = 20;
        public TimeSpan FailedAuthWindow { get; init; } = TimeSpan.FromMinutes(5);
    }
}

/// <summary>Reads exir-proxy.yaml into <see cref="ProxyOptions"/>; every problem is reported with file and line, and nothing starts on one.</summary>
public static class ProxyConfigFile
{
    public static readonly string[] Keys =
    [
        "listen", "backend", "certificate", "backendTls", "admin", "accessLog", "out", "rules", "internalNetworks", "trustForwardedFrom",
        "enableRpc", "block", "failedAuth", "limits", "shutdownGraceSeconds",
    ];

    /// <summary>Parses the file; relative paths in it are relative to the file's folder.</summary>
    public static ProxyOptions Load(string path)
    {
        var full = Path.GetFullPath(path);
        string text;
        try { text = File.ReadAllText(full); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ProxyDataException([new ProxyDataProblem(full, 0, 0, "cannot read: " + e.Message)]);
        }
        return Parse(full, text, Path.GetDirectoryName(full)!);
    }

    public static ProxyOptions Parse(string file, string yaml, string baseDirectory)
    {
        var y = new YamlReader(file);
        var root = y.Root(yaml);
        if (root is null) throw new ProxyDataException(y.Problems);
        var k = y.Keys(root, Keys);
        string Rel(string p) => Path.GetFullPath(Path.Combine(baseDirectory, p));

        var listen = new List<Uri>();
        if (k.TryGetValue("listen", out var l))
            foreach (var (node, text) in y.Strings(l.Value, "listen"))
                if (ParseListen(text, out var u, out var why)) listen.Add(u!);
                else y.Error(node, why!);
        Uri? backend = null;
        if (y.Required(k, root, "backend") is { } b)
            if (ParseBackend(b, out var u, out var why)) backend = u;
            else y.Error(k["backend"].Value, why!);

        ListenCertificate? cert = null;
        if (k.TryGetValue("certificate", out var c))
        {
            if (c.Value is not YamlMappingNode cm) y.Error(c.Value, "certificate: expected a mapping (file, key, passwordEnv)");
            else
            {
                var ck = y.Keys(cm, "file", "key", "passwordEnv");
                if (y.Required(ck, cm, "file") is { } f)
                    cert = new ListenCertificate(Rel(f), ck.TryGetValue("key", out var key) && y.Scalar(key.Value, "key") is { } kf ? Rel(kf) : null,
                        ck.TryGetValue("passwordEnv", out var pe) ? y.Scalar(pe.Value, "passwordEnv") : null);
            }
        }
        bool validate = true;
        string? pin = null, ca = null;
        if (k.TryGetValue("backendTls", out var bt))
        {
            if (bt.Value is not YamlMappingNode bm) y.Error(bt.Value, "backendTls: expected a mapping (validate, pin, caFile)");
            else
            {
                var bk = y.Keys(bm, "validate", "pin", "caFile");
                if (bk.TryGetValue("validate", out var v)) validate = Bool(y, v.Value, "validate", true);
                if (bk.TryGetValue("pin", out var p) && y.Scalar(p.Value, "pin") is { } ps)
                    if (NormalisePin(ps) is { } np) pin = np;
                    else y.Error(p.Value, $"pin '{ps}' is not a SHA-256 certificate hash (64 hex digits, colons allowed)");
                if (bk.TryGetValue("caFile", out var cf) && y.Scalar(cf.Value, "caFile") is { } cfs) ca = Rel(cfs);
            }
        }
        Uri? admin = null;
        if (k.TryGetValue("admin", out var a) && y.Scalar(a.Value, "admin") is { } at)
            if (ParseListen(at, out var au, out var why) && au!.Scheme == "http") admin = au;
            else y.Error(a.Value, why ?? "admin: only http:// (health and metrics stay on a local address)");
        string? Folder(string key) => k.TryGetValue(key, out var n) && y.Scalar(n.Value, key) is { } s ? Rel(s) : null;

        var reload = new ProxyOptions.Reloadable
        {
            RulesDirectory = Folder("rules"),
            InternalNetworks = Networks(y, k, "internalNetworks"),
            TrustForwardedFrom = Networks(y, k, "trustForwardedFrom"),
            EnableRpc = k.TryGetValue("enableRpc", out var er) && Bool(y, er.Value, "enableRpc", false),
        };
        if (k.TryGetValue("block", out var blk))
        {
            if (blk.Value is not YamlMappingNode bm) y.Error(blk.Value, "block: expected a mapping (action, status)");
            else
            {
                var bk = y.Keys(bm, "action", "status");
                if (bk.TryGetValue("action", out var act))
                    reload = y.Scalar(act.Value, "action") switch
                    {
                        "status" => reload with { BlockAction = BlockAction.Status },
                        "abort" => reload with { BlockAction = BlockAction.Abort },
                        var other => Fail(y, act.Value, $"block action '{other}' is not one of status, abort", reload),
                    };
                if (bk.TryGetValue("status", out var st))
                    reload = Int(y, st.Value, "status", 400, 599) is { } s ? reload with { BlockStatus = s } : reload;
            }
        }
        if (k.TryGetValue("failedAuth", out var fa))
        {
            if (fa.Value is not YamlMappingNode fm) y.Error(fa.Value, "failedAuth: expected a mapping (limit, windowSeconds)");
            else
            {
                var fk = y.Keys(fm, "limit", "windowSeconds");
                if (fk.TryGetValue("limit", out var fl) && Int(y, fl.Value, "limit", 1, 1_000_000) is { } lim) reload = reload with { FailedAuthLimit = lim };
                if (fk.TryGetValue("windowSeconds", out var fw) && Int(y, fw.Value, "windowSeconds", 1, 86_400) is { } w)
                    reload = reload with { FailedAuthWindow = TimeSpan.FromSeconds(w) };
            }
        }
        var options = new ProxyOptions
        {
            Listen = listen.Count > 0 ? listen : new ProxyOptions { Backend = new Uri("http://x") }.Listen,
            Backend = backend ?? new Uri("http://invalid"),
            Certificate = cert, ValidateBackendCertificate = validate, BackendCertificatePin = pin, BackendCaFile = ca,
            Admin = admin, AccessLogDirectory = Folder("accessLog"), OutDirectory = Folder("out"), Policy = reload, ConfigFile = file,
        };
        if (k.TryGetValue("limits", out var lm))
        {
            if (lm.Value is not YamlMappingNode m) y.Error(lm.Value, "limits: expected a mapping (headerTimeoutSeconds, maxHeaderKiB)");
            else
            {
                var mk = y.Keys(m, "headerTimeoutSeconds", "maxHeaderKiB");
                if (mk.TryGetValue("headerTimeoutSeconds", out var h) && Int(y, h.Value, "headerTimeoutSeconds", 1, 600) is { } hs)
                    options = options with { HeaderTimeout = TimeSpan.FromSeconds(hs) };
                if (mk.TryGetValue("maxHeaderKiB", out var mh) && Int(y, mh.Value, "maxHeaderKiB", 8, 1024) is { } kib)
                    options = options with { MaxHeaderBytes = kib * 1024 };
            }
        }
        if (k.TryGetValue("shutdownGraceSeconds", out var sg) && Int(y, sg.Value, "shutdownGraceSeconds", 0, 86_400) is { } g)
            options = options with { ShutdownGrace = TimeSpan.FromSeconds(g) };
        if (y.Problems.Count > 0) throw new ProxyDataException(y.Problems);
        return options;
    }

    /// <summary>http(s)://IP-or-host:PORT with nothing after it.</summary>
    public static bool ParseListen(string text, out Uri? uri, out string? why)
    {
        uri = null;
        why = null;
        if (!Uri.TryCreate(text.Trim(), UriKind.Absolute, out var u) || u.Scheme is not ("http" or "https"))
        { why = $"'{text}' is not an address to listen on (http://IP:PORT or https://IP:PORT)"; return false; }
        if (u.AbsolutePath != "/" || u.Query.Length > 0 || u.UserInfo.Length > 0)
        { why = $"'{text}': a listen address has no path, query or user"; return false; }
        uri = u;
        return true;
    }

    public static bool ParseBackend(string text, out Uri? uri, out string? why)
    {
        uri = null;
        why = null;
        if (!Uri.TryCreate(text.Trim(), UriKind.Absolute, out var u) || u.Scheme is not ("http" or "https"))
        { why = $"'{text}' is not a backend address (https://exchange.internal, or http:// for a test)"; return false; }
        if (u.AbsolutePath != "/" || u.Query.Length > 0 || u.UserInfo.Length > 0)
        { why = $"'{text}': the backend is a server (scheme, host, port), without a path: the client's path is forwarded as sent"; return false; }
        uri = u;
        return true;
    }

    /// <summary>64 hex digits (colons and spaces allowed, any case) in upper case; null when it is not one.</summary>
    public static string? NormalisePin(string text)
    {
        var hex = new string(text.Where(ch => ch is not (':' or ' ')).ToArray()).ToUpperInvariant();
        return hex.Length == 64 && hex.All(char.IsAsciiHexDigit) ? hex : null;
    }

    private static List<string> Networks(YamlReader y, Dictionary<string, (YamlNode Key, YamlNode Value)> k, string key)
    {
        var list = new List<string>();
        if (!k.TryGetValue(key, out var n)) return list;
        foreach (var (node, text) in y.Strings(n.Value, key))
            if (IPNetwork.TryParse(text, out _)) list.Add(text);
            else y.Error(node, $"'{text}' is not a network in CIDR form (e.g. 10.20.0.0/16)");
        return list;
    }

    private static bool Bool(YamlReader y, YamlNode node, string what, bool fallback)
    {
        var t = y.Scalar(node, what);
        if (t is "true" or "false") return t == "true";
        if (t is not null) y.Error(node, $"{what} '{t}' is not true or false");
        return fallback;
    }

    private static int? Int(YamlReader y, YamlNode node, string what, int min, int max)
    {
        var t = y.Scalar(node, what);
        if (int.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v >= min && v <= max) return v;
        if (t is not null) y.Error(node, $"{what} '{t}' is not a whole number from {min} to {max}");
        return null;
    }

    private static T Fail<T>(YamlReader y, YamlNode node, string message, T value)
    {
        y.Error(node, message);
        return value;
    }
}
